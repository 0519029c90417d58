//! `GET /`, `/docs`, `/openapi.json` and `/openapi.yaml`: the API describing itself.
//!
//! These are operations like any other, so the spec lists every route the service answers.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use poem::http::HeaderMap;
use poem::{IntoResponse, Response};
use poem_openapi::payload::{Html, Json, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, OpenApi};

use super::ApiTags;
use super::cached::{Cached, Representation};
use crate::compression::Precompressed;
use crate::monitor::status::{CssMedia, JavaScriptMedia, Media, Text};

/// Swagger UI's stylesheet and script, compressed by build.rs (brotli only).
static SWAGGER_UI_CSS: Precompressed = Precompressed::new(include_bytes!(concat!(
    env!("OUT_DIR"),
    "/swagger-ui.css.br"
)));
static SWAGGER_UI_JS: Precompressed = Precompressed::new(include_bytes!(concat!(
    env!("OUT_DIR"),
    "/swagger-ui-bundle.js.br"
)));
/// The two, hashed once, on first use.
static ASSETS: LazyLock<[Representation; 2]> = LazyLock::new(|| {
    [
        Representation::precompressed(&SWAGGER_UI_CSS, CssMedia::CONTENT_TYPE),
        Representation::precompressed(&SWAGGER_UI_JS, JavaScriptMedia::CONTENT_TYPE),
    ]
});

/// The documents and Swagger UI's assets change only with the binary: a browser asks again each
/// time (and gets a `304` while it has the current copy).
const DOCS_CACHE: &str = "no-cache";
/// The assets are the same for every build with this poem-openapi: kept an hour.
const ASSET_CACHE: &str = "max-age=3600";

/// The rendered documents, made once at start-up from the finished spec.
#[derive(Debug)]
pub struct Documents {
    /// The spec as JSON.
    pub json: Representation,
    /// The spec as YAML.
    pub yaml: Representation,
    /// Swagger UI's page, with the spec inlined; its script and stylesheet are served beside it.
    pub swagger_ui: Representation,
}

impl Documents {
    /// The documents of the spec `json` (as text) and `yaml`.
    #[must_use]
    pub fn new(json: String, yaml: String, title: &str) -> Self {
        let swagger_ui = swagger_ui_page(title, &json);
        Self {
            json: Representation::new(json, "application/json; charset=utf-8"),
            yaml: Representation::new(yaml, Yaml::CONTENT_TYPE),
            swagger_ui: Representation::new(swagger_ui, "text/html; charset=utf-8"),
        }
    }
}

impl Default for Documents {
    fn default() -> Self {
        Self::new(String::new(), String::new(), "")
    }
}

/// Swagger UI's page: the script and stylesheet from this service, and the spec inlined (a
/// `</` in it, which would end the script, is written `<\/`, the same string to JavaScript).
fn swagger_ui_page(title: &str, spec: &str) -> String {
    let title = title.replace('&', "&amp;").replace('<', "&lt;");
    let spec = spec.replace("</", "<\\/");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<link rel=\"stylesheet\" href=\"/docs/swagger-ui.css\">\n\
         </head>\n<body>\n<div id=\"ui\"></div>\n\
         <script src=\"/docs/swagger-ui-bundle.js\"></script>\n\
         <script>\nSwaggerUIBundle({{ dom_id: \"#ui\", spec: {spec}, deepLinking: true }});\n\
         </script>\n</body>\n</html>\n"
    )
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
    #[oai(status = 200)]
    Spec(Json<SpecDocument>),
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
    /// Swagger UI, with the spec inlined.
    #[oai(status = 200)]
    Page(Html<String>),
}

/// Outcome of `GET /docs/swagger-ui.css`.
#[derive(ApiResponse)]
pub enum StylesheetResponse {
    /// Swagger UI's stylesheet.
    #[oai(status = 200)]
    Css(Text<CssMedia>),
}

/// Outcome of `GET /docs/swagger-ui-bundle.js`.
#[derive(ApiResponse)]
pub enum ScriptResponse {
    /// Swagger UI's script.
    #[oai(status = 200)]
    Script(Text<JavaScriptMedia>),
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
    async fn docs(&self, headers: &HeaderMap) -> Cached<DocsResponse> {
        let page = &self.documents.swagger_ui;
        Cached::Copy(page.respond(headers, DOCS_CACHE, &[]).await)
    }

    /// Swagger UI's stylesheet
    #[oai(
        path = "/docs/swagger-ui.css",
        method = "get",
        operation_id = "getSwaggerUiCss"
    )]
    async fn swagger_ui_css(&self, headers: &HeaderMap) -> Cached<StylesheetResponse> {
        Cached::Copy(ASSETS[0].respond(headers, ASSET_CACHE, &[]).await)
    }

    /// Swagger UI's script
    #[oai(
        path = "/docs/swagger-ui-bundle.js",
        method = "get",
        operation_id = "getSwaggerUiJs"
    )]
    async fn swagger_ui_js(&self, headers: &HeaderMap) -> Cached<ScriptResponse> {
        Cached::Copy(ASSETS[1].respond(headers, ASSET_CACHE, &[]).await)
    }

    /// OpenAPI document (JSON)
    #[oai(
        path = "/openapi.json",
        method = "get",
        operation_id = "getOpenapiJson"
    )]
    async fn spec_json(&self, headers: &HeaderMap) -> Cached<SpecJsonResponse> {
        let spec = &self.documents.json;
        Cached::Copy(spec.respond(headers, DOCS_CACHE, &[]).await)
    }

    /// OpenAPI document (YAML)
    #[oai(
        path = "/openapi.yaml",
        method = "get",
        operation_id = "getOpenapiYaml"
    )]
    async fn spec_yaml(&self, headers: &HeaderMap) -> Cached<SpecYamlResponse> {
        let spec = &self.documents.yaml;
        Cached::Copy(spec.respond(headers, DOCS_CACHE, &[]).await)
    }
}
