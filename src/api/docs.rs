//! `GET /`, `/docs`, `/openapi.json` and `/openapi.yaml`: the API describing itself.
//!
//! These are operations like any other, so the spec lists every route the service answers.

use std::collections::BTreeMap;
use std::sync::Arc;

use poem::{IntoResponse, Response};
use poem_openapi::payload::{Html, Json, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
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

/// How the spec documents itself: an object (the OpenAPI document), in either media type.
type SpecDocument = BTreeMap<String, serde_json::Value>;

/// A YAML rendering of the spec, documented as the object it is (plain text would be
/// documented as a string, and clients that parse YAML would see a mismatch).
pub struct Yaml(pub String);

impl Payload for Yaml {
    const CONTENT_TYPE: &'static str = "application/yaml";

    fn schema_ref() -> MetaSchemaRef {
        SpecDocument::schema_ref()
    }

    fn register(registry: &mut Registry) {
        SpecDocument::register(registry);
    }
}

impl IntoResponse for Yaml {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type(Self::CONTENT_TYPE)
            .body(self.0)
    }
}

/// Outcome of `GET /`.
#[derive(ApiResponse)]
pub enum RootResponse {
    /// The front page: `/docs`, or `/status` in monitor mode.
    #[oai(status = 307)]
    Redirect(#[oai(header = "Location")] String),
}

/// Outcome of `GET /openapi.json`.
#[derive(ApiResponse)]
pub enum SpecJsonResponse {
    /// The OpenAPI 3 document.
    #[oai(status = 200, actual_type = "Json<SpecDocument>")]
    Spec(Json<serde_json::Value>),
}

/// Outcome of `GET /openapi.yaml`.
#[derive(ApiResponse)]
pub enum SpecYamlResponse {
    /// The OpenAPI 3 document as YAML.
    #[oai(status = 200)]
    Spec(Yaml),
}

/// Outcome of `GET /docs`.
#[derive(ApiResponse)]
pub enum DocsResponse {
    /// Swagger UI, self-contained.
    #[oai(status = 200)]
    Page(Html<String>),
}

/// Serves the documents.
#[derive(Clone)]
pub struct DocsApi {
    /// Rendered from a first build of the spec (see [`crate::api::endpoint`]).
    pub documents: Arc<Documents>,
    /// Where `GET /` redirects ([`crate::api::Extension::HOME`]).
    pub home: &'static str,
}

#[OpenApi(tag = "ApiTags::Docs")]
impl DocsApi {
    /// Redirect to the front page
    ///
    /// The documentation at `/docs`; in monitor mode the status page at `/status`.
    #[oai(path = "/", method = "get", operation_id = "getRoot")]
    async fn root(&self) -> RootResponse {
        RootResponse::Redirect(self.home.to_owned())
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
        SpecYamlResponse::Spec(Yaml(self.documents.yaml.clone()))
    }
}
