//! Gatus's read API (`/api/v1/endpoints/...`) with Gatus's shapes, for the dashboards and
//! clients written for Gatus (Homepage's `gatus` widget, the `gatus-api` client).
//!
//! Endpoints are the targets, keyed as Gatus keys them ([`gatus_key`]). Results are the
//! rounds' verdicts, with the stored verdict of each condition as `conditionResults`; uptimes,
//! response times and the response-time history come from the hourly and daily aggregates, as
//! Gatus's come from its hourly statistics. Events are the store's, kept as Gatus keeps them:
//! `START` with a target's first result, then `HEALTHY` or `UNHEALTHY` at that result and at
//! each result whose verdict differs from the one before, the latest 50.

use std::time::SystemTime;

use chrono::{DateTime, SecondsFormat};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use crate::api::ApiTags;
use crate::monitor::api::Monitoring;
use crate::monitor::checkin::gatus_key;
use crate::monitor::config::Target;
use crate::monitor::status::badge;
use crate::monitor::store::{
    self, Aggregate, HOUR_MS, HealthEvent, History, ResultRecord, Store, StoreError, Verdict,
};

/// Gatus's page size when none is given.
const DEFAULT_PAGE_SIZE: usize = 50;
/// Gatus's default `maximum-number-of-results`: larger pages are cut to it.
const MAX_PAGE_SIZE: usize = 100;
/// Gatus's answer to a duration it does not serve.
const DURATIONS: &str = "Durations supported: 30d, 7d, 24h, 1h";
/// Gatus's answer to a duration its response-time history does not serve.
const HISTORY_DURATIONS: &str = "Durations supported: 30d, 7d, 24h";
/// Gatus's answer to an unknown key.
const NOT_FOUND: &str = "endpoint not found";

/// One endpoint (a target) as Gatus shows it.
#[derive(Object, Debug, Clone, PartialEq)]
#[oai(rename_all = "camelCase")]
pub struct EndpointStatus {
    /// The target's name; omitted when empty, as Gatus does. Example: `api`.
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
    /// The target's group; omitted when it has none. Example: `production`.
    #[oai(skip_serializing_if_is_none)]
    pub group: Option<String>,
    /// Gatus's key: `<group>_<name>`, lower-cased, with `/ _ . , # + &` and spaces made `-`.
    /// Example: `production_api`.
    pub key: String,
    /// The results of the page, oldest first.
    pub results: Vec<GatusResult>,
    /// The latest 50 events, oldest first: `START` with the first result, then the health of
    /// that result and of each whose `success` differs from the one before (only for one
    /// endpoint's statuses, as Gatus; omitted when none).
    #[oai(skip_serializing_if_is_none)]
    pub events: Option<Vec<GatusEvent>>,
}

/// One round's verdict as a Gatus result.
#[derive(Object, Debug, Clone, PartialEq)]
#[oai(rename_all = "camelCase")]
pub struct GatusResult {
    /// The response's status; omitted when none arrived. Example: `200`.
    #[oai(skip_serializing_if_is_none)]
    pub status: Option<u16>,
    /// The probed host; omitted unless the target says `show_url = true`. Example: `example.org`.
    #[oai(skip_serializing_if_is_none)]
    pub hostname: Option<String>,
    /// Time to the response head, in nanoseconds (Go's `time.Duration`). Example: `42000000`.
    pub duration: u64,
    /// Why it failed; omitted when it succeeded. Example: `["[STATUS] (503) == 200"]`.
    #[oai(skip_serializing_if_is_none)]
    pub errors: Option<Vec<String>>,
    /// Each condition's verdict, in the config's order; omitted for a target without
    /// conditions and for results kept before verdicts were.
    #[oai(skip_serializing_if_is_none)]
    pub condition_results: Option<Vec<ConditionResult>>,
    /// Whether it passed.
    pub success: bool,
    /// When the round started (RFC 3339). Example: `2026-12-06T19:00:00Z`.
    pub timestamp: String,
}

/// One condition's verdict on a result.
#[derive(Object, Debug, Clone, PartialEq, Eq)]
pub struct ConditionResult {
    /// The condition as written when it held; when it failed, with the values seen, as Gatus
    /// shows it. Example: `[STATUS] (503) == 200`.
    pub condition: String,
    /// Whether it held.
    pub success: bool,
}

/// A change of health.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct GatusEvent {
    /// What happened.
    #[oai(rename = "type")]
    pub kind: EventType,
    /// When (RFC 3339).
    pub timestamp: String,
}

/// Gatus's event types.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "UPPERCASE")]
pub enum EventType {
    /// The target's first result was stored (at that result's time).
    Start,
    /// A result passed: the first, or one after a failure.
    Healthy,
    /// A result failed: the first, or one after a pass.
    Unhealthy,
}

/// Outcome of the statuses routes.
#[derive(ApiResponse)]
pub enum StatusesResponse {
    /// Every endpoint's page of results.
    #[oai(status = 200)]
    Ok(Json<Vec<EndpointStatus>>),
    /// The store could not be read.
    #[oai(status = 500)]
    Failed(PlainText<String>),
}

/// Outcome of one endpoint's statuses.
#[derive(ApiResponse)]
pub enum StatusResponse {
    /// The endpoint's page of results and its events.
    #[oai(status = 200)]
    Ok(Json<EndpointStatus>),
    /// No endpoint has this key: `endpoint not found`.
    #[oai(status = 404)]
    NotFound(PlainText<String>),
    /// The store could not be read.
    #[oai(status = 500)]
    Failed(PlainText<String>),
}

