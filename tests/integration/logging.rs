//! The access log, through the real binary's stdout.

use nix::sys::signal::Signal;

use crate::helpers::{client, spawn_binary};

#[tokio::test]
async fn each_request_logs_one_json_line_with_method_route_status_latency_and_id() {
    let mut binary = spawn_binary(&[]).await;
    let url = format!("http://{}", binary.addr);
    let http = client();
    http.get(format!("{url}/health"))
        .header("x-request-id", "req-1")
        .send()
        .await
        .unwrap();
    http.post(format!("{url}/health"))
        .header("fly-request-id", "fly-2")
        .send()
        .await
        .unwrap();
    http.get(format!("{url}/no/such/path"))
        .header("x-request-id", "req-3")
        .send()
        .await
        .unwrap();

    let mut lines = Vec::new();
    while lines.len() < 3 {
        let entry = binary
            .next_log()
            .await
            .expect("an access log line per request");
        if entry["target"] == "health_service::access" {
            lines.push(entry);
        }
    }
    let summary: Vec<(String, String, u64, String)> = lines
        .iter()
        .map(|l| {
            assert!(
                l["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
                "latency is a number: {l}"
            );
            assert_eq!(l["level"], "INFO");
            assert!(l["timestamp"].is_string());
            (
                l["method"].as_str().unwrap().to_owned(),
                l["route"].as_str().unwrap().to_owned(),
                l["status"].as_u64().unwrap(),
                l["request_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("GET", "/health", 200, "req-1"),
        ("POST", "/health", 405, "fly-2"),
        ("GET", "<unmatched>", 404, "req-3"),
    ];
    let expected: Vec<(String, String, u64, String)> = expected
        .iter()
        .map(|(m, r, s, i)| ((*m).to_owned(), (*r).to_owned(), *s, (*i).to_owned()))
        .collect();
    assert_eq!(summary, expected);
}

#[tokio::test]
async fn no_request_line_is_lost_when_the_process_stops_on_sigterm() {
    let mut binary = spawn_binary(&[]).await;
    let url = format!("http://{}/health", binary.addr);
    let http = client();
    // Concurrent requests, so that lines wait in the batch while the worker stays busy.
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..64 {
        let request = http.get(&url).header("x-request-id", format!("batch-{i}"));
        requests.spawn(async move { request.send().await.unwrap().status() });
    }
    while let Some(status) = requests.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    binary.signal(Signal::SIGTERM);

    let mut ids = Vec::new();
    while let Some(entry) = binary.next_log().await {
        if entry["target"] == "health_service::access" {
            ids.push(entry["request_id"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(binary.exit_code().await, Some(0));
    ids.sort_unstable();
    let mut expected: Vec<String> = (0..64).map(|i| format!("batch-{i}")).collect();
    expected.sort_unstable();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn the_log_filter_turns_the_access_log_off_and_leaves_the_rest() {
    let mut binary = spawn_binary(&[("RUST_LOG", "info,health_service::access=off")]).await;
    let url = format!("http://{}/health", binary.addr);
    for _ in 0..3 {
        let response = client().get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    binary.signal(Signal::SIGTERM);

    let mut targets = Vec::new();
    while let Some(entry) = binary.next_log().await {
        targets.push(entry["target"].as_str().unwrap().to_owned());
    }
    assert_eq!(binary.exit_code().await, Some(0));
    assert!(
        !targets.iter().any(|t| t == "health_service::access"),
        "no access line: {targets:?}"
    );
    assert!(
        targets.iter().any(|t| t == "health_service::startup"),
        "other info lines still logged: {targets:?}"
    );
}
