//! `kind = "webhook"`: the facts as a flat JSON object, for any receiver.

use reqwest::Url;
use serde_json::json;

use super::{Delivery, Facts, MonitorFacts, Request, days_left, rfc3339};
use crate::monitor::store::Event;

/// `{"event", "target", "url", "incident_id", "started_at", "resolved_at", "duration_seconds",
/// "cause", "status_page_url", "recorded"}`; `resolved_at` is null until resolved; `recorded` is
/// false when it was sent while the store could not commit. A certificate warning is
/// `{"event": "certificate", "target", "url", "certificate_expires_at", "subject", "days_left",
/// "status_page_url", "recorded"}`.
pub(super) fn message(url: &Url, facts: &Facts<'_>) -> Request {
    let notification = facts.notification;
    let incident = &notification.incident;
    if let Event::Certificate {
        expires_ms,
        subject,
    } = facts.event
    {
        return Request {
            url: url.clone(),
            body: json!({
                "event": facts.event.name(),
                "target": incident.target,
                "url": facts.url,
                "certificate_expires_at": rfc3339(*expires_ms),
                "subject": subject,
                "days_left": days_left(*expires_ms, notification.created_ms),
                "status_page_url": facts.status_page_url,
                "recorded": facts.recorded,
            }),
            delivery: Delivery::default(),
        };
    }
    Request {
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
            "recorded": facts.recorded,
        }),
        delivery: Delivery::default(),
    }
}

/// The same keys about the monitor itself: `event` `monitor_degraded` or `monitor_recovered`,
/// `target`, `url` and `incident_id` null, `started_at` when its data went stale,
/// `resolved_at` when it recovered, `cause` the store's error.
pub(super) fn monitor_message(url: &Url, facts: &MonitorFacts) -> Request {
    let now = crate::monitor::store::millis(std::time::SystemTime::now());
    Request {
        url: url.clone(),
        body: json!({
            "event": facts.event.name(),
            "target": null,
            "url": null,
            "incident_id": null,
            "started_at": rfc3339(facts.since_ms),
            "resolved_at": facts.recovered_ms.map(rfc3339),
            "duration_seconds": facts.duration_seconds(now),
            "cause": facts.cause,
            "status_page_url": facts.status_page_url,
            "recorded": false,
        }),
        delivery: Delivery::default(),
    }
}
