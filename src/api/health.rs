//! `GET /health` and `HEAD /health`: the report monitors read, in two media types.
//!
//! The default body keeps the prototype's five fields (`nama`, `nrp`, `status`, `timestamp`,
//! `uptime`) with their names and meanings, because existing monitors parse them. A client that
//! asks for `application/health+json` gets the IETF "Health Check Response Format for HTTP APIs"
//! (draft-inadarei-api-health-check-06) instead.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use poem::http::HeaderMap;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, ResponseContent, types::Example};

use serde::Serialize;

use super::ApiTags;
use super::no_store::NoStore;
use super::payload::SerdeJson;
use crate::config::{DEFAULT_NAMA, DEFAULT_NRP, Identity};
use crate::lifecycle::{ComponentCheck, Lifecycle};

/// The media type of the IETF health check response format.
pub const HEALTH_JSON: &str = "application/health+json";

/// Whether the service is serving (`UP`) or shutting down (`DOWN`).
#[derive(Enum, Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "UPPERCASE")]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// Serving normally.
    Up,
    /// A shutdown signal arrived; the service is draining and will stop soon.
    Down,
}

/// The service's health in the prototype's shape, plus machine-readable extras.
#[derive(Object, Serialize, Debug, Clone, PartialEq)]
#[oai(example)]
pub struct Health {
    /// Name of the person this deployment belongs to (`HEALTH_NAMA`). Example: `Faiz Muhammad Kautsar`.
    pub nama: Arc<String>,
    /// Student number of that person (`HEALTH_NRP`). Example: `5054231013`.
    pub nrp: Arc<String>,
    /// `UP` while serving, `DOWN` once shutting down (then the status code is 503). Example: `UP`.
    pub status: Status,
    /// Time of this response, RFC 3339 in UTC with milliseconds. Example: `2026-11-28T04:37:31.429Z`.
    #[oai(validator(pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"))]
    pub timestamp: String,
    /// Time since the process started, in humantime's format, whole seconds. Example: `1h 2m 3s`.
    pub uptime: String,
    /// Whole seconds since the process started: the machine-readable twin of `uptime`. Example: `3723`.
    pub uptime_seconds: u64,
    /// Version of the running build (the crate version). Example: `0.1.0`.
    pub version: Arc<String>,
    /// Source revision of the running build: the git commit the Nix build was made from, or
    /// `unknown` for a plain `cargo build`. Example: `72d4270b5c1f2a0e9d3b8c6a4f1e0d2c3b4a5968`.
    pub revision: Arc<String>,
}

impl Example for Health {
    fn example() -> Self {
        Self {
            nama: Arc::new(DEFAULT_NAMA.to_owned()),
            nrp: Arc::new(DEFAULT_NRP.to_owned()),
            status: Status::Up,
            timestamp: "2026-11-28T04:37:31.429Z".to_owned(),
            uptime: "1h 2m 3s".to_owned(),
            uptime_seconds: 3723,
            version: Arc::new(env!("CARGO_PKG_VERSION").to_owned()),
            revision: Arc::new("72d4270b5c1f2a0e9d3b8c6a4f1e0d2c3b4a5968".to_owned()),
        }
    }
}

/// `pass` or `fail`, as the IETF draft spells health.
#[derive(Enum, Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// Healthy.
    Pass,
    /// Unhealthy; the response status is 503.
    Fail,
}

/// The service's health in the IETF draft's format (`application/health+json`).
#[derive(Object, Serialize, Debug, Clone, PartialEq)]
#[oai(rename_all = "camelCase", example)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    /// Overall health. Example: `pass`.
    pub status: CheckStatus,
    /// Public version of the service: the major version, which changes only on breaking changes. Example: `0`.
    pub version: String,
    /// The exact release running (the crate version). Example: `0.1.0`.
    pub release_id: String,
    /// Which deployment answered (its `HEALTH_NRP`). Example: `5054231013`.
    pub service_id: String,
    /// What this service is. Example: `health-service of Faiz Muhammad Kautsar`.
    pub description: String,
    /// Measurements behind the overall status.
    pub checks: Checks,
}

