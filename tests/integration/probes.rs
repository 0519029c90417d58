use crate::helpers::{client, json, spawn_app};

#[tokio::test]
async fn livez_and_readyz_answer_200_up_while_serving() {
    let app = spawn_app(&[]).await;
    for path in ["/livez", "/readyz"] {
        let response = client().get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
        assert_eq!(json(response).await["status"], "UP", "{path}");
    }
}

#[tokio::test]
async fn readyz_turns_503_while_livez_stays_200_when_stopping() {
    let app = spawn_app(&[]).await;
    app.lifecycle.begin_stopping();

    let ready = client().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(ready.headers()["cache-control"], "no-store");
    assert_eq!(json(ready).await["status"], "DOWN");

    let live = client().get(app.url("/livez")).send().await.unwrap();
    assert_eq!(live.status(), 200);
    assert_eq!(json(live).await["status"], "UP");
}

#[tokio::test]
async fn every_response_carries_nosniff_and_a_request_id() {
    let app = spawn_app(&[]).await;
    for path in [
        "/health",
        "/livez",
        "/readyz",
        "/",
        "/docs",
        "/openapi.json",
        "/openapi.yaml",
        "/missing",
    ] {
        let response = client().get(app.url(path)).send().await.unwrap();
        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
        let id = response.headers()["x-request-id"].to_str().unwrap();
        assert!(uuid_like(id), "{path}: generated request id {id:?}");
    }
}

#[tokio::test]
async fn request_id_is_taken_from_fly_or_the_client_when_usable() {
    let app = spawn_app(&[]).await;
    let echoed = |headers: &[(&str, &str)]| {
        let mut request = client().get(app.url("/health"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        async move {
            request.send().await.unwrap().headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };

    assert_eq!(echoed(&[("x-request-id", "abc-123")]).await, "abc-123");
    assert_eq!(
        echoed(&[("fly-request-id", "01FLY"), ("x-request-id", "abc")]).await,
        "01FLY"
    );
    // Unusable ids (spaces, too long) are replaced by a fresh one rather than echoed.
    assert!(uuid_like(&echoed(&[("x-request-id", "has spaces")]).await));
    assert!(uuid_like(
        &echoed(&[("x-request-id", &"x".repeat(129))]).await
    ));
    let a = echoed(&[]).await;
    let b = echoed(&[]).await;
    assert_ne!(a, b, "generated ids are unique");
}

fn uuid_like(id: &str) -> bool {
    id.len() == 36
        && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
        && id.matches('-').count() == 4
}
