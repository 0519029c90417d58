//! Prometheus metrics: what the middleware records and what the private listener exposes.
//!
//! The registry belongs to the application (no global), so each test's server counts alone.
//! Label values stay bounded: `route` is the matched route template (one shared value for every
//! unknown path), and `method` folds methods outside the standard nine into `OTHER`.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use poem::http::{Method, StatusCode, header};
use poem::middleware::SetHeader;
use poem::{Endpoint, EndpointExt, Response, Route, get, handler, web::Data};
use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    Opts, Registry, TextEncoder,
};

/// Upper bounds of the latency buckets, in seconds: sub-millisecond health answers up to
/// multi-second stalls.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

/// The service's metrics and the registry that exposes them.
pub struct Metrics {
    /// Tells these metrics from another instance's in the per-thread cache of [`Metrics::record`]
    /// (tests build several).
    id: u64,
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
        build
            .get_metric_with_label_values(&[env!("CARGO_PKG_VERSION"), crate::REVISION])?
            .set(1.0);
        registry.register(Box::new(build))?;

        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Ok(Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            registry,
            requests,
            durations,
        })
    }

    /// Counts one answered request.
    pub fn record(&self, method: &Method, route: &str, status: StatusCode, elapsed: Duration) {
        thread_local! {
            /// The series the last request on this thread was counted in. Finding a series by
            /// its label values hashes them and takes a lock, per metric; a busy server answers
            /// runs of the same route and status, which skip that.
            static LAST: RefCell<Option<Series>> = const { RefCell::new(None) };
        }
        let method = method_label(method);
        LAST.with_borrow_mut(|last| {
            let hit = last.as_ref().is_some_and(|series| {
                series.metrics == self.id
                    && series.method == method
                    && series.status == status
                    && *series.route == *route
            });
            if !hit {
                *last = self.series(method, route, status);
            }
            if let Some(series) = last {
                series.duration.observe(elapsed.as_secs_f64());
                series.requests.inc();
            }
        });
    }

    /// The series of one method, route and status.
    fn series(&self, method: &'static str, route: &str, status: StatusCode) -> Option<Series> {
        // Label counts are fixed above, so these lookups cannot fail.
        Some(Series {
            metrics: self.id,
            method,
            route: route.into(),
            status,
            duration: self
                .durations
                .get_metric_with_label_values(&[method, route])
                .ok()?,
            requests: self
                .requests
                .get_metric_with_label_values(&[method, route, status.as_str()])
                .ok()?,
        })
    }

    /// The registry, for metrics that other parts (monitor mode) register beside these.
    #[must_use]
    pub fn registry(&self) -> &Registry {
        &self.registry
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

/// The metrics that one method, route and status are counted in.
struct Series {
    /// [`Metrics::id`] of the metrics they belong to.
    metrics: u64,
    method: &'static str,
    route: Box<str>,
    status: StatusCode,
    /// `http_request_duration_seconds{method,route}`.
    duration: Histogram,
    /// `http_requests_total{method,route,status}`.
    requests: IntCounter,
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
    fn each_request_is_counted_in_its_own_series_whatever_came_before() {
        let a = Metrics::new(SystemTime::now()).unwrap();
        let b = Metrics::new(SystemTime::now()).unwrap();
        let ms = Duration::from_millis(1);
        let unavailable = StatusCode::SERVICE_UNAVAILABLE;
        // Each call changes one thing from the one before it.
        a.record(&Method::GET, "/health", StatusCode::OK, ms);
        a.record(&Method::GET, "/health", StatusCode::OK, ms);
        a.record(&Method::GET, "/health", unavailable, ms);
        a.record(&Method::HEAD, "/health", unavailable, ms);
        a.record(&Method::HEAD, "/livez", unavailable, ms);
        b.record(&Method::HEAD, "/livez", unavailable, ms);
        a.record(&Method::HEAD, "/livez", unavailable, ms);

        let count = |m: &Metrics, labels: &[&str]| m.requests.with_label_values(labels).get();
        assert_eq!(count(&a, &["GET", "/health", "200"]), 2);
        assert_eq!(count(&a, &["GET", "/health", "503"]), 1);
        assert_eq!(count(&a, &["HEAD", "/health", "503"]), 1);
        assert_eq!(count(&a, &["HEAD", "/livez", "503"]), 2);
        assert_eq!(count(&b, &["HEAD", "/livez", "503"]), 1);
        let observed =
            |m: &Metrics, labels: &[&str]| m.durations.with_label_values(labels).get_sample_count();
        assert_eq!(observed(&a, &["GET", "/health"]), 3);
        assert_eq!(observed(&a, &["HEAD", "/health"]), 1);
        assert_eq!(observed(&a, &["HEAD", "/livez"]), 2);
        assert_eq!(observed(&b, &["HEAD", "/livez"]), 1);
    }

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
