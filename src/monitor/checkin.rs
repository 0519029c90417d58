//! Where push targets check in: Healthchecks.io's ping URLs (so its clients, docs and cron
//! one-liners work unchanged) and Gatus's external-endpoint route.
//!
//! - `GET|HEAD|POST /ping/<token>`: success; `/ping/<token>/start`, `/ping/<token>/fail`,
//!   `/ping/<token>/<exit status>` (0 success, 1 to 255 failure, anything else 400). `200 OK`;
//!   an unknown token `404 not found`.
//! - `POST /api/v1/endpoints/<key>/external?success=true|false&error=...&duration=...` with
//!   `Authorization: Bearer <token>`, answered as Gatus answers; a JSON body's `error` is a
//!   failure's reason too, as in Gatus.
//!
//! A POST's body (up to [`MAX_BODY_BYTES`], as Healthchecks.io keeps by default; a larger one is
//! refused `413` and changes nothing) is kept as the result's message, read as UTF-8 (lossy) and
//! with the target's secrets replaced, as its reasons are. The results API shows it; the public
//! status page does not, since a job's output can name hosts or data no secret list covers.
//!
//! A token is found by comparing SHA-256 digests in constant time against every push target's,
//! without stopping at a match, so neither the answer nor its timing tells which part of a
//! token was wrong. A check-in is answered only once the ledger has committed it (a `503`
//! otherwise): a job told `200` is on disk. Nothing here logs or returns a token.

use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use graviola::hashing::{Hash, Sha256};
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::PlainText;
use poem_openapi::{ApiResponse, OpenApi};
use subtle::ConstantTimeEq;
use tokio::sync::{Notify, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::config::MonitorConfig;
use super::ledger::Report;
use super::metrics::MonitorMetrics;
use super::probe::Outcome;
use super::probe::push::{Ping, PushRecord, Watch};
use super::redact::Secrets;
use super::round::Round;
use crate::api::ApiTags;

/// How long a check-in waits for its commit before it is answered `503`.
const COMMIT_WAIT: Duration = Duration::from_secs(10);

/// The largest check-in body kept, in bytes: Healthchecks.io's default (100 KB).
pub const MAX_BODY_BYTES: usize = 100_000;

/// The one-line answer to a larger body.
const TOO_LARGE: &str = "the body is larger than 100000 bytes; send at most 100000 bytes";

/// Every push target of the config, with its clock.
pub struct Pushes {
    /// In config order.
    targets: Vec<PushTarget>,
    /// The ledger's queue; `None` once the monitor is stopping (check-ins then get `503`).
    results: Mutex<Option<Sender<Report>>>,
    /// Set when the monitor starts: check-ins count in `probe_*` like probes.
    metrics: OnceLock<Arc<MonitorMetrics>>,
    /// This monitor's location: a check-in is a round of one vote, its own.
    location: String,
}

/// One push target.
struct PushTarget {
    /// Its index in the config, as the ledger knows it.
    index: usize,
    /// Its name.
    name: String,
    /// Gatus's key for it: `<group>_<name>`, sanitised as Gatus does.
    key: String,
    /// SHA-256 of its token.
    digest: [u8; 32],
    /// What its messages must never show (its token among them).
    secrets: Secrets,
    /// When it must next be heard from.
    watch: Mutex<Watch>,
    /// Wakes its watcher when a check-in moves the deadline.
    moved: Notify,
}

impl std::fmt::Debug for Pushes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.targets.iter().map(|t| t.name.as_str()).collect();
        f.debug_struct("Pushes").field("targets", &names).finish()
    }
}

/// Why a check-in was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckInError {
    /// The monitor is stopping, or the store did not commit it in time.
    NotCommitted,
}

impl Pushes {
    /// The push targets of `config`, resumed from their committed `records` at `now`.
    #[must_use]
    pub fn new(
        config: &MonitorConfig,
        records: &std::collections::HashMap<String, PushRecord>,
        results: Sender<Report>,
        now: SystemTime,
    ) -> Self {
        let targets = (config.targets.iter().enumerate())
            .filter_map(|(index, target)| {
                let push = target.push()?;
                Some(PushTarget {
                    index,
                    name: target.name.clone(),
                    key: gatus_key(target.group.as_deref().unwrap_or_default(), &target.name),
                    digest: digest(push.token.expose()),
                    secrets: target.secrets.clone(),
                    watch: Mutex::new(Watch::resume(
                        push.period,
                        push.grace,
                        records.get(&target.name).copied(),
                        now,
                    )),
                    moved: Notify::new(),
                })
            })
            .collect();
        Self {
            targets,
            results: Mutex::new(Some(results)),
            metrics: OnceLock::new(),
            location: config.location.clone(),
        }
    }

