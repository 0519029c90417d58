//! Agent mode (`health-service agent`): a stateless prober that a monitor elsewhere asks to
//! probe its targets, so that a failure is confirmed from more than one place.
//!
//! An agent has no config file and no store: `POST /api/v1/probe` runs the one probe the
//! request describes ([`crate::monitor::remote::ProbeRequest`]: http, https, tcp, tls or dns)
//! with the monitor's own prober, the same function the monitor's own probes run, and answers
//! what it observed; the monitor judges it. Beside that it serves what every
//! mode serves (`/health`, `/livez`, `/readyz`, the docs, metrics).
//!
//! It must never be an open prober: it refuses to start without an `AGENT_TOKEN` of at least
//! 32 characters; a request without that token, or with another, is answered 401 before its
//! body is read and probes nothing (the comparison takes the same time whatever the token);
//! at most `AGENT_MAX_PROBES` probes run at once and the rest get 503; bodies over
//! [`MAX_REQUEST_BYTES`] get 413.

use std::marker::PhantomData;
use std::sync::Arc;

use poem::{Body, Request, RequestBody};
use poem_openapi::auth::Bearer;
use poem_openapi::payload::{Json, ParsePayload, Payload};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, Type};
use poem_openapi::{ApiExtractor, ApiExtractorType, ApiResponse, ExtractParamOptions, OpenApi};
use poem_openapi::{SecurityScheme, Tags};
use prometheus::{IntCounterVec, Opts, Registry as Metrics};
use reqwest::header::HeaderValue;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::monitor::api::{ErrorMessage, error};
use crate::monitor::probe::{Prober, ProberError, user_agent};
use crate::monitor::remote::{MAX_REQUEST_BYTES, PROTOCOL_VERSION, ProbeObservation, ProbeRequest};

/// The agent's operations in the spec.
#[derive(Tags)]
enum AgentTags {
    /// Agent mode: probes run on behalf of a monitor elsewhere.
    Agent,
}

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The HTTP client could not be built.
    #[error(transparent)]
    Prober(#[from] ProberError),
    /// `AGENT_TOKEN` is too short.
    #[error("{0}")]
    Token(String),
}

/// A ready agent: its client, location, token and probe slots.
pub struct Agent {
    /// The same client as the monitor's own probes.
    prober: Prober,
    /// Where it probes from (`--location`), named in every probe's `User-Agent`.
    location: String,
    /// `AGENT_TOKEN`'s bytes.
    token: Vec<u8>,
    /// One per probe allowed at once.
    slots: Arc<Semaphore>,
    /// `agent_probe_requests_total{result}`, once registered.
    requests: Option<IntCounterVec>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl Agent {
    /// An agent at `location` accepting `token`, running at most `max_probes` probes at once.
    ///
    /// # Errors
    /// [`AgentError::Token`] when the token is shorter than 32 characters.
    pub fn new(
        prober: Prober,
        location: String,
        token: &str,
        max_probes: usize,
    ) -> Result<Self, AgentError> {
        crate::config::check_token(token).map_err(AgentError::Token)?;
        Ok(Self {
            prober,
            location,
            token: token.as_bytes().to_vec(),
            slots: Arc::new(Semaphore::new(max_probes.max(1))),
            requests: None,
        })
    }

    /// Counts probe requests in `registry` (the metrics listener's).
    ///
    /// # Errors
    /// When the name is taken (a programming error).
    pub fn register(&mut self, registry: &Metrics) -> prometheus::Result<()> {
        let requests = IntCounterVec::new(
            Opts::new(
                "agent_probe_requests_total",
                "Probe requests, by result (observed, unauthorized, busy, invalid)",
            ),
            &["result"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        self.requests = Some(requests);
        Ok(())
    }

    /// The agent's API.
    #[must_use]
    pub fn api(self) -> AgentApi {
        AgentApi {
            agent: Arc::new(self),
        }
    }

    fn count(&self, result: &str) {
        if let Some(requests) = &self.requests {
            requests.with_label_values(&[result]).inc();
        }
    }
}

/// `Authorization: Bearer <AGENT_TOKEN>`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer")]
pub struct AgentToken(Bearer);

/// A JSON body of type `T` that is not read until the handler reads it: the token is checked
/// first, so an unauthorized request costs no body read, whatever it sends.
pub struct Unread<T>(Body, PhantomData<T>);

impl<T: Type> Payload for Unread<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type> ParsePayload for Unread<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(_request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        Ok(Self(body.take().unwrap_or_default(), PhantomData))
    }
}

impl<'a, T: Type> ApiExtractor<'a> for Unread<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Self as Payload>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: <Self as Payload>::CONTENT_TYPE,
                schema: <Self as Payload>::schema_ref(),
            }],
            required: true,
        })
    }

    // Unlike poem-openapi's payloads, no Content-Type check here: it would answer before the
    // token is checked. The handler checks it after.
    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _options: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        <Self as ParsePayload>::from_request(request, body).await
    }
}

