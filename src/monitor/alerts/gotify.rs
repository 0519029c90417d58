//! `kind = "gotify"`: a message to a Gotify server (`POST /message` with an application token).

use reqwest::Url;
use serde_json::json;

use super::{Delivery, Facts, MonitorFacts, Request, Tone, monitor_text, text, title};

/// The target's message; a click on the notification opens the status page.
pub(super) fn message(url: &Url, token: &str, priority: Option<u8>, facts: &Facts<'_>) -> Request {
    let tone = Tone::of(facts.event);
    send(
        url,
        token,
        priority,
        tone,
        &title(facts),
        text(facts),
        facts.status_page_url.as_deref(),
    )
}

/// The same about the monitor itself.
pub(super) fn monitor_message(
    url: &Url,
    token: &str,
    priority: Option<u8>,
    facts: &MonitorFacts,
) -> Request {
    let tone = Tone::of_monitor(facts.event);
    let title = super::monitor_title(facts);
    send(
        url,
        token,
        priority,
        tone,
        title,
        monitor_text(facts),
        facts.status_page_url.as_deref(),
    )
}

fn send(
    server: &Url,
    token: &str,
    priority: Option<u8>,
    tone: Tone,
    title: &str,
    text: String,
    click: Option<&str>,
) -> Request {
    let mut url = server.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().push("message");
    }
    // Gotify's apps show 8 and above as urgent.
    let default_priority = if tone == Tone::Bad { 8 } else { 4 };
    let mut body = json!({
        "title": title,
        "message": text,
        "priority": priority.unwrap_or(default_priority),
    });
    if let Some(page) = click {
        body["extras"] = json!({"client::notification": {"click": {"url": page}}});
    }
    Request {
        url,
        body,
        // A header rather than `?token=`, so the token is not in URLs that proxies log.
        delivery: Delivery::with_header("X-Gotify-Key", token.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::MonitorEvent;
    use super::*;
    use crate::monitor::redact::Secret;
    use crate::monitor::store::{Event, Incident, Notification};

    #[test]
    fn the_token_goes_in_the_x_gotify_key_header_and_the_message_to_the_message_path() {
        let facts = MonitorFacts {
            event: MonitorEvent::Degraded,
            since_ms: 1_800_000_000_000,
            recovered_ms: None,
            cause: "disk full".to_owned(),
            status_page_url: Some("https://status.example.org/status".to_owned()),
        };
        let server = Url::parse("https://gotify.example.org/base/").unwrap();
        let message = monitor_message(&server, "AgotifyApp", None, &facts);
        assert_eq!(
            message.url.as_str(),
            "https://gotify.example.org/base/message"
        );
        assert_eq!(
            message.delivery,
            Delivery {
                method: reqwest::Method::POST,
                headers: vec![("X-Gotify-Key", Secret::new("AgotifyApp".to_owned()))],
                key_in_path: false,
            }
        );
        assert!(
            !message.url.as_str().contains("AgotifyApp")
                && !message.body.to_string().contains("AgotifyApp"),
            "the token is in the header only"
        );
        assert_eq!(message.body["title"], "health-service monitor: degraded");
        assert_eq!(
            message.body["priority"], 8,
            "urgent: the monitor is degraded"
        );
        assert_eq!(
            message.body["extras"]["client::notification"]["click"]["url"],
            "https://status.example.org/status"
        );
    }

    #[test]
    fn a_target_message_is_titled_target_and_event_with_the_priority_set_or_by_tone() {
        let incident = Incident {
            id: 4,
            target: "api".to_owned(),
            started_ms: 1_800_000_000_000,
            resolved_ms: None,
            cause: "[STATUS] (503) == 200".to_owned(),
            reminders: Vec::new(),
        };
        let notification = Notification {
            id: 9,
            alert: 0,
            kind: "gotify".to_owned(),
            event: Event::Down,
            incident,
            url: "https://api.example.org/health".to_owned(),
            created_ms: 1_800_000_000_000,
            attempts: 0,
            next_attempt_ms: 0,
            delivered_ms: None,
            last_error: None,
        };
        let facts = |event| Facts {
            event,
            notification: &notification,
            url: "https://api.example.org/health".to_owned(),
            duration_seconds: 0,
            status_page_url: None,
            recorded: true,
        };
        let server = Url::parse("https://gotify.example.org/").unwrap();
        let down = message(&server, "AgotifyApp", None, &facts(&Event::Down));
        assert_eq!(down.body["title"], "api: down");
        assert_eq!(down.body["priority"], 8);
        assert_eq!(
            down.body["message"],
            "api is DOWN: [STATUS] (503) == 200 (incident #4, since 2027-01-15T08:00:00.000Z)\n\
             https://api.example.org/health"
        );
        assert_eq!(down.body.get("extras"), None, "no page to open");
        let resolved = message(&server, "AgotifyApp", None, &facts(&Event::Resolved));
        assert_eq!(resolved.body["title"], "api: resolved");
        assert_eq!(resolved.body["priority"], 4);
        let set = message(&server, "AgotifyApp", Some(2), &facts(&Event::Down));
        assert_eq!(set.body["priority"], 2);
    }
}
