//! `/api/v1/*`: the monitor's state, results and incidents as JSON, read-only.

use std::sync::Arc;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::config::MonitorConfig;
use super::health::Stale;
use super::store::{self, Incident, LocationState, ResultRecord, State, Store, StoreError, Vote};
use crate::api::ApiTags;

/// What the API reads: the config (the targets and their order) and the store.
#[derive(Debug, Clone)]
pub struct Monitoring {
    /// The checked configuration.
    pub config: Arc<MonitorConfig>,
    /// The history.
    pub store: Arc<Store>,
    /// Whether the store commits: when it does not, the data shown is stale, and says so.
    pub health: Arc<super::health::StoreHealth>,
}

#[cfg(test)]
impl Monitoring {
    /// What the handlers read in a unit test: `config` over `store`, whose commits have not
    /// failed.
    pub(crate) fn with(config: MonitorConfig, store: Store) -> Self {
        Self {
            config: Arc::new(config),
            store: Arc::new(store),
            health: Arc::new(super::health::StoreHealth::new(0).unwrap()),
        }
    }
}

/// The whole picture, for dashboards and the status page.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct StatusReport {
    /// `[monitor] title`. Example: `Status of health-service`.
    pub title: String,
    /// `up` when no target is down, `down` when every target is, `degraded` in between (a
    /// target under maintenance is not down).
    pub status: Overall,
    /// Every target, in the configuration's order.
    pub targets: Vec<TargetStatus>,
    /// Set while the monitor cannot write its store: its data is as of this time (alerts are
    /// still sent). Null while the data is current.
    #[oai(nullable)]
    pub stale_since: Option<DateTime<Utc>>,
    /// Why the data is stale: the store's error. Null while the data is current. Example: `store: No space left on device (os error 28)`.
    #[oai(nullable)]
    pub store_error: Option<String>,
}

/// All targets together.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum Overall {
    /// No target is down.
    Up,
    /// Some, not all, targets are down.
    Degraded,
    /// Every target is down.
    Down,
}

impl Overall {
    /// Up when no target is down, down when every one is, degraded in between; unknown targets
    /// count as not down.
    pub fn of(states: impl ExactSizeIterator<Item = TargetState>) -> Self {
        let count = states.len();
        match states.filter(|s| *s == TargetState::Down).count() {
            0 => Self::Up,
            down if down == count => Self::Down,
            _ => Self::Degraded,
        }
    }
}

/// One target's state.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum TargetState {
    /// Serving.
    Up,
    /// Down, with an open incident.
    Down,
    /// No result has decided it yet.
    Unknown,
    /// In a `[[maintenance]]` window: its failures alert nobody and its uptime leaves the
    /// window out.
    Maintenance,
}

impl From<State> for TargetState {
    fn from(state: State) -> Self {
        match state {
            State::Up => Self::Up,
            State::Down => Self::Down,
            State::Unknown => Self::Unknown,
        }
    }
}

/// One target as the status report shows it.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct TargetStatus {
    /// The target's unique name. Example: `api`.
    pub name: String,
    /// The heading it is listed under, if any. Example: `production`.
    #[oai(nullable)]
    pub group: Option<String>,
    /// What is probed: null unless the target's config says `show_url = true`, and then without
    /// user info, query or fragment. Example: `https://health-service-5054231013.fly.dev/health`.
    #[oai(nullable)]
    pub url: Option<String>,
    /// Up, down, unknown, or maintenance while a `[[maintenance]]` window covers it.
    pub state: TargetState,
    /// When the state last changed; null while unknown.
    #[oai(nullable)]
    pub since: Option<DateTime<Utc>>,
    /// The latest probe; null before the first.
    #[oai(nullable)]
    pub last_check: Option<Check>,
    /// Fraction of successful probes over each window.
    pub uptime: Uptime,
    /// The last observation from each location, the monitor's own first; empty before the
    /// first round.
    pub locations: Vec<LocationView>,
}

/// One location's last observation of a target.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct LocationView {
    /// The location's name. Example: `ams`.
    pub name: String,
    /// Whether every condition held there; null when the location cast no vote (its agent
    /// did not answer).
    #[oai(nullable)]
    pub ok: Option<bool>,
    /// The response's status; null when none arrived. Example: `200`.
    #[oai(nullable)]
    pub status_code: Option<u16>,
    /// Time to the response head, ms. Example: `42`.
    pub response_time_ms: u64,
    /// Why it failed or why no vote came, in one line. Example: `unreachable: no answer within 12s`.
    #[oai(nullable)]
    pub error: Option<String>,
    /// When that round started.
    pub at: DateTime<Utc>,
    /// Whether this location has failed for `failure_threshold` rounds while too few others
    /// agreed to take the target down: a location warning, which pages nobody.
    pub warning: bool,
}

