//! `GET /`, `/docs`, `/openapi.json` and `/openapi.yaml`: the API describing itself.
//!
//! These are operations like any other, so the spec lists every route the service answers.

use std::sync::Arc;

use poem_openapi::payload::{Html, Json, PlainText};
use poem_openapi::{ApiResponse, OpenApi};

use super::ApiTags;

/// The rendered documents, made once at start-up from the finished spec.
#[derive(Debug, Default)]
pub struct Documents {
    /// The spec as JSON, parsed so it is served as a JSON object.
    pub json: serde_json::Value,
    /// The spec as YAML.
    pub yaml: String,
    /// Swagger UI with its script, styles and the spec inlined: it needs no internet.
    pub swagger_ui: String,
}

/// Outcome of `GET /`.
#[derive(ApiResponse)]
pub enum RootResponse {
    /// The documentation lives at `/docs`.
    #[oai(status = 307)]
    Redirect(#[oai(header = "Location")] String),
}

/// Outcome of `GET /openapi.json`.
#[derive(ApiResponse)]
pub enum SpecJsonResponse {
    /// The OpenAPI 3 document.
    #[oai(status = 200)]
    Spec(Json<serde_json::Value>),
}

/// Outcome of `GET /openapi.yaml`.
#[derive(ApiResponse)]
pub enum SpecYamlResponse {
    /// The OpenAPI 3 document as YAML.
    #[oai(status = 200, content_type = "application/yaml")]
    Spec(PlainText<String>),
}

/// Outcome of `GET /docs`.
#[derive(ApiResponse)]
pub enum DocsResponse {
    /// Swagger UI, self-contained.
    #[oai(status = 200)]
    Page(Html<String>),
}

/// Serves the documents.
pub struct DocsApi {
    /// Rendered from a first build of the spec (see [`crate::api::endpoint`]).
    pub documents: Arc<Documents>,
}

#[OpenApi(tag = "ApiTags::Docs")]
impl DocsApi {
    /// Redirect to the documentation
    #[oai(path = "/", method = "get", operation_id = "getRoot")]
    async fn root(&self) -> RootResponse {
        RootResponse::Redirect("/docs".to_owned())
    }

    /// Swagger UI
    ///
    /// Browse and try the API. Every asset is embedded in the binary.
    #[oai(path = "/docs", method = "get", operation_id = "getDocs")]
    async fn docs(&self) -> DocsResponse {
        DocsResponse::Page(Html(self.documents.swagger_ui.clone()))
    }

    /// OpenAPI document (JSON)
    #[oai(
        path = "/openapi.json",
        method = "get",
        operation_id = "getOpenapiJson"
    )]
    async fn spec_json(&self) -> SpecJsonResponse {
        SpecJsonResponse::Spec(Json(self.documents.json.clone()))
    }

    /// OpenAPI document (YAML)
    #[oai(
        path = "/openapi.yaml",
        method = "get",
        operation_id = "getOpenapiYaml"
    )]
    async fn spec_yaml(&self) -> SpecYamlResponse {
        SpecYamlResponse::Spec(PlainText(self.documents.yaml.clone()))
    }
}
