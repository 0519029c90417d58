//! Prometheus metrics: what the middleware records and what the private listener exposes.
//!
//! The registry belongs to the application (no global), so each test's server counts alone.
//! Label values stay bounded: `route` is the matched route template (one shared value for every
//! unknown path), and `method` folds methods outside the standard nine into `OTHER`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use poem::http::{Method, StatusCode, header};
use poem::middleware::SetHeader;
use poem::{Endpoint, EndpointExt, Response, Route, get, handler, web::Data};
use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry,
    TextEncoder,
};

/// Upper bounds of the latency buckets, in seconds: sub-millisecond health answers up to
/// multi-second stalls.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

/// The service's metrics and the registry that exposes them.
pub struct Metrics {
    /// Everything below, for encoding.
    registry: Registry,
    /// `http_requests_total{method,route,status}`.
    requests: IntCounterVec,
    /// `http_request_duration_seconds{method,route}`.
    durations: HistogramVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Registers every metric; `started` is the process start for `process_start_time_seconds`.
    ///
    /// # Errors
    /// When two metrics share a name (a programming error, caught by every test run).
    pub fn new(started: SystemTime) -> prometheus::Result<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests answered, by method, route template and status",
            ),
            &["method", "route", "status"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        let durations = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from request head to response head, by method and route template",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route"],
        )?;
        registry.register(Box::new(durations.clone()))?;

        let start = Gauge::new(
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch",
        )?;
        start.set(
            started
                .duration_since(UNIX_EPOCH)
                .unwrap_or(Duration::ZERO)
                .as_secs_f64(),
        );
        registry.register(Box::new(start))?;

        let build = GaugeVec::new(
            Opts::new(
                "build_info",
                "Version and source revision of the running build; always 1",
            ),
            &["version", "revision"],
        )?;
        // Set by the Nix build from the flake's git revision.
        let revision = option_env!("HEALTH_SERVICE_REVISION").unwrap_or("unknown");
        build
            .get_metric_with_label_values(&[env!("CARGO_PKG_VERSION"), revision])?
            .set(1.0);
        registry.register(Box::new(build))?;

        Ok(Self {
            registry,
            requests,
            durations,
        })
    }

    /// Counts one answered request.
    pub fn record(&self, method: &Method, route: &str, status: StatusCode, elapsed: Duration) {
        let method = method_label(method);
        // Label counts are fixed above, so these lookups cannot fail.
        if let Ok(histogram) = self
            .durations
            .get_metric_with_label_values(&[method, route])
        {
            histogram.observe(elapsed.as_secs_f64());
        }
        let status = status.as_str();
        if let Ok(counter) = self
            .requests
            .get_metric_with_label_values(&[method, route, status])
        {
            counter.inc();
        }
    }

    /// The Prometheus text exposition of every metric.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut text = Vec::new();
        // Encoding into a Vec fails only on invalid metric names, which registration rejects.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut text);
        text
    }
}

/// The method as a bounded label value.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

#[handler]
fn scrape(Data(metrics): Data<&Arc<Metrics>>) -> Response {
    Response::builder()
        .content_type(prometheus::TEXT_FORMAT)
        .body(metrics.encode())
}

/// The private listener's endpoint: `GET /metrics`, nothing else.
pub fn endpoint(metrics: Arc<Metrics>) -> impl Endpoint {
    Route::new()
        .at("/metrics", get(scrape))
        .data(metrics)
        .with(SetHeader::new().overriding(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "OTHER");
        assert_eq!(
            method_label(&Method::from_bytes(b"PROPFIND").unwrap()),
            "OTHER"
        );
    }
}