impl From<&LocationState> for LocationView {
    fn from(location: &LocationState) -> Self {
        Self {
            name: location.vote.location.clone(),
            ok: location.vote.ok,
            status_code: location.vote.status_code,
            response_time_ms: location.vote.response_time_ms,
            error: location.vote.error.clone(),
            at: timestamp(location.at_ms),
            warning: location.warning,
        }
    }
}

/// One probe's result.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct Check {
    /// When the probe started.
    pub at: DateTime<Utc>,
    /// Whether every condition held.
    pub ok: bool,
    /// The response's status; null when none arrived. Example: `200`.
    #[oai(nullable)]
    pub status_code: Option<u16>,
    /// Time to the response head, ms. Example: `42`.
    pub response_time_ms: u64,
    /// Why it failed, in one line; null when it succeeded. Example: `[STATUS] (503) == 200`.
    #[oai(nullable)]
    pub error: Option<String>,
    /// The location that probed; null for a round's verdict over every location (a status's
    /// `last_check`). Example: `nrt`.
    #[oai(nullable)]
    pub location: Option<String>,
    /// The body a push target's check-in came with (at most 100,000 bytes, with the target's
    /// secrets replaced as in `error`); null for any other result, and in a status's
    /// `last_check`. A failure's reason stays in `error`. Example: `disk full`.
    #[oai(nullable)]
    pub message: Option<String>,
}

impl From<&ResultRecord> for Check {
    /// The round's verdict.
    fn from(result: &ResultRecord) -> Self {
        Self {
            at: timestamp(result.at_ms),
            ok: result.ok,
            status_code: result.status_code,
            response_time_ms: result.response_time_ms,
            error: result.error.clone(),
            location: None,
            message: None,
        }
    }
}

impl Check {
    /// One location's result in the round of `result`, if it cast a vote, with the round's
    /// check-in `message`.
    fn of_vote(result: &ResultRecord, vote: &Vote, message: Option<&String>) -> Option<Self> {
        Some(Self {
            at: timestamp(result.at_ms),
            ok: vote.ok?,
            status_code: vote.status_code,
            response_time_ms: vote.response_time_ms,
            error: vote.error.clone(),
            location: Some(vote.location.clone()),
            message: message.cloned(),
        })
    }
}

/// Uptime per window: a fraction from 0 to 1, or null without any probe in it. Probes made
/// during maintenance windows are left out.
#[derive(Object, Debug, Clone, Copy, PartialEq)]
pub struct Uptime {
    /// The last 24 hours. Example: `0.9993`.
    #[oai(rename = "24h", nullable)]
    pub day: Option<f64>,
    /// The last 7 days, today included.
    #[oai(rename = "7d", nullable)]
    pub week: Option<f64>,
    /// The last 30 days, today included.
    #[oai(rename = "30d", nullable)]
    pub month: Option<f64>,
    /// The last 90 days, today included.
    #[oai(rename = "90d", nullable)]
    pub quarter: Option<f64>,
}

/// A target's results, newest first.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct Results {
    /// The target's name. Example: `api`.
    pub target: String,
    /// Newest first.
    pub results: Vec<Check>,
}

/// Incidents, newest first.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct Incidents {
    /// Newest first.
    pub incidents: Vec<IncidentView>,
}

/// A period during which a target was down.
#[derive(Object, Debug, Clone, PartialEq)]
#[oai(rename = "Incident")]
pub struct IncidentView {
    /// Increasing with each incident. Example: `3`.
    pub id: u64,
    /// The target's name. Example: `api`.
    pub target: String,
    /// The first failing probe of the run that took the target down.
    pub started_at: DateTime<Utc>,
    /// The first succeeding probe of the run that brought it back; null while open.
    #[oai(nullable)]
    pub resolved_at: Option<DateTime<Utc>>,
    /// From start to resolution, or to now while open, whole seconds. Example: `305`.
    pub duration_seconds: u64,
    /// The failing probe's reason. Example: `connection refused`.
    pub cause: String,
}

impl IncidentView {
    /// `incident` as the API shows it at `now_ms`.
    #[must_use]
    pub fn new(incident: &Incident, now_ms: u64) -> Self {
        Self {
            id: incident.id,
            target: incident.target.clone(),
            started_at: timestamp(incident.started_ms),
            resolved_at: incident.resolved_ms.map(timestamp),
            duration_seconds: incident.duration_seconds(now_ms),
            cause: incident.cause.clone(),
        }
    }
}