/// Outcome of `POST /api/v1/probe`.
#[derive(ApiResponse)]
pub enum ProbeResponse {
    /// What the probe observed; a target that failed is still a 200 with `error` set.
    #[oai(status = 200)]
    Observed(Json<ProbeObservation>),
    /// The body is not a probe request (not JSON, a field missing or out of range, a tcp:// or
    /// tls:// URL without a port, a dns:// probe without its query).
    #[oai(status = 400)]
    BadRequest(Json<ErrorMessage>),
    /// No token, or not this agent's.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorMessage>),
    /// The monitor speaks another protocol version.
    #[oai(status = 409)]
    VersionMismatch(Json<ErrorMessage>),
    /// The body is larger than 64 KiB.
    #[oai(status = 413)]
    TooLarge(Json<ErrorMessage>),
    /// As many probes as allowed are running; try again later.
    #[oai(status = 503)]
    Busy(Json<ErrorMessage>),
}

/// The agent's API: one operation.
#[derive(Clone)]
pub struct AgentApi {
    /// Client, location, token and slots.
    agent: Arc<Agent>,
}

impl crate::api::Extension for AgentApi {}

#[OpenApi(tag = "AgentTags::Agent")]
impl AgentApi {
    /// Run one probe for a monitor
    ///
    /// Probes the URL as the body describes, from this agent's location: an `http(s)://`
    /// request (method, headers, timeout, redirects, body limit), a `tcp://host:port`
    /// connection, a `tls://host:port` handshake or a `dns://server[:port]` query (`dns`). It
    /// answers what it observed: status, whether it connected, the DNS response code, response
    /// time, the body when asked (a dns probe's answers), certificate expiry, or why it failed. The monitor judges the conditions. The
    /// token is checked before the body is read.
    #[oai(path = "/api/v1/probe", method = "post", operation_id = "runProbe")]
    async fn probe(
        &self,
        token: AgentToken,
        body: Unread<ProbeRequest>,
        request: &Request,
    ) -> ProbeResponse {
        let agent = &self.agent;
        if !bool::from(token.0.token.as_bytes().ct_eq(&agent.token)) {
            agent.count("unauthorized");
            return ProbeResponse::Unauthorized(error(
                401,
                "the bearer token is not this agent's AGENT_TOKEN".to_owned(),
            ));
        }
        let Ok(_slot) = agent.slots.clone().try_acquire_owned() else {
            agent.count("busy");
            return ProbeResponse::Busy(error(
                503,
                "as many probes as AGENT_MAX_PROBES allows are running; try again later".to_owned(),
            ));
        };
        let json = request.content_type().is_some_and(|t| {
            t.split(';')
                .next()
                .is_some_and(|t| t.trim() == "application/json")
        });
        if !json {
            agent.count("invalid");
            return ProbeResponse::BadRequest(error(
                400,
                "expected a JSON body (Content-Type: application/json)".to_owned(),
            ));
        }
        let bytes = match body.0.into_bytes_limit(MAX_REQUEST_BYTES).await {
            Ok(bytes) => bytes,
            Err(poem::error::ReadBodyError::PayloadTooLarge) => {
                agent.count("invalid");
                return ProbeResponse::TooLarge(error(
                    413,
                    format!("the body is larger than {} KiB", MAX_REQUEST_BYTES / 1024),
                ));
            }
            Err(err) => {
                agent.count("invalid");
                return ProbeResponse::BadRequest(error(400, format!("reading the body: {err}")));
            }
        };
        let value: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
        // The version first: a request of another version may not parse at all.
        let version = value
            .as_ref()
            .and_then(|v| v.get("version"))
            .and_then(serde_json::Value::as_u64);
        if version != Some(u64::from(PROTOCOL_VERSION)) {
            agent.count("invalid");
            let found =
                version.map_or("no version".to_owned(), |v| format!("protocol version {v}"));
            return ProbeResponse::VersionMismatch(error(
                409,
                format!(
                    "the request has {found}, this agent speaks version {PROTOCOL_VERSION}; \
                     deploy the same release to the monitor and its agents"
                ),
            ));
        }
        let spec = ProbeRequest::parse_from_json(value)
            .map_err(|err| err.into_message())
            .and_then(|request| {
                let user_agent = user_agent(&agent.location, request.public_url.as_deref());
                let user_agent = HeaderValue::try_from(user_agent)
                    .map_err(|_| "public_url: not a valid header value".to_owned())?;
                Ok((request.spec()?, user_agent))
            });
        let (spec, user_agent) = match spec {
            Ok(found) => found,
            Err(message) => {
                agent.count("invalid");
                return ProbeResponse::BadRequest(error(400, message));
            }
        };
        let observation = agent.prober.observe(&spec, &user_agent).await;
        agent.count("observed");
        ProbeResponse::Observed(Json(ProbeObservation::new(&agent.location, observation)))
    }
}
