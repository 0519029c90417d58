//! The Gatus-compatible routes: Gatus's exact shapes over known results.

use serde_json::json;

use super::TestMonitor;
use crate::helpers::client;
use health_service::monitor::store::{Batch, Incident, ResultRecord, Store, millis};

/// A push target `name` in `group`: never probed, so the store holds only what a test wrote.
fn push_target(group: &str, name: &str) -> String {
    format!(
        "[[target]]\nname = \"{name}\"\nkind = \"push\"\ngroup = \"{group}\"\nperiod = \"1h\"\n\
         token = \"${{PUSH_TOKEN}}\"\n"
    )
}

fn rfc3339(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(i64::try_from(ms).unwrap())
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn text(monitor: &TestMonitor, path: &str) -> (u16, String, String) {
    let response = client().get(monitor.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (status, content_type, response.text().await.unwrap())
}

#[tokio::test]
async fn a_target_without_results_is_gatus_s_own_test_body() {
    let monitor = TestMonitor::start(&push_target("group", "name")).await;
    let statuses = monitor.get("/api/v1/endpoints/statuses").await;
    assert_eq!(
        statuses,
        json!([{"name": "name", "group": "group", "key": "group_name", "results": []}])
    );
    let one = monitor.get("/api/v1/endpoints/group_name/statuses").await;
    assert_eq!(
        one,
        json!({"name": "name", "group": "group", "key": "group_name", "results": []})
    );
    let (status, _, body) = text(&monitor, "/api/v1/endpoints/group_name/uptimes/7d").await;
    assert_eq!((status, body.as_str()), (200, "0.000000"));
    let shields = monitor
        .get("/api/v1/endpoints/group_name/health/badge.shields")
        .await;
    assert_eq!(
        shields,
        json!({"schemaVersion": 1, "label": "gatus", "message": "?", "color": "yellow"})
    );
    monitor.stop().await;
}

#[tokio::test]
async fn results_uptimes_and_response_times_are_exact() {
    let data = tempfile::tempdir().unwrap();
    let now_s = millis(std::time::SystemTime::now()) / 1000;
    let at = [now_s - 3, now_s - 2, now_s - 1].map(|s| s * 1000);
    {
        let store = Store::open(data.path()).unwrap();
        let result = |at_ms, ok: bool, status_code, response_time_ms| ResultRecord {
            at_ms,
            ok,
            status_code: Some(status_code),
            response_time_ms,
            error: (!ok).then(|| "[STATUS] (503) == 200".to_owned()),
            votes: Vec::new(),
        };
        let batch = Batch {
            results: vec![
                ("api".to_owned(), result(at[0], true, 200, 40)),
                ("api".to_owned(), result(at[1], false, 503, 100)),
                ("api".to_owned(), result(at[2], true, 200, 70)),
            ],
            incidents: vec![Incident {
                id: 1,
                target: "api".to_owned(),
                started_ms: at[1],
                resolved_ms: Some(at[2]),
                cause: "[STATUS] (503) == 200".to_owned(),
                reminders: Vec::new(),
            }],
            ..Batch::default()
        };
        store.commit(&batch).unwrap();
    }
    let monitor = TestMonitor::start_in(&push_target("Core Services", "api"), data).await;

    let result = |i: usize, status: u16, ms: u64, ok: bool| {
        let mut r = json!({"status": status, "duration": ms * 1_000_000, "success": ok,
                           "timestamp": rfc3339(at[i])});
        if !ok {
            r["errors"] = json!(["[STATUS] (503) == 200"]);
        }
        r
    };
    let all = [
        result(0, 200, 40, true),
        result(1, 503, 100, false),
        result(2, 200, 70, true),
    ];
    let statuses = monitor.get("/api/v1/endpoints/statuses").await;
    assert_eq!(
        statuses,
        json!([{"name": "api", "group": "Core Services", "key": "core-services_api",
                "results": all}])
    );
    // Page 1 of size 2 is the two newest, oldest first; page 2 the one before.
    let page = monitor
        .get("/api/v1/endpoints/core-services_api/statuses?page=1&pageSize=2")
        .await;
    assert_eq!(page["results"], json!([all[1], all[2]]));
    assert_eq!(
        page["events"],
        json!([{"type": "UNHEALTHY", "timestamp": rfc3339(at[1])},
               {"type": "HEALTHY", "timestamp": rfc3339(at[2])}])
    );
    let page = monitor
        .get("/api/v1/endpoints/core-services_api/statuses?page=2&pageSize=2")
        .await;
    assert_eq!(page["results"], json!([all[0]]));

    for duration in ["1h", "24h", "7d", "30d"] {
        let path = format!("/api/v1/endpoints/core-services_api/uptimes/{duration}");
        let (status, content_type, body) = text(&monitor, &path).await;
        assert_eq!(status, 200, "{duration}");
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        assert_eq!(body, "0.666667", "{duration}: 2 of 3 passed");
        let path = format!("/api/v1/endpoints/core-services_api/response-times/{duration}");
        let (status, _, body) = text(&monitor, &path).await;
        assert_eq!(
            (status, body.as_str()),
            (200, "70"),
            "{duration}: (40+100+70)/3"
        );
        let path = format!("/api/v1/endpoints/core-services_api/uptimes/{duration}/badge.svg");
        let (status, content_type, svg) = text(&monitor, &path).await;
        assert_eq!((status, content_type.as_str()), (200, "image/svg+xml"));
        assert!(svg.contains(&format!("uptime {duration}: 66.67%")), "{svg}");
        let path =
            format!("/api/v1/endpoints/core-services_api/response-times/{duration}/badge.svg");
        let (status, _, svg) = text(&monitor, &path).await;
        assert_eq!(status, 200);
        assert!(
            svg.contains(&format!("response time {duration}: 70ms")),
            "{svg}"
        );
    }
    let (status, _, svg) = text(
        &monitor,
        "/api/v1/endpoints/core-services_api/health/badge.svg",
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        svg.contains("health: up"),
        "the latest result passed: {svg}"
    );
    let shields = monitor
        .get("/api/v1/endpoints/core-services_api/health/badge.shields")
        .await;
    assert_eq!(
        shields,
        json!({"schemaVersion": 1, "label": "gatus", "message": "up", "color": "brightgreen"})
    );
    monitor.stop().await;
}

#[tokio::test]
async fn bad_durations_are_400_and_unknown_keys_404_as_in_gatus() {
    let monitor = TestMonitor::start(&push_target("group", "name")).await;
    for path in [
        "/api/v1/endpoints/group_name/uptimes/2d",
        "/api/v1/endpoints/group_name/response-times/90d",
        "/api/v1/endpoints/group_name/uptimes/1d/badge.svg",
    ] {
        let (status, _, body) = text(&monitor, path).await;
        assert_eq!(
            (status, body.as_str()),
            (400, "Durations supported: 30d, 7d, 24h, 1h"),
            "{path}"
        );
    }
    for path in [
        "/api/v1/endpoints/nope/statuses",
        "/api/v1/endpoints/nope/uptimes/7d",
        "/api/v1/endpoints/nope/response-times/24h",
        "/api/v1/endpoints/nope/health/badge.svg",
        "/api/v1/endpoints/nope/health/badge.shields",
        "/api/v1/endpoints/nope/uptimes/7d/badge.svg",
    ] {
        let (status, _, body) = text(&monitor, path).await;
        assert_eq!(
            (status, body.as_str()),
            (404, "endpoint not found"),
            "{path}"
        );
    }
    monitor.stop().await;
}