/// The JSON body of an error, the same shape as every other error of the service.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct ErrorMessage {
    /// The status code. Example: `404`.
    pub status: u16,
    /// Its reason phrase. Example: `Not Found`.
    pub error: String,
    /// What was wrong and what is accepted. Example: `no target named "x"; the targets are listed at /api/v1/status`.
    pub message: String,
}

/// Outcome of `GET /api/v1/status`.
#[derive(ApiResponse)]
pub enum StatusResponse {
    /// Every target's state.
    #[oai(status = 200)]
    Ok(Json<StatusReport>),
    /// The store could not be read.
    #[oai(status = 500)]
    Failed(Json<ErrorMessage>),
}

/// Outcome of `GET /api/v1/targets/{name}/results`.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "bad_request")]
pub enum ResultsResponse {
    /// The results, newest first.
    #[oai(status = 200)]
    Ok(Json<Results>),
    /// `limit`, `before` or `location` is not valid.
    #[oai(status = 400)]
    BadRequest(Json<ErrorMessage>),
    /// No target has that name.
    #[oai(status = 404)]
    NotFound(Json<ErrorMessage>),
    /// The store could not be read.
    #[oai(status = 500)]
    Failed(Json<ErrorMessage>),
}

/// Outcome of `GET /api/v1/incidents`.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "bad_request")]
pub enum IncidentsResponse {
    /// The incidents, newest first.
    #[oai(status = 200)]
    Ok(Json<Incidents>),
    /// `limit` is not valid.
    #[oai(status = 400)]
    BadRequest(Json<ErrorMessage>),
    /// The store could not be read.
    #[oai(status = 500)]
    Failed(Json<ErrorMessage>),
}

/// The monitor's read-only API.
#[derive(Clone)]
pub struct MonitorApi {
    /// Config and store.
    pub monitoring: Monitoring,
}

#[OpenApi(tag = "ApiTags::Monitor")]
impl MonitorApi {
    /// State of every monitored target
    ///
    /// The overall status, and per target its state, the latest probe and uptime over 24 hours
    /// and 7, 30 and 90 days (from aggregates, never raw results). While the monitor cannot
    /// write its store, `stale_since` and `store_error` say so (and while the store cannot even
    /// be read, states are `unknown` and uptime null).
    #[oai(
        path = "/api/v1/status",
        method = "get",
        operation_id = "getMonitorStatus"
    )]
    async fn status(&self) -> StatusResponse {
        let monitoring = self.monitoring.clone();
        match store::blocking(move || status_report(&monitoring, SystemTime::now())).await {
            Ok(report) => StatusResponse::Ok(Json(report)),
            // While the store is being re-opened it cannot be read: the report still says why.
            Err(err) => match self.monitoring.health.stale() {
                Some(stale) => StatusResponse::Ok(Json(unreadable_report(&self.monitoring, stale))),
                None => StatusResponse::Failed(failure(&err)),
            },
        }
    }

    /// Results of one target
    ///
    /// One per location and round, newest first: at most `limit` (1 to 1000, default 100),
    /// older than `before` (RFC 3339) when it is given, to page back through the history (a page
    /// never splits a round), from one location only with `location`. Locations that cast no
    /// vote in a round have no result in it.
    #[oai(
        path = "/api/v1/targets/:name/results",
        method = "get",
        operation_id = "getTargetResults"
    )]
    async fn results(
        &self,
        /// The target's name, as in the configuration.
        name: Path<String>,
        /// How many results, at most.
        #[oai(
            default = "default_limit",
            validator(minimum(value = "1"), maximum(value = "1000"))
        )]
        limit: Query<u32>,
        /// Only results that started before this time (RFC 3339, e.g. `2026-11-29T05:00:00Z`).
        before: Query<Option<DateTime<Utc>>>,
        /// Only this location's results (e.g. `ams`); none for a name that is not one of the
        /// locations.
        #[oai(validator(pattern = "^[a-z0-9-]{1,32}$"))]
        location: Query<Option<String>>,
    ) -> ResultsResponse {
        let Path(name) = name;
        if !self
            .monitoring
            .config
            .targets
            .iter()
            .any(|t| t.name == name)
        {
            return ResultsResponse::NotFound(error(
                404,
                format!("no target named {name:?}; the targets are listed at /api/v1/status"),
            ));
        }
        let before_ms = before
            .0
            .map(|at| u64::try_from(at.timestamp_millis()).unwrap_or(0));
        let store = self.monitoring.store.clone();
        let target = name.clone();
        let limit = usize::try_from(limit.0).unwrap_or(usize::MAX);
        let location = location.0;
        let config = &self.monitoring.config;
        // Not one of the locations: nothing to find, and no reason to read the history for it.
        if let Some(location) = &location
            && !config.location_names().any(|name| name == location)
        {
            return ResultsResponse::Ok(Json(Results {
                target: name,
                results: Vec::new(),
            }));
        }
        let read = move || location_results(&store, &target, before_ms, limit, location.as_deref());
        match store::blocking(read).await {
            Ok(results) => ResultsResponse::Ok(Json(Results {
                target: name,
                results,
            })),
            Err(err) => ResultsResponse::Failed(failure(&err)),
        }
    }

    /// Incident history
    ///
    /// Newest first, at most `limit` (1 to 1000, default 100); an open incident has
    /// `resolved_at: null` and its duration so far.
    #[oai(
        path = "/api/v1/incidents",
        method = "get",
        operation_id = "getIncidents"
    )]
    async fn incidents(
        &self,
        /// How many incidents, at most.
        #[oai(
            default = "default_limit",
            validator(minimum(value = "1"), maximum(value = "1000"))
        )]
        limit: Query<u32>,
    ) -> IncidentsResponse {
        let store = self.monitoring.store.clone();
        let limit = usize::try_from(limit.0).unwrap_or(usize::MAX);
        match store::blocking(move || store.incidents(limit)).await {
            Ok(incidents) => {
                let now = store::millis(SystemTime::now());
                IncidentsResponse::Ok(Json(Incidents {
                    incidents: incidents
                        .iter()
                        .map(|i| IncidentView::new(i, now))
                        .collect(),
                }))
            }
            Err(err) => IncidentsResponse::Failed(failure(&err)),
        }
    }
}

