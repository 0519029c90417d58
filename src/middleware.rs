//! What happens around every public request: its id, its JSON error body, its common headers and
//! its access-log line.

use std::sync::Arc;
use std::time::Instant;

use poem::PathPattern;
use poem::http::{HeaderMap, HeaderName, HeaderValue, header};
use poem::{Endpoint, Request, Response};

use crate::api::router::Router;
use crate::errors::{self, AllowTable};
use crate::metrics::Metrics;

/// Route value logged for requests that matched no route, so unknown paths share one value.
pub const UNMATCHED_ROUTE: &str = "<unmatched>";

/// A constant name, because a name parsed from a string is copied to the heap on every insert.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Fly.io's edge proxy sets this on every request; reusing it ties our log line to Fly's.
const FLY_REQUEST_ID: HeaderName = HeaderName::from_static("fly-request-id");
/// Longest client-supplied request id we echo; longer ones are replaced, not truncated.
const MAX_REQUEST_ID_LEN: usize = 128;

/// Wraps the public endpoint: every request gets an id, a log line and the common headers, and
/// every error becomes a JSON response.
pub struct Observe {
    /// The routed API.
    inner: Router,
    /// Methods per route, for the `Allow` header of a 405.
    allow: AllowTable,
    /// Where requests are counted, when the metrics listener is on.
    metrics: Option<Arc<Metrics>>,
}

impl Observe {
    /// Wraps `inner`.
    pub fn new(inner: Router, allow: AllowTable, metrics: Option<Arc<Metrics>>) -> Self {
        Self {
            inner,
            allow,
            metrics,
        }
    }
}

impl Endpoint for Observe {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let started = Instant::now();
        let method = req.method().clone();
        let uri = req.uri().clone();
        let request_id = request_id(req.headers());

        let (result, matched) = self.inner.dispatch(req).await;
        let mut response = match result {
            Ok(response) => response,
            Err(err) => {
                let route = matched.or_else(|| err.data::<PathPattern>()).cloned();
                let route_str = route.as_ref().map(|p| &*p.0);
                let mut response =
                    errors::into_response(&err, &method, uri.path(), route_str, &self.allow);
                if let Some(route) = route {
                    response.set_data(route);
                }
                response
            }
        };

        // The table's routes come from the router; the rest with the answer (see `Router`).
        let route = matched
            .or_else(|| response.data::<PathPattern>())
            .map_or(UNMATCHED_ROUTE, |p| &*p.0);
        let elapsed = started.elapsed();
        if let Some(metrics) = &self.metrics {
            metrics.record(&method, route, response.status(), elapsed);
        }
        crate::telemetry::access(&crate::telemetry::Access {
            method: method.as_str(),
            route,
            status: response.status().as_u16(),
            latency: elapsed,
            request_id: request_id.to_str().unwrap_or_default(),
        });

        let headers = response.headers_mut();
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(REQUEST_ID, request_id);
        Ok(response)
    }
}

/// The client's request id when it is usable (visible ASCII, at most 128 bytes), else a new UUID.
/// Fly's id comes first; of each name, only the first value counts (as `HeaderMap::get` gives).
fn request_id(headers: &HeaderMap) -> HeaderValue {
    // One pass over the request's headers, rather than a lookup of each name: a lookup hashes a
    // custom name byte by byte, and both names are absent from most requests.
    let (mut fly, mut ours) = (None, None);
    for (name, value) in headers {
        if *name == FLY_REQUEST_ID {
            fly = fly.or(Some(value));
        } else if *name == REQUEST_ID {
            ours = ours.or(Some(value));
        }
    }
    [fly, ours]
        .into_iter()
        .flatten()
        .find(|value| {
            let bytes = value.as_bytes();
            (1..=MAX_REQUEST_ID_LEN).contains(&bytes.len())
                && bytes.iter().all(u8::is_ascii_graphic)
        })
        .cloned()
        .unwrap_or_else(|| {
            let mut text = [0; uuid::fmt::Hyphenated::LENGTH];
            let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
            HeaderValue::from_str(id).unwrap_or_else(|_| HeaderValue::from_static("-"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The id given to a request with `headers`.
    fn id(headers: &[(&'static str, &'static str)]) -> String {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, HeaderValue::from_static(value));
        }
        request_id(&map).to_str().unwrap().to_owned()
    }

    #[test]
    fn request_id_prefers_fly_then_the_first_value_of_each_name() {
        assert_eq!(id(&[("x-request-id", "ours")]), "ours");
        assert_eq!(
            id(&[("x-request-id", "ours"), ("fly-request-id", "fly")]),
            "fly"
        );
        // An unusable Fly id gives way to the client's; later values of a name are not read.
        assert_eq!(
            id(&[
                ("host", "example.com"),
                ("fly-request-id", "has space"),
                ("fly-request-id", "second-fly"),
                ("x-request-id", "ours"),
                ("x-request-id", "second-ours"),
            ]),
            "ours"
        );
        let generated = id(&[("x-request-id", "has space"), ("x-request-id", "second")]);
        let uuid = uuid::Uuid::parse_str(&generated).unwrap();
        assert_eq!(generated, uuid.hyphenated().to_string());
    }
}
