//! `kind = "matrix"`: a notice in a Matrix room through the client-server API. The message is
//! a `PUT` whose path ends in a transaction id, the delivery key: a retry after a lost answer
//! reuses it, and the homeserver keeps one event for both.

use reqwest::{Method, Url};
use serde_json::json;

use super::{Delivery, Request};

/// `PUT {homeserver}/_matrix/client/v3/rooms/{room_id}/send/m.room.message/{key}`, with the
/// transaction id added when it is sent (see [`Delivery::key_in_path`]).
pub(super) fn message(
    homeserver: &Url,
    room_id: &str,
    access_token: &str,
    text: String,
) -> Request {
    let mut url = homeserver.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().extend([
            "_matrix",
            "client",
            "v3",
            "rooms",
            room_id,
            "send",
            "m.room.message",
        ]);
    }
    Request {
        url,
        // m.notice: an automated message, which bots must not answer.
        body: json!({"msgtype": "m.notice", "body": text}),
        delivery: Delivery {
            method: Method::PUT,
            key_in_path: true,
            ..Delivery::with_header("Authorization", format!("Bearer {access_token}"))
        },
    }
}