fn default_limit() -> u32 {
    100
}

/// Up to `limit` results of `target` from before `before_ms`, one per location and round (or
/// only `location`'s), newest first, never splitting a round unless one round alone is over
/// `limit`.
fn location_results(
    store: &Store,
    target: &str,
    mut before_ms: Option<u64>,
    limit: usize,
    location: Option<&str>,
) -> Result<Vec<Check>, StoreError> {
    let mut out = Vec::new();
    loop {
        let rounds = store.results(target, before_ms, limit)?;
        let exhausted = rounds.len() < limit;
        let at_ms: Vec<u64> = rounds.iter().map(|r| r.at_ms).collect();
        let messages = store.messages(target, &at_ms)?;
        for (round, message) in rounds.iter().zip(&messages) {
            let checks: Vec<Check> = round
                .votes
                .iter()
                .filter(|vote| location.is_none_or(|name| vote.location == name))
                .filter_map(|vote| Check::of_vote(round, vote, message.as_ref()))
                .collect();
            if out.len() + checks.len() > limit {
                if out.is_empty() {
                    out.extend(checks.into_iter().take(limit));
                }
                return Ok(out);
            }
            out.extend(checks);
        }
        match rounds.last() {
            Some(last) if !exhausted && out.len() < limit => before_ms = Some(last.at_ms),
            _ => return Ok(out),
        }
    }
}

/// The status report at `now`, from saved states and aggregates.
///
/// # Errors
/// When the store cannot be read.
pub fn status_report(monitoring: &Monitoring, now: SystemTime) -> Result<StatusReport, StoreError> {
    let store = &monitoring.store;
    let states = store.states()?;
    let mut targets = Vec::with_capacity(monitoring.config.targets.len());
    for target in &monitoring.config.targets {
        let saved = states.get(&target.name).cloned().unwrap_or_default();
        let [day, week, month, quarter] = store.history(&target.name, now)?.windows();
        let maintenance = (monitoring.config.maintenance).active(&target.name, store::millis(now));
        targets.push(TargetStatus {
            name: target.name.clone(),
            group: target.group.clone(),
            url: target.public_url(),
            state: if maintenance {
                TargetState::Maintenance
            } else {
                saved.state.into()
            },
            since: saved.since_ms.map(timestamp),
            last_check: saved.last.as_ref().map(Check::from),
            uptime: Uptime {
                day: day.uptime(),
                week: week.uptime(),
                month: month.uptime(),
                quarter: quarter.uptime(),
            },
            locations: saved.locations.iter().map(LocationView::from).collect(),
        });
    }
    let status = Overall::of(targets.iter().map(|t| t.state));
    let stale = monitoring.health.stale();
    Ok(StatusReport {
        title: monitoring.config.title.clone(),
        status,
        targets,
        stale_since: stale.as_ref().map(|s| timestamp(s.since_ms)),
        store_error: stale.map(|s| s.cause),
    })
}

