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