    /// Starts one watcher per push target on `tasks`, which fails it when it falls silent,
    /// until `stop`; then lets go of the ledger's queue.
    pub fn start(
        self: &Arc<Self>,
        metrics: Arc<MonitorMetrics>,
        stop: &CancellationToken,
        tasks: &TaskTracker,
    ) {
        let _ = self.metrics.set(metrics);
        for position in 0..self.targets.len() {
            let (pushes, stop) = (self.clone(), stop.clone());
            tasks.spawn(async move { pushes.watch(position, stop).await });
        }
        let (pushes, stop) = (self.clone(), stop.clone());
        tasks.spawn(async move {
            stop.cancelled().await;
            // The ledger ends once every sender is gone.
            pushes.lock_results().take();
        });
    }

    /// Target `position`'s watcher: waits for its deadline (or a check-in that moves it) and
    /// reports the failure silence makes.
    async fn watch(&self, position: usize, stop: CancellationToken) {
        let target = &self.targets[position];
        loop {
            let deadline = lock(&target.watch).deadline_ms();
            let now = super::store::millis(SystemTime::now());
            let wait = Duration::from_millis(deadline.saturating_sub(now));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = target.moved.notified() => continue,
                () = stop.cancelled() => return,
            }
            let mut watch = lock(&target.watch);
            if let Some(outcome) = watch.expire(SystemTime::now()) {
                let record = watch.record();
                self.send(target, Some(outcome), record, None, None);
            }
        }
    }

    /// Applies `ping` to the target whose token is `token`, with the `body` it came with (kept
    /// as the result's message unless empty); `None` when no target has it.
    pub async fn ping_by_token(
        &self,
        token: &str,
        ping: Ping,
        body: &[u8],
    ) -> Option<Result<(), CheckInError>> {
        let target = self.by_token(token)?;
        let message = target.message(body);
        Some(self.check_in(target, ping, None, None, message).await)
    }

    /// Gatus's route: the target of `key`, when `token` is its token.
    fn by_key(&self, key: &str) -> Option<&PushTarget> {
        self.targets.iter().find(|t| t.key == key)
    }

    /// The target whose token is `token`, comparing digests in constant time with every one.
    fn by_token(&self, token: &str) -> Option<&PushTarget> {
        let digest = digest(token);
        let mut found = None;
        for target in &self.targets {
            if bool::from(target.digest.ct_eq(&digest)) {
                found = Some(target);
            }
        }
        found
    }

    /// Applies a check-in and waits until it is committed. `error` and `duration` are Gatus's
    /// (a failure's reason, the run's length); `message` is kept with the result it makes.
    async fn check_in(
        &self,
        target: &PushTarget,
        ping: Ping,
        error: Option<String>,
        duration: Option<Duration>,
        message: Option<String>,
    ) -> Result<(), CheckInError> {
        let (committed, done) = oneshot::channel();
        {
            // Held while sending, so check-ins reach the ledger in the order they were applied.
            let mut watch = lock(&target.watch);
            let mut outcome = watch.ping(ping, SystemTime::now());
            if let Some(outcome) = &mut outcome {
                if let (false, Some(error)) = (outcome.ok, error) {
                    outcome.error = Some(error);
                }
                if let Some(duration) = duration {
                    outcome.response_time = duration;
                    outcome.duration = duration;
                }
            }
            let record = watch.record();
            if !self.send(target, outcome, record, Some(committed), message) {
                return Err(CheckInError::NotCommitted);
            }
        }
        target.moved.notify_one();
        match tokio::time::timeout(COMMIT_WAIT, done).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(CheckInError::NotCommitted),
        }
    }

    /// Sends a report to the ledger; false when the monitor is stopping.
    fn send(
        &self,
        target: &PushTarget,
        outcome: Option<Outcome>,
        record: PushRecord,
        committed: Option<oneshot::Sender<()>>,
        message: Option<String>,
    ) -> bool {
        let round = outcome.map(|outcome| Round::alone(&self.location, outcome));
        if let (Some(round), Some(metrics)) = (&round, self.metrics.get()) {
            metrics.observe(&target.name, round);
        }
        let results = self.lock_results();
        let Some(results) = results.as_ref() else {
            return false;
        };
        results
            .send(Report {
                index: target.index,
                round,
                push: Some(record),
                committed,
                message,
            })
            .is_ok()
    }

    fn lock_results(&self) -> std::sync::MutexGuard<'_, Option<Sender<Report>>> {
        self.results
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl PushTarget {
    /// `body` as a result's message: `None` when empty, else UTF-8 (lossy) without the
    /// target's secrets, which the results API shows as it shows reasons.
    fn message(&self, body: &[u8]) -> Option<String> {
        if body.is_empty() {
            return None;
        }
        let text = String::from_utf8_lossy(body);
        Some(self.secrets.scrub(&text).into_owned())
    }
}