/// Outcome of the raw uptime and response-time routes.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "bad_duration")]
pub enum RawResponse {
    /// The value as text: uptime as Go's `%f` (e.g. `0.998611`), response time in whole ms.
    #[oai(status = 200)]
    Ok(
        PlainText<String>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Expires")] String,
    ),
    /// The duration is not `30d`, `7d`, `24h` or `1h`: `Durations supported: 30d, 7d, 24h, 1h`.
    #[oai(status = 400)]
    BadRequest(PlainText<String>),
    /// No endpoint has this key: `endpoint not found`.
    #[oai(status = 404)]
    NotFound(PlainText<String>),
    /// The store could not be read.
    #[oai(status = 500)]
    Failed(PlainText<String>),
}

/// Gatus's response-time history: the mean response time of each hour, oldest first.
#[derive(Object, Debug, Clone, PartialEq, Eq)]
pub struct ResponseTimeHistory {
    /// Each hour's start, ms since the epoch: the hours from the duration's start up to the
    /// first with results, then each later hour with results (Gatus leaves later empty hours
    /// out). Example: `[1796342400000, 1796346000000]`.
    pub timestamps: Vec<u64>,
    /// The mean response time of the same hour in whole ms; 0 for the hours before the first
    /// with results. Example: `[0, 42]`.
    pub values: Vec<u64>,
}

/// Outcome of the response-time history.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "bad_history_duration")]
pub enum HistoryResponse {
    /// The hourly means, `{"timestamps": [], "values": []}` without any result.
    #[oai(status = 200)]
    Ok(Json<ResponseTimeHistory>),
    /// The duration is not `30d`, `7d` or `24h`: `Durations supported: 30d, 7d, 24h`.
    #[oai(status = 400)]
    BadRequest(PlainText<String>),
    /// No endpoint has this key: `endpoint not found`.
    #[oai(status = 404)]
    NotFound(PlainText<String>),
    /// The store could not be read.
    #[oai(status = 500)]
    Failed(PlainText<String>),
}

fn bad_history_duration(_: poem::Error) -> HistoryResponse {
    HistoryResponse::BadRequest(PlainText(HISTORY_DURATIONS.to_owned()))
}

/// Outcome of the badge routes.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "bad_badge_duration")]
pub enum BadgeResponse {
    /// The badge, an SVG image.
    #[oai(status = 200, content_type = "image/svg+xml")]
    Ok(
        PlainText<String>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Expires")] String,
    ),
    /// The duration is not `30d`, `7d`, `24h` or `1h`: `Durations supported: 30d, 7d, 24h, 1h`.
    #[oai(status = 400)]
    BadRequest(PlainText<String>),
    /// No endpoint has this key: `endpoint not found`.
    #[oai(status = 404)]
    NotFound(PlainText<String>),
    /// The store could not be read.
    #[oai(status = 500)]
    Failed(PlainText<String>),
}

fn bad_badge_duration(_: poem::Error) -> BadgeResponse {
    BadgeResponse::BadRequest(PlainText(DURATIONS.to_owned()))
}

/// Outcome of `health/badge.shields`.
#[derive(ApiResponse)]
pub enum ShieldsResponse {
    /// shields.io's endpoint JSON: `{"schemaVersion": 1, "label": "gatus", "message", "color"}`.
    #[oai(status = 200)]
    Ok(
        Json<Shields>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Expires")] String,
    ),
    /// No endpoint has this key: `endpoint not found`.
    #[oai(status = 404)]
    NotFound(PlainText<String>),
    /// The store could not be read.
    #[oai(status = 500)]
    Failed(PlainText<String>),
}

/// A shields.io endpoint badge, as Gatus gives it.
#[derive(Object, Debug, Clone, PartialEq, Eq)]
#[oai(rename_all = "camelCase")]
pub struct Shields {
    /// Always 1.
    pub schema_version: u8,
    /// Always `gatus`.
    pub label: String,
    /// `up`, `down`, or `?` before any result.
    pub message: String,
    /// `brightgreen`, `red` or `yellow`.
    pub color: String,
}

/// Gatus's health of a target: its latest result's verdict, `?` without one.
fn health(store: &Store, target: &str) -> Result<&'static str, StoreError> {
    Ok(match store.results_page(target, 0, 1)?.first() {
        Some(result) if result.ok => "up",
        Some(_) => "down",
        None => "?",
    })
}

fn no_cache() -> String {
    "no-cache, no-store, must-revalidate".to_owned()
}

fn bad_duration(_: poem::Error) -> RawResponse {
    RawResponse::BadRequest(PlainText(DURATIONS.to_owned()))
}

/// Gatus's read routes over the monitor's store.
#[derive(Clone)]
pub struct GatusApi {
    /// Config and store.
    pub monitoring: Monitoring,
}

