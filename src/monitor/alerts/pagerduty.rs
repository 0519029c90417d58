//! `kind = "pagerduty"`: Events API v2. An incident's `down` triggers a PagerDuty alert and its
//! `resolved` resolves it, both with the same `dedup_key`, so PagerDuty closes what it opened;
//! reminders trigger the same key again (PagerDuty adds them to the open alert).

use reqwest::Url;
use serde_json::json;

use super::{Delivery, Facts, MonitorFacts, Request, rfc3339, truncate};
use crate::monitor::store::Event;

/// PagerDuty refuses a summary over 1024 characters and a dedup key over 255.
const MAX_SUMMARY: usize = 1024;
const MAX_KEY: usize = 255;

/// The target's event.
pub(super) fn message(url: &Url, routing_key: &str, facts: &Facts<'_>) -> Request {
    let incident = &facts.notification.incident;
    let target = &incident.target;
    // Warnings and certificates are no incident (id 0): each gets a key of its own, and
    // PagerDuty keeps them until someone resolves them there.
    let (action, severity, key) = match facts.event {
        Event::Down | Event::Reminder => (
            "trigger",
            "critical",
            format!("{target}/incident/{}", incident.id),
        ),
        Event::Resolved => (
            "resolve",
            "critical",
            format!("{target}/incident/{}", incident.id),
        ),
        Event::Warning => (
            "trigger",
            "warning",
            format!("{target}/warning/{}", incident.started_ms),
        ),
        Event::Certificate { expires_ms, .. } => (
            "trigger",
            "warning",
            format!("{target}/certificate/{expires_ms}"),
        ),
    };
    let details = json!({
        "target": target,
        "url": facts.url,
        "event": facts.event.name(),
        "cause": incident.cause,
        "started_at": rfc3339(incident.started_ms),
    });
    let event = Enqueue {
        routing_key,
        action,
        key: &key,
        summary: &facts.summary(),
        severity,
        timestamp_ms: incident.started_ms,
        details,
        page: facts.status_page_url.as_deref(),
    };
    enqueue(url, &event)
}

/// The monitor's own trouble: triggered when its store cannot commit, resolved when it can.
pub(super) fn monitor_message(url: &Url, routing_key: &str, facts: &MonitorFacts) -> Request {
    let action = match facts.event {
        super::MonitorEvent::Degraded => "trigger",
        super::MonitorEvent::Recovered => "resolve",
    };
    let event = Enqueue {
        routing_key,
        action,
        key: &format!("monitor/store/{}", facts.since_ms),
        summary: &facts.summary(),
        severity: "error",
        timestamp_ms: facts.since_ms,
        details: json!({"cause": facts.cause, "stale_since": rfc3339(facts.since_ms)}),
        page: facts.status_page_url.as_deref(),
    };
    enqueue(url, &event)
}

/// One Events API v2 event.
struct Enqueue<'a> {
    routing_key: &'a str,
    /// `trigger` or `resolve`.
    action: &'a str,
    /// What PagerDuty groups by; prefixed with `health-service/`.
    key: &'a str,
    summary: &'a str,
    /// `critical`, `error`, `warning` or `info`.
    severity: &'a str,
    timestamp_ms: u64,
    details: serde_json::Value,
    page: Option<&'a str>,
}

fn enqueue(url: &Url, event: &Enqueue<'_>) -> Request {
    let dedup_key = truncate(&format!("health-service/{}", event.key), MAX_KEY);
    let mut body = json!({
        "routing_key": event.routing_key,
        "event_action": event.action,
        "dedup_key": dedup_key,
    });
    // A resolve needs no payload; a trigger must have one.
    if event.action == "trigger" {
        body["payload"] = json!({
            "summary": truncate(event.summary, MAX_SUMMARY),
            "source": "health-service monitor",
            "severity": event.severity,
            "timestamp": rfc3339(event.timestamp_ms),
            "custom_details": event.details,
        });
        body["client"] = json!("health-service monitor");
        if let Some(page) = event.page {
            body["client_url"] = json!(page);
            body["links"] = json!([{"href": page, "text": "Status page"}]);
        }
    }
    Request {
        url: url.clone(),
        body,
        delivery: Delivery::default(),
    }
}