/// Reads a check-in's body, at most [`MAX_BODY_BYTES`]; `Err` with the answer to give when it
/// is larger (`413`) or cannot be read (`400`).
async fn read_body(body: poem::Body) -> Result<Vec<u8>, (u16, &'static str)> {
    match body.into_bytes_limit(MAX_BODY_BYTES).await {
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(poem::error::ReadBodyError::PayloadTooLarge) => Err((413, TOO_LARGE)),
        Err(_) => Err((400, "the body could not be read; send it again")),
    }
}

/// Gatus's reason in a JSON body, `{"error": "..."}`; `None` for any other body.
fn body_error(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct ExternalBody {
        error: Option<String>,
    }
    serde_json::from_slice::<ExternalBody>(body)
        .ok()?
        .error
        .filter(|e| !e.is_empty())
}

fn lock(watch: &Mutex<Watch>) -> std::sync::MutexGuard<'_, Watch> {
    watch
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn digest(token: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(Sha256::hash(token.as_bytes()).as_ref());
    out
}

/// Gatus's key of an endpoint: `<group>_<name>`, each lowercased and trimmed, with `/`, `_`,
/// `.`, `,`, space, `#`, `+` and `&` made `-`.
#[must_use]
pub fn gatus_key(group: &str, name: &str) -> String {
    let sanitise = |text: &str| {
        text.trim()
            .to_lowercase()
            .replace(['/', '_', '.', ',', ' ', '#', '+', '&'], "-")
    };
    format!("{}_{}", sanitise(group), sanitise(name))
}

/// The answer to a Healthchecks-style ping.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "bad_signal")]
pub enum PingResponse {
    /// Taken and committed: `OK`.
    #[oai(status = 200)]
    Ok(PlainText<String>),
    /// The signal is not `start`, `fail` or an exit status from 0 to 255: `invalid url format`.
    #[oai(status = 400)]
    BadRequest(PlainText<String>),
    /// No push target has this token: `not found`.
    #[oai(status = 404)]
    NotFound(PlainText<String>),
    /// The body is larger than 100,000 bytes; nothing was recorded.
    #[oai(status = 413)]
    TooLarge(PlainText<String>),
    /// The monitor is stopping, or could not commit it: try again.
    #[oai(status = 503)]
    Unavailable(PlainText<String>),
}

/// The answer to Gatus's external-endpoint route, as Gatus gives it.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "bad_success")]
pub enum ExternalResponse {
    /// Taken and committed; empty.
    #[oai(status = 200)]
    Ok(PlainText<String>),
    /// `success` is missing or not `true`/`false`, or `duration` is not a duration.
    #[oai(status = 400)]
    BadRequest(PlainText<String>),
    /// No bearer token, or not this endpoint's.
    #[oai(status = 401)]
    Unauthorized(PlainText<String>),
    /// No push target has this key.
    #[oai(status = 404)]
    NotFound(PlainText<String>),
    /// The body is larger than 100,000 bytes; nothing was recorded.
    #[oai(status = 413)]
    TooLarge(PlainText<String>),
    /// The monitor is stopping, or could not commit it: try again.
    #[oai(status = 503)]
    Unavailable(PlainText<String>),
}

