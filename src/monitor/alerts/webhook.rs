//! `kind = "webhook"`: the facts as a flat JSON object, for any receiver.

use reqwest::Url;
use serde_json::json;

use super::{Facts, Message, rfc3339};

/// `{"event", "target", "url", "incident_id", "started_at", "resolved_at", "duration_seconds",
/// "cause", "status_page_url"}`; `resolved_at` is null until resolved.
pub(super) fn message(url: &Url, facts: &Facts<'_>) -> Message {
    let notification = facts.notification;
    let incident = &notification.incident;
    Message {
        url: url.clone(),
        body: json!({
            "event": facts.event.name(),
            "target": incident.target,
            "url": facts.url,
            "incident_id": incident.id,
            "started_at": rfc3339(incident.started_ms),
            "resolved_at": incident.resolved_ms.map(rfc3339),
            "duration_seconds": facts.duration_seconds,
            "cause": incident.cause,
            "status_page_url": facts.status_page_url,
        }),
    }
}