/// The draft's `checks` map; each key holds the results of one measurement.
#[derive(Object, Serialize, Debug, Clone, PartialEq)]
pub struct Checks {
    /// Time since the process started.
    pub uptime: Vec<CheckResult>,
    /// Monitor mode only: whether the monitor's store commits. `observedValue` is the seconds
    /// since it last did; `fail`, with the store's error as `output`, once it has not for three
    /// commit periods.
    #[oai(rename = "monitor:store", skip_serializing_if_is_none)]
    #[serde(rename = "monitor:store", skip_serializing_if = "Option::is_none")]
    pub monitor_store: Option<Vec<CheckResult>>,
}

/// One measurement, as the draft's `checks` entries are shaped.
#[derive(Object, Serialize, Debug, Clone, PartialEq)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    /// What was measured. Example: `system`.
    pub component_type: String,
    /// The measured value. Example: `3723`.
    pub observed_value: u64,
    /// Unit of `observedValue`. Example: `s`.
    pub observed_unit: String,
    /// Health of this component. Example: `pass`.
    pub status: CheckStatus,
    /// When it was measured, RFC 3339. Example: `2026-11-28T04:37:31.429Z`.
    pub time: String,
    /// Why it fails, when it does. Example: `store: No space left on device (os error 28)`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

impl Example for HealthCheck {
    fn example() -> Self {
        let health = Health::example();
        Self {
            status: CheckStatus::Pass,
            version: env!("CARGO_PKG_VERSION_MAJOR").to_owned(),
            release_id: health.version.to_string(),
            service_id: health.nrp.to_string(),
            description: format!("health-service of {}", health.nama),
            checks: Checks {
                uptime: vec![CheckResult {
                    component_type: "system".to_owned(),
                    observed_value: health.uptime_seconds,
                    observed_unit: "s".to_owned(),
                    status: CheckStatus::Pass,
                    time: health.timestamp,
                    output: None,
                }],
                monitor_store: None,
            },
        }
    }
}

/// The body of a health response in the media type the client asked for.
#[derive(ResponseContent)]
pub enum HealthBody {
    /// The prototype-compatible report (the default).
    Json(SerdeJson<Health>),
    /// The IETF draft's format, chosen with `Accept: application/health+json`.
    #[oai(content_type = "application/health+json")]
    HealthJson(SerdeJson<HealthCheck>),
}

/// Every outcome of a health request.
#[derive(ApiResponse)]
pub enum HealthResponse {
    /// The service is serving: `status` is `UP` (or `pass`).
    #[oai(status = 200)]
    Up(HealthBody),
    /// The service is shutting down, or (monitor mode) its store has not committed for three
    /// commit periods: `status` is `DOWN` (or `fail`, with the failing check); take it out of
    /// rotation.
    #[oai(status = 503)]
    Down(HealthBody),
}

/// Serves the health report; holds what the report is made of.
#[derive(Clone)]
pub struct HealthApi {
    /// Tells this API's reports from another's in the per-thread report cache: tests build
    /// several APIs with different identities on one thread. Clones share it, and their reports.
    id: u64,
    /// Uptime and whether the process is stopping.
    lifecycle: Arc<Lifecycle>,
    /// Who this deployment belongs to, and the build's version and revision: shared strings, so that each
    /// report copies pointers, not text.
    nama: Arc<String>,
    nrp: Arc<String>,
    version: Arc<String>,
    revision: Arc<String>,
}

impl HealthApi {
    /// Reports for `identity`, with the uptime and state of `lifecycle`.
    #[must_use]
    pub fn new(identity: &Identity, lifecycle: Arc<Lifecycle>) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            lifecycle,
            nama: Arc::new(identity.nama.clone()),
            nrp: Arc::new(identity.nrp.clone()),
            version: Arc::new(env!("CARGO_PKG_VERSION").to_owned()),
            revision: Arc::new(crate::REVISION.to_owned()),
        }
    }
}

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Report the service's health
    ///
    /// Answers 200 with `status: UP` while serving and 503 with `status: DOWN` from the moment a
    /// shutdown signal arrives, or in monitor mode while the monitor's store cannot commit. Send `Accept: application/health+json` for the IETF health check
    /// format (draft-inadarei-api-health-check-06); any other `Accept` gets `application/json`.
    #[oai(path = "/health", method = "get", operation_id = "getHealth")]
    async fn get_health(&self, headers: &HeaderMap) -> NoStore<HealthResponse> {
        NoStore(self.report(headers))
    }

    /// Check the service's health without a body
    ///
    /// The same status code and headers as `GET /health`, with no body: for uptime monitors that
    /// send `HEAD`.
    #[oai(path = "/health", method = "head", operation_id = "headHealth")]
    async fn head_health(&self, headers: &HeaderMap) -> NoStore<HealthResponse> {
        // hyper drops the body of a HEAD response but keeps its Content-Type and Content-Length,
        // so building the GET response keeps the two methods' headers identical.
        NoStore(self.report(headers))
    }
}