/// A path that failed the signal's pattern gets Healthchecks' plain answer, not our JSON error.
fn bad_signal(_: poem::Error) -> PingResponse {
    PingResponse::BadRequest(PlainText("invalid url format".to_owned()))
}

/// Gatus's own answers when a parameter fails to parse: `success` missing or not `true`/`false`
/// is a 400; an `Authorization` header that is not text cannot hold a bearer token, a 401.
fn bad_success(err: poem::Error) -> ExternalResponse {
    if err.to_string().contains("`Authorization`") {
        return ExternalResponse::Unauthorized(PlainText(
            "invalid Authorization header".to_owned(),
        ));
    }
    ExternalResponse::BadRequest(PlainText(
        "missing or invalid success query parameter".to_owned(),
    ))
}

/// The check-in routes.
#[derive(Clone)]
pub struct CheckInApi {
    /// The push targets.
    pub pushes: Arc<Pushes>,
}

#[OpenApi(tag = "ApiTags::Monitor")]
impl CheckInApi {
    /// Check in: success
    ///
    /// Healthchecks.io's ping URL: the job of the push target with this token succeeded.
    #[oai(path = "/ping/:token", method = "get", operation_id = "pingSuccess")]
    async fn ping(
        &self,
        /// The push target's token.
        token: Path<String>,
    ) -> PingResponse {
        self.answer(&token.0, Some(Ping::Success), &[]).await
    }

    /// Check in: success (POST)
    ///
    /// As `GET /ping/{token}`, for clients that POST. The body, of any type (at most 100,000
    /// bytes), is kept as the result's `message`.
    #[oai(
        path = "/ping/:token",
        method = "post",
        operation_id = "pingSuccessPost"
    )]
    async fn ping_post(
        &self,
        /// The push target's token.
        token: Path<String>,
        body: poem::Body,
    ) -> PingResponse {
        match read_body(body).await {
            Ok(body) => self.answer(&token.0, Some(Ping::Success), &body).await,
            Err(refused) => PingResponse::refused(refused),
        }
    }

    /// Check in: start, fail or exit status
    ///
    /// `start` (a success must follow within the grace), `fail`, or the job's exit status: 0 is
    /// a success, 1 to 255 a failure.
    #[oai(
        path = "/ping/:token/:signal",
        method = "get",
        operation_id = "pingSignal"
    )]
    async fn signal(
        &self,
        /// The push target's token.
        token: Path<String>,
        /// `start`, `fail` or an exit status from 0 to 255.
        #[oai(validator(
            pattern = r"^(start|fail|0*(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))$"
        ))]
        signal: Path<String>,
    ) -> PingResponse {
        self.answer(&token.0, parse_signal(&signal.0), &[]).await
    }

    /// Check in: start, fail or exit status (POST)
    ///
    /// As `GET /ping/{token}/{signal}`, for clients that POST. The body, of any type (at most
    /// 100,000 bytes), is kept as the result's `message`; a failure's `error` stays the reason.
    #[oai(
        path = "/ping/:token/:signal",
        method = "post",
        operation_id = "pingSignalPost"
    )]
    async fn signal_post(
        &self,
        /// The push target's token.
        token: Path<String>,
        /// `start`, `fail` or an exit status from 0 to 255.
        #[oai(validator(
            pattern = r"^(start|fail|0*(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))$"
        ))]
        signal: Path<String>,
        body: poem::Body,
    ) -> PingResponse {
        match read_body(body).await {
            Ok(body) => self.answer(&token.0, parse_signal(&signal.0), &body).await,
            Err(refused) => PingResponse::refused(refused),
        }
    }

    /// Report a result (Gatus's external endpoint)
    ///
    /// Gatus's route for results made elsewhere, for the push target with this key
    /// (`<group>_<name>`); `Authorization: Bearer <token>`. The body (at most 100,000 bytes) is
    /// kept as the result's `message`; a JSON body's `error`, as Gatus reads it, is a failure's
    /// reason after the `error` query's.
    #[oai(
        path = "/api/v1/endpoints/:key/external",
        method = "post",
        operation_id = "createExternalEndpointResult"
    )]
    async fn external(
        &self,
        /// `<group>_<name>`, as Gatus makes keys (`_<name>` without a group).
        key: Path<String>,
        /// `true` or `false`; Gatus takes no other spelling.
        #[oai(validator(pattern = "^(true|false)$"))]
        success: Query<String>,
        /// Why it failed, when `success=false`.
        error: Query<Option<String>>,
        /// How long it took, e.g. `1.5s`.
        duration: Query<Option<String>>,
        /// `Bearer <token>`.
        #[oai(name = "Authorization")]
        authorization: Header<Option<String>>,
        body: poem::Body,
    ) -> ExternalResponse {
        let text = |t: &str| PlainText(t.to_owned());
        // The validator above has let only `true` and `false` through.
        let ok = success.0 == "true";
        let Some(token) = authorization
            .0
            .as_deref()
            .and_then(|h| h.strip_prefix("Bearer "))
        else {
            return ExternalResponse::Unauthorized(text("invalid Authorization header"));
        };
        let token = token.trim();
        if token.is_empty() {
            return ExternalResponse::Unauthorized(text("bearer token must not be empty"));
        }
        let Some(target) = self.pushes.by_key(&key.0) else {
            return ExternalResponse::NotFound(text("not found"));
        };
        if !bool::from(target.digest.ct_eq(&digest(token))) {
            return ExternalResponse::Unauthorized(text("invalid token"));
        }
        let duration = match duration.0.as_deref().filter(|d| !d.is_empty()) {
            Some(d) => match humantime::parse_duration(d) {
                Ok(d) => Some(d),
                Err(err) => {
                    return ExternalResponse::BadRequest(PlainText(format!(
                        "invalid duration: {err}"
                    )));
                }
            },
            None => None,
        };
        let body = match read_body(body).await {
            Ok(body) => body,
            Err((413, t)) => return ExternalResponse::TooLarge(text(t)),
            Err((_, t)) => return ExternalResponse::BadRequest(text(t)),
        };
        let ping = if ok { Ping::Success } else { Ping::Fail };
        // Gatus adds the query's reason, then the body's.
        let reasons: Vec<String> = (error.0.filter(|e| !e.is_empty()).into_iter())
            .chain(body_error(&body))
            .collect();
        let error = (!reasons.is_empty()).then(|| {
            // Published like any reason: one line, and never the token.
            reasons
                .join("; ")
                .replace(['\n', '\r'], " ")
                .replace(token, "redacted")
        });
        let message = target.message(&body);
        match (self.pushes)
            .check_in(target, ping, error, duration, message)
            .await
        {
            Ok(()) => ExternalResponse::Ok(text("")),
            Err(CheckInError::NotCommitted) => {
                ExternalResponse::Unavailable(text("not committed; try again"))
            }
        }
    }
}

