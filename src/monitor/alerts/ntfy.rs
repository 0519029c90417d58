//! `kind = "ntfy"`: a message published to an ntfy topic, as JSON to the server's root (ntfy's
//! "publish as JSON"), so the title, priority, tags and click action need no header encoding.

use reqwest::Url;
use serde_json::json;

use super::{Delivery, Facts, MonitorFacts, Request, Tone, monitor_text, text, title};
use crate::monitor::redact::Secret;

/// Publishes the target's message; the click action opens the status page.
pub(super) fn message(
    url: &Url,
    token: Option<&Secret<String>>,
    priority: Option<u8>,
    facts: &Facts<'_>,
) -> Request {
    let tone = Tone::of(facts.event);
    publish(
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
    token: Option<&Secret<String>>,
    priority: Option<u8>,
    facts: &MonitorFacts,
) -> Request {
    let tone = Tone::of_monitor(facts.event);
    let title = super::monitor_title(facts);
    publish(
        url,
        token,
        priority,
        tone,
        title,
        monitor_text(facts),
        facts.status_page_url.as_deref(),
    )
}

fn publish(
    topic_url: &Url,
    token: Option<&Secret<String>>,
    priority: Option<u8>,
    tone: Tone,
    title: &str,
    text: String,
    click: Option<&str>,
) -> Request {
    // The topic is the URL's last path segment (checked at load); the server is the rest,
    // query included (ntfy takes `?auth=` there).
    let mut server = topic_url.clone();
    let topic = topic_url
        .path_segments()
        .and_then(|mut segments| segments.next_back())
        .unwrap_or_default()
        .to_owned();
    if let Ok(mut segments) = server.path_segments_mut() {
        segments.pop().push("");
    }
    let (default_priority, tag) = match tone {
        Tone::Bad => (4, "red_circle"),
        Tone::Good => (3, "green_circle"),
        Tone::Notice => (3, "warning"),
    };
    let mut body = json!({
        "topic": topic,
        "title": title,
        "message": text,
        "priority": priority.unwrap_or(default_priority),
        "tags": [tag],
    });
    if let Some(page) = click {
        body["click"] = json!(page);
    }
    let delivery = match token {
        Some(token) => Delivery::with_header("Authorization", format!("Bearer {}", token.expose())),
        None => Delivery::default(),
    };
    Request {
        url: server,
        body,
        delivery,
    }
}