impl HealthApi {
    /// What `GET` and `HEAD /health` answer, for [`super::router::Direct`]: the response the
    /// operations' endpoints make of their return value.
    pub fn answer(&self, headers: &HeaderMap) -> poem::Response {
        poem::IntoResponse::into_response(NoStore(self.report(headers)))
    }

    fn report(&self, headers: &HeaderMap) -> HealthResponse {
        let component = self.lifecycle.component();
        let failing = component.as_ref().is_some_and(|c| c.failure.is_some());
        let up = !self.lifecycle.is_stopping() && !failing;
        let uptime = self.lifecycle.uptime();
        let now = SystemTime::now();
        let body = if prefers_health_json(headers) {
            let check = self.health_check(up, uptime, now, component.as_ref());
            HealthBody::HealthJson(SerdeJson::new(&check))
        } else {
            HealthBody::Json(self.health_json(up, uptime, now))
        };
        if up {
            HealthResponse::Up(body)
        } else {
            HealthResponse::Down(body)
        }
    }

    /// The default report, serialized at most once per millisecond on each thread.
    ///
    /// Every field is fixed by the millisecond of `now`, the whole seconds of `uptime` and `up`,
    /// so all requests within one millisecond get the same bytes; on a busy server most of them
    /// reuse the last report instead of formatting and serializing it again (hyper keeps its
    /// `Date` header the same way, per second).
    fn health_json(&self, up: bool, uptime: Duration, now: SystemTime) -> SerdeJson<Health> {
        /// What a report depends on beyond the API's fixed fields.
        #[derive(PartialEq)]
        struct Key {
            api: u64,
            millis: u128,
            uptime_seconds: u64,
            up: bool,
        }
        thread_local! {
            static LAST: RefCell<Option<(Key, SerdeJson<Health>)>> = const { RefCell::new(None) };
        }
        let key = Key {
            api: self.id,
            // The millisecond the report's timestamp shows.
            millis: crate::clock::since_epoch(now).as_millis(),
            uptime_seconds: uptime.as_secs(),
            up,
        };
        LAST.with_borrow_mut(|last| match last {
            Some((last_key, body)) if *last_key == key => body.clone(),
            _ => {
                let body = SerdeJson::new(&self.health(up, uptime, now));
                *last = Some((key, body.clone()));
                body
            }
        })
    }

    fn health(&self, up: bool, uptime: Duration, now: SystemTime) -> Health {
        Health {
            nama: self.nama.clone(),
            nrp: self.nrp.clone(),
            status: if up { Status::Up } else { Status::Down },
            timestamp: crate::clock::rfc3339_millis(now),
            uptime: format_uptime(uptime),
            uptime_seconds: uptime.as_secs(),
            version: self.version.clone(),
            revision: self.revision.clone(),
        }
    }

