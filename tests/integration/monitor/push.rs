//! Push targets in the real binary: jobs that check in through Healthchecks' ping URLs and
//! Gatus's external route, and fail when they stop.

use std::time::Duration;

use nix::sys::signal::Signal;

use super::{Receiver, wait_until};
use crate::helpers::{Binary, client, json, spawn_binary_with};

/// 32 hex digits: 128 bits.
const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// A config of one push target `backup` (group `jobs`) with `period` and `grace`, alerting
/// `receiver`, written in `dir`; the token comes from the environment.
fn config(dir: &std::path::Path, receiver: &Receiver, period: &str, grace: &str) -> String {
    let path = dir.join("monitor.toml");
    std::fs::write(
        &path,
        format!(
            "[[target]]\nname = \"backup\"\nkind = \"push\"\ngroup = \"jobs\"\nperiod = \"{period}\"\n\
             grace = \"{grace}\"\ntoken = \"${{BACKUP_TOKEN}}\"\n\
             [[alert]]\nkind = \"webhook\"\nurl = \"{}\"\n",
            receiver.url("/hook")
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_owned()
}

async fn start(config: &str, data: &std::path::Path) -> Binary {
    spawn_binary_with(
        &[
            ("MONITOR_DATA_DIR", data.to_str().unwrap()),
            ("BACKUP_TOKEN", TOKEN),
            ("RUST_LOG", "warn,health_service=info"),
        ],
        &["monitor", "--config", config],
    )
    .await
}

/// `GET path` on `binary`: status and body.
async fn get(binary: &Binary, path: &str) -> (u16, String) {
    let response = client()
        .get(format!("http://{}{path}", binary.addr))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn status(binary: &Binary) -> serde_json::Value {
    let response = client()
        .get(format!("http://{}/api/v1/status", binary.addr))
        .send()
        .await
        .unwrap();
    json(response).await["targets"][0].clone()
}

async fn incidents(binary: &Binary) -> Vec<serde_json::Value> {
    let response = client()
        .get(format!("http://{}/api/v1/incidents", binary.addr))
        .send()
        .await
        .unwrap();
    json(response).await["incidents"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_job_checking_in_every_second_then_stopping_opens_one_incident_and_one_down() {
    let receiver = Receiver::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &receiver, "1s", "1s");
    let mut binary = start(&config, &dir.path().join("data")).await;

    for _ in 0..4 {
        assert_eq!(
            get(&binary, &format!("/ping/{TOKEN}")).await,
            (200, "OK".to_owned())
        );
        // Committed before its 200: the API already shows it.
        assert_eq!(status(&binary).await["state"], "up");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // It stops: after the period and the grace, down, once.
    let down = receiver.wait_for(1).await;
    assert_eq!(down[0].body["event"], "down");
    assert_eq!(down[0].body["target"], "backup");
    assert_eq!(down[0].body["cause"], "no check-in for 2s");
    // Silence goes on for several periods: still one incident and one down.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.events(), ["down"]);
    assert_eq!(incidents(&binary).await.len(), 1);
    assert_eq!(status(&binary).await["state"], "down");
    binary.signal(Signal::SIGTERM);
    assert_eq!(binary.exit_code().await, Some(0));
}

#[tokio::test]
async fn fail_and_exit_status_3_fail_at_once_and_a_success_resolves() {
    let receiver = Receiver::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &receiver, "1h", "1h");
    let mut binary = start(&config, &dir.path().join("data")).await;

    assert_eq!(get(&binary, &format!("/ping/{TOKEN}")).await.0, 200);
    assert_eq!(get(&binary, &format!("/ping/{TOKEN}/fail")).await.0, 200);
    assert_eq!(status(&binary).await["state"], "down", "at once");
    let response = client()
        .post(format!("http://{}/ping/{TOKEN}/0", binary.addr))
        .body("all good")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(status(&binary).await["state"], "up");
    assert_eq!(get(&binary, &format!("/ping/{TOKEN}/3")).await.0, 200);
    let target = status(&binary).await;
    assert_eq!(target["state"], "down");
    assert_eq!(
        target["last_check"]["error"],
        "the job exited with status 3"
    );
    let sent = receiver.wait_for(3).await;
    let events: Vec<(&str, &str)> = sent
        .iter()
        .map(|r| {
            (
                r.body["event"].as_str().unwrap(),
                r.body["cause"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("down", "the job reported a failure"),
            ("resolved", "the job reported a failure"),
            ("down", "the job exited with status 3"),
        ]
    );
    binary.signal(Signal::SIGTERM);
    assert_eq!(binary.exit_code().await, Some(0));
}

#[tokio::test]
async fn a_wrong_token_is_404_and_changes_nothing_and_gatus_answers_as_gatus() {
    let receiver = Receiver::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &receiver, "1h", "1h");
    let mut binary = start(&config, &dir.path().join("data")).await;

    // One character off, a prefix, something else: the same answer.
    let wrong = format!("{}0", &TOKEN[..31]);
    for token in [wrong.as_str(), &TOKEN[..16], "x"] {
        for path in [format!("/ping/{token}"), format!("/ping/{token}/fail")] {
            assert_eq!(get(&binary, &path).await, (404, "not found".to_owned()));
        }
    }
    for signal in ["256", "-1", "start2", "0x1"] {
        assert_eq!(
            get(&binary, &format!("/ping/{TOKEN}/{signal}")).await,
            (400, "invalid url format".to_owned()),
            "{signal}"
        );
    }
    // The ping routes take GET, HEAD and POST, and say so to any other method.
    for path in [format!("/ping/{TOKEN}"), format!("/ping/{TOKEN}/start")] {
        let response = client()
            .request(
                reqwest::Method::OPTIONS,
                format!("http://{}{path}", binary.addr),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 405);
        assert_eq!(response.headers()["allow"], "GET, HEAD, POST");
    }
    assert_eq!(status(&binary).await["state"], "unknown", "nothing changed");

    let external = |query: &str, authorization: Option<String>| {
        let mut request = client().post(format!(
            "http://{}/api/v1/endpoints/jobs_backup/external{query}",
            binary.addr
        ));
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let bearer = |token: &str| Some(format!("Bearer {token}"));
    for query in ["?success=maybe", "?success=TRUE", ""] {
        assert_eq!(
            external(query, bearer(TOKEN)).await,
            (400, "missing or invalid success query parameter".to_owned()),
            "{query}"
        );
    }
    assert_eq!(
        external("?success=true", None).await,
        (401, "invalid Authorization header".to_owned())
    );
    assert_eq!(
        external("?success=true", bearer(&wrong)).await,
        (401, "invalid token".to_owned())
    );
    assert_eq!(status(&binary).await["state"], "unknown", "nothing changed");
    let response = client()
        .post(format!(
            "http://{}/api/v1/endpoints/_nobody/external?success=true",
            binary.addr
        ))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(
        external(
            "?success=false&error=disk%20full&duration=1.5s",
            bearer(TOKEN)
        )
        .await,
        (200, String::new())
    );
    let target = status(&binary).await;
    assert_eq!(target["state"], "down");
    assert_eq!(target["last_check"]["error"], "disk full");
    assert_eq!(target["last_check"]["response_time_ms"], 1500);
    binary.signal(Signal::SIGTERM);
    assert_eq!(binary.exit_code().await, Some(0));
}

/// `POST path` on `binary` with `body`: status and body.
async fn post(binary: &Binary, path: &str, body: impl Into<reqwest::Body>) -> (u16, String) {
    let response = client()
        .post(format!("http://{}{path}", binary.addr))
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The results of `backup`, newest first, as (ok, error, message).
async fn results(binary: &Binary) -> Vec<(bool, serde_json::Value, serde_json::Value)> {
    let (code, body) = get(binary, "/api/v1/targets/backup/results").await;
    assert_eq!(code, 200, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["ok"].as_bool().unwrap(),
                r["error"].clone(),
                r["message"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_posted_body_is_kept_as_the_message_up_to_100_000_bytes() {
    let receiver = Receiver::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &receiver, "1h", "1h");
    let mut binary = start(&config, &dir.path().join("data")).await;

    assert_eq!(
        post(&binary, &format!("/ping/{TOKEN}/3"), "disk full\n").await,
        (200, "OK".to_owned())
    );
    let failed = (
        false,
        serde_json::json!("the job exited with status 3"),
        serde_json::json!("disk full\n"),
    );
    assert_eq!(results(&binary).await, std::slice::from_ref(&failed));

    // One byte over: refused, for a known token as for an unknown one, and nothing recorded.
    let large = vec![b'x'; 100_001];
    for token in [TOKEN, "x"] {
        assert_eq!(
            post(&binary, &format!("/ping/{token}/0"), large.clone()).await,
            (
                413,
                "the body is larger than 100000 bytes; send at most 100000 bytes".to_owned()
            )
        );
    }
    let response = client()
        .post(format!(
            "http://{}/api/v1/endpoints/jobs_backup/external?success=true",
            binary.addr
        ))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .body(large.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    assert_eq!(
        results(&binary).await,
        std::slice::from_ref(&failed),
        "nothing changed"
    );
    assert_eq!(status(&binary).await["state"], "down");

    // Exactly the limit is kept whole; a GET keeps no message; the token never shows (a value
    // from the environment shows as its `${NAME}`, as in reasons).
    let full = "y".repeat(100_000);
    assert_eq!(
        post(&binary, &format!("/ping/{TOKEN}"), full.clone())
            .await
            .0,
        200
    );
    assert_eq!(get(&binary, &format!("/ping/{TOKEN}")).await.0, 200);
    assert_eq!(
        post(
            &binary,
            &format!("/ping/{TOKEN}/fail"),
            format!("token {TOKEN}")
        )
        .await
        .0,
        200
    );
    // Gatus's JSON body: its `error` follows the query's as the reason, the body is the message.
    let body = r#"{"error":"no space left"}"#;
    let response = client()
        .post(format!(
            "http://{}/api/v1/endpoints/jobs_backup/external?success=false&error=disk",
            binary.addr
        ))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let reported = serde_json::json!("the job reported a failure");
    assert_eq!(
        results(&binary).await,
        [
            (
                false,
                serde_json::json!("disk; no space left"),
                serde_json::json!(body)
            ),
            (false, reported, serde_json::json!("token ${BACKUP_TOKEN}")),
            (true, serde_json::Value::Null, serde_json::Value::Null),
            (true, serde_json::Value::Null, serde_json::json!(full)),
            failed,
        ]
    );
    binary.signal(Signal::SIGTERM);
    assert_eq!(binary.exit_code().await, Some(0));
}

#[tokio::test]
async fn a_sigkill_between_check_ins_does_not_invent_an_outage() {
    let receiver = Receiver::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &receiver, "2s", "2s");
    let data = dir.path().join("data");
    let first = start(&config, &data).await;
    assert_eq!(get(&first, &format!("/ping/{TOKEN}")).await.0, 200);
    first.signal(Signal::SIGKILL);

    // Down for longer than period and grace; the job's check-ins meanwhile go unseen.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut second = start(&config, &data).await;
    let resumed = status(&second).await;
    assert_eq!(
        resumed["state"], "up",
        "resumed from the committed check-in"
    );
    // The job checks in on its schedule: one grace after the restart is enough to be heard.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(get(&second, &format!("/ping/{TOKEN}")).await.0, 200);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(get(&second, &format!("/ping/{TOKEN}")).await.0, 200);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(status(&second).await["state"], "up");
    assert!(incidents(&second).await.is_empty(), "no invented outage");
    assert!(receiver.all().is_empty());
    // And silence after the restart is still seen.
    wait_until(|| !receiver.delivered().is_empty()).await;
    assert_eq!(receiver.events(), ["down"]);
    second.signal(Signal::SIGTERM);
    assert_eq!(second.exit_code().await, Some(0));
}

#[tokio::test]
async fn a_monitor_heartbeat_checks_in_at_another_monitors_push_target() {
    use super::TestMonitor;
    // A watches B: B's heartbeat is A's push target.
    let watcher = TestMonitor::start(
        "[[target]]\nname = \"monitor-b\"\nkind = \"push\"\nperiod = \"1s\"\ngrace = \"1s\"\n\
         token = \"${PUSH_TOKEN}\"\n",
    )
    .await;
    let watched = TestMonitor::start(&format!(
        "[monitor]\nheartbeat_url = \"{}\"\nheartbeat_interval = \"1s\"\n{}",
        watcher.url(&format!("/ping/{}", super::PUSH_TOKEN)),
        super::target("self", &watcher.url("/livez"), ""),
    ))
    .await;
    for _ in 0..300 {
        if watcher.get("/api/v1/status").await["targets"][0]["state"] == "up" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        watcher.get("/api/v1/status").await["targets"][0]["state"],
        "up"
    );
    // B stops: A sees its silence.
    watched.stop().await;
    for _ in 0..300 {
        if watcher.get("/api/v1/status").await["targets"][0]["state"] == "down" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let target = watcher.get("/api/v1/status").await["targets"][0].clone();
    assert_eq!(target["state"], "down");
    assert_eq!(target["last_check"]["error"], "no check-in for 2s");
    watcher.stop().await;
}
