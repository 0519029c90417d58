//! `kind = "telegram"`: a Bot API `sendMessage` to one chat.

use reqwest::Url;
use serde_json::json;

use super::{Delivery, Facts, MonitorFacts, Request, monitor_text, text};

/// `POST {api}/bot{token}/sendMessage` with the summary and the links as plain text (no
/// `parse_mode`, so nothing in a cause needs escaping).
pub(super) fn message(api: &Url, bot_token: &str, chat_id: &str, facts: &Facts<'_>) -> Request {
    send_message(api, bot_token, chat_id, text(facts))
}

/// The summary about the monitor itself, and the status page.
pub(super) fn monitor_message(
    api: &Url,
    bot_token: &str,
    chat_id: &str,
    facts: &MonitorFacts,
) -> Request {
    send_message(api, bot_token, chat_id, monitor_text(facts))
}

fn send_message(api: &Url, bot_token: &str, chat_id: &str, text: String) -> Request {
    let mut url = api.clone();
    let path = format!(
        "{}/bot{bot_token}/sendMessage",
        api.path().trim_end_matches('/')
    );
    url.set_path(&path);
    Request {
        url,
        body: json!({
            "chat_id": chat_id,
            "text": text,
            "disable_web_page_preview": true,
        }),
        delivery: Delivery::default(),
    }
}