/// The report while the store cannot be read: every target unknown, and why.
fn unreadable_report(monitoring: &Monitoring, stale: Stale) -> StatusReport {
    let unknown = Uptime {
        day: None,
        week: None,
        month: None,
        quarter: None,
    };
    StatusReport {
        title: monitoring.config.title.clone(),
        status: Overall::Up,
        targets: monitoring
            .config
            .targets
            .iter()
            .map(|target| TargetStatus {
                name: target.name.clone(),
                group: target.group.clone(),
                url: target.public_url(),
                state: TargetState::Unknown,
                since: None,
                last_check: None,
                uptime: unknown,
                locations: Vec::new(),
            })
            .collect(),
        stale_since: Some(timestamp(stale.since_ms)),
        store_error: Some(stale.cause),
    }
}

/// The 500 body for a failed store read, which is logged (the body does not leak it).
pub(super) fn failure(err: &StoreError) -> Json<ErrorMessage> {
    tracing::error!(error = %err, "monitor API: store read failed");
    error(
        500,
        "the monitor's store could not be read; see the log".to_owned(),
    )
}

/// A response whose 400 is a parameter that did not parse, with poem-openapi's message (which
/// names the parameter and what it expects).
pub(super) trait BadRequest {
    /// The 400 response.
    fn bad_request(body: Json<ErrorMessage>) -> Self;
}

impl BadRequest for ResultsResponse {
    fn bad_request(body: Json<ErrorMessage>) -> Self {
        Self::BadRequest(body)
    }
}

impl BadRequest for IncidentsResponse {
    fn bad_request(body: Json<ErrorMessage>) -> Self {
        Self::BadRequest(body)
    }
}

/// The `bad_request_handler` of the responses above.
pub(super) fn bad_request<T: BadRequest>(err: poem::Error) -> T {
    T::bad_request(error(400, err.to_string()))
}

/// An error body with `status`'s reason phrase.
pub(crate) fn error(status: u16, message: String) -> Json<ErrorMessage> {
    let reason = poem::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    Json(ErrorMessage {
        status,
        error: reason.to_owned(),
        message,
    })
}

