//! The Gatus-compatible routes: Gatus's exact shapes over known results.

use serde_json::json;

use super::{Behaviour, TargetServer, TestMonitor, target};
use crate::helpers::client;
use health_service::monitor::store::{Batch, HOUR_MS, ResultRecord, Store, Verdict, millis};

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
    let history = monitor
        .get("/api/v1/endpoints/group_name/response-times/7d/history")
        .await;
    assert_eq!(history, json!({"timestamps": [], "values": []}));
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
        let verdict = |condition: &str, failure: Option<&str>| Verdict {
            condition: condition.to_owned(),
            failure: failure.map(str::to_owned),
        };
        let batch = Batch {
            results: vec![
                ("api".to_owned(), result(at[0], true, 200, 40)),
                ("api".to_owned(), result(at[1], false, 503, 100)),
                ("api".to_owned(), result(at[2], true, 200, 70)),
            ],
            // The first result has none: kept before verdicts were.
            verdicts: vec![
                (
                    "api".to_owned(),
                    at[1],
                    vec![
                        verdict("[STATUS] == 200", Some("[STATUS] (503) == 200")),
                        verdict("[RESPONSE_TIME] < 500", None),
                    ],
                ),
                (
                    "api".to_owned(),
                    at[2],
                    vec![
                        verdict("[STATUS] == 200", None),
                        verdict("[RESPONSE_TIME] < 500", None),
                    ],
                ),
            ],
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
    let mut all = [
        result(0, 200, 40, true),
        result(1, 503, 100, false),
        result(2, 200, 70, true),
    ];
    // Between `errors` and `success`, as Gatus writes them; a failed condition with the values
    // seen, a held one as written.
    all[1]["conditionResults"] = json!([
        {"condition": "[STATUS] (503) == 200", "success": false},
        {"condition": "[RESPONSE_TIME] < 500", "success": true},
    ]);
    all[2]["conditionResults"] = json!([
        {"condition": "[STATUS] == 200", "success": true},
        {"condition": "[RESPONSE_TIME] < 500", "success": true},
    ]);
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
    // Every result's changes, not only the page's: `START` and the first result's health,
    // then each flip, at the results' times.
    assert_eq!(
        page["events"],
        json!([{"type": "START", "timestamp": rfc3339(at[0])},
               {"type": "HEALTHY", "timestamp": rfc3339(at[0])},
               {"type": "UNHEALTHY", "timestamp": rfc3339(at[1])},
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
    for duration in ["1h", "2d", "90d"] {
        let path = format!("/api/v1/endpoints/group_name/response-times/{duration}/history");
        let (status, _, body) = text(&monitor, &path).await;
        assert_eq!(
            (status, body.as_str()),
            (400, "Durations supported: 30d, 7d, 24h"),
            "{duration}: Gatus's text for this route, without 1h"
        );
    }
    for path in [
        "/api/v1/endpoints/nope/statuses",
        "/api/v1/endpoints/nope/uptimes/7d",
        "/api/v1/endpoints/nope/response-times/24h",
        "/api/v1/endpoints/nope/health/badge.svg",
        "/api/v1/endpoints/nope/health/badge.shields",
        "/api/v1/endpoints/nope/uptimes/7d/badge.svg",
        "/api/v1/endpoints/nope/response-times/7d/history",
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

#[tokio::test]
async fn a_probed_target_s_results_list_each_condition_s_verdict() {
    let server = TargetServer::start(Behaviour::failing()).await;
    let config = target(
        "api",
        &server.url("/health"),
        r#"conditions = ["[STATUS] == 503", "[BODY].status == UP"]"#,
    );
    let monitor = TestMonitor::start(&config).await;
    monitor.wait_for_results("api", 1).await;
    let status = monitor.get("/api/v1/endpoints/_api/statuses").await;
    let last = status["results"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        last["conditionResults"],
        json!([
            {"condition": "[STATUS] == 503", "success": true},
            {"condition": "[BODY].status (DOWN) == UP", "success": false},
        ]),
        "{last}"
    );
    assert_eq!(last["errors"], json!(["[BODY].status (DOWN) == UP"]));
    assert_eq!(last["success"], false);
    monitor.stop().await;
}

/// A store written before verdicts and events were kept (tests/fixtures/store-v2, format
/// version 2 as this build's) opens: its results are served as they were, without
/// `conditionResults`, with the events they give, and new results have verdicts.
#[tokio::test]
async fn a_store_from_before_verdicts_keeps_its_results_and_new_ones_get_verdicts() {
    const T0: u64 = 1_800_000_000_000;
    let data = tempfile::tempdir().unwrap();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v2");
    std::fs::copy(
        fixture.join("monitor.redb"),
        data.path().join("monitor.redb"),
    )
    .unwrap();
    let server = TargetServer::start(Behaviour::healthy()).await;
    let config = format!(
        "{}{}",
        push_target("jobs", "backup"),
        target(
            "api",
            &server.url("/health"),
            r#"conditions = ["[STATUS] == 200"]"#
        )
    );
    let monitor = TestMonitor::start_in(&config, data).await;
    monitor.wait_for_results("api", 1).await;

    let statuses = monitor.get("/api/v1/endpoints/statuses").await;
    assert_eq!(
        statuses[0]["results"],
        json!([
            {"duration": 0, "success": true, "timestamp": rfc3339(T0)},
            {"duration": 0, "errors": ["the job exited with status 3"], "success": false,
             "timestamp": rfc3339(T0 + 60_000)},
        ]),
        "the fixture's two results, as they were"
    );
    let events = monitor.get("/api/v1/endpoints/jobs_backup/statuses").await;
    assert_eq!(
        events["events"],
        json!([{"type": "START", "timestamp": rfc3339(T0)},
               {"type": "HEALTHY", "timestamp": rfc3339(T0)},
               {"type": "UNHEALTHY", "timestamp": rfc3339(T0 + 60_000)}]),
        "derived at start-up from the fixture's results"
    );
    let api = statuses[1]["results"].as_array().unwrap();
    assert!(!api.is_empty());
    for result in api {
        assert_eq!(
            result["conditionResults"],
            json!([{"condition": "[STATUS] == 200", "success": true}]),
            "{result}"
        );
    }
    monitor.stop().await;
}

/// `(timestamps, values)` of a history body.
fn history(body: &serde_json::Value) -> (Vec<u64>, Vec<u64>) {
    let numbers = |key: &str| {
        body[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key} in {body}"))
            .iter()
            .map(|n| n.as_u64().unwrap())
            .collect()
    };
    (numbers("timestamps"), numbers("values"))
}

#[tokio::test]
async fn response_time_history_is_gatus_s_hourly_means() {
    let data = tempfile::tempdir().unwrap();
    let hour = |ms: u64| ms / HOUR_MS;
    let written_hour = hour(millis(std::time::SystemTime::now()));
    {
        let store = Store::open(data.path()).unwrap();
        let result = |hours_ago: u64, minute: u64, response_time_ms| {
            let record = ResultRecord {
                at_ms: (written_hour - hours_ago) * HOUR_MS + minute * 60_000,
                ok: true,
                status_code: Some(200),
                response_time_ms,
                error: None,
                votes: Vec::new(),
            };
            ("api".to_owned(), record)
        };
        let batch = Batch {
            results: vec![
                // 29 days back: in 30d only.
                result(29 * 24, 0, 900),
                // Five hours back, two results: (40 + 61) / 2, truncated as Gatus's int().
                result(5, 1, 40),
                result(5, 2, 61),
                result(3, 0, 100),
                result(0, 0, 70),
            ],
            ..Batch::default()
        };
        store.commit(&batch).unwrap();
    }
    let monitor = TestMonitor::start_in(&push_target("Core Services", "api"), data).await;

    for (duration, span) in [("24h", 24), ("7d", 7 * 24), ("30d", 30 * 24)] {
        let path = format!("/api/v1/endpoints/core-services_api/response-times/{duration}/history");
        // Read within one hour, so the expected range is that hour's.
        let (now_hour, body) = loop {
            let before = hour(millis(std::time::SystemTime::now()));
            let body = monitor.get(&path).await;
            if hour(millis(std::time::SystemTime::now())) == before {
                break (before, body);
            }
        };
        let from = now_hour - span;
        // Every hour from `from` to the first with results is 0, then only hours with results.
        let mut expected: Vec<(u64, u64)> = Vec::new();
        let data = [
            (written_hour - 29 * 24, 900),
            (written_hour - 5, 50),
            (written_hour - 3, 100),
            (written_hour, 70),
        ];
        let data: Vec<_> = data.into_iter().filter(|(h, _)| *h >= from).collect();
        expected.extend((from..data[0].0).map(|h| (h, 0)));
        expected.extend(data);
        let (timestamps, values) = history(&body);
        assert_eq!(
            timestamps,
            expected
                .iter()
                .map(|(h, _)| h * HOUR_MS)
                .collect::<Vec<_>>(),
            "{duration}"
        );
        assert_eq!(
            values,
            expected.iter().map(|(_, ms)| *ms).collect::<Vec<_>>(),
            "{duration}"
        );
        if now_hour == written_hour {
            // The common case, spelled out: 24h is 19 hours of 0, then the three.
            if duration == "24h" {
                assert_eq!(values[19..], [50, 100, 70]);
                assert_eq!(values.len(), 22);
            }
            if duration == "30d" {
                assert_eq!(values[..25], [[0; 24].as_slice(), &[900]].concat());
            }
        }
    }

    monitor.stop().await;
}

#[tokio::test]
async fn one_endpoint_s_events_are_the_latest_50_oldest_first() {
    let data = tempfile::tempdir().unwrap();
    let now_s = millis(std::time::SystemTime::now()) / 1000;
    // 60 results a second apart, each a change: `START` and 60 events, the latest 50 kept.
    let at = |k: u64| (now_s - 60 + k) * 1000;
    {
        let store = Store::open(data.path()).unwrap();
        let results = (0..60)
            .map(|k| {
                let result = ResultRecord {
                    at_ms: at(k),
                    ok: k % 2 == 0,
                    status_code: None,
                    response_time_ms: 0,
                    error: None,
                    votes: Vec::new(),
                };
                ("backup".to_owned(), result)
            })
            .collect();
        store
            .commit(&Batch {
                results,
                ..Batch::default()
            })
            .unwrap();
    }
    let monitor = TestMonitor::start_in(&push_target("jobs", "backup"), data).await;
    let expected: Vec<serde_json::Value> = (10..60)
        .map(|k| {
            let kind = if k % 2 == 0 { "HEALTHY" } else { "UNHEALTHY" };
            json!({"type": kind, "timestamp": rfc3339(at(k))})
        })
        .collect();
    let one = monitor
        .get("/api/v1/endpoints/jobs_backup/statuses?pageSize=1")
        .await;
    assert_eq!(one["events"], json!(expected));
    assert_eq!(one["results"].as_array().unwrap().len(), 1);
    let all = monitor.get("/api/v1/endpoints/statuses").await;
    assert_eq!(
        all[0].get("events"),
        None,
        "as Gatus: only one endpoint's have events"
    );
    monitor.stop().await;
}