#[OpenApi(tag = "ApiTags::GatusCompatible")]
impl GatusApi {
    /// Every endpoint's results (Gatus-compatible)
    ///
    /// As Gatus's `GET /api/v1/endpoints/statuses`: per target, in the configuration's order,
    /// `pageSize` results (default 50, at most 100) of page `page` (default 1) counted from
    /// the newest, listed oldest first. A page or size that is not a positive number is the
    /// default, as in Gatus.
    #[oai(
        path = "/api/v1/endpoints/statuses",
        method = "get",
        operation_id = "gatusEndpointStatuses"
    )]
    async fn statuses(
        &self,
        /// The page, from 1 (anything else is 1, as in Gatus).
        page: Query<Option<String>>,
        /// Results per endpoint; capped at 100.
        #[oai(name = "pageSize")]
        page_size: Query<Option<String>>,
    ) -> StatusesResponse {
        let (skip, limit) = paging(page.0.as_deref(), page_size.0.as_deref());
        let monitoring = self.monitoring.clone();
        let read = move || {
            monitoring
                .config
                .targets
                .iter()
                .map(|target| endpoint_status(&monitoring.store, target, skip, limit, false))
                .collect::<Result<Vec<_>, _>>()
        };
        match store::blocking(read).await {
            Ok(statuses) => StatusesResponse::Ok(Json(statuses)),
            Err(err) => StatusesResponse::Failed(failure(&err)),
        }
    }

    /// One endpoint's results and events (Gatus-compatible)
    ///
    /// As Gatus's `GET /api/v1/endpoints/{key}/statuses`, with the same paging, and the
    /// latest 50 events, oldest first: `START` with the target's first result, then `HEALTHY`
    /// or `UNHEALTHY` at that result and at each result whose `success` differs from the one
    /// before (all of the target's results, not only the page's).
    #[oai(
        path = "/api/v1/endpoints/:key/statuses",
        method = "get",
        operation_id = "gatusEndpointStatus"
    )]
    async fn status(
        &self,
        /// The endpoint's key. Example: `production_api`.
        key: Path<String>,
        /// The page, from 1 (anything else is 1, as in Gatus).
        page: Query<Option<String>>,
        /// Results per page; capped at 100.
        #[oai(name = "pageSize")]
        page_size: Query<Option<String>>,
    ) -> StatusResponse {
        let Some(target) = self.target(&key.0) else {
            return StatusResponse::NotFound(PlainText(NOT_FOUND.to_owned()));
        };
        let (skip, limit) = paging(page.0.as_deref(), page_size.0.as_deref());
        let store = self.monitoring.store.clone();
        match store::blocking(move || endpoint_status(&store, &target, skip, limit, true)).await {
            Ok(status) => StatusResponse::Ok(Json(status)),
            Err(err) => StatusResponse::Failed(failure(&err)),
        }
    }

    /// Uptime over a duration (Gatus-compatible)
    ///
    /// The fraction of passing rounds, as Go's `%f` (`0.000000` without any): `1h` is the
    /// current hour and the two before it (Gatus counts whole hours the same way), `24h` the
    /// last 24 hourly buckets, `7d` and `30d` the daily buckets, today included.
    #[oai(
        path = "/api/v1/endpoints/:key/uptimes/:duration",
        method = "get",
        operation_id = "gatusUptime"
    )]
    async fn uptime(
        &self,
        /// The endpoint's key. Example: `production_api`.
        key: Path<String>,
        /// `30d`, `7d`, `24h` or `1h`.
        #[oai(validator(pattern = "^(30d|7d|24h|1h)$"))]
        duration: Path<String>,
    ) -> RawResponse {
        self.raw(&key.0, &duration.0, |window| {
            format!("{:.6}", window.uptime().unwrap_or(0.0))
        })
        .await
    }

    /// Mean response time over a duration (Gatus-compatible)
    ///
    /// In whole milliseconds (`0` without any round), over the same windows as the uptime.
    #[oai(
        path = "/api/v1/endpoints/:key/response-times/:duration",
        method = "get",
        operation_id = "gatusResponseTime"
    )]
    async fn response_time(
        &self,
        /// The endpoint's key. Example: `production_api`.
        key: Path<String>,
        /// `30d`, `7d`, `24h` or `1h`.
        #[oai(validator(pattern = "^(30d|7d|24h|1h)$"))]
        duration: Path<String>,
    ) -> RawResponse {
        self.raw(&key.0, &duration.0, |window| {
            window.mean_response_time_ms().unwrap_or(0).to_string()
        })
        .await
    }

    /// Response-time history (Gatus-compatible)
    ///
    /// As Gatus's `GET /api/v1/endpoints/{key}/response-times/{duration}/history`: the mean
    /// response time of each hour from the start of the hour `duration` before the current
    /// one, up to the current one. Hours before the first with results are 0; later hours
    /// without results are left out, as Gatus leaves them.
    #[oai(
        path = "/api/v1/endpoints/:key/response-times/:duration/history",
        method = "get",
        operation_id = "gatusResponseTimeHistory"
    )]
    async fn response_time_history(
        &self,
        /// The endpoint's key. Example: `production_api`.
        key: Path<String>,
        /// `30d`, `7d` or `24h`.
        #[oai(validator(pattern = "^(30d|7d|24h)$"))]
        duration: Path<String>,
    ) -> HistoryResponse {
        let Some(target) = self.target(&key.0) else {
            return HistoryResponse::NotFound(PlainText(NOT_FOUND.to_owned()));
        };
        let Some(hours) = history_hours(&duration.0) else {
            return HistoryResponse::BadRequest(PlainText(HISTORY_DURATIONS.to_owned()));
        };
        let store = self.monitoring.store.clone();
        // The hours from `hours` before the current one, both included: Gatus's range.
        let read = move || store.hours(&target.name, SystemTime::now(), hours + 1);
        match store::blocking(read).await {
            Ok(buckets) => HistoryResponse::Ok(Json(response_time_history(&buckets))),
            Err(err) => HistoryResponse::Failed(failure(&err)),
        }
    }

    /// Health badge (Gatus-compatible)
    ///
    /// `health: up`, `down`, or `?` before any result: the latest result's verdict.
    #[oai(
        path = "/api/v1/endpoints/:key/health/badge.svg",
        method = "get",
        operation_id = "gatusHealthBadge"
    )]
    async fn health_badge(
        &self,
        /// The endpoint's key. Example: `production_api`.
        key: Path<String>,
    ) -> BadgeResponse {
        let Some(target) = self.target(&key.0) else {
            return BadgeResponse::NotFound(PlainText(NOT_FOUND.to_owned()));
        };
        let store = self.monitoring.store.clone();
        match store::blocking(move || health(&store, &target.name)).await {
            Ok(health) => {
                let color = match health {
                    "up" => badge::GREEN,
                    "down" => badge::RED,
                    _ => badge::GREY,
                };
                let svg = badge::render("health", health, color);
                BadgeResponse::Ok(PlainText(svg), no_cache(), "0".to_owned())
            }
            Err(err) => BadgeResponse::Failed(failure(&err)),
        }
    }

    /// Health as a shields.io endpoint (Gatus-compatible)
    ///
    /// `{"schemaVersion": 1, "label": "gatus", "message": "up"|"down"|"?", "color"}`, for
    /// `https://img.shields.io/endpoint?url=...`.
    #[oai(
        path = "/api/v1/endpoints/:key/health/badge.shields",
        method = "get",
        operation_id = "gatusHealthShields"
    )]
    async fn health_shields(
        &self,
        /// The endpoint's key. Example: `production_api`.
        key: Path<String>,
    ) -> ShieldsResponse {
        let Some(target) = self.target(&key.0) else {
            return ShieldsResponse::NotFound(PlainText(NOT_FOUND.to_owned()));
        };
        let store = self.monitoring.store.clone();
        match store::blocking(move || health(&store, &target.name)).await {
            Ok(health) => {
                let color = match health {
                    "up" => "brightgreen",
                    "down" => "red",
                    _ => "yellow",
                };
                let shields = Shields {
                    schema_version: 1,
                    label: "gatus".to_owned(),
                    message: health.to_owned(),
                    color: color.to_owned(),
                };
                ShieldsResponse::Ok(Json(shields), no_cache(), "0".to_owned())
            }
            Err(err) => ShieldsResponse::Failed(failure(&err)),
        }
    }

    /// Uptime badge (Gatus-compatible)
    ///
    /// `uptime <duration>: 99.5%` (two decimals at most, as Gatus writes it).
    #[oai(
        path = "/api/v1/endpoints/:key/uptimes/:duration/badge.svg",
        method = "get",
        operation_id = "gatusUptimeBadge"
    )]
    async fn uptime_badge(
        &self,
        /// The endpoint's key. Example: `production_api`.
        key: Path<String>,
        /// `30d`, `7d`, `24h` or `1h`.
        #[oai(validator(pattern = "^(30d|7d|24h|1h)$"))]
        duration: Path<String>,
    ) -> BadgeResponse {
        let label = format!("uptime {}", duration.0);
        self.badge(&key.0, &duration.0, move |window| {
            let uptime = window.uptime().unwrap_or(0.0);
            let percent = format!("{:.2}", uptime * 100.0);
            let percent = percent.trim_end_matches('0').trim_end_matches('.');
            badge::render(
                &label,
                &format!("{percent}%"),
                badge::uptime_color(Some(uptime)),
            )
        })
        .await
    }

    /// Response-time badge (Gatus-compatible)
    ///
    /// `response time <duration>: 42ms`, the mean over the duration.
    #[oai(
        path = "/api/v1/endpoints/:key/response-times/:duration/badge.svg",
        method = "get",
        operation_id = "gatusResponseTimeBadge"
    )]
    async fn response_time_badge(
        &self,
        /// The endpoint's key. Example: `production_api`.
        key: Path<String>,
        /// `30d`, `7d`, `24h` or `1h`.
        #[oai(validator(pattern = "^(30d|7d|24h|1h)$"))]
        duration: Path<String>,
    ) -> BadgeResponse {
        let label = format!("response time {}", duration.0);
        self.badge(&key.0, &duration.0, move |window| {
            let ms = window.mean_response_time_ms().unwrap_or(0);
            let color = match ms {
                0..300 => badge::GREEN,
                300..1000 => badge::YELLOW_GREEN,
                1000..3000 => badge::ORANGE,
                _ => badge::RED,
            };
            badge::render(&label, &format!("{ms}ms"), color)
        })
        .await
    }
}

