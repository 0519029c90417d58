//! `kind = "discord"`: a Discord webhook message with one embed holding the facts.

use reqwest::Url;
use serde_json::json;

use super::{Delivery, Facts, MonitorEvent, MonitorFacts, Request, rfc3339};
use crate::monitor::store::Event;

/// Discord's green and red, as the embed's colour bar.
const GREEN: u32 = 0x57_F2_87;
const RED: u32 = 0xED_42_45;
/// Discord's orange-yellow, for the monitor's own trouble and warnings that are not outages.
const ORANGE: u32 = 0xFE_E7_5C;

/// `content` with the summary, and an embed with the facts as fields.
pub(super) fn message(url: &Url, facts: &Facts<'_>) -> Request {
    let incident = &facts.notification.incident;
    let color = match facts.event {
        Event::Resolved => GREEN,
        Event::Down | Event::Reminder => RED,
        Event::Warning => ORANGE,
        Event::Certificate { .. } => ORANGE,
    };
    let mut fields = if let Event::Certificate {
        expires_ms,
        subject,
    } = facts.event
    {
        vec![
            json!({"name": "Certificate", "value": subject, "inline": true}),
            json!({"name": "Expires", "value": rfc3339(*expires_ms), "inline": true}),
        ]
    } else {
        vec![
            json!({"name": "Incident", "value": format!("#{}", incident.id), "inline": true}),
            json!({"name": "Started", "value": rfc3339(incident.started_ms), "inline": true}),
            json!({"name": "Resolved", "value": incident.resolved_ms.map_or("ongoing".to_owned(), rfc3339), "inline": true}),
            json!({"name": "Cause", "value": incident.cause}),
        ]
    };
    if let Some(page) = &facts.status_page_url {
        fields.push(json!({"name": "Status page", "value": page}));
    }
    Request {
        url: url.clone(),
        body: json!({
            "content": facts.summary(),
            "embeds": [{
                "title": format!("{}: {}", incident.target, facts.event.name()),
                "url": facts.url,
                "color": color,
                "fields": fields,
            }],
            // Nobody gets pinged by a target name that looks like a mention.
            "allowed_mentions": {"parse": []},
        }),
        delivery: Delivery::default(),
    }
}

/// The same layout about the monitor itself: the summary, and an embed with since when and the
/// cause, orange while degraded.
pub(super) fn monitor_message(url: &Url, facts: &MonitorFacts) -> Request {
    let color = match facts.event {
        MonitorEvent::Recovered => GREEN,
        MonitorEvent::Degraded => ORANGE,
    };
    let mut fields = vec![
        json!({"name": "Stale since", "value": rfc3339(facts.since_ms), "inline": true}),
        json!({"name": "Recovered", "value": facts.recovered_ms.map_or("not yet".to_owned(), rfc3339), "inline": true}),
        json!({"name": "Cause", "value": facts.cause}),
    ];
    if let Some(page) = &facts.status_page_url {
        fields.push(json!({"name": "Status page", "value": page}));
    }
    Request {
        url: url.clone(),
        body: json!({
            "content": facts.summary(),
            "embeds": [{
                "title": format!("monitor: {}", facts.event.name()),
                "color": color,
                "fields": fields,
            }],
            "allowed_mentions": {"parse": []},
        }),
        delivery: Delivery::default(),
    }
}
