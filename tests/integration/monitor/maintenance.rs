//! `[[maintenance]]` windows in the running monitor: failures alert nobody, the API and page
//! say maintenance.

use std::time::Duration;

use super::{Behaviour, Receiver, TargetServer, TestMonitor, target};

/// RFC 3339 for now plus `seconds` (negative: before now).
fn from_now(seconds: i64) -> String {
    (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(seconds)).to_string()
}

#[tokio::test]
async fn a_window_now_silences_a_failing_target_and_the_page_says_maintenance() {
    let server = TargetServer::start(Behaviour::failing()).await;
    let receiver = Receiver::start(&[]).await;
    let config = format!(
        "{}{}[[alert]]\nkind = \"webhook\"\nurl = \"{}\"\n\
         [[maintenance]]\nfrom = \"{}\"\nuntil = \"{}\"\ntargets = [\"api\"]\n",
        target("api", &server.url("/health"), "failure_threshold = 1"),
        target("other", &server.url("/other"), "failure_threshold = 1"),
        receiver.url("/hook"),
        from_now(-3600),
        from_now(3600),
    );
    let monitor = TestMonitor::start(&config).await;

    // `other` is not in the window: its first failure opens an incident and alerts.
    let sent = receiver.wait_for(1).await;
    assert_eq!(sent[0].body["target"], "other");
    // `api` fails every second in the window: its results are stored, and nothing else.
    let mut results = 0;
    for _ in 0..300 {
        let found = monitor.get("/api/v1/targets/api/results").await;
        results = found["results"].as_array().unwrap().len();
        if results >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(results >= 3, "three failures of api were stored");
    let found = monitor.get("/api/v1/targets/api/results").await;
    assert_eq!(found["results"][0]["ok"], false);
    assert_eq!(found["results"][0]["error"], "status 503 is not 200..399");

    let status = monitor.get("/api/v1/status").await;
    let api = &status["targets"][0];
    assert_eq!(api["name"], "api");
    assert_eq!(api["state"], "maintenance");
    assert_eq!(
        api["uptime"]["24h"],
        serde_json::Value::Null,
        "no counted probe"
    );
    assert_eq!(status["targets"][1]["state"], "down");
    let incidents = monitor.get("/api/v1/incidents").await;
    let targets: Vec<&str> = incidents["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["other"], "no incident for api");
    assert!(
        receiver
            .delivered()
            .iter()
            .all(|r| r.body["target"] == "other")
    );

    let page = crate::helpers::client()
        .get(monitor.url("/status"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"<span class="state maintenance">Maintenance</span>"#),
        "{page}"
    );
    assert!(page.contains("Maintenance under way until "), "{page}");
    assert!(page.contains("Uptime figures leave maintenance windows out."));
    monitor.stop().await;
}