/// ms since the epoch as a UTC time.
fn timestamp(ms: u64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(i64::try_from(ms).unwrap_or(i64::MAX)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_the_store_cannot_give_says_why_and_claims_no_state() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::monitor::config::parse(
            "[[target]]\nname = \"api\"\nurl = \"http://127.0.0.1:1/\"\nshow_url = true\n\
             [[target]]\nname = \"web\"\nurl = \"http://127.0.0.1:2/\"",
            |_| None,
        )
        .unwrap();
        let monitoring = Monitoring::with(config, Store::open(dir.path()).unwrap());
        let report = unreadable_report(
            &monitoring,
            Stale {
                since_ms: 1_800_000_000_000,
                cause: "store: I/O error: No space left on device (os error 28)".to_owned(),
            },
        );
        assert_eq!(
            report.stale_since.map(|t| t.to_rfc3339()).as_deref(),
            Some("2027-01-15T08:00:00+00:00")
        );
        assert_eq!(
            report.store_error.as_deref(),
            Some("store: I/O error: No space left on device (os error 28)")
        );
        let states: Vec<_> = report
            .targets
            .iter()
            .map(|t| (t.name.as_str(), t.state))
            .collect();
        assert_eq!(
            states,
            [("api", TargetState::Unknown), ("web", TargetState::Unknown)]
        );
        assert_eq!(
            report.targets[0].url.as_deref(),
            Some("http://127.0.0.1:1/")
        );
        assert_eq!(report.targets[1].url, None, "hidden unless show_url");
        assert_eq!(report.targets[0].uptime.day, None);

        // While the store works, the report from it is not stale.
        let fresh = status_report(&monitoring, SystemTime::now()).unwrap();
        assert_eq!(fresh.stale_since, None);
        assert_eq!(fresh.store_error, None);
    }

    #[test]
    fn overall_is_up_without_a_down_target_down_when_all_are_and_degraded_between() {
        use TargetState::{Down, Maintenance, Unknown, Up};
        assert_eq!(Overall::of([].into_iter()), Overall::Up);
        assert_eq!(
            Overall::of([Up, Unknown, Maintenance].into_iter()),
            Overall::Up
        );
        assert_eq!(Overall::of([Up, Down].into_iter()), Overall::Degraded);
        assert_eq!(
            Overall::of([Down, Maintenance].into_iter()),
            Overall::Degraded
        );
        assert_eq!(Overall::of([Down].into_iter()), Overall::Down);
        assert_eq!(Overall::of([Down, Down].into_iter()), Overall::Down);
    }

    const AMS_TOKEN: &str = "0123456789abcdef0123456789abcdef";

    /// `api` (group `production`, five rounds a minute apart from `at`, the last ten minutes
    /// ago; `ams` voted in the first, second and last only, and the last came with a check-in
    /// message) and `db` (down, one failed round, incident 2 open; incident 1, of `api`, lasted
    /// 305 s); the monitor's location is `local`, its agent `ams`.
    fn fixture() -> (MonitorApi, tempfile::TempDir, u64) {
        use crate::monitor::store::{Batch, TargetState as Saved};
        let dir = tempfile::tempdir().unwrap();
        let config = crate::monitor::config::parse(
            &format!(
                "[monitor]\ntitle = \"Status of things\"\n\
                 [[target]]\nname = \"api\"\ngroup = \"production\"\nurl = \"http://127.0.0.1:1/\"\n\
                 [[target]]\nname = \"db\"\nurl = \"http://127.0.0.1:2/\"\n\
                 [[location]]\nname = \"ams\"\nurl = \"http://ams.internal:8080\"\n\
                 token = \"{AMS_TOKEN}\"\n"
            ),
            |_| None,
        )
        .unwrap();
        let at = store::millis(SystemTime::now()) / 1000 * 1000 - 14 * 60_000;
        let vote = |location: &str, ok: Option<bool>, ms| Vote {
            location: location.to_owned(),
            ok,
            status_code: ok.map(|_| 200),
            response_time_ms: ms,
            error: None,
        };
        let round = |i: u64| {
            let ams = [0, 1, 4].contains(&i).then_some(true);
            ResultRecord {
                at_ms: at + i * 60_000,
                ok: true,
                status_code: Some(200),
                response_time_ms: 10 + i,
                error: None,
                votes: vec![vote("local", Some(true), 10 + i), vote("ams", ams, 20 + i)],
            }
        };
        let failed = ResultRecord {
            at_ms: at,
            ok: false,
            status_code: Some(503),
            response_time_ms: 7,
            error: Some("[STATUS] (503) == 200".to_owned()),
            votes: vec![Vote {
                location: "local".to_owned(),
                ok: Some(false),
                status_code: Some(503),
                response_time_ms: 7,
                error: Some("[STATUS] (503) == 200".to_owned()),
            }],
        };
        let api_state = Saved {
            state: State::Up,
            since_ms: Some(at),
            last: Some(round(4)),
            locations: vec![LocationState {
                at_ms: at + 4 * 60_000,
                vote: vote("ams", Some(true), 24),
                failures: 0,
                warning: false,
            }],
            ..Saved::default()
        };
        let db_state = Saved {
            state: State::Down,
            since_ms: Some(at),
            open_incident: Some(2),
            last: Some(failed.clone()),
            ..Saved::default()
        };
        let incident = |id, target: &str, resolved_ms| Incident {
            id,
            target: target.to_owned(),
            started_ms: at - 3_600_000,
            resolved_ms,
            cause: "connection refused".to_owned(),
            reminders: Vec::new(),
        };
        let store = Store::open(dir.path()).unwrap();
        let mut results: Vec<_> = (0..5).map(|i| ("api".to_owned(), round(i))).collect();
        results.push(("db".to_owned(), failed));
        store
            .commit(&Batch {
                results,
                states: [("api".to_owned(), api_state), ("db".to_owned(), db_state)].into(),
                incidents: vec![
                    incident(1, "api", Some(at - 3_600_000 + 305_000)),
                    incident(2, "db", None),
                ],
                messages: vec![("api".to_owned(), at + 4 * 60_000, "disk full".to_owned())],
                ..Batch::default()
            })
            .unwrap();
        let monitoring = Monitoring::with(config, store);
        (MonitorApi { monitoring }, dir, at)
    }

    /// `(location, at_ms, response_time_ms)` of each result `name` answers with.
    async fn listed(
        api: &MonitorApi,
        name: &str,
        limit: u32,
        before: Option<u64>,
        location: Option<&str>,
    ) -> Vec<(String, u64, u64)> {
        let before = before.map(timestamp);
        let response = api
            .results(
                Path(name.to_owned()),
                Query(limit),
                Query(before),
                Query(location.map(str::to_owned)),
            )
            .await;
        let ResultsResponse::Ok(results) = response else {
            panic!("{name} {limit} {location:?}: not the results");
        };
        assert_eq!(results.0.target, name);
        results
            .0
            .results
            .iter()
            .map(|c| {
                let at = u64::try_from(c.at.timestamp_millis()).unwrap();
                (c.location.clone().unwrap(), at, c.response_time_ms)
            })
            .collect()
    }

    #[tokio::test]
    async fn results_come_newest_first_by_location_without_splitting_a_round() {
        let (api, _dir, at) = fixture();
        let r = |location: &str, i: u64| {
            let ms = if location == "ams" { 20 + i } else { 10 + i };
            (location.to_owned(), at + i * 60_000, ms)
        };
        // Rounds 4 and 3, then 2 and 1 once the first page gave one of `ams`'s two.
        assert_eq!(
            listed(&api, "api", 2, None, Some("ams")).await,
            [r("ams", 4), r("ams", 1)]
        );
        assert_eq!(
            listed(&api, "api", 100, None, Some("ams")).await,
            [r("ams", 4), r("ams", 1), r("ams", 0)]
        );
        assert_eq!(
            listed(&api, "api", 3, None, Some("local")).await,
            [r("local", 4), r("local", 3), r("local", 2)]
        );
        // Round 4 has two results: a limit of 3 takes round 3's one, 2 stops before it, and
        // 1 takes the first of round 4 alone rather than nothing.
        assert_eq!(
            listed(&api, "api", 3, None, None).await,
            [r("local", 4), r("ams", 4), r("local", 3)]
        );
        assert_eq!(
            listed(&api, "api", 2, None, None).await,
            [r("local", 4), r("ams", 4)]
        );
        assert_eq!(listed(&api, "api", 1, None, None).await, [r("local", 4)]);
        // Rounds 1 and 0, two results each; the page of 3 does not split round 0.
        let before = Some(at + 2 * 60_000);
        assert_eq!(
            listed(&api, "api", 100, before, None).await,
            [r("local", 1), r("ams", 1), r("local", 0), r("ams", 0)]
        );
        assert_eq!(
            listed(&api, "api", 3, before, None).await,
            [r("local", 1), r("ams", 1)]
        );
        // Not one of the locations: nothing, without reading.
        assert_eq!(listed(&api, "api", 100, None, Some("nrt")).await, []);
        assert_eq!(listed(&api, "db", 100, None, Some("ams")).await, []);
    }

    #[tokio::test]
    async fn a_result_carries_its_rounds_check_in_message_and_an_unknown_target_is_404() {
        let (api, _dir, at) = fixture();
        let ResultsResponse::Ok(results) = api
            .results(Path("api".to_owned()), Query(2), Query(None), Query(None))
            .await
        else {
            panic!("not the results");
        };
        let messages: Vec<_> = results
            .0
            .results
            .iter()
            .map(|c| c.message.clone())
            .collect();
        assert_eq!(
            messages,
            [Some("disk full".to_owned()), Some("disk full".to_owned())]
        );
        let ResultsResponse::Ok(older) = api
            .results(
                Path("api".to_owned()),
                Query(1),
                Query(Some(timestamp(at + 4 * 60_000))),
                Query(None),
            )
            .await
        else {
            panic!("not the results");
        };
        assert_eq!(older.0.results[0].message, None);

        let ResultsResponse::NotFound(body) = api
            .results(Path("web".to_owned()), Query(100), Query(None), Query(None))
            .await
        else {
            panic!("an unknown target has results");
        };
        assert_eq!(
            body.0,
            ErrorMessage {
                status: 404,
                error: "Not Found".to_owned(),
                message: "no target named \"web\"; the targets are listed at /api/v1/status"
                    .to_owned(),
            }
        );
    }

    #[tokio::test]
    async fn the_status_reports_each_targets_state_check_uptime_and_locations() {
        let (api, _dir, at) = fixture();
        let StatusResponse::Ok(report) = api.status().await else {
            panic!("not the status");
        };
        let report = report.0;
        assert_eq!(report.title, "Status of things");
        assert_eq!(report.status, Overall::Degraded);
        assert_eq!((report.stale_since, report.store_error), (None, None));
        let [api_status, db_status] = &report.targets[..] else {
            panic!("{:?}", report.targets);
        };
        assert_eq!(
            (api_status.name.as_str(), api_status.group.as_deref()),
            ("api", Some("production"))
        );
        assert_eq!(
            (api_status.state, db_status.state),
            (TargetState::Up, TargetState::Down)
        );
        assert_eq!(api_status.since, Some(timestamp(at)));
        assert_eq!(
            api_status.last_check,
            Some(Check {
                at: timestamp(at + 4 * 60_000),
                ok: true,
                status_code: Some(200),
                response_time_ms: 14,
                error: None,
                location: None,
                message: None,
            })
        );
        assert_eq!(
            api_status.locations,
            [LocationView {
                name: "ams".to_owned(),
                ok: Some(true),
                status_code: Some(200),
                response_time_ms: 24,
                error: None,
                at: timestamp(at + 4 * 60_000),
                warning: false,
            }]
        );
        assert_eq!(api_status.uptime.day, Some(1.0));
        assert_eq!(db_status.uptime.day, Some(0.0));
        assert_eq!(db_status.uptime.quarter, Some(0.0));
        assert_eq!(
            db_status
                .last_check
                .as_ref()
                .and_then(|c| c.error.as_deref()),
            Some("[STATUS] (503) == 200")
        );
    }

    #[tokio::test]
    async fn incidents_come_newest_first_with_their_duration() {
        let (api, _dir, at) = fixture();
        let IncidentsResponse::Ok(all) = api.incidents(Query(100)).await else {
            panic!("not the incidents");
        };
        let ids: Vec<_> = all
            .0
            .incidents
            .iter()
            .map(|i| (i.id, i.target.as_str()))
            .collect();
        assert_eq!(ids, [(2, "db"), (1, "api")]);
        assert_eq!(
            all.0.incidents[1],
            IncidentView {
                id: 1,
                target: "api".to_owned(),
                started_at: timestamp(at - 3_600_000),
                resolved_at: Some(timestamp(at - 3_600_000 + 305_000)),
                duration_seconds: 305,
                cause: "connection refused".to_owned(),
            }
        );
        // Open: an hour and 14 minutes so far (and the test's few seconds).
        let open = all.0.incidents[0].duration_seconds;
        assert!((74 * 60..74 * 60 + 60).contains(&open), "{open}");
        let IncidentsResponse::Ok(one) = api.incidents(Query(1)).await else {
            panic!("not the incidents");
        };
        assert_eq!(one.0.incidents.len(), 1);
        assert_eq!(one.0.incidents[0].id, 2);
    }

    #[test]
    fn a_bad_parameter_is_a_400_with_poems_reason() {
        let response: IncidentsResponse = bad_request(poem::Error::from_string(
            "limit: must be at most 1000",
            poem::http::StatusCode::BAD_REQUEST,
        ));
        let IncidentsResponse::BadRequest(body) = response else {
            panic!("not a 400");
        };
        assert_eq!(
            body.0,
            ErrorMessage {
                status: 400,
                error: "Bad Request".to_owned(),
                message: "limit: must be at most 1000".to_owned(),
            }
        );
        let response: ResultsResponse = bad_request(poem::Error::from_string(
            "before: not a time",
            poem::http::StatusCode::BAD_REQUEST,
        ));
        assert!(matches!(response, ResultsResponse::BadRequest(body) if body.0.status == 400));
        assert_eq!(error(599, String::new()).0.error, "Error");
        // What a request without `limit` gets (the spec's default).
        assert_eq!(default_limit(), 100);
    }

    #[tokio::test]
    async fn a_monitor_without_agents_gives_its_own_locations_results() {
        use crate::monitor::store::Batch;
        let dir = tempfile::tempdir().unwrap();
        let config = crate::monitor::config::parse(
            "[[target]]\nname = \"api\"\nurl = \"http://127.0.0.1:1/\"",
            |_| None,
        )
        .unwrap();
        let result = ResultRecord {
            at_ms: 1_796_581_800_000,
            ok: true,
            status_code: Some(200),
            response_time_ms: 42,
            error: None,
            votes: vec![Vote {
                location: "local".to_owned(),
                ok: Some(true),
                status_code: Some(200),
                response_time_ms: 42,
                error: None,
            }],
        };
        let store = Store::open(dir.path()).unwrap();
        store
            .commit(&Batch {
                results: vec![("api".to_owned(), result)],
                ..Batch::default()
            })
            .unwrap();
        let api = MonitorApi {
            monitoring: Monitoring::with(config, store),
        };
        let listed = listed(&api, "api", 100, None, Some("local")).await;
        assert_eq!(listed, [("local".to_owned(), 1_796_581_800_000, 42)]);
    }
}