impl GatusApi {
    /// The target whose Gatus key is `key`.
    fn target(&self, key: &str) -> Option<Target> {
        self.monitoring
            .config
            .targets
            .iter()
            .find(|t| gatus_key(t.group.as_deref().unwrap_or_default(), &t.name) == key)
            .cloned()
    }

    /// `render` of the aggregate of `duration` for the target keyed `key`, as text.
    async fn raw(
        &self,
        key: &str,
        duration: &str,
        render: impl FnOnce(Aggregate) -> String,
    ) -> RawResponse {
        let Some(target) = self.target(key) else {
            return RawResponse::NotFound(PlainText(NOT_FOUND.to_owned()));
        };
        let store = self.monitoring.store.clone();
        let read = move || store.history(&target.name, SystemTime::now());
        match store::blocking(read).await {
            Ok(history) => match window(&history, duration) {
                Some(aggregate) => {
                    RawResponse::Ok(PlainText(render(aggregate)), no_cache(), "0".to_owned())
                }
                None => RawResponse::BadRequest(PlainText(DURATIONS.to_owned())),
            },
            Err(err) => RawResponse::Failed(failure(&err)),
        }
    }
}

impl GatusApi {
    /// The SVG `render` draws from the aggregate of `duration` for the target keyed `key`.
    async fn badge(
        &self,
        key: &str,
        duration: &str,
        render: impl FnOnce(Aggregate) -> String,
    ) -> BadgeResponse {
        match self.raw(key, duration, render).await {
            RawResponse::Ok(svg, cache, expires) => BadgeResponse::Ok(svg, cache, expires),
            RawResponse::BadRequest(body) => BadgeResponse::BadRequest(body),
            RawResponse::NotFound(body) => BadgeResponse::NotFound(body),
            RawResponse::Failed(body) => BadgeResponse::Failed(body),
        }
    }
}

