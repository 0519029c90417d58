//! Uptime Kuma's status-page API: exact JSON, stable monitor ids, and Kuma's 404.

use health_service::monitor::store::{Batch, ResultRecord, Store, millis};
use serde_json::json;

use super::{Behaviour, TargetServer, TestMonitor, target};
use crate::helpers::client;

/// `ms` since the epoch in `format` (UTC), as the test expects Kuma's times.
fn at(ms: u64, format: &str) -> String {
    chrono::DateTime::from_timestamp_millis(i64::try_from(ms).unwrap())
        .unwrap()
        .format(format)
        .to_string()
}

async fn get(monitor: &TestMonitor, path: &str) -> (u16, serde_json::Value) {
    let response = client().get(monitor.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn the_kuma_status_page_lists_targets_by_group_and_the_ongoing_incident() {
    let up = TargetServer::start(Behaviour::healthy()).await;
    let down = TargetServer::start(Behaviour::failing()).await;
    let toml = format!(
        "[monitor]\ntitle = \"Status of things\"\nstatus_page_slug = \"home\"\n{}{}{}",
        target(
            "api",
            &up.url("/health"),
            "group = \"production\"\nshow_url = true"
        ),
        target("db", &down.url("/"), "failure_threshold = 1"),
        target(
            "cache",
            &format!("tcp://{}", up.addr),
            "group = \"production\""
        ),
    );
    let monitor = TestMonitor::start(&toml).await;
    monitor.wait_for_states(&["up", "down", "up"]).await;
    let incidents = monitor.get("/api/v1/incidents").await;
    let started = incidents["incidents"][0]["started_at"].as_str().unwrap();
    let started = chrono::DateTime::parse_from_rfc3339(started).unwrap();
    let started = started.format("%Y-%m-%d %H:%M:%S").to_string();
    let incident = json!({
        "id": 1, "style": "danger", "title": "db is down",
        "content": "status 503 is not 200..399", "pin": true, "active": true,
        "createdDate": started, "lastUpdatedDate": null, "status_page_id": 1,
    });
    let expected = json!({
        "config": {
            "slug": "home", "title": "Status of things", "description": null,
            "icon": "/icon.svg", "autoRefreshInterval": 60, "theme": "auto",
            "published": true, "showTags": false, "customCSS": null, "footerText": null,
            "showPoweredBy": false, "analyticsId": null, "analyticsScriptUrl": null,
            "analyticsType": null, "showCertificateExpiry": false,
            "showOnlyLastHeartbeat": false, "rssTitle": null,
        },
        "incident": incident,
        "incidents": [incident],
        "publicGroupList": [
            {"id": 1, "name": "Services", "weight": 1, "monitorList": [
                {"id": 2, "name": "db", "sendUrl": 0, "type": "http"},
            ]},
            {"id": 2, "name": "production", "weight": 2, "monitorList": [
                {"id": 1, "name": "api", "sendUrl": 1, "type": "http",
                 "url": up.url("/health")},
                {"id": 3, "name": "cache", "sendUrl": 0, "type": "port"},
            ]},
        ],
        "maintenanceList": [],
    });
    assert_eq!(
        get(&monitor, "/api/status-page/home").await,
        (200, expected.clone())
    );
    // Kuma lower-cases the slug it is asked for.
    assert_eq!(
        get(&monitor, "/api/status-page/HOME").await,
        (200, expected)
    );

    let not_found = json!({"status": "fail", "msg": "Status Page Not Found"});
    for path in [
        "/api/status-page/default",
        "/api/status-page/heartbeat/default",
        "/api/status-page/heartbeat/hom",
    ] {
        assert_eq!(
            get(&monitor, path).await,
            (404, not_found.clone()),
            "{path}"
        );
    }
    monitor.stop().await;
}

#[tokio::test]
async fn kuma_heartbeats_are_the_last_100_results_oldest_first_with_24h_uptime() {
    // A push target that never checks in during the test: its results are the ones written
    // here, one a minute, every 10th failed with a response and every 25th without one.
    let data = tempfile::tempdir().unwrap();
    let now = millis(std::time::SystemTime::now()) / 60_000 * 60_000;
    let results: Vec<ResultRecord> = (0..101u64)
        .map(|i| {
            let ok = i % 10 != 0 && i % 25 != 0;
            let status_code = if i % 25 == 0 {
                None
            } else {
                Some(if ok { 200 } else { 503 })
            };
            ResultRecord {
                at_ms: now - (101 - i) * 60_000,
                ok,
                status_code,
                response_time_ms: 20 + i,
                error: (!ok).then(|| "failed".to_owned()),
                votes: Vec::new(),
            }
        })
        .collect();
    {
        let store = Store::open(data.path()).unwrap();
        let batch = Batch {
            results: results
                .iter()
                .map(|r| ("job".to_owned(), r.clone()))
                .collect(),
            ..Batch::default()
        };
        store.commit(&batch).unwrap();
    }
    let toml = "[[target]]\nname = \"job\"\nkind = \"push\"\nperiod = \"1h\"\n\
                token = \"${PUSH_TOKEN}\"\n";
    let monitor = TestMonitor::start_in(toml, data).await;

    let beats: Vec<serde_json::Value> = results[1..]
        .iter()
        .map(|r| {
            let ping = if r.ok || r.status_code.is_some() {
                json!(r.response_time_ms)
            } else {
                json!(null)
            };
            json!({
                "status": u8::from(r.ok),
                "time": at(r.at_ms, "%Y-%m-%d %H:%M:%S%.3f"),
                "msg": "",
                "ping": ping,
            })
        })
        .collect();
    let failures = results.iter().filter(|r| !r.ok).count();
    #[allow(clippy::cast_precision_loss)]
    let uptime = (101 - failures) as f64 / 101.0;
    let expected = json!({"heartbeatList": {"1": beats}, "uptimeList": {"1_24": uptime}});
    assert_eq!(
        get(&monitor, "/api/status-page/heartbeat/default").await,
        (200, expected)
    );
    monitor.stop().await;
}

#[tokio::test]
async fn kuma_monitor_ids_survive_a_restart_with_targets_inserted_and_removed() {
    let up = TargetServer::start(Behaviour::healthy()).await;
    let first = format!(
        "{}{}",
        target("api", &up.url("/"), ""),
        target("web", &up.url("/"), "")
    );
    let monitor = TestMonitor::start(&first).await;
    let data = monitor.stop().await;
    // A target inserted first, one removed, the rest reordered.
    let second = format!(
        "{}{}",
        target("new", &up.url("/"), ""),
        target("api", &up.url("/"), ""),
    );
    let monitor = TestMonitor::start_in(&second, data).await;
    let (status, page) = get(&monitor, "/api/status-page/default").await;
    assert_eq!(status, 200);
    let ids: Vec<(String, u64)> = page["publicGroupList"][0]["monitorList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_owned(),
                m["id"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ids, [("new".to_owned(), 3), ("api".to_owned(), 1)]);
    monitor.stop().await;
}
