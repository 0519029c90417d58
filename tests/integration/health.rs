use std::time::Duration;

use chrono::DateTime;

use crate::helpers::{Connection, client, json, spawn_app};

#[tokio::test]
async fn get_health_reports_identity_status_and_uptime() {
    let app = spawn_app(&[]).await;
    let response = client().get(app.url("/health")).send().await.unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = json(response).await;
    assert_eq!(body["nama"], "Faiz Muhammad Kautsar");
    assert_eq!(body["nrp"], "5054231013");
    assert_eq!(body["status"], "UP");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["revision"], health_service::REVISION);
    assert!(
        body["uptime_seconds"].is_u64(),
        "uptime_seconds is an integer: {body}"
    );
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 8, "exactly the documented fields: {keys:?}");
}

#[tokio::test]
async fn timestamp_is_rfc3339_utc_with_milliseconds_and_current() {
    let app = spawn_app(&[]).await;
    let before = chrono::Utc::now();
    let body = json(client().get(app.url("/health")).send().await.unwrap()).await;
    let after = chrono::Utc::now();

    let text = body["timestamp"].as_str().unwrap();
    let parsed = DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert!(
        text.ends_with('Z') && text.len() == "2026-11-28T04:37:31.429Z".len(),
        "{text}"
    );
    // Millisecond precision: allow the truncation of `before`.
    assert!(
        parsed >= before - chrono::Duration::milliseconds(1) && parsed <= after,
        "{text} not in [{before}, {after}]"
    );
}

#[tokio::test]
async fn uptime_grows_and_its_two_forms_agree() {
    let app = spawn_app(&[]).await;
    let first = json(client().get(app.url("/health")).send().await.unwrap()).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = json(client().get(app.url("/health")).send().await.unwrap()).await;

    let (a, b) = (
        first["uptime_seconds"].as_u64().unwrap(),
        second["uptime_seconds"].as_u64().unwrap(),
    );
    assert!(b > a, "uptime_seconds went from {a} to {b}");
    let parsed = humantime::parse_duration(second["uptime"].as_str().unwrap()).unwrap();
    assert_eq!(
        parsed.as_secs(),
        b,
        "uptime {} vs uptime_seconds {b}",
        second["uptime"]
    );
}

#[tokio::test]
async fn identity_comes_from_configuration() {
    let app = spawn_app(&["--nama", "Ada Lovelace", "--nrp", "42"]).await;
    let body = json(client().get(app.url("/health")).send().await.unwrap()).await;
    assert_eq!(body["nama"], "Ada Lovelace");
    assert_eq!(body["nrp"], "42");
}

#[tokio::test]
async fn head_health_has_get_status_and_headers_but_no_body() {
    let app = spawn_app(&[]).await;
    let mut connection = Connection::open(app.addr).await;
    let get = connection.send("GET", "/health").await.unwrap();
    let head = connection.send("HEAD", "/health").await.unwrap();

    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "HEAD body: {:?}", head.body);
    for name in [
        "content-type",
        "content-length",
        "cache-control",
        "x-content-type-options",
    ] {
        assert_eq!(
            head.headers.get(name),
            get.headers.get(name),
            "header {name}"
        );
    }
    assert!(head.headers.contains_key("x-request-id"));
    // The connection is still usable: no stray body bytes were left on it.
    assert_eq!(connection.send("GET", "/health").await.unwrap().status, 200);
}

#[tokio::test]
async fn health_json_format_follows_the_ietf_draft() {
    let app = spawn_app(&["--nrp", "777"]).await;
    let response = client()
        .get(app.url("/health"))
        .header("accept", "application/health+json")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/health+json"
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = json(response).await;
    assert_eq!(body["status"], "pass");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION_MAJOR"));
    assert_eq!(body["releaseId"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["serviceId"], "777");
    assert!(
        body["description"]
            .as_str()
            .unwrap()
            .contains("Faiz Muhammad Kautsar")
    );
    let uptime = &body["checks"]["uptime"][0];
    assert_eq!(uptime["componentType"], "system");
    assert_eq!(uptime["observedUnit"], "s");
    assert_eq!(uptime["status"], "pass");
    assert!(uptime["observedValue"].is_u64());
    DateTime::parse_from_rfc3339(uptime["time"].as_str().unwrap()).unwrap();
}

#[tokio::test]
async fn json_is_served_unless_health_json_is_preferred() {
    let app = spawn_app(&[]).await;
    for (accept, expected) in [
        ("*/*", "application/json; charset=utf-8"),
        ("application/json", "application/json; charset=utf-8"),
        ("text/html", "application/json; charset=utf-8"),
        (
            "application/health+json;q=0.1, application/json",
            "application/json; charset=utf-8",
        ),
        (
            "application/json;q=0.5, application/health+json",
            "application/health+json",
        ),
    ] {
        let response = client()
            .get(app.url("/health"))
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "Accept: {accept}");
        assert_eq!(
            response.headers()["content-type"],
            expected,
            "Accept: {accept}"
        );
    }
}

#[tokio::test]
async fn health_turns_503_down_and_fail_while_stopping() {
    let app = spawn_app(&[]).await;
    app.lifecycle.begin_stopping();

    let response = client().get(app.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(json(response).await["status"], "DOWN");

    let response = client()
        .get(app.url("/health"))
        .header("accept", "application/health+json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body = json(response).await;
    assert_eq!(body["status"], "fail");
    assert_eq!(body["checks"]["uptime"][0]["status"], "fail");

    let head = client().head(app.url("/health")).send().await.unwrap();
    assert_eq!(head.status(), 503);
}