/// The aggregate over Gatus's `duration`, `None` for one it does not serve.
#[must_use]
pub fn window(history: &History, duration: &str) -> Option<Aggregate> {
    let sum = |buckets: &[(u64, Aggregate)], n: usize| {
        let mut total = Aggregate::default();
        for (_, a) in &buckets[buckets.len().saturating_sub(n)..] {
            total.checks += a.checks;
            total.failures += a.failures;
            total.response_time_ms += a.response_time_ms;
        }
        total
    };
    match duration {
        "1h" => Some(sum(&history.hours, 3)),
        "24h" => Some(sum(&history.hours, 24)),
        "7d" => Some(sum(&history.days, 7)),
        "30d" => Some(sum(&history.days, 30)),
        _ => None,
    }
}

/// The hours Gatus's response-time history reaches back for `duration`, `None` for one it does
/// not serve.
#[must_use]
pub fn history_hours(duration: &str) -> Option<u64> {
    match duration {
        "30d" => Some(30 * 24),
        "7d" => Some(7 * 24),
        "24h" => Some(24),
        _ => None,
    }
}

/// Gatus's history of `buckets` (every hour of the range, oldest first, zero where none): the
/// hours before the first with results as 0, then each hour with results and its mean; empty
/// without results.
#[must_use]
pub fn response_time_history(buckets: &[(u64, Aggregate)]) -> ResponseTimeHistory {
    let first = buckets.iter().position(|(_, a)| a.checks > 0);
    let (before, after) = buckets.split_at(first.unwrap_or(buckets.len()));
    let hours = before.iter().map(|(hour, _)| (*hour, 0)).chain(
        after
            .iter()
            .filter_map(|(hour, a)| Some((*hour, a.mean_response_time_ms()?))),
    );
    let (timestamps, values) = if first.is_some() {
        hours.map(|(hour, ms)| (hour * HOUR_MS, ms)).unzip()
    } else {
        (Vec::new(), Vec::new())
    };
    ResponseTimeHistory { timestamps, values }
}

/// Gatus's `page` and `pageSize` as (results to skip, results to take): a missing, unparsable
/// or non-positive page is 1, such a size is 50, and a size over 100 is 100.
#[must_use]
pub fn paging(page: Option<&str>, page_size: Option<&str>) -> (usize, usize) {
    let number = |text: Option<&str>| text.and_then(|t| t.parse::<i64>().ok());
    let page = number(page).filter(|p| *p >= 1).unwrap_or(1);
    let size = number(page_size)
        .filter(|s| *s >= 1)
        .map_or(DEFAULT_PAGE_SIZE, |s| {
            usize::try_from(s)
                .unwrap_or(MAX_PAGE_SIZE)
                .min(MAX_PAGE_SIZE)
        });
    let skip = usize::try_from(page - 1)
        .unwrap_or(usize::MAX)
        .saturating_mul(size);
    (skip, size)
}

/// `target`'s page of results (and its events when `events`).
fn endpoint_status(
    store: &Store,
    target: &Target,
    skip: usize,
    limit: usize,
    events: bool,
) -> Result<EndpointStatus, StoreError> {
    let hostname = target
        .public_url()
        .and_then(|url| reqwest::Url::parse(&url).ok())
        .and_then(|url| url.host_str().map(str::to_owned));
    let mut results = store.results_page(&target.name, skip, limit)?;
    results.reverse();
    let times: Vec<u64> = results.iter().map(|r| r.at_ms).collect();
    let verdicts = store.verdicts(&target.name, &times)?;
    let events = if events {
        let events: Vec<GatusEvent> = (store.events(&target.name)?.into_iter())
            .map(|(at_ms, event)| GatusEvent {
                kind: match event {
                    HealthEvent::Start => EventType::Start,
                    HealthEvent::Healthy => EventType::Healthy,
                    HealthEvent::Unhealthy => EventType::Unhealthy,
                },
                timestamp: rfc3339(at_ms),
            })
            .collect();
        (!events.is_empty()).then_some(events)
    } else {
        None
    };
    Ok(EndpointStatus {
        name: Some(target.name.clone()).filter(|n| !n.is_empty()),
        group: target.group.clone().filter(|g| !g.is_empty()),
        key: gatus_key(target.group.as_deref().unwrap_or_default(), &target.name),
        results: results
            .iter()
            .zip(verdicts)
            .map(|(r, verdicts)| gatus_result(r, hostname.clone(), verdicts.as_deref()))
            .collect(),
        events,
    })
}

