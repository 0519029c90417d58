use crate::helpers::{client, json, spawn_app};

#[tokio::test]
async fn unknown_path_is_404_with_a_json_body() {
    let app = spawn_app(&[]).await;
    let response = client().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = json(response).await;
    assert_eq!(body["status"], 404);
    assert_eq!(body["error"], "Not Found");
    assert!(
        body["message"].as_str().unwrap().contains("/healthz"),
        "{body}"
    );
}

#[tokio::test]
async fn wrong_method_is_405_with_allow_and_a_json_body() {
    let app = spawn_app(&[]).await;
    for (method, path, allow) in [
        (reqwest::Method::POST, "/health", "GET, HEAD"),
        (reqwest::Method::DELETE, "/health", "GET, HEAD"),
        (reqwest::Method::PUT, "/readyz", "GET, HEAD"),
        (reqwest::Method::PATCH, "/openapi.json", "GET, HEAD"),
    ] {
        let response = client()
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{method} {path}");
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        assert_eq!(response.headers()["content-type"], "application/json");
        let body = json(response).await;
        assert_eq!(body["status"], 405);
        assert_eq!(body["error"], "Method Not Allowed");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains(method.as_str()) && message.contains(path),
            "{message}"
        );
    }
}
