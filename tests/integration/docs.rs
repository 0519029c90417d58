use serde_json::Value;

use crate::helpers::{client, json, spawn_app};

async fn spec() -> Value {
    let app = spawn_app(&[]).await;
    let response = client().get(app.url("/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    json(response).await
}

#[tokio::test]
async fn spec_documents_every_route_and_method() {
    let spec = spec().await;
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let paths = spec["paths"].as_object().unwrap();
    let mut routes: Vec<String> = paths
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| format!("{m} {path}"))
        })
        .collect();
    routes.sort();
    assert_eq!(
        routes,
        [
            "get /",
            "get /docs",
            "get /docs/swagger-ui-bundle.js",
            "get /docs/swagger-ui.css",
            "get /health",
            "get /livez",
            "get /openapi.json",
            "get /openapi.yaml",
            "get /readyz",
            "head /health",
        ]
    );
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            assert!(op["summary"].is_string(), "{method} {path} has a summary");
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} has responses"
            );
        }
    }
}

#[tokio::test]
async fn health_schema_documents_every_field_with_an_example() {
    let spec = spec().await;
    let schema = &spec["components"]["schemas"]["Health"];
    let fields = [
        "nama",
        "nrp",
        "status",
        "timestamp",
        "uptime",
        "uptime_seconds",
        "version",
        "revision",
    ];
    let properties = schema["properties"].as_object().unwrap();
    let mut names: Vec<&str> = properties.keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut expected = fields.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected);
    for field in fields {
        let description = properties[field]["description"]
            .as_str()
            .unwrap_or_default();
        assert!(
            description.contains("Example:"),
            "{field} has a description with an example: {description:?}"
        );
        assert!(
            !schema["example"][field].is_null(),
            "{field} is in the schema's example"
        );
    }
    assert_eq!(
        schema["required"].as_array().unwrap().len(),
        fields.len(),
        "every field is required"
    );
    assert_eq!(
        spec["components"]["schemas"]["Status"]["enum"],
        serde_json::json!(["UP", "DOWN"])
    );
}

#[tokio::test]
async fn health_responses_document_both_media_types_and_cache_control() {
    let spec = spec().await;
    for (method, status) in [
        ("get", "200"),
        ("get", "503"),
        ("head", "200"),
        ("head", "503"),
    ] {
        let response = &spec["paths"]["/health"][method]["responses"][status];
        let mut media_types: Vec<&str> = response["content"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        media_types.sort_unstable();
        assert_eq!(
            media_types,
            ["application/health+json", "application/json; charset=utf-8"],
            "{method} {status}"
        );
        // Header names are case-insensitive; poem-openapi writes them in capitals.
        let headers: Vec<String> = response["headers"]
            .as_object()
            .unwrap()
            .keys()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        for header in ["cache-control", "x-request-id", "x-content-type-options"] {
            assert!(
                headers.iter().any(|h| h == header),
                "{method} {status} documents {header}: {headers:?}"
            );
        }
    }
}

#[tokio::test]
async fn yaml_spec_is_the_same_document_as_json() {
    let app = spawn_app(&[]).await;
    let json_spec = json(client().get(app.url("/openapi.json")).send().await.unwrap()).await;
    let response = client().get(app.url("/openapi.yaml")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/yaml");
    let yaml: Value = serde_yaml::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(yaml, json_spec);
}

#[tokio::test]
async fn docs_serve_swagger_ui_with_no_external_assets() {
    let app = spawn_app(&[]).await;
    let response = client().get(app.url("/docs")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    assert!(
        html.contains("<script src=\"/docs/swagger-ui-bundle.js\">")
            && html.contains("SwaggerUIBundle({"),
        "Swagger UI's script is served beside the page, and called: {html}"
    );
    assert!(html.contains("href=\"/docs/swagger-ui.css\""), "{html}");
    assert!(html.contains("\"/health\""), "the spec is inlined");
    for external in ["src=\"http", "href=\"http", "src='http", "href='http"] {
        assert!(
            !html.contains(external),
            "no asset loaded from the internet ({external})"
        );
    }
}

#[tokio::test]
async fn root_redirects_to_docs() {
    let app = spawn_app(&[]).await;
    let response = client().get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 307);
    assert_eq!(response.headers()["location"], "/docs");
}

/// quick-xml's advisories (see .cargo/audit.toml) need XML to be parsed; with no request body
/// accepted anywhere, no XML parser is ever reached.
#[tokio::test]
async fn no_operation_accepts_a_request_body() {
    let spec = spec().await;
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            assert!(
                op.get("requestBody").is_none(),
                "{method} {path} takes a body"
            );
        }
    }
}
