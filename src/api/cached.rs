//! [`Cached`]: answers made once and served to every reader: in the coding each accepts, with an
//! `ETag`, and `304 Not Modified` for a reader that already has them.
//!
//! The documents (Swagger UI, the spec) are made once at start-up, and monitor mode's pages once
//! a second at most ([`crate::monitor::status::cache`]); compressing them per request would
//! cost more than making them.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use bytes::Bytes;
use poem::http::StatusCode;
use poem::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::registry::{MetaHeader, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;

use crate::compression::{self, Coding, DYNAMIC, Encoded, MIN_SIZE, PRECOMPRESSED, Precompressed};

/// An operation's answer `T`, or the same answer already made into a response by
/// [`Representation::respond`], possibly a `304`. The spec documents `T`'s responses, with the
/// headers such a response adds, and the `304`.
pub enum Cached<T> {
    /// Made from a kept copy.
    Copy(Response),
    /// Anything else (errors).
    Other(T),
}

impl<T: ApiResponse> ApiResponse for Cached<T> {
    fn meta() -> MetaResponses {
        let mut meta = T::meta();
        let header = |name: &str, description: &str| MetaHeader {
            name: name.to_owned(),
            description: Some(description.to_owned()),
            required: false,
            deprecated: false,
            schema: String::schema_ref(),
        };
        let etag = || {
            header(
                "ETag",
                "The version of the body: send it back in `If-None-Match`.",
            )
        };
        for response in &mut meta.responses {
            if response.status == Some(200) {
                response.headers.push(etag());
                response.headers.push(header(
                    "Content-Encoding",
                    "`gzip` (or `br` for the assets compressed at build time) when \
                     `Accept-Encoding` allows it and the body is 1 KB or more.",
                ));
                response.headers.push(header(
                    "Vary",
                    "`accept-encoding` when the body is 1 KB or more.",
                ));
            }
        }
        meta.responses.push(MetaResponse {
            description: "The copy named in `If-None-Match` is still current.",
            status: Some(304),
            status_range: None,
            content: Vec::new(),
            headers: vec![etag()],
        });
        meta
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: IntoResponse> IntoResponse for Cached<T> {
    fn into_response(self) -> Response {
        match self {
            Self::Copy(response) => response,
            Self::Other(answer) => answer.into_response(),
        }
    }
}

/// Where a kept body's codings come from.
#[derive(Debug)]
pub enum Body {
    /// Compressed the first time a reader asks for each coding.
    Encoded(Arc<Encoded>),
    /// Compressed at build time.
    Precompressed(&'static Precompressed),
}

/// A body made once, with what a response carrying it needs.
#[derive(Debug)]
pub struct Representation {
    /// The body in its codings.
    pub body: Body,
    /// The identity body's hash; each coding's `ETag` adds the coding's name to it.
    etag: String,
    /// `Content-Type`.
    content_type: &'static str,
}

impl Representation {
    /// `body` of type `content_type`, compressed on demand.
    #[must_use]
    pub fn new(body: impl Into<Bytes>, content_type: &'static str) -> Self {
        let encoded = Encoded::new(body);
        let etag = hash_tag(encoded.identity());
        Self {
            body: Body::Encoded(Arc::new(encoded)),
            etag,
            content_type,
        }
    }

    /// A body compressed at build time.
    #[must_use]
    pub fn precompressed(body: &'static Precompressed, content_type: &'static str) -> Self {
        Self {
            body: Body::Precompressed(body),
            // The brotli form changes exactly when the body does.
            etag: hash_tag(body.brotli()),
            content_type,
        }
    }

    /// Compresses the body in `coding` now, if it has to be, so that the first reader to ask
    /// for it does not wait.
    pub async fn prepare(&self, coding: Coding) {
        if let Body::Encoded(encoded) = &self.body {
            let _ = encoded.get_blocking(coding).await;
        }
    }

    /// The response to a request with `request` headers: the body in the coding it accepts, or
    /// `304` when its `If-None-Match` names this version in that coding; with `Cache-Control:
    /// cache_control` and `extra` headers either way.
    pub async fn respond(
        &self,
        request: &HeaderMap,
        cache_control: &'static str,
        extra: &[(HeaderName, &'static str)],
    ) -> Response {
        let mut coding = match &self.body {
            Body::Encoded(encoded) if encoded.identity().len() < MIN_SIZE => None,
            Body::Encoded(_) => Some(Coding::negotiate(request, DYNAMIC)),
            Body::Precompressed(_) => Some(Coding::negotiate(request, PRECOMPRESSED)),
        };
        let etag = format!("\"{}{}\"", self.etag, coding.map_or("", Coding::tag));
        let fresh = request
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|tag| tag.trim().trim_start_matches("W/"))
            .any(|tag| tag == etag || tag == "*");
        let mut response = if fresh {
            Response::builder()
                .status(StatusCode::NOT_MODIFIED)
                .finish()
        } else {
            let (sent, body) = match (&self.body, coding) {
                (Body::Encoded(encoded), Some(coding)) => encoded.get_blocking(coding).await,
                (Body::Encoded(encoded), None) => (Coding::Identity, encoded.identity().clone()),
                (Body::Precompressed(stored), coding) => {
                    stored.get(coding.unwrap_or(Coding::Identity)).await
                }
            };
            // The coding the body is in: a decoded body under `MIN_SIZE` stays identity.
            coding = coding.map(|_| sent);
            Response::builder()
                .content_type(self.content_type)
                .body(body)
        };
        let headers = response.headers_mut();
        if let Some(coding) = coding {
            if fresh {
                headers.append(header::VARY, compression::VARY);
            } else {
                compression::mark(headers, coding);
            }
        }
        if let Ok(etag) = HeaderValue::from_str(&etag) {
            headers.insert(header::ETAG, etag);
        }
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        );
        for (name, value) in extra {
            headers.insert(name.clone(), HeaderValue::from_static(value));
        }
        response
    }
}

/// 16 hex digits of a hash of `body`: the same body gives the same tag in every process of this
/// build, so replicas agree.
fn hash_tag(body: &[u8]) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    body.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}