    fn health_check(
        &self,
        up: bool,
        uptime: Duration,
        now: SystemTime,
        component: Option<&ComponentCheck>,
    ) -> HealthCheck {
        let status = if up {
            CheckStatus::Pass
        } else {
            CheckStatus::Fail
        };
        let time = crate::clock::rfc3339_millis(now);
        let monitor_store = component.map(|c| {
            vec![CheckResult {
                component_type: c.component_type.to_owned(),
                observed_value: c.observed_seconds,
                observed_unit: "s".to_owned(),
                status: if c.failure.is_some() {
                    CheckStatus::Fail
                } else {
                    CheckStatus::Pass
                },
                time: time.clone(),
                output: c.failure.clone(),
            }]
        });
        HealthCheck {
            status,
            version: env!("CARGO_PKG_VERSION_MAJOR").to_owned(),
            release_id: env!("CARGO_PKG_VERSION").to_owned(),
            service_id: self.nrp.to_string(),
            description: format!("health-service of {}", self.nama),
            checks: Checks {
                uptime: vec![CheckResult {
                    component_type: "system".to_owned(),
                    observed_value: uptime.as_secs(),
                    observed_unit: "s".to_owned(),
                    // The process itself is up as long as it answers; only stopping fails it.
                    status: if self.lifecycle.is_stopping() {
                        CheckStatus::Fail
                    } else {
                        CheckStatus::Pass
                    },
                    time,
                    output: None,
                }],
                monitor_store,
            },
        }
    }
}

/// Uptime in humantime's format, cut to whole seconds ("1h 2m 3s", not "... 429ms 12us").
#[must_use]
pub fn format_uptime(uptime: Duration) -> String {
    humantime::format_duration(Duration::from_secs(uptime.as_secs())).to_string()
}

