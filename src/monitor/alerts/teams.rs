//! `kind = "teams"`: an Adaptive Card posted to a Microsoft Teams Workflows webhook (the
//! "Post to a channel when a webhook request is received" template), which replaced the
//! retired Office 365 connectors.

use reqwest::Url;
use serde_json::{Value, json};

use super::{Delivery, Facts, MonitorFacts, Request, Tone, rfc3339, title};
use crate::monitor::store::Event;

/// The target's card: the title in the event's colour, the summary, the facts.
pub(super) fn message(url: &Url, facts: &Facts<'_>) -> Request {
    let incident = &facts.notification.incident;
    let mut rows = vec![("Target", format!("[{}]({})", incident.target, facts.url))];
    if let Event::Certificate {
        expires_ms,
        subject,
    } = facts.event
    {
        rows.push(("Certificate", subject.clone()));
        rows.push(("Expires", rfc3339(*expires_ms)));
    } else {
        rows.push(("Incident", format!("#{}", incident.id)));
        rows.push(("Started", rfc3339(incident.started_ms)));
        rows.push((
            "Resolved",
            incident.resolved_ms.map_or("ongoing".to_owned(), rfc3339),
        ));
        rows.push(("Cause", incident.cause.clone()));
    }
    card(
        url,
        Tone::of(facts.event),
        &title(facts),
        &facts.summary(),
        &rows,
        facts.status_page_url.as_deref(),
    )
}

/// The same about the monitor itself.
pub(super) fn monitor_message(url: &Url, facts: &MonitorFacts) -> Request {
    let rows = [
        ("Stale since", rfc3339(facts.since_ms)),
        (
            "Recovered",
            facts.recovered_ms.map_or("not yet".to_owned(), rfc3339),
        ),
        ("Cause", facts.cause.clone()),
    ];
    card(
        url,
        Tone::of_monitor(facts.event),
        super::monitor_title(facts),
        &facts.summary(),
        &rows,
        facts.status_page_url.as_deref(),
    )
}

fn card(
    url: &Url,
    tone: Tone,
    title: &str,
    summary: &str,
    rows: &[(&str, String)],
    page: Option<&str>,
) -> Request {
    let color = match tone {
        Tone::Bad => "Attention",
        Tone::Good => "Good",
        Tone::Notice => "Warning",
    };
    let facts: Vec<Value> = rows
        .iter()
        .map(|(name, value)| json!({"title": name, "value": value}))
        .collect();
    let mut content = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "color": color, "wrap": true},
            {"type": "TextBlock", "text": summary, "wrap": true},
            {"type": "FactSet", "facts": facts},
        ],
    });
    if let Some(page) = page {
        content["actions"] =
            json!([{"type": "Action.OpenUrl", "title": "Status page", "url": page}]);
    }
    Request {
        url: url.clone(),
        body: json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": content,
            }],
        }),
        delivery: Delivery::default(),
    }
}
