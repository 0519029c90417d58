//! `kind = "slack"`: a Slack incoming-webhook message with the facts as fields.

use reqwest::Url;
use serde_json::json;

use super::{Delivery, Facts, MonitorEvent, MonitorFacts, Request, rfc3339};
use crate::monitor::store::Event;

/// `text` for notifications and clients without blocks; `blocks` with the same facts laid out.
pub(super) fn message(url: &Url, facts: &Facts<'_>) -> Request {
    let incident = &facts.notification.incident;
    let icon = match facts.event {
        Event::Resolved => ":large_green_circle:",
        Event::Down | Event::Reminder => ":red_circle:",
        Event::Warning | Event::Certificate { .. } => ":warning:",
    };
    let fields = if let Event::Certificate {
        expires_ms,
        subject,
    } = facts.event
    {
        vec![
            field("Target", &format!("<{}|{}>", facts.url, incident.target)),
            field("Certificate", subject),
            field("Expires", &rfc3339(*expires_ms)),
        ]
    } else {
        vec![
            field("Target", &format!("<{}|{}>", facts.url, incident.target)),
            field("Incident", &format!("#{}", incident.id)),
            field("Started", &rfc3339(incident.started_ms)),
            field(
                "Resolved",
                &incident.resolved_ms.map_or("ongoing".to_owned(), rfc3339),
            ),
            field("Cause", &incident.cause),
        ]
    };
    layout(
        url,
        icon,
        &facts.summary(),
        fields,
        facts.status_page_url.as_deref(),
    )
}

/// The same layout about the monitor itself: the summary, then since when and the cause.
pub(super) fn monitor_message(url: &Url, facts: &MonitorFacts) -> Request {
    let icon = match facts.event {
        MonitorEvent::Recovered => ":large_green_circle:",
        MonitorEvent::Degraded => ":warning:",
    };
    let fields = vec![
        field("Stale since", &rfc3339(facts.since_ms)),
        field(
            "Recovered",
            &facts.recovered_ms.map_or("not yet".to_owned(), rfc3339),
        ),
        field("Cause", &facts.cause),
    ];
    layout(
        url,
        icon,
        &facts.summary(),
        fields,
        facts.status_page_url.as_deref(),
    )
}

/// One layout for both kinds of message: the summary with its icon, then the fields, with a link
/// to the status page last when there is one.
fn layout(
    url: &Url,
    icon: &str,
    summary: &str,
    mut fields: Vec<serde_json::Value>,
    status_page: Option<&str>,
) -> Request {
    if let Some(page) = status_page {
        fields.push(field("Status page", &format!("<{page}>")));
    }
    Request {
        url: url.clone(),
        body: json!({
            "text": format!("{icon} {summary}"),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": format!("{icon} *{summary}*")}},
                {"type": "section", "fields": fields},
            ],
        }),
        delivery: Delivery::default(),
    }
}

fn field(name: &str, value: &str) -> serde_json::Value {
    json!({"type": "mrkdwn", "text": format!("*{name}*\n{value}")})
}
