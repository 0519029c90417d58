//! A real SIGKILL of the binary mid-incident, and a restart on the same store.

use std::collections::HashSet;

use nix::sys::signal::Signal;

use super::{Behaviour, Receiver, TargetServer, target};
use crate::helpers::{Binary, client, json, spawn_binary_with};

async fn start(config: &str, data: &str) -> Binary {
    spawn_binary_with(
        &[
            ("MONITOR_DATA_DIR", data),
            ("RUST_LOG", "warn,health_service=info"),
        ],
        &["monitor", "--config", config],
    )
    .await
}

async fn get(binary: &Binary, path: &str) -> serde_json::Value {
    json(
        client()
            .get(format!("http://{}{path}", binary.addr))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The start times of the results the API shows for `api`.
async fn result_times(binary: &Binary) -> HashSet<String> {
    get(binary, "/api/v1/targets/api/results?limit=1000").await["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["at"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn sigkill_mid_incident_keeps_history_and_sends_no_second_down() {
    let server = TargetServer::start(Behaviour::healthy()).await;
    let receiver = Receiver::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("monitor.toml");
    std::fs::write(
        &config,
        format!(
            "{}\n[[alert]]\nkind = \"webhook\"\nurl = \"{}\"\n",
            target(
                "api",
                &server.url("/health"),
                "failure_threshold = 2\nsuccess_threshold = 2\nconditions = [\"[STATUS] == 200\"]"
            ),
            receiver.url("/hook")
        ),
    )
    .unwrap();
    let (config, data) = (config.to_str().unwrap(), dir.path().join("data"));
    let data = data.to_str().unwrap();

    let mut first = start(config, data).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    server.set(Behaviour::failing());
    let down = receiver.wait_for(1).await;
    assert_eq!(down[0].body["event"], "down");
    // Whatever the API showed was committed; it must all survive the kill.
    let before = result_times(&first).await;
    assert!(before.len() >= 3, "{before:?}");
    first.signal(Signal::SIGKILL);
    assert_eq!(first.exit_code().await, None, "killed by a signal");

    let second = start(config, data).await;
    let after = result_times(&second).await;
    assert!(
        before.is_subset(&after),
        "lost results: {:?}",
        before.difference(&after)
    );
    let incidents = get(&second, "/api/v1/incidents").await;
    assert_eq!(
        incidents["incidents"].as_array().unwrap().len(),
        1,
        "{incidents}"
    );
    assert_eq!(incidents["incidents"][0]["id"], down[0].body["incident_id"]);
    assert_eq!(
        incidents["incidents"][0]["resolved_at"],
        serde_json::Value::Null
    );
    let status = get(&second, "/api/v1/status").await;
    assert_eq!(status["targets"][0]["state"], "down", "{status}");

    // Still failing after the restart: no second down.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(receiver.events(), ["down"]);

    server.set(Behaviour::healthy());
    let both = receiver.wait_for(2).await;
    assert_eq!(both[1].body["event"], "resolved");
    assert_eq!(both[1].body["incident_id"], down[0].body["incident_id"]);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        receiver.events(),
        ["down", "resolved"],
        "nothing doubled, nothing missing"
    );
}
