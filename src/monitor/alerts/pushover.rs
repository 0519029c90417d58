//! `kind = "pushover"`: a message through Pushover's messages API (JSON body).

use reqwest::Url;
use serde_json::json;

use super::{Delivery, Facts, MonitorFacts, Request, monitor_text, text, title, truncate};

/// Pushover refuses a title over 250 characters and a message over 1024.
const MAX_TITLE: usize = 250;
const MAX_MESSAGE: usize = 1024;

/// The target's message, with the status page as its supplementary URL.
pub(super) fn message(url: &Url, token: &str, user: &str, facts: &Facts<'_>) -> Request {
    send(
        url,
        token,
        user,
        &title(facts),
        &text(facts),
        facts.status_page_url.as_deref(),
    )
}

/// The same about the monitor itself.
pub(super) fn monitor_message(url: &Url, token: &str, user: &str, facts: &MonitorFacts) -> Request {
    let title = super::monitor_title(facts);
    send(
        url,
        token,
        user,
        title,
        &monitor_text(facts),
        facts.status_page_url.as_deref(),
    )
}

fn send(
    url: &Url,
    token: &str,
    user: &str,
    title: &str,
    text: &str,
    page: Option<&str>,
) -> Request {
    let mut body = json!({
        "token": token,
        "user": user,
        "title": truncate(title, MAX_TITLE),
        "message": truncate(text, MAX_MESSAGE),
    });
    if let Some(page) = page {
        body["url"] = json!(page);
        body["url_title"] = json!("Status page");
    }
    Request {
        url: url.clone(),
        body,
        delivery: Delivery::default(),
    }
}
