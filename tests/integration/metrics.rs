//! The Prometheus endpoint on the private listener.

use std::collections::HashMap;

use crate::helpers::{TestApp, client, spawn_app};

/// Every sample of a scrape: series (name and labels, as written) → value.
async fn scrape(app: &TestApp) -> HashMap<String, f64> {
    let response = client()
        .get(format!("http://{}/metrics", app.metrics_addr))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4"
    );
    let text = response.text().await.unwrap();
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("sample line: {line}"));
            (
                series.to_owned(),
                value.parse().unwrap_or_else(|_| panic!("value: {line}")),
            )
        })
        .collect()
}

fn delta(before: &HashMap<String, f64>, after: &HashMap<String, f64>, series: &str) -> f64 {
    after.get(series).copied().unwrap_or(0.0) - before.get(series).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn counters_move_by_exactly_the_requests_made() {
    let app = spawn_app(&[]).await;
    let http = client();
    let before = scrape(&app).await;

    for _ in 0..3 {
        http.get(app.url("/health")).send().await.unwrap();
    }
    http.head(app.url("/health")).send().await.unwrap();
    http.post(app.url("/health")).send().await.unwrap();
    http.get(app.url("/no/such/path")).send().await.unwrap();
    http.get(app.url("/another-unknown")).send().await.unwrap();
    http.request(reqwest::Method::from_bytes(b"BREW").unwrap(), app.url("/x"))
        .send()
        .await
        .unwrap();
    http.get(app.url("/readyz")).send().await.unwrap();

    let after = scrape(&app).await;
    let expected = [
        (
            r#"http_requests_total{method="GET",route="/health",status="200"}"#,
            3.0,
        ),
        (
            r#"http_requests_total{method="HEAD",route="/health",status="200"}"#,
            1.0,
        ),
        (
            r#"http_requests_total{method="POST",route="/health",status="405"}"#,
            1.0,
        ),
        (
            r#"http_requests_total{method="GET",route="<unmatched>",status="404"}"#,
            2.0,
        ),
        (
            r#"http_requests_total{method="OTHER",route="<unmatched>",status="404"}"#,
            1.0,
        ),
        (
            r#"http_requests_total{method="GET",route="/readyz",status="200"}"#,
            1.0,
        ),
        (
            r#"http_request_duration_seconds_count{method="GET",route="/health"}"#,
            3.0,
        ),
        (
            r#"http_request_duration_seconds_bucket{method="GET",route="/health",le="+Inf"}"#,
            3.0,
        ),
        (
            r#"http_request_duration_seconds_count{method="GET",route="<unmatched>"}"#,
            2.0,
        ),
    ];
    for (series, moved) in expected {
        assert_eq!(delta(&before, &after, series), moved, "{series}");
    }
    // Nothing else moved: the total over every request series is the 9 requests made.
    let total: f64 = after
        .keys()
        .filter(|s| s.starts_with("http_requests_total"))
        .map(|s| delta(&before, &after, s))
        .sum();
    assert_eq!(total, 9.0);
    // Unknown paths never become label values.
    assert!(
        after
            .keys()
            .all(|s| !s.contains("no/such/path") && !s.contains("another-unknown"))
    );
}

#[tokio::test]
async fn build_info_and_start_time_describe_the_process() {
    let app = spawn_app(&[]).await;
    let samples = scrape(&app).await;
    let build = format!(
        r#"build_info{{revision="unknown",version="{}"}}"#,
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(samples.get(&build), Some(&1.0), "{build} in {samples:?}");

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let started = samples["process_start_time_seconds"];
    assert!(
        started <= now && started > now - 60.0,
        "start {started}, now {now}"
    );
}

#[tokio::test]
async fn the_public_port_has_no_metrics() {
    let app = spawn_app(&[]).await;
    let response = client().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn the_metrics_listener_serves_only_metrics() {
    let app = spawn_app(&[]).await;
    let response = client()
        .get(format!("http://{}/health", app.metrics_addr))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}