/// `start`, `fail`, or an exit status from 0 to 255; `None` for anything else.
fn parse_signal(signal: &str) -> Option<Ping> {
    match signal {
        "start" => Some(Ping::Start),
        "fail" => Some(Ping::Fail),
        status if status.bytes().all(|b| b.is_ascii_digit()) => {
            status.parse::<u8>().ok().map(Ping::Exit)
        }
        _ => None,
    }
}

impl PingResponse {
    /// The answer to a body [`read_body`] refused.
    fn refused((status, text): (u16, &str)) -> Self {
        let text = PlainText(text.to_owned());
        if status == 413 {
            Self::TooLarge(text)
        } else {
            Self::BadRequest(text)
        }
    }
}

impl CheckInApi {
    async fn answer(&self, token: &str, ping: Option<Ping>, body: &[u8]) -> PingResponse {
        let text = |t: &str| PlainText(t.to_owned());
        let Some(ping) = ping else {
            return PingResponse::BadRequest(text("invalid url format"));
        };
        match self.pushes.ping_by_token(token, ping, body).await {
            None => PingResponse::NotFound(text("not found")),
            Some(Ok(())) => PingResponse::Ok(text("OK")),
            Some(Err(CheckInError::NotCommitted)) => {
                PingResponse::Unavailable(text("not committed; try again"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::gatus_key;

    #[test]
    fn keys_are_made_as_gatus_makes_them() {
        assert_eq!(gatus_key("", "backup"), "_backup");
        assert_eq!(
            gatus_key("Core Jobs/Nightly", "db-dump"),
            "core-jobs-nightly_db-dump"
        );
        assert_eq!(gatus_key(" A.B,C#D+E&F_G ", "x"), "a-b-c-d-e-f-g_x");
    }
}