/// A round's verdict as Gatus's result, with its conditions' `verdicts` if it has any.
#[must_use]
pub fn gatus_result(
    result: &ResultRecord,
    hostname: Option<String>,
    verdicts: Option<&[Verdict]>,
) -> GatusResult {
    GatusResult {
        status: result.status_code,
        hostname,
        duration: result.response_time_ms.saturating_mul(1_000_000),
        errors: result.error.clone().map(|e| vec![e]),
        condition_results: verdicts.filter(|v| !v.is_empty()).map(|verdicts| {
            verdicts
                .iter()
                .map(|verdict| ConditionResult {
                    condition: verdict.shown().to_owned(),
                    success: verdict.failure.is_none(),
                })
                .collect()
        }),
        success: result.ok,
        timestamp: rfc3339(result.at_ms),
    }
}

/// RFC 3339 in UTC with `Z`, as Go marshals a UTC time: fractional seconds without trailing
/// zeros, none when whole (`.820` is `.82`).
fn rfc3339(ms: u64) -> String {
    let text = DateTime::from_timestamp_millis(i64::try_from(ms).unwrap_or(i64::MAX))
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::AutoSi, true);
    match text.strip_suffix('Z').filter(|t| t.contains('.')) {
        Some(fraction) => format!("{}Z", fraction.trim_end_matches('0').trim_end_matches('.')),
        None => text,
    }
}

