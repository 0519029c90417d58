//! The public HTTP API, declared with poem-openapi so that the spec and the code cannot disagree.
//!
//! - [`health`]: `GET`/`HEAD /health`, the report monitors read.
//! - [`probes`]: `GET /livez` and `GET /readyz` for orchestrators.
//! - [`docs`]: `/`, `/docs`, `/openapi.json`, `/openapi.yaml`.
//! - [`payload`]: the JSON body type the health and probe responses use.
//! - [`no_store`]: `Cache-Control: no-store` on health and probe responses.
//! - [`router`]: sends each request to its operation, compressing the answers that may be large.
//! - [`cached`]: answers made once, served in each coding with an `ETag` and `304`.
//!
//! Monitor mode adds its own API ([`crate::monitor::api`]) beside these, as the `extra` of
//! [`endpoint`].

pub mod cached;
pub mod docs;
pub mod health;
pub mod no_store;
pub mod payload;
pub mod probes;
pub mod router;

use std::sync::Arc;

use poem::http::Method;
use poem::{Endpoint, Request};
use poem_openapi::{ExtraHeader, OpenApi, OpenApiService, Tags};

use crate::config::Identity;
use crate::lifecycle::Lifecycle;
use crate::metrics::Metrics;
use docs::{DocsApi, Documents};
use health::HealthApi;
use probes::ProbeApi;

/// Groups of operations in the spec and in Swagger UI.
#[derive(Tags)]
pub enum ApiTags {
    /// The health report that monitors poll.
    Health,
    /// Liveness and readiness probes for orchestrators and load balancers.
    Probes,
    /// The API's own documentation.
    Docs,
    /// Monitor mode: the state, results and incidents of the targets it probes.
    Monitor,
    /// Monitor mode: Gatus's read API with Gatus's shapes, for clients written for Gatus.
    #[oai(rename = "Gatus-compatible")]
    GatusCompatible,
    /// Monitor mode: Uptime Kuma's status-page API, for dashboards written against Kuma
    /// (Homepage's `uptimekuma` widget).
    #[oai(rename = "Uptime Kuma-compatible")]
    UptimeKuma,
}

/// Every API of the public listener, in the order the spec lists them; `X` is what a mode adds
/// (nothing, `()`, when serving alone).
pub type Apis<X = ()> = (HealthApi, ProbeApi, DocsApi, X);

/// What a mode adds to the API: its operations, and the page `GET /` leads to.
pub trait Extension: OpenApi + Clone + 'static {
    /// Where `GET /` redirects.
    const HOME: &'static str = "/docs";
}

/// Serving alone: nothing added, and `GET /` leads to the documentation.
impl Extension for () {}

/// The complete public endpoint: the API plus `extra`, routed, wrapped in the request
/// middleware.
///
/// Requests are counted in `metrics` when it is given.
pub fn endpoint<X: Extension>(
    identity: Arc<Identity>,
    lifecycle: Arc<Lifecycle>,
    metrics: Option<Arc<Metrics>>,
    extra: X,
) -> impl Endpoint {
    let documents = documents(&identity, &lifecycle, extra.clone());
    let apis = apis(&identity, &lifecycle, documents, extra);
    let router = router::Router::new(apis.clone(), describe(apis.clone()), direct(&apis));
    let allow = crate::errors::AllowTable::from_meta::<Apis<X>>();
    crate::middleware::Observe::new(router, allow, metrics)
}

fn apis<X: Extension>(
    identity: &Arc<Identity>,
    lifecycle: &Arc<Lifecycle>,
    documents: Arc<Documents>,
    extra: X,
) -> Apis<X> {
    (
        HealthApi::new(identity, lifecycle.clone()),
        ProbeApi {
            lifecycle: lifecycle.clone(),
        },
        DocsApi {
            documents,
            home: X::HOME,
        },
        extra,
    )
}

/// The operations answered every few seconds by monitors and orchestrators, called without
/// poem-openapi's endpoint for each (see [`router`]).
fn direct<X>(apis: &Apis<X>) -> Vec<(&'static str, Method, router::Direct)> {
    let (health, probes) = (apis.0.clone(), apis.1.clone());
    let head = health.clone();
    vec![
        (
            "/health",
            Method::GET,
            Box::new(move |req: &Request| health.answer(req.headers())),
        ),
        (
            "/health",
            Method::HEAD,
            Box::new(move |req: &Request| head.answer(req.headers())),
        ),
        (
            "/livez",
            Method::GET,
            Box::new(|_: &Request| ProbeApi::livez_answer()),
        ),
        (
            "/readyz",
            Method::GET,
            Box::new(move |_: &Request| probes.readyz_answer()),
        ),
    ]
}

fn describe<X: OpenApi>(apis: Apis<X>) -> OpenApiService<Apis<X>, ()> {
    OpenApiService::new(apis, "health-service", env!("CARGO_PKG_VERSION"))
        .description(
            "Reports the health of this deployment: its identity, status, time and uptime. \
             Every response carries `X-Request-Id` and `X-Content-Type-Options: nosniff`; \
             unknown paths answer 404 and known paths with another method 405 with `Allow`, \
             both with a JSON error body.",
        )
        .license("MIT")
        .extra_response_header::<String, _>(ExtraHeader::new("X-Request-Id").description(
            "The request's id: `Fly-Request-Id` or `X-Request-Id` when the client sent a \
             usable one, otherwise a new UUID. It is also in the request's log line.",
        ))
        .extra_response_header::<String, _>(
            ExtraHeader::new("X-Content-Type-Options").description("Always `nosniff`."),
        )
}

/// The spec and Swagger UI's page, rendered once: the spec does not depend on the documents' contents,
/// so a draft service renders them.
fn documents<X: Extension>(
    identity: &Arc<Identity>,
    lifecycle: &Arc<Lifecycle>,
    extra: X,
) -> Arc<Documents> {
    let draft = describe(apis(identity, lifecycle, Arc::default(), extra));
    Arc::new(Documents::new(
        draft.spec(),
        draft.spec_yaml(),
        "health-service API",
    ))
}
