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
    use std::collections::HashMap;
    use std::sync::mpsc;

    use super::*;
    use crate::monitor::config::{self, DEFAULT_GRACE};

    const BACKUP: &str = "0123456789abcdef0123456789abcdef";
    const SYNC: &str = "fedcba9876543210fedcba9876543210";

    /// An HTTP target, then two push targets: `backup` (group `jobs`, index 1) and `sync`
    /// (index 2), their tokens from the environment, so they are secrets.
    const CONFIG: &str = "[[target]]\nname = \"web\"\nurl = \"http://127.0.0.1:1/\"\n\
        [[target]]\nname = \"backup\"\nkind = \"push\"\ngroup = \"jobs\"\nperiod = \"1h\"\n\
        token = \"${BACKUP_TOKEN}\"\n\
        [[target]]\nname = \"sync\"\nkind = \"push\"\nperiod = \"1h\"\ntoken = \"${SYNC_TOKEN}\"\n";

    /// A report as the ledger got it, without its commit signal.
    type Got = (usize, Option<Round>, Option<PushRecord>, Option<String>);

    /// The routes over [`CONFIG`]'s push targets, and what a ledger that commits every report
    /// at once received. `ledger: false` is a monitor whose ledger is gone (stopping).
    fn api(ledger: bool) -> (CheckInApi, mpsc::Receiver<Got>) {
        let config = config::parse(CONFIG, |name| match name {
            "BACKUP_TOKEN" => Some(BACKUP.to_owned()),
            "SYNC_TOKEN" => Some(SYNC.to_owned()),
            _ => None,
        })
        .unwrap();
        let (results, reports) = mpsc::channel::<Report>();
        let (got, received) = mpsc::channel();
        if ledger {
            std::thread::spawn(move || {
                for mut report in reports {
                    if let Some(committed) = report.committed.take() {
                        let _ = committed.send(());
                    }
                    let _ = got.send((report.index, report.round, report.push, report.message));
                }
            });
        }
        let pushes = Pushes::new(&config, &HashMap::new(), results, SystemTime::now());
        let pushes = Arc::new(pushes);
        (CheckInApi { pushes }, received)
    }

    /// The next report, waited for with a bound.
    fn next(received: &mpsc::Receiver<Got>) -> Got {
        received
            .recv_timeout(Duration::from_secs(10))
            .expect("a report within 10 s")
    }

    /// The only vote of a report's round.
    fn outcome(round: Option<Round>) -> Outcome {
        let mut ballots = round.expect("a result").ballots;
        assert_eq!(ballots.len(), 1);
        ballots.remove(0).outcome.expect("a vote")
    }

    fn ping(answer: PingResponse) -> (u16, String) {
        match answer {
            PingResponse::Ok(t) => (200, t.0),
            PingResponse::BadRequest(t) => (400, t.0),
            PingResponse::NotFound(t) => (404, t.0),
            PingResponse::TooLarge(t) => (413, t.0),
            PingResponse::Unavailable(t) => (503, t.0),
        }
    }

    fn external(answer: ExternalResponse) -> (u16, String) {
        match answer {
            ExternalResponse::Ok(t) => (200, t.0),
            ExternalResponse::BadRequest(t) => (400, t.0),
            ExternalResponse::Unauthorized(t) => (401, t.0),
            ExternalResponse::NotFound(t) => (404, t.0),
            ExternalResponse::TooLarge(t) => (413, t.0),
            ExternalResponse::Unavailable(t) => (503, t.0),
        }
    }

    /// Gatus's route for `key` with `success`, `error`, `duration`, `authorization`, `body`.
    async fn gatus(
        api: &CheckInApi,
        key: &str,
        success: &str,
        error: Option<&str>,
        duration: Option<&str>,
        authorization: Option<&str>,
        body: &str,
    ) -> (u16, String) {
        let answer = api
            .external(
                Path(key.to_owned()),
                Query(success.to_owned()),
                Query(error.map(str::to_owned)),
                Query(duration.map(str::to_owned)),
                Header(authorization.map(str::to_owned)),
                poem::Body::from(body.to_owned()),
            )
            .await;
        external(answer)
    }

    #[tokio::test]
    async fn a_ping_reaches_the_target_of_its_token_only_once_committed() {
        let (api, received) = api(true);
        let answer = api.ping(Path(SYNC.to_owned())).await;
        assert_eq!(ping(answer), (200, "OK".to_owned()));
        let (index, round, push, message) = next(&received);
        assert_eq!((index, message), (2, None));
        let success = outcome(round);
        assert!(success.ok);
        assert_eq!(success.error, None);
        let at = super::super::store::millis(success.at);
        assert_eq!(
            push,
            Some(PushRecord {
                checked_in_ms: Some(at),
                started_ms: None
            })
        );

        let answer = api
            .signal(Path(BACKUP.to_owned()), Path("7".to_owned()))
            .await;
        assert_eq!(ping(answer), (200, "OK".to_owned()));
        let (index, round, _, _) = next(&received);
        assert_eq!(index, 1);
        assert_eq!(
            outcome(round).error.as_deref(),
            Some("the job exited with status 7")
        );

        // A start makes no result, but its record is committed.
        let answer = api
            .signal(Path(BACKUP.to_owned()), Path("start".to_owned()))
            .await;
        assert_eq!(ping(answer), (200, "OK".to_owned()));
        let (index, round, push, _) = next(&received);
        assert_eq!((index, round), (1, None));
        assert!(push.unwrap().started_ms.is_some());
    }

    #[tokio::test]
    async fn an_unknown_token_or_signal_is_refused_and_reaches_no_target() {
        let (api, received) = api(true);
        let wrong = "0123456789abcdef0123456789abcdee";
        for answer in [
            api.ping(Path(wrong.to_owned())).await,
            api.ping(Path(BACKUP[..16].to_owned())).await,
            api.signal(Path(wrong.to_owned()), Path("fail".to_owned()))
                .await,
        ] {
            assert_eq!(ping(answer), (404, "not found".to_owned()));
        }
        let answer = api
            .signal(Path(BACKUP.to_owned()), Path("256".to_owned()))
            .await;
        assert_eq!(ping(answer), (400, "invalid url format".to_owned()));
        assert!(received.try_recv().is_err(), "nothing reported");
    }

    #[test]
    fn signals_are_start_fail_or_an_exit_status_up_to_255() {
        assert_eq!(parse_signal("start"), Some(Ping::Start));
        assert_eq!(parse_signal("fail"), Some(Ping::Fail));
        assert_eq!(parse_signal("0"), Some(Ping::Exit(0)));
        assert_eq!(parse_signal("0042"), Some(Ping::Exit(42)));
        assert_eq!(parse_signal("255"), Some(Ping::Exit(255)));
        for bad in ["256", "-1", "+1", "1.0", "", "stop"] {
            assert_eq!(parse_signal(bad), None, "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_posted_body_is_the_message_without_secrets_and_a_large_one_is_refused() {
        let (api, received) = api(true);
        let body = poem::Body::from(format!("dumped 3 GB\nwith token {BACKUP}"));
        let answer = api.ping_post(Path(BACKUP.to_owned()), body).await;
        assert_eq!(ping(answer), (200, "OK".to_owned()));
        let (index, _, _, message) = next(&received);
        assert_eq!(index, 1);
        assert_eq!(
            message.as_deref(),
            Some("dumped 3 GB\nwith token ${BACKUP_TOKEN}")
        );

        let body = poem::Body::from(vec![b'x'; MAX_BODY_BYTES]);
        let answer = api
            .signal_post(Path(BACKUP.to_owned()), Path("fail".to_owned()), body)
            .await;
        assert_eq!(ping(answer), (200, "OK".to_owned()));
        let (_, round, _, message) = next(&received);
        assert_eq!(message.map(|m| m.len()), Some(MAX_BODY_BYTES));
        assert_eq!(
            outcome(round).error.as_deref(),
            Some("the job reported a failure"),
            "the body is not the reason"
        );

        let body = poem::Body::from(vec![b'x'; MAX_BODY_BYTES + 1]);
        let answer = api.ping_post(Path(BACKUP.to_owned()), body).await;
        assert_eq!(ping(answer), (413, TOO_LARGE.to_owned()));
        let body = poem::Body::from(vec![b'x'; MAX_BODY_BYTES + 1]);
        let answer = api
            .signal_post(Path(BACKUP.to_owned()), Path("0".to_owned()), body)
            .await;
        assert_eq!(ping(answer), (413, TOO_LARGE.to_owned()));
        assert!(received.try_recv().is_err(), "nothing reported");
    }

    #[tokio::test]
    async fn gatus_results_need_the_key_and_its_token_and_keep_reason_and_duration() {
        let (api, received) = api(true);
        let bearer = format!("Bearer {BACKUP}");
        let auth = Some(bearer.as_str());
        assert_eq!(
            gatus(&api, "jobs_backup", "true", None, Some("1.5s"), auth, "").await,
            (200, String::new())
        );
        let (index, round, _, message) = next(&received);
        assert_eq!((index, message), (1, None));
        let ok = outcome(round);
        assert!(ok.ok);
        assert_eq!(ok.response_time, Duration::from_millis(1500));
        assert_eq!(ok.duration, Duration::from_millis(1500));

        // The query's reason, then the body's, on one line and without the token.
        let reason = format!("disk\nfull ({BACKUP})");
        let body = r#"{"error": "quota"}"#;
        let answer = gatus(
            &api,
            "jobs_backup",
            "false",
            Some(&reason),
            Some(""),
            auth,
            body,
        );
        assert_eq!(answer.await, (200, String::new()));
        let (_, round, _, message) = next(&received);
        let failed = outcome(round);
        assert!(!failed.ok);
        assert_eq!(failed.error.as_deref(), Some("disk full (redacted); quota"));
        assert_eq!(failed.response_time, Duration::ZERO);
        assert_eq!(message.as_deref(), Some(body));

        // Empty reasons are no reasons; a success keeps none.
        let answer = gatus(
            &api,
            "jobs_backup",
            "false",
            Some(""),
            None,
            auth,
            r#"{"error":""}"#,
        );
        assert_eq!(answer.await, (200, String::new()));
        let error = outcome(next(&received).1).error;
        assert_eq!(error.as_deref(), Some("the job reported a failure"));
        let answer = gatus(&api, "jobs_backup", "true", Some("ignored"), None, auth, "");
        assert_eq!(answer.await, (200, String::new()));
        assert_eq!(outcome(next(&received).1).error, None);

        let sync = format!("Bearer {SYNC}");
        for (key, authorization, answer) in [
            ("jobs_backup", Some(sync.as_str()), (401, "invalid token")),
            ("jobs_backup", None, (401, "invalid Authorization header")),
            (
                "jobs_backup",
                Some(BACKUP),
                (401, "invalid Authorization header"),
            ),
            (
                "jobs_backup",
                Some("Bearer  "),
                (401, "bearer token must not be empty"),
            ),
            ("_backup", auth, (404, "not found")),
        ] {
            let got = gatus(&api, key, "true", None, None, authorization, "").await;
            assert_eq!(
                got,
                (answer.0, answer.1.to_owned()),
                "{key} {authorization:?}"
            );
        }
        let got = gatus(&api, "_sync", "true", None, Some("soon"), Some(&sync), "").await;
        assert_eq!(got.0, 400);
        assert!(got.1.starts_with("invalid duration: "), "{}", got.1);
        let large = "x".repeat(MAX_BODY_BYTES + 1);
        let got = gatus(&api, "_sync", "true", None, None, Some(&sync), &large).await;
        assert_eq!(got, (413, TOO_LARGE.to_owned()));
        assert!(received.try_recv().is_err(), "nothing reported");

        // The other target's key and token.
        assert_eq!(
            gatus(&api, "_sync", "true", None, None, Some(&sync), "").await,
            (200, String::new())
        );
        assert_eq!(next(&received).0, 2);
    }

    #[tokio::test]
    async fn without_a_ledger_a_check_in_is_503() {
        let (api, _) = api(false);
        let answer = api.ping(Path(BACKUP.to_owned())).await;
        let unavailable = (503, "not committed; try again".to_owned());
        assert_eq!(ping(answer), unavailable);
        let auth = format!("Bearer {BACKUP}");
        let got = gatus(&api, "jobs_backup", "true", None, None, Some(&auth), "").await;
        assert_eq!(got, unavailable);
    }

    // Two threads: the watchers run while this one waits on the ledger's queue.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn silence_past_the_deadline_fails_and_a_stop_ends_check_ins() {
        let (api, received) = api(true);
        let pushes = &api.pushes;
        assert_eq!(
            format!("{pushes:?}"),
            r#"Pushes { targets: ["backup", "sync"] }"#
        );
        // `sync` last checked in two hours ago, and the monitor restarted then: overdue.
        let long_ago = SystemTime::now() - Duration::from_secs(7200);
        *lock(&pushes.targets[1].watch) =
            Watch::resume(Duration::from_secs(3600), DEFAULT_GRACE, None, long_ago);
        let (stop, tasks) = (CancellationToken::new(), TaskTracker::new());
        let metrics = Arc::new(MonitorMetrics::unexposed().unwrap());
        pushes.start(metrics, &stop, &tasks);
        let (index, round, push, _) = next(&received);
        assert_eq!(index, 2);
        assert_eq!(
            outcome(round).error.as_deref(),
            Some("no check-in for 1h 1m")
        );
        assert_eq!(push, Some(PushRecord::default()), "silence is no check-in");

        stop.cancel();
        tasks.close();
        tokio::time::timeout(Duration::from_secs(10), tasks.wait())
            .await
            .expect("the watchers end on stop");
        let answer = api.ping(Path(BACKUP.to_owned())).await;
        assert_eq!(ping(answer), (503, "not committed; try again".to_owned()));
        assert!(
            received.try_recv().is_err(),
            "nothing reported after the stop"
        );
    }

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