/// Whether `Accept` ranks `application/health+json` above `application/json`.
///
/// Ties, absent headers and unparsable values all go to `application/json`, the prototype's
/// format, so that no monitor is ever refused a health answer over its `Accept` header.
#[must_use]
pub fn prefers_health_json(headers: &HeaderMap) -> bool {
    let mut health_json = 0.0_f32;
    let mut json = 0.0_f32;
    for value in headers.get_all(poem::http::header::ACCEPT) {
        let Ok(value) = value.to_str() else { continue };
        for range in value.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .filter(|q| (0.0..=1.0).contains(q))
                .unwrap_or(1.0);
            match media.as_str() {
                HEALTH_JSON => health_json = health_json.max(q),
                "application/json" => json = json.max(q),
                _ => {}
            }
        }
    }
    health_json > 0.0 && health_json > json
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use poem::http::HeaderValue;

    fn accept(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(
                poem::http::header::ACCEPT,
                HeaderValue::from_str(v).unwrap(),
            );
        }
        headers
    }

    #[test]
    fn negotiation_picks_health_json_only_when_ranked_above_json() {
        assert!(!prefers_health_json(&accept(&[])));
        assert!(!prefers_health_json(&accept(&["*/*"])));
        assert!(!prefers_health_json(&accept(&["application/json"])));
        assert!(prefers_health_json(&accept(&["application/health+json"])));
        assert!(prefers_health_json(&accept(&[
            "Application/Health+JSON; charset=utf-8"
        ])));
        assert!(prefers_health_json(&accept(&[
            "application/json;q=0.5, application/health+json"
        ])));
        assert!(prefers_health_json(&accept(&[
            "text/html",
            "application/health+json"
        ])));
        assert!(!prefers_health_json(&accept(&[
            "application/health+json;q=0.4, application/json"
        ])));
        assert!(!prefers_health_json(&accept(&[
            "application/health+json;q=0"
        ])));
        assert!(!prefers_health_json(&accept(&[
            "application/health+json, application/json"
        ])));
        // A q outside [0, 1] is malformed and counts as the default 1.
        assert!(prefers_health_json(&accept(&[
            "application/health+json;q=7"
        ])));
    }

    #[test]
    fn serde_and_the_schema_agree_on_field_names() {
        crate::api::payload::tests::assert_serde_matches_schema::<Health>();
        crate::api::payload::tests::assert_serde_matches_schema::<HealthCheck>();
    }

    fn api(nama: &str) -> HealthApi {
        let identity = Identity {
            nama: nama.to_owned(),
            nrp: "1".to_owned(),
        };
        HealthApi::new(&identity, Arc::new(Lifecycle::new()))
    }

    fn parsed(body: &SerdeJson<Health>) -> serde_json::Value {
        serde_json::from_slice(body.bytes().unwrap()).unwrap()
    }

    /// 2026-11-28T04:37:31.429Z
    fn instant() -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_795_840_651_429)
    }

    #[test]
    fn reports_within_one_millisecond_are_one_shared_body() {
        let api = api("A");
        let uptime = Duration::from_millis(3_723_000);
        let first = api.health_json(true, uptime, instant());
        let again = api.health_json(true, uptime + Duration::from_millis(400), instant());
        // The same allocation: the second report was not serialized again.
        assert_eq!(
            first.bytes().unwrap().as_ptr(),
            again.bytes().unwrap().as_ptr()
        );
        let json = parsed(&first);
        assert_eq!(json["timestamp"], "2026-11-28T04:37:31.429Z");
        assert_eq!(json["uptime"], "1h 2m 3s");
        assert_eq!(json["uptime_seconds"], 3723);
        assert_eq!(json["status"], "UP");
        assert_eq!(json["nama"], "A");
    }

    #[test]
    fn a_report_is_made_again_when_time_uptime_or_status_moves() {
        let api = api("A");
        let uptime = Duration::from_secs(3723);
        // Each change is made right after a report it would otherwise reuse.
        let after_base = |up: bool, uptime: Duration, now: SystemTime| {
            api.health_json(true, Duration::from_secs(3723), instant());
            parsed(&api.health_json(up, uptime, now))
        };

        let later = after_base(true, uptime, instant() + Duration::from_millis(1));
        assert_eq!(later["timestamp"], "2026-11-28T04:37:31.430Z");

        let older = after_base(true, uptime + Duration::from_secs(1), instant());
        assert_eq!(older["uptime"], "1h 2m 4s");
        assert_eq!(older["uptime_seconds"], 3724);

        let down = after_base(false, uptime, instant());
        assert_eq!(down["status"], "DOWN");
    }

    #[test]
    fn apis_with_different_identities_never_share_a_report() {
        let (a, b) = (api("A"), api("B"));
        let uptime = Duration::from_secs(1);
        assert_eq!(parsed(&a.health_json(true, uptime, instant()))["nama"], "A");
        assert_eq!(parsed(&b.health_json(true, uptime, instant()))["nama"], "B");
        assert_eq!(parsed(&a.health_json(true, uptime, instant()))["nama"], "A");
    }

    /// A part that fails with a fixed error.
    #[derive(Debug)]
    struct FullDisk;

    impl crate::lifecycle::Component for FullDisk {
        fn check(&self) -> ComponentCheck {
            ComponentCheck {
                name: "monitor:store",
                component_type: "datastore",
                observed_seconds: 9,
                failure: Some("store: No space left on device (os error 28)".to_owned()),
            }
        }
    }

    #[tokio::test]
    async fn a_failing_component_fails_health_with_its_check_and_the_process_still_passes() {
        let lifecycle = Arc::new(Lifecycle::new());
        lifecycle.watch(Arc::new(FullDisk));
        let identity = Identity {
            nama: "A".to_owned(),
            nrp: "1".to_owned(),
        };
        let api = HealthApi::new(&identity, lifecycle);
        let mut headers = HeaderMap::new();
        headers.insert(
            poem::http::header::ACCEPT,
            HeaderValue::from_static(HEALTH_JSON),
        );
        let HealthResponse::Down(HealthBody::HealthJson(body)) = api.report(&headers) else {
            panic!("503 with application/health+json");
        };
        let json: serde_json::Value = serde_json::from_slice(body.bytes().unwrap()).unwrap();
        assert_eq!(json["status"], "fail");
        assert_eq!(json["checks"]["uptime"][0]["status"], "pass");
        let store = &json["checks"]["monitor:store"][0];
        assert_eq!(store["status"], "fail");
        assert_eq!(store["componentType"], "datastore");
        assert_eq!(store["observedValue"], 9);
        assert_eq!(
            store["output"],
            "store: No space left on device (os error 28)"
        );
        let HealthResponse::Down(HealthBody::Json(body)) = api.report(&HeaderMap::new()) else {
            panic!("503 in the default format too");
        };
        assert_eq!(parsed(&body)["status"], "DOWN");
    }

    #[test]
    fn uptime_is_cut_to_whole_seconds() {
        assert_eq!(format_uptime(Duration::from_millis(3_723_999)), "1h 2m 3s");
        assert_eq!(format_uptime(Duration::from_millis(999)), "0s");
    }
}
