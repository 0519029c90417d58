//! A store written by the format-1 code (tests/fixtures/store-v1), opened by this build: the
//! history, the states and the open incident come through the migration intact.

use std::path::Path;

use super::TestMonitor;

/// The fixture's own config (see its README), kept for 10 years so nothing is pruned.
const CONFIG: &str = r#"
[monitor]
title = "Fixture"
retention = "3650d"
[[target]]
name = "api"
url = "http://127.0.0.1:9/health"
interval = "5m"
failure_threshold = 2
success_threshold = 2
[[target]]
name = "web"
url = "http://127.0.0.1:9/"
interval = "5m"
group = "front"
"#;

#[tokio::test]
async fn a_format_1_store_keeps_its_history_states_and_open_incident() {
    let data = tempfile::tempdir().unwrap();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v1/monitor.redb");
    std::fs::copy(fixture, data.path().join("monitor.redb")).unwrap();
    let monitor = TestMonitor::start_in(CONFIG, data).await;

    let incidents = monitor.get("/api/v1/incidents").await;
    let incidents = incidents["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 2, "{incidents:?}");
    assert_eq!(incidents[0]["id"], 2);
    assert_eq!(incidents[0]["started_at"], "2026-12-05T23:30:00+00:00");
    assert_eq!(incidents[0]["resolved_at"], serde_json::Value::Null);
    assert_eq!(incidents[0]["cause"], "[STATUS] (503) == 200");
    assert_eq!(incidents[1]["id"], 1);
    assert_eq!(incidents[1]["started_at"], "2026-12-04T10:00:00+00:00");
    assert_eq!(incidents[1]["resolved_at"], "2026-12-04T11:00:00+00:00");

    let status = monitor.get("/api/v1/status").await;
    assert_eq!(status["targets"][0]["state"], "down", "{status}");
    assert_eq!(status["targets"][0]["since"], "2026-12-05T23:30:00+00:00");
    assert_eq!(status["targets"][1]["state"], "up");

    // Every result of the two days is there, each now a result of the monitor's location.
    let results = monitor
        .get("/api/v1/targets/web/results?limit=1000&before=2026-12-06T00:00:00Z")
        .await;
    let results = results["results"].as_array().unwrap();
    assert_eq!(results.len(), 576);
    assert_eq!(results[575]["at"], "2026-12-04T00:00:00+00:00");
    assert_eq!(results[575]["location"], "local");
    assert_eq!(results[575]["ok"], true);
    let failed = monitor
        .get("/api/v1/targets/api/results?limit=1&before=2026-12-04T10:05:00Z")
        .await;
    assert_eq!(failed["results"][0]["at"], "2026-12-04T10:00:00+00:00");
    assert_eq!(failed["results"][0]["status_code"], 503);
    assert_eq!(failed["results"][0]["error"], "[STATUS] (503) == 200");

    let page = crate::helpers::client()
        .get(monitor.url("/status"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<tr id=\"incident-2\">"), "{page}");
    assert!(page.contains("ongoing"), "{page}");
    assert!(page.contains("aria-label=\"web\""), "{page}");
    monitor.stop().await;
}
