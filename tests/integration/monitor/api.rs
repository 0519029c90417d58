//! `/api/v1/*`: shapes, values, errors, and the spec.

use super::{Behaviour, TargetServer, TestMonitor, target};
use crate::helpers::client;

#[tokio::test]
async fn status_lists_every_target_in_order_with_state_and_uptime() {
    let up = TargetServer::start(Behaviour::healthy()).await;
    let down = TargetServer::start(Behaviour::failing()).await;
    let toml = format!(
        "[monitor]\ntitle = \"Status of things\"\n{}{}",
        target(
            "api",
            &up.url("/health"),
            "group = \"production\"\nshow_url = true"
        ),
        target("db", &down.url("/"), "failure_threshold = 1"),
    );
    let monitor = TestMonitor::start(&toml).await;
    monitor.wait_for_states(&["up", "down"]).await;

    let status = monitor.get("/api/v1/status").await;
    assert_eq!(status["title"], "Status of things");
    assert_eq!(status["status"], "degraded");
    let [api, db] = status["targets"].as_array().unwrap().as_slice() else {
        panic!("two targets: {status}");
    };
    assert_eq!(api["name"], "api");
    assert_eq!(api["group"], "production");
    assert_eq!(api["url"], up.url("/health"));
    assert_eq!(api["state"], "up");
    assert_eq!(api["last_check"]["ok"], true);
    assert_eq!(api["last_check"]["status_code"], 200);
    assert_eq!(api["last_check"]["error"], serde_json::Value::Null);
    for window in ["24h", "7d", "30d", "90d"] {
        assert_eq!(api["uptime"][window], 1.0, "{window}");
        assert_eq!(db["uptime"][window], 0.0, "{window}");
    }
    assert_eq!(db["group"], serde_json::Value::Null);
    assert_eq!(db["url"], serde_json::Value::Null, "no show_url, no URL");
    assert_eq!(db["state"], "down");
    assert_eq!(db["last_check"]["error"], "status 503 is not 200..399");
    assert!(db["since"].is_string());
    monitor.stop().await;
}

#[tokio::test]
async fn before_the_first_probe_a_target_is_unknown_with_null_uptime() {
    let slow = TargetServer::start(Behaviour {
        delay: std::time::Duration::from_millis(800),
        ..Behaviour::healthy()
    })
    .await;
    let monitor = TestMonitor::start(&target("api", &slow.url("/"), "")).await;
    let status = monitor.get("/api/v1/status").await;
    let api = &status["targets"][0];
    assert_eq!(api["state"], "unknown");
    assert_eq!(api["since"], serde_json::Value::Null);
    assert_eq!(api["last_check"], serde_json::Value::Null);
    assert_eq!(api["uptime"]["24h"], serde_json::Value::Null);
    assert_eq!(status["status"], "up", "unknown is not down");
    monitor.stop().await;
}

#[tokio::test]
async fn results_page_backwards_and_unknown_targets_are_404_json() {
    let server = TargetServer::start(Behaviour::healthy()).await;
    let monitor = TestMonitor::start(&target("api", &server.url("/"), "")).await;
    monitor.wait_for_results("api", 3).await;

    let all = monitor.get("/api/v1/targets/api/results").await;
    assert_eq!(all["target"], "api");
    let results = all["results"].as_array().unwrap();
    assert!(results.len() >= 3);
    let times: Vec<&str> = results.iter().map(|r| r["at"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");

    let page = monitor
        .get(&format!(
            "/api/v1/targets/api/results?limit=1&before={}",
            times[0].replace('+', "%2B")
        ))
        .await;
    let page = page["results"].as_array().unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0]["at"], times[1]);

    let response = client()
        .get(monitor.url("/api/v1/targets/nope/results"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body = crate::helpers::json(response).await;
    assert_eq!(body["status"], 404);
    assert_eq!(body["error"], "Not Found");
    assert!(body["message"].as_str().unwrap().contains("\"nope\""));

    for bad in ["limit=0", "limit=1001", "limit=x", "before=yesterday"] {
        let response = client()
            .get(monitor.url(&format!("/api/v1/targets/api/results?{bad}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{bad}");
        let body = crate::helpers::json(response).await;
        assert_eq!(body["status"], 400, "{bad}");
    }
    monitor.stop().await;
}

#[tokio::test]
async fn the_spec_lists_the_monitor_api_in_monitor_mode_only() {
    let server = TargetServer::start(Behaviour::healthy()).await;
    let monitor = TestMonitor::start(&target("api", &server.url("/"), "")).await;
    let spec = monitor.get("/openapi.json").await;
    for path in [
        "/api/v1/status",
        "/api/v1/targets/{name}/results",
        "/api/v1/incidents",
        "/health",
    ] {
        assert!(spec["paths"][path]["get"].is_object(), "{path}");
    }
    monitor.stop().await;

    let service = crate::helpers::spawn_app(&[]).await;
    let spec = crate::helpers::json(
        client()
            .get(service.url("/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(spec["paths"]["/api/v1/status"].is_null());
}
