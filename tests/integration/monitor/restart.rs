//! The real binary stopped by SIGKILL mid-incident and restarted on the same store, and
//! stopped by SIGTERM with results not yet committed.

use std::collections::HashSet;

use health_service::monitor::store::{State, Store};
use nix::sys::signal::Signal;

use super::{Behaviour, Receiver, TargetServer, eventually, target};
use crate::helpers::{Binary, client, free_port, json, spawn_binary_with};

async fn start(config: &str, data: &str) -> Binary {
    let metrics_port = free_port().to_string();
    spawn_binary_with(
        &[
            ("MONITOR_DATA_DIR", data),
            ("RUST_LOG", "warn,health_service=info"),
            ("METRICS_PORT", &metrics_port),
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

/// Waits until the API shows `more` results of `api` past the `now` it shows already.
async fn wait_for_more_results(binary: &Binary, more: usize) {
    let now = result_times(binary).await.len();
    eventually(&format!("{more} more results"), || async {
        result_times(binary).await.len() >= now + more
    })
    .await;
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
    wait_for_more_results(&first, 2).await;
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

    // Still failing after the restart, three probes on: no second incident, no second down.
    wait_for_more_results(&second, 3).await;
    let incidents = get(&second, "/api/v1/incidents").await;
    assert_eq!(incidents["incidents"].as_array().unwrap().len(), 1);
    assert_eq!(receiver.events(), ["down"]);

    server.set(Behaviour::healthy());
    let both = receiver.wait_for(2).await;
    assert_eq!(both[1].body["event"], "resolved");
    assert_eq!(both[1].body["incident_id"], down[0].body["incident_id"]);
    wait_for_more_results(&second, 2).await;
    assert_eq!(
        receiver.events(),
        ["down", "resolved"],
        "nothing doubled, nothing missing"
    );
}

#[tokio::test]
async fn sigterm_commits_the_results_not_yet_committed_before_exiting() {
    let server = TargetServer::start(Behaviour::healthy()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("monitor.toml");
    // One probe at start, then none for an hour: its result is the last one.
    std::fs::write(
        &config,
        format!(
            "[[target]]\nname = \"api\"\nurl = \"{}\"\ninterval = \"1h\"\n",
            server.url("/health")
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let mut binary = start(config.to_str().unwrap(), data.to_str().unwrap()).await;
    // The gauge is set as the result goes to the ledger, which commits it within a second:
    // the SIGTERM comes before that, and shutdown must commit it.
    let metrics = format!(
        "http://{}/metrics",
        binary.metrics_addr.expect("metrics are on")
    );
    eventually("the probe", || async {
        let scrape = client().get(&metrics).send().await.unwrap();
        scrape
            .text()
            .await
            .unwrap()
            .contains("probe_success{location=\"local\",target=\"api\"} 1")
    })
    .await;
    binary.signal(Signal::SIGTERM);
    assert_eq!(binary.exit_code().await, Some(0));

    let store = Store::open(&data).unwrap();
    let results = store.results("api", None, 10).unwrap();
    assert_eq!(results.len(), 1, "{results:?}");
    assert!(results[0].ok && results[0].status_code == Some(200));
    let state = store.state("api").unwrap().expect("the state is saved");
    assert_eq!(state.state, State::Up);
    assert_eq!(state.last.as_ref(), Some(&results[0]));
    assert_eq!(server.methods().len(), 1);
}