fn failure(err: &StoreError) -> PlainText<String> {
    tracing::error!(error = %err, "Gatus-compatible API: store read failed");
    PlainText("the monitor's store could not be read; see the log".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sanitised_as_gatus_does() {
        for (group, name, key) in [
            ("group", "name", "group_name"),
            ("", "api", "_api"),
            ("Core Services", "API v2", "core-services_api-v2"),
            ("a/b_c.d,e", "f#g+h&i", "a-b-c-d-e_f-g-h-i"),
            ("  Padded ", " Name ", "padded_name"),
        ] {
            assert_eq!(gatus_key(group, name), key, "{group:?} {name:?}");
        }
    }

    #[test]
    fn paging_defaults_and_caps_as_gatus() {
        assert_eq!(paging(None, None), (0, 50));
        assert_eq!(paging(Some("2"), Some("10")), (10, 10));
        assert_eq!(paging(Some("0"), Some("0")), (0, 50));
        assert_eq!(paging(Some("-3"), Some("-1")), (0, 50));
        assert_eq!(paging(Some("x"), Some("9223372036854775808")), (0, 50));
        assert_eq!(paging(Some("1"), Some("1000")), (0, 100));
        assert_eq!(paging(Some("9223372036854775807"), Some("100")).1, 100);
    }

    #[test]
    fn history_pads_the_hours_before_the_first_result_and_skips_later_empty_ones() {
        let hour = |checks, response_time_ms| Aggregate {
            checks,
            failures: 0,
            response_time_ms,
        };
        let buckets = [
            (10, hour(0, 0)),
            (11, hour(0, 0)),
            (12, hour(3, 100)),
            (13, hour(0, 0)),
            (14, hour(2, 81)),
            (15, hour(0, 0)),
        ];
        assert_eq!(
            response_time_history(&buckets),
            ResponseTimeHistory {
                timestamps: [10, 11, 12, 14].map(|h| h * HOUR_MS).to_vec(),
                values: vec![0, 0, 33, 40],
            },
            "the mean truncated to whole ms, as Gatus's int()"
        );
        let empty = response_time_history(&[(10, hour(0, 0)), (11, hour(0, 0))]);
        assert!(empty.timestamps.is_empty() && empty.values.is_empty());
        assert_eq!(
            ["30d", "7d", "24h", "1h"].map(history_hours),
            [Some(720), Some(168), Some(24), None]
        );
    }

    #[test]
    fn timestamps_are_go_rfc3339() {
        assert_eq!(rfc3339(1_800_000_000_000), "2027-01-15T08:00:00Z");
        assert_eq!(rfc3339(1_800_000_000_250), "2027-01-15T08:00:00.25Z");
        assert_eq!(rfc3339(1_800_000_000_001), "2027-01-15T08:00:00.001Z");
    }

    /// What a handler answered: status, body, and the `Cache-Control` header of a 200.
    type Answer = (u16, String, Option<String>);

    fn raw_answer(answer: RawResponse) -> Answer {
        match answer {
            RawResponse::Ok(body, cache, _) => (200, body.0, Some(cache)),
            RawResponse::BadRequest(body) => (400, body.0, None),
            RawResponse::NotFound(body) => (404, body.0, None),
            RawResponse::Failed(body) => (500, body.0, None),
        }
    }

    fn badge_answer(answer: BadgeResponse) -> Answer {
        match answer {
            BadgeResponse::Ok(body, cache, _) => (200, body.0, Some(cache)),
            BadgeResponse::BadRequest(body) => (400, body.0, None),
            BadgeResponse::NotFound(body) => (404, body.0, None),
            BadgeResponse::Failed(body) => (500, body.0, None),
        }
    }

    fn status_answer(answer: StatusResponse) -> Result<EndpointStatus, (u16, String)> {
        match answer {
            StatusResponse::Ok(status) => Ok(status.0),
            StatusResponse::NotFound(body) => Err((404, body.0)),
            StatusResponse::Failed(body) => Err((500, body.0)),
        }
    }

    fn shields_answer(answer: ShieldsResponse) -> (String, String) {
        match answer {
            ShieldsResponse::Ok(shields, cache, _) => {
                assert_eq!(cache, "no-cache, no-store, must-revalidate");
                assert_eq!(
                    (shields.0.schema_version, shields.0.label.as_str()),
                    (1, "gatus")
                );
                (shields.0.message, shields.0.color)
            }
            ShieldsResponse::NotFound(body) | ShieldsResponse::Failed(body) => {
                panic!("not a badge: {}", body.0)
            }
        }
    }

    fn key(text: &str) -> Path<String> {
        Path(text.to_owned())
    }

    /// The hour of the results: two before the current one (the 24-hour windows hold it even
    /// when the hour turns during a test).
    fn results_hour() -> u64 {
        store::millis(SystemTime::now()) / HOUR_MS - 2
    }

    /// Four targets over a store holding, in [`results_hour`]: `api` (group `Core Services`,
    /// URL shown) 40 ms up, 160 ms down (503) and 100 ms up, with verdicts on the last two
    /// (so the events START, HEALTHY, UNHEALTHY, HEALTHY); `web` one 500 ms failure;
    /// `slow` one 2000 ms success; `fresh` nothing.
    fn api() -> (GatusApi, tempfile::TempDir, [u64; 4]) {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::monitor::config::parse(
            "[[target]]\nname = \"api\"\ngroup = \"Core Services\"\n\
             url = \"https://api.example.org/health\"\nshow_url = true\n\
             [[target]]\nname = \"web\"\nurl = \"http://127.0.0.1:2/\"\n\
             [[target]]\nname = \"slow\"\nurl = \"http://127.0.0.1:3/\"\n\
             [[target]]\nname = \"fresh\"\nurl = \"http://127.0.0.1:4/\"\n",
            |_| None,
        )
        .unwrap();
        let start = results_hour() * HOUR_MS;
        let at = [start + 1_000, start + 2_000, start + 3_000, start + 4_000];
        let result = |at_ms, ok: bool, response_time_ms| ResultRecord {
            at_ms,
            ok,
            status_code: Some(if ok { 200 } else { 503 }),
            response_time_ms,
            error: (!ok).then(|| "[STATUS] (503) == 200".to_owned()),
            votes: Vec::new(),
        };
        let verdict = |condition: &str, failure: Option<&str>| Verdict {
            condition: condition.to_owned(),
            failure: failure.map(str::to_owned),
        };
        let store = Store::open(dir.path()).unwrap();
        store
            .commit(&store::Batch {
                results: vec![
                    ("api".to_owned(), result(at[0], true, 40)),
                    ("api".to_owned(), result(at[1], false, 160)),
                    ("api".to_owned(), result(at[2], true, 100)),
                    ("web".to_owned(), result(at[3], false, 500)),
                    ("slow".to_owned(), result(at[3], true, 2000)),
                ],
                verdicts: vec![
                    (
                        "api".to_owned(),
                        at[1],
                        vec![verdict("[STATUS] == 200", Some("[STATUS] (503) == 200"))],
                    ),
                    (
                        "api".to_owned(),
                        at[2],
                        vec![verdict("[STATUS] == 200", None)],
                    ),
                ],
                ..store::Batch::default()
            })
            .unwrap();
        let monitoring = Monitoring::with(config, store);
        (GatusApi { monitoring }, dir, at)
    }

    #[tokio::test]
    async fn the_handlers_give_each_endpoint_its_own_results_and_events() {
        let (api, _dir, at) = api();
        let StatusesResponse::Ok(all) = api.statuses(Query(None), Query(None)).await else {
            panic!("statuses failed");
        };
        let keys: Vec<_> = all.0.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["core-services_api", "_web", "_slow", "_fresh"]);
        let result = |at_ms, ok: bool, ms: u64, conditions: Option<(&str, bool)>| GatusResult {
            status: Some(if ok { 200 } else { 503 }),
            hostname: Some("api.example.org".to_owned()),
            duration: ms * 1_000_000,
            errors: (!ok).then(|| vec!["[STATUS] (503) == 200".to_owned()]),
            condition_results: conditions.map(|(condition, success)| {
                vec![ConditionResult {
                    condition: condition.to_owned(),
                    success,
                }]
            }),
            success: ok,
            timestamp: rfc3339(at_ms),
        };
        let results = vec![
            result(at[0], true, 40, None),
            result(at[1], false, 160, Some(("[STATUS] (503) == 200", false))),
            result(at[2], true, 100, Some(("[STATUS] == 200", true))),
        ];
        assert_eq!(
            all.0[0],
            EndpointStatus {
                name: Some("api".to_owned()),
                group: Some("Core Services".to_owned()),
                key: "core-services_api".to_owned(),
                results: results.clone(),
                events: None,
            }
        );
        assert_eq!(
            (all.0[1].name.as_deref(), &all.0[1].group),
            (Some("web"), &None)
        );

        // One endpoint: its events only, not another's.
        let one = status_answer(
            api.status(key("core-services_api"), Query(None), Query(None))
                .await,
        );
        let event = |kind, at_ms| GatusEvent {
            kind,
            timestamp: rfc3339(at_ms),
        };
        assert_eq!(
            one,
            Ok(EndpointStatus {
                events: Some(vec![
                    event(EventType::Start, at[0]),
                    event(EventType::Healthy, at[0]),
                    event(EventType::Unhealthy, at[1]),
                    event(EventType::Healthy, at[2]),
                ]),
                ..all.0[0].clone()
            })
        );
        let web = status_answer(api.status(key("_web"), Query(None), Query(None)).await).unwrap();
        assert_eq!(
            web.events,
            Some(vec![
                event(EventType::Start, at[3]),
                event(EventType::Unhealthy, at[3])
            ])
        );
        let fresh = status_answer(api.status(key("_fresh"), Query(None), Query(None)).await);
        assert_eq!(fresh.unwrap().events, None);
        assert_eq!(
            status_answer(api.status(key("nope"), Query(None), Query(None)).await),
            Err((404, "endpoint not found".to_owned()))
        );
    }

    #[tokio::test]
    async fn uptimes_response_times_and_badges_are_exact() {
        let (api, _dir, _) = api();
        let no_cache = Some("no-cache, no-store, must-revalidate".to_owned());
        let uptime = |k: &str, d: &str| api.uptime(key(k), key(d));
        assert_eq!(
            raw_answer(uptime("core-services_api", "24h").await),
            (200, "0.666667".to_owned(), no_cache.clone())
        );
        assert_eq!(
            raw_answer(uptime("core-services_api", "2h").await),
            (400, DURATIONS.to_owned(), None)
        );
        assert_eq!(
            raw_answer(uptime("nope", "24h").await),
            (404, "endpoint not found".to_owned(), None)
        );
        assert_eq!(
            raw_answer(api.response_time(key("core-services_api"), key("7d")).await),
            (200, "100".to_owned(), no_cache.clone())
        );

        // Health: the latest result's verdict.
        for (k, health, color, shields) in [
            ("core-services_api", "up", badge::GREEN, "brightgreen"),
            ("_web", "down", badge::RED, "red"),
            ("_fresh", "?", badge::GREY, "yellow"),
        ] {
            assert_eq!(
                badge_answer(api.health_badge(key(k)).await),
                (
                    200,
                    badge::render("health", health, color),
                    no_cache.clone()
                ),
                "{k}"
            );
            assert_eq!(
                shields_answer(api.health_shields(key(k)).await),
                (health.to_owned(), shields.to_owned()),
                "{k}"
            );
        }

        // The response-time badge's colour by the mean: 100, 500 and 2000 ms.
        for (k, ms, color) in [
            ("core-services_api", "100ms", badge::GREEN),
            ("_web", "500ms", badge::YELLOW_GREEN),
            ("_slow", "2000ms", badge::ORANGE),
        ] {
            assert_eq!(
                badge_answer(api.response_time_badge(key(k), key("24h")).await),
                (
                    200,
                    badge::render("response time 24h", ms, color),
                    no_cache.clone()
                ),
                "{k}"
            );
        }
        assert_eq!(
            badge_answer(api.uptime_badge(key("core-services_api"), key("30d")).await),
            (
                200,
                badge::render("uptime 30d", "66.67%", badge::uptime_color(Some(2.0 / 3.0))),
                no_cache
            )
        );
    }

    #[tokio::test]
    async fn the_history_reaches_back_the_whole_duration() {
        let (api, _dir, at) = api();
        // The results' own hour, even if the hour turned since they were written.
        let hour = at[0] / HOUR_MS;
        // Asked again if the hour turned during the request.
        for _ in 0..2 {
            let now = store::millis(SystemTime::now()) / HOUR_MS;
            let answer = api
                .response_time_history(key("core-services_api"), key("24h"))
                .await;
            if store::millis(SystemTime::now()) / HOUR_MS != now {
                continue;
            }
            let HistoryResponse::Ok(history) = answer else {
                panic!("no history");
            };
            // From the hour 24 before the current one: zeros up to the results' hour.
            let hours: Vec<u64> = (now - 24..=hour).collect();
            let mut values = vec![0; hours.len() - 1];
            values.push(100);
            assert_eq!(
                history.0,
                ResponseTimeHistory {
                    timestamps: hours.iter().map(|h| h * HOUR_MS).collect(),
                    values,
                }
            );
            return;
        }
        panic!("the hour turned twice");
    }

    #[tokio::test]
    async fn a_store_that_cannot_be_read_is_a_500_that_says_so() {
        let (api, _dir, _) = api();
        api.monitoring.store.close();
        let StatusesResponse::Failed(body) = api.statuses(Query(None), Query(None)).await else {
            panic!("not a failure");
        };
        assert_eq!(body.0, "the monitor's store could not be read; see the log");
    }

    #[test]
    fn windows_sum_the_last_hours_or_days() {
        let bucket = |i: u64| {
            (
                i,
                Aggregate {
                    checks: i,
                    failures: i % 3,
                    response_time_ms: 10 * i,
                },
            )
        };
        let history = History {
            hours: (1..=30).map(bucket).collect(),
            days: (1..=40).map(bucket).collect(),
        };
        let total = |range: std::ops::RangeInclusive<u64>| {
            let mut total = Aggregate::default();
            for i in range {
                total.checks += i;
                total.failures += i % 3;
                total.response_time_ms += 10 * i;
            }
            total
        };
        assert_eq!(window(&history, "1h"), Some(total(28..=30)));
        assert_eq!(window(&history, "24h"), Some(total(7..=30)));
        assert_eq!(window(&history, "7d"), Some(total(34..=40)));
        assert_eq!(window(&history, "30d"), Some(total(11..=40)));
        assert_eq!(window(&history, "90d"), None);
        assert_eq!(
            window(&history, "1h"),
            Some(Aggregate {
                checks: 87,
                failures: 3,
                response_time_ms: 870
            })
        );
    }
}
