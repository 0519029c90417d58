//! The monitor's durable history: an embedded redb database under `MONITOR_DATA_DIR`.
//!
//! redb is pure Rust (the static musl build has no C compiler), ACID and crash-safe: a commit
//! either happened entirely or not at all, and each one is on disk when it returns. The ledger
//! commits probe results once a second, and an incident together with its notifications at once,
//! so a SIGKILL loses at most the last second of results and never half an incident.
//!
//! Besides raw results, each commit adds to hourly and daily aggregates per target (checks,
//! failures, summed response time), so uptime over 24 hours to 90 days and the status page never
//! scan raw rows.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};

pub use super::conditions::Verdict;
pub use super::probe::push::PushRecord;

/// The layout this build reads and writes. An older store is migrated at start-up; a newer one
/// (from a later build) is refused, not read.
///
/// - 1: results and states without locations.
/// - 2: each result holds every location's vote; each state, every location's last one.
pub const FORMAT_VERSION: u64 = 2;
/// The database file inside the data directory.
pub const FILE_NAME: &str = "monitor.redb";
/// Page cache: enough for the hot aggregates; the file itself can be much larger.
const CACHE_BYTES: usize = 8 * 1024 * 1024;

/// The span of an hourly aggregate, ms.
pub const HOUR_MS: u64 = 3_600_000;
/// The span of a daily aggregate (a UTC day), ms.
pub const DAY_MS: u64 = 24 * HOUR_MS;
/// Hours of hourly aggregates kept before the current one: 30 days, what Gatus's response-time
/// history reads (its memory store keeps hourly statistics as long).
pub const HOURS_KEPT: u64 = 30 * 24;

/// `format_version`, `next_incident`, `next_notification`, `next_monitor_id`, and
/// `events_derived` (set once a store has its [`EVENTS`]).
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// (target, ms since the epoch) → [`ResultRecord`].
const RESULTS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("results");
/// (target, hours since the epoch) → (checks, failures, summed response time in ms).
const HOURLY: TableDefinition<(&str, u64), (u64, u64, u64)> = TableDefinition::new("hourly");
/// (target, days since the epoch) → (checks, failures, summed response time in ms).
const DAILY: TableDefinition<(&str, u64), (u64, u64, u64)> = TableDefinition::new("daily");
/// target → [`TargetState`].
const STATES: TableDefinition<&str, &[u8]> = TableDefinition::new("states");
/// incident id → [`Incident`].
const INCIDENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("incidents");
/// notification id → [`Notification`].
const NOTIFICATIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("notifications");
/// notification id → when it is next due, for the notifications not yet delivered.
const PENDING: TableDefinition<u64, u64> = TableDefinition::new("pending");
/// target → [`CertificateWarning`], while its certificate is within the warning. A table of its
/// own (created by [`Store::open`] in a store that lacks it), so no existing record changes.
const CERTIFICATES: TableDefinition<&str, &[u8]> = TableDefinition::new("certificates");
/// target → [`PushRecord`]: a push target's last check-in and pending start, what a restart
/// resumes from. A table of its own, like [`CERTIFICATES`].
const PUSH: TableDefinition<&str, &[u8]> = TableDefinition::new("push");
/// (target, ms since the epoch) → the body a check-in came with, keyed as its result in
/// [`RESULTS`] and pruned with it. A table of its own, like [`CERTIFICATES`], so results written
/// before it keep their encoding.
const MESSAGES: TableDefinition<(&str, u64), &str> = TableDefinition::new("messages");
/// (target, ms since the epoch) → the target's conditions as written, in order (a postcard
/// `Vec<String>`), for its results from that time until the next entry: written with the first
/// result after the list changed (an empty list once a target's conditions are gone). Every
/// condition of such a result held unless [`VERDICTS`] says otherwise, so a passing result
/// costs nothing, and results from before the first entry have no verdicts. A table of its own,
/// like [`CERTIFICATES`].
const CONDITION_SETS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("condition_sets");
/// (target, ms since the epoch) → [`VerdictRecord`]: the failed conditions of the result of
/// that key in [`RESULTS`], for a result with any, written in its transaction and pruned with
/// it. A table of its own, like [`MESSAGES`], so results written before it keep their encoding.
const VERDICTS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("verdicts");
/// target name → its Uptime Kuma monitor id, given on first sight and never changed or reused,
/// so a dashboard keyed by id keeps pointing at the same target when others are added, removed
/// or reordered. A table of its own, like [`CERTIFICATES`].
const MONITOR_IDS: TableDefinition<&str, u64> = TableDefinition::new("monitor_ids");
/// (target, [`event_key`]: ms since the epoch and the [`HealthEvent`] code) → nothing: each
/// target's latest [`MAX_EVENTS`] events as Gatus keeps them, written in the transaction of the
/// result that gives each. The code is in the key because `START` and the first result's event
/// share a time (and sort in that order); packed into the time's `u64`, so the table has the
/// key and value types of [`RESULTS`] and redb's generic B-tree code is not compiled once more
/// for it (with a key type of its own the static binary went over its 12 MB budget). A table
/// of its own, like [`CERTIFICATES`]; a store written before it gets its events derived once
/// at start-up ([`derive_events`]).
const EVENTS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("events");
/// Events kept per target: Gatus's default `maximum-number-of-events`.
pub const MAX_EVENTS: usize = 50;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file was written by a newer build, with a layout this one does not know.
    #[error(
        "the store {path} has format version {found}, but this build reads versions up to \
         {FORMAT_VERSION}; run the newer build that wrote it, or point MONITOR_DATA_DIR at an \
         empty directory"
    )]
    Version {
        /// The database file.
        path: PathBuf,
        /// The version it holds.
        found: u64,
    },
    /// The directory or file could not be opened (permissions, another process has it, ...).
    #[error("cannot open the store {path}: {reason}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A read or write failed.
    #[error("store: {0}")]
    Io(String),
    /// A record did not decode (a damaged file).
    #[error("store: a {0} record does not decode")]
    Corrupt(&'static str),
}

macro_rules! io_error {
    ($($ty:ty),*) => {$(
        impl From<$ty> for StoreError {
            fn from(err: $ty) -> Self {
                Self::Io(err.to_string())
            }
        }
    )*};
}
io_error!(
    redb::Error,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// Up, down, or not yet known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    /// No result decided it yet.
    #[default]
    Unknown,
    /// Serving.
    Up,
    /// Failing, with an open incident.
    Down,
}

/// One probing round's result as kept: the verdict, and each location's vote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultRecord {
    /// When the round started, ms since the epoch.
    pub at_ms: u64,
    /// The round's verdict: whether it passed the quorum rule (with one location, whether
    /// every condition held).
    pub ok: bool,
    /// The monitor's own response status, if one arrived.
    pub status_code: Option<u16>,
    /// The monitor's own time to the response head, ms.
    pub response_time_ms: u64,
    /// Why the round failed, in one line: each failing location and its reason.
    pub error: Option<String>,
    /// Each location's vote, the monitor's own first.
    pub votes: Vec<Vote>,
}

/// One location's part in a round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// The location's name.
    pub location: String,
    /// Whether every condition held there; `None` when the location cast no vote (its agent
    /// did not answer), which says nothing about the target.
    pub ok: Option<bool>,
    /// The response's status, if one arrived.
    pub status_code: Option<u16>,
    /// Time to the response head, ms.
    pub response_time_ms: u64,
    /// Why it failed or why no vote came, in one line.
    pub error: Option<String>,
}

/// A location's latest vote on a target and its run of failures, kept for warnings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationState {
    /// When the round of that vote started, ms since the epoch.
    pub at_ms: u64,
    /// The vote.
    pub vote: Vote,
    /// Rounds in a row in which this location failed (unanswered rounds leave it as it is).
    pub failures: u32,
    /// Whether this location has failed for `failure_threshold` rounds while too few others
    /// agreed to take the target down: a location warning.
    pub warning: bool,
}

/// A target's state between probes, kept so a restart resumes where it stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetState {
    /// Up, down or unknown.
    pub state: State,
    /// When the state last changed, ms since the epoch.
    pub since_ms: Option<u64>,
    /// Successes in a row, up to the latest result.
    pub successes: u32,
    /// Failures in a row, up to the latest result.
    pub failures: u32,
    /// When the current run of successes or failures began, ms since the epoch.
    pub streak_start_ms: Option<u64>,
    /// The incident open while down.
    pub open_incident: Option<u64>,
    /// The latest result.
    pub last: Option<ResultRecord>,
    /// The latest certificate expiry seen, seconds since the epoch.
    pub certificate_expiry_s: Option<u64>,
    /// Every location's latest vote, in the order of the latest round.
    pub locations: Vec<LocationState>,
}

/// A period during which a target was down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// Increasing from 1.
    pub id: u64,
    /// The target's name.
    pub target: String,
    /// The first failing probe of the run that took the target down, ms since the epoch.
    pub started_ms: u64,
    /// The first succeeding probe of the run that brought it back; `None` while open.
    pub resolved_ms: Option<u64>,
    /// The failing probe's reason.
    pub cause: String,
    /// Reminders sent so far, per alert (index in the config).
    pub reminders: Vec<(u32, u32)>,
}

impl Incident {
    /// Whole seconds from start to resolution, or to `now` while open.
    #[must_use]
    pub fn duration_seconds(&self, now_ms: u64) -> u64 {
        self.resolved_ms
            .unwrap_or(now_ms)
            .saturating_sub(self.started_ms)
            / 1000
    }

    /// Reminders sent so far for `alert`.
    #[must_use]
    pub fn reminders_sent(&self, alert: u32) -> u32 {
        self.reminders
            .iter()
            .find(|(a, _)| *a == alert)
            .map_or(0, |(_, n)| *n)
    }
}

/// What a notification says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// An incident opened.
    Down,
    /// It closed.
    Resolved,
    /// It is still open.
    Reminder,
    /// A location has failed `failure_threshold` rounds while too few others agree: not an
    /// incident (its id is 0), only for alerts with `location_warnings = true`.
    Warning,
    /// The target's certificate expires within its `certificate_warning`. Last, so records
    /// written before it existed decode unchanged.
    Certificate {
        /// The certificate's `notAfter`, ms since the epoch.
        expires_ms: u64,
        /// Its subject, e.g. `CN=api.example.org`.
        subject: String,
    },
}

/// The certificate a target was warned about, kept so a restart warns about it no second time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateWarning {
    /// The certificate's `notAfter`, ms since the epoch.
    pub expires_ms: u64,
    /// Its subject: with the expiry, what tells a renewed certificate from the same one.
    pub subject: String,
    /// When the warning was queued, ms since the epoch; reminders count from here.
    pub warned_ms: u64,
    /// Reminders sent so far, per alert (index in the config).
    pub reminders: Vec<(u32, u32)>,
}

impl Event {
    /// As written in the webhook body.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Down => "down",
            Self::Resolved => "resolved",
            Self::Reminder => "reminder",
            Self::Warning => "warning",
            Self::Certificate { .. } => "certificate",
        }
    }
}

/// One message to one alert, kept until delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Increasing from 1; delivery keeps this order per alert.
    pub id: u64,
    /// The alert's index in the config.
    pub alert: u32,
    /// The alert's kind when it was made, so a reordered config does not misroute it.
    pub kind: String,
    /// What happened.
    pub event: Event,
    /// The incident, as it was when this was made; for [`Event::Certificate`], only its
    /// `target` means anything (id 0: an expiring certificate is no incident).
    pub incident: Incident,
    /// The target's URL as alerts carry it: no user info, query values `redacted`.
    pub url: String,
    /// When it was made, ms since the epoch.
    pub created_ms: u64,
    /// Attempts so far.
    pub attempts: u32,
    /// When it is next due, ms since the epoch.
    pub next_attempt_ms: u64,
    /// When a 2xx came back.
    pub delivered_ms: Option<u64>,
    /// The last failure, in one line.
    pub last_error: Option<String>,
}

/// What one ledger step writes, all in one transaction.
#[derive(Debug, Default)]
pub struct Batch {
    /// New results, per target.
    pub results: Vec<(String, ResultRecord)>,
    /// States that changed since the last commit.
    pub states: HashMap<String, TargetState>,
    /// Incidents opened, changed or closed.
    pub incidents: Vec<Incident>,
    /// New notifications; their ids are given at commit.
    pub notifications: Vec<Notification>,
    /// Push targets' check-ins, committed before their answer.
    pub push: Vec<(String, PushRecord)>,
    /// Certificate warnings given (`Some`) or over (`None`: the certificate was renewed).
    pub certificates: Vec<(String, Option<CertificateWarning>)>,
    /// Results (target, `at_ms`) kept but left out of the aggregates: those of a maintenance
    /// window, which uptime does not count.
    pub uncounted: Vec<(String, u64)>,
    /// Check-in bodies (target, `at_ms`, body), each kept with the result of that key.
    pub messages: Vec<(String, u64, String)>,
    /// Each condition's verdict (target, `at_ms`, verdicts), kept with the result of that key.
    pub verdicts: Vec<(String, u64, Vec<Verdict>)>,
}

/// How [`VERDICTS`] keeps a result's failed conditions: each one's index in the list of
/// [`CONDITION_SETS`] in force, and its reason (which holds the values seen, so differs between
/// results).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct VerdictRecord {
    /// The failed conditions: each one's index in the list, and its reason.
    failed: Vec<(u32, String)>,
}

/// A change in a target's health as Gatus records it: `START` with its first result, then
/// the health of that result and of every result whose verdict differs from the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthEvent {
    /// The target's first result was stored.
    Start,
    /// A result passed: the first, or one after a failure.
    Healthy,
    /// A result failed: the first, or one after a pass.
    Unhealthy,
}

impl HealthEvent {
    /// The event a result with verdict `ok` gives.
    fn of(ok: bool) -> Self {
        if ok { Self::Healthy } else { Self::Unhealthy }
    }

    /// As kept in [`EVENTS`]'s key: `START` first among events of the same time.
    fn code(self) -> u8 {
        match self {
            Self::Start => 0,
            Self::Healthy => 1,
            Self::Unhealthy => 2,
        }
    }

    fn from_code(code: u64) -> Result<Self, StoreError> {
        match code {
            0 => Ok(Self::Start),
            1 => Ok(Self::Healthy),
            2 => Ok(Self::Unhealthy),
            _ => Err(StoreError::Corrupt("event")),
        }
    }
}

/// [`EVENTS`]' value: the key says it all.
const NOTHING: &[u8] = &[];

/// [`EVENTS`]' key after the target: the time in ms, then the event's code in the two low bits,
/// so events sort by time and `START` first within one (times are 2^41 ms now, far below
/// the 2^62 this leaves).
fn event_key(at_ms: u64, event: HealthEvent) -> u64 {
    at_ms << 2 | u64::from(event.code())
}

impl Batch {
    /// Whether there is nothing to write.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
            && self.states.is_empty()
            && self.incidents.is_empty()
            && self.notifications.is_empty()
            && self.certificates.is_empty()
            && self.push.is_empty()
            && self.messages.is_empty()
            && self.verdicts.is_empty()
    }
}

/// Hours of hourly aggregates in a [`History`].
pub const HISTORY_HOURS: u64 = 24;
/// Days of daily aggregates in a [`History`].
pub const HISTORY_DAYS: u64 = 90;

/// A target's recent aggregates: what uptime windows, bars and sparklines are made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    /// The last [`HISTORY_HOURS`] hours (hours since the epoch, aggregate), oldest first, the
    /// current hour last; hours without probes are zero.
    pub hours: Vec<(u64, Aggregate)>,
    /// The last [`HISTORY_DAYS`] days (days since the epoch, aggregate), oldest first, today
    /// last; days without probes are zero.
    pub days: Vec<(u64, Aggregate)>,
}

impl History {
    /// Totals over the last 24 hours (hourly buckets, the current one included) and the last
    /// 7, 30 and 90 days (daily buckets, today included).
    #[must_use]
    pub fn windows(&self) -> [Aggregate; 4] {
        let sum = |buckets: &[(u64, Aggregate)]| {
            buckets
                .iter()
                .fold(Aggregate::default(), |mut total, (_, a)| {
                    total.add((a.checks, a.failures, a.response_time_ms));
                    total
                })
        };
        let days = &self.days;
        let last = |n: usize| &days[days.len().saturating_sub(n)..];
        [sum(&self.hours), sum(last(7)), sum(last(30)), sum(days)]
    }
}

/// Checks, failures and response time over some period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Aggregate {
    /// Probes made.
    pub checks: u64,
    /// Probes that failed.
    pub failures: u64,
    /// Sum of their response times, ms.
    pub response_time_ms: u64,
}

impl Aggregate {
    /// Fraction of successful probes, `None` without any.
    #[must_use]
    pub fn uptime(&self) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)] // counts far below 2^52
        (self.checks > 0).then(|| (self.checks - self.failures) as f64 / self.checks as f64)
    }

    /// Mean response time in ms, `None` without any probe.
    #[must_use]
    pub fn mean_response_time_ms(&self) -> Option<u64> {
        (self.checks > 0).then(|| self.response_time_ms / self.checks)
    }

    fn add(&mut self, (checks, failures, response_time_ms): (u64, u64, u64)) {
        self.checks += checks;
        self.failures += failures;
        self.response_time_ms += response_time_ms;
    }
}

/// The `count` buckets of `target` up to and including `last`, oldest first, zero where none.
fn buckets(
    table: &impl ReadableTable<(&'static str, u64), (u64, u64, u64)>,
    target: &str,
    last: u64,
    count: u64,
) -> Result<Vec<(u64, Aggregate)>, StoreError> {
    let first = (last + 1).saturating_sub(count);
    let mut found = HashMap::new();
    for entry in table.range((target, first)..=(target, last))? {
        let (key, value) = entry?;
        found.insert(key.value().1, value.value());
    }
    Ok((first..=last)
        .map(|bucket| {
            let mut aggregate = Aggregate::default();
            if let Some(value) = found.get(&bucket) {
                aggregate.add(*value);
            }
            (bucket, aggregate)
        })
        .collect())
}

/// The open database.
pub struct Store {
    /// `None` between closing the database after an I/O error and opening it again: redb fails
    /// every operation after one, until it is closed and re-opened ([`Store::reopen`]).
    db: RwLock<Option<Database>>,
    path: PathBuf,
}

/// The database, held open for one operation; [`Store::reopen`] waits for it.
struct Open<'a>(RwLockReadGuard<'a, Option<Database>>);

impl std::ops::Deref for Open<'_> {
    type Target = Database;

    fn deref(&self) -> &Database {
        match self.0.as_ref() {
            Some(db) => db,
            // `Store::db` hands out only guards over an open database.
            None => unreachable!("Store::db checked that the database is open"),
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (or creates) the store in `dir`, creating the directory if needed.
    ///
    /// # Errors
    /// [`StoreError::Open`] when the directory or file cannot be opened (another process holds
    /// it, say), [`StoreError::Version`] when it holds another format version.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_at(dir, super::config::DEFAULT_LOCATION)
    }

    /// [`Store::open`] for a monitor at `location`: a store of format 1 is migrated, its
    /// results becoming votes of `location`, where they were made.
    ///
    /// # Errors
    /// As [`Store::open`].
    pub fn open_at(dir: &Path, location: &str) -> Result<Self, StoreError> {
        let path = dir.join(FILE_NAME);
        let open_error = |reason: String| StoreError::Open {
            path: path.clone(),
            reason,
        };
        std::fs::create_dir_all(dir).map_err(|err| open_error(err.to_string()))?;
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(&path)
            .map_err(|err| open_error(err.to_string()))?;
        let txn = db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            let found = meta.get("format_version")?.map(|v| v.value());
            match found {
                None => {
                    meta.insert("format_version", FORMAT_VERSION)?;
                }
                Some(FORMAT_VERSION) => {}
                // In the same transaction as the check: the store is migrated whole or not at all.
                Some(1) => {
                    drop(meta);
                    let migrated = migrate_from_1(&txn, location)?;
                    txn.open_table(META)?
                        .insert("format_version", FORMAT_VERSION)?;
                    tracing::info!(results = migrated, "store migrated from format version 1");
                }
                Some(found) => return Err(StoreError::Version { path, found }),
            }
            // Every table exists from here on, so readers never meet a missing one.
            txn.open_table(RESULTS)?;
            txn.open_table(HOURLY)?;
            txn.open_table(DAILY)?;
            txn.open_table(STATES)?;
            txn.open_table(INCIDENTS)?;
            txn.open_table(NOTIFICATIONS)?;
            txn.open_table(PENDING)?;
            txn.open_table(CERTIFICATES)?;
            txn.open_table(PUSH)?;
            txn.open_table(MESSAGES)?;
            txn.open_table(MONITOR_IDS)?;
            txn.open_table(CONDITION_SETS)?;
            txn.open_table(VERDICTS)?;
            txn.open_table(EVENTS)?;
        }
        // In the same transaction: a store gets its events derived whole, and once.
        let derived = txn.open_table(META)?.get("events_derived")?.is_some();
        if !derived {
            let events = derive_events(&txn)?;
            txn.open_table(META)?.insert("events_derived", 1)?;
            if events > 0 {
                tracing::info!(events, "events derived from the kept results");
            }
        }
        txn.commit()?;
        Ok(Self {
            db: RwLock::new(Some(db)),
            path,
        })
    }

    /// The database, or why it is closed.
    fn db(&self) -> Result<Open<'_>, StoreError> {
        let guard = self.db.read().unwrap_or_else(PoisonError::into_inner);
        if guard.is_none() {
            return Err(StoreError::Io(
                "the store is closed after an I/O error, and not yet re-opened".to_owned(),
            ));
        }
        Ok(Open(guard))
    }

    /// Closes the database and opens it again: after an I/O error (a full disk, say) redb fails
    /// every later operation until then. Waits for the operations in progress. When the file
    /// cannot be opened, the store stays closed (every operation fails) until the next call.
    ///
    /// # Errors
    /// [`StoreError::Open`] when the file cannot be opened again.
    pub fn reopen(&self) -> Result<(), StoreError> {
        let mut db = self.db.write().unwrap_or_else(PoisonError::into_inner);
        // Closed first: redb refuses a second open of a file this process holds.
        drop(db.take());
        let reopened = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(&self.path)
            .map_err(|err| StoreError::Open {
                path: self.path.clone(),
                reason: err.to_string(),
            })?;
        *db = Some(reopened);
        Ok(())
    }

    /// Gives the free pages at the end of the file back to the filesystem, so that the file's
    /// size is what it holds; waits for the operations in progress and blocks new ones meanwhile.
    ///
    /// # Errors
    /// When the store is closed or the compaction fails.
    pub fn compact(&self) -> Result<(), StoreError> {
        let mut db = self.db.write().unwrap_or_else(PoisonError::into_inner);
        let Some(db) = db.as_mut() else {
            return Err(StoreError::Io("the store is closed".to_owned()));
        };
        while db
            .compact()
            .map_err(|err| StoreError::Io(err.to_string()))?
        {}
        Ok(())
    }

    /// Two empty commits: redb reuses the pages a commit freed only once later commits have
    /// passed, so after a prune this makes its pages free for the next real commit, instead of
    /// that commit growing the file.
    ///
    /// # Errors
    /// When a commit fails.
    pub fn settle(&self) -> Result<(), StoreError> {
        let db = self.db()?;
        for _ in 0..2 {
            db.begin_write()?.commit()?;
        }
        Ok(())
    }

    /// The database file's size in bytes (0 when it cannot be read).
    #[must_use]
    pub fn file_bytes(&self) -> u64 {
        std::fs::metadata(&self.path).map_or(0, |m| m.len())
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `batch` in one durable transaction; returns the new notifications' ids.
    ///
    /// # Errors
    /// When the write fails; nothing of the batch is then stored.
    pub fn commit(&self, batch: &Batch) -> Result<Vec<u64>, StoreError> {
        let db = self.db()?;
        let txn = db.begin_write()?;
        let mut ids = Vec::with_capacity(batch.notifications.len());
        {
            let mut results = txn.open_table(RESULTS)?;
            let mut hourly = txn.open_table(HOURLY)?;
            let mut daily = txn.open_table(DAILY)?;
            for (target, result) in &batch.results {
                results.insert((target.as_str(), result.at_ms), encode(result).as_slice())?;
                if batch
                    .uncounted
                    .iter()
                    .any(|(t, at)| t == target && *at == result.at_ms)
                {
                    continue;
                }
                let delta = (1, u64::from(!result.ok), result.response_time_ms);
                for (table, bucket) in [
                    (&mut hourly, result.at_ms / HOUR_MS),
                    (&mut daily, result.at_ms / DAY_MS),
                ] {
                    let key = (target.as_str(), bucket);
                    let old = table.get(key)?.map_or((0, 0, 0), |v| v.value());
                    table.insert(key, (old.0 + delta.0, old.1 + delta.1, old.2 + delta.2))?;
                }
            }
            let mut states = txn.open_table(STATES)?;
            for (target, state) in &batch.states {
                states.insert(target.as_str(), encode(state).as_slice())?;
            }
            let mut meta = txn.open_table(META)?;
            let mut incidents = txn.open_table(INCIDENTS)?;
            let mut next_incident = meta.get("next_incident")?.map_or(1, |v| v.value());
            for incident in &batch.incidents {
                incidents.insert(incident.id, encode(incident).as_slice())?;
                next_incident = next_incident.max(incident.id + 1);
            }
            meta.insert("next_incident", next_incident)?;
            let mut next = meta.get("next_notification")?.map_or(1, |v| v.value());
            let mut notifications = txn.open_table(NOTIFICATIONS)?;
            let mut pending = txn.open_table(PENDING)?;
            for notification in &batch.notifications {
                let notification = Notification {
                    id: next,
                    ..notification.clone()
                };
                notifications.insert(next, encode(&notification).as_slice())?;
                pending.insert(next, notification.next_attempt_ms)?;
                ids.push(next);
                next += 1;
            }
            meta.insert("next_notification", next)?;
            let mut messages = txn.open_table(MESSAGES)?;
            for (target, at_ms, message) in &batch.messages {
                messages.insert((target.as_str(), *at_ms), message.as_str())?;
            }
            write_verdicts(&txn, &batch.verdicts)?;
            write_events(&txn, &batch.results)?;
            let mut push = txn.open_table(PUSH)?;
            for (target, record) in &batch.push {
                push.insert(target.as_str(), encode(record).as_slice())?;
            }
            let mut certificates = txn.open_table(CERTIFICATES)?;
            for (target, warning) in &batch.certificates {
                match warning {
                    Some(warning) => {
                        certificates.insert(target.as_str(), encode(warning).as_slice())?;
                    }
                    None => {
                        certificates.remove(target.as_str())?;
                    }
                }
            }
        }
        txn.commit()?;
        Ok(ids)
    }

    /// The id the next incident gets: one more than any committed.
    ///
    /// # Errors
    /// When the read fails.
    pub fn next_incident_id(&self) -> Result<u64, StoreError> {
        let db = self.db()?;
        let txn = db.begin_read()?;
        let meta = txn.open_table(META)?;
        Ok(meta.get("next_incident")?.map_or(1, |v| v.value()))
    }

    /// The Uptime Kuma monitor id of each of `targets`, in that order: the one it was given, or,
    /// for a name not seen before, the next free one (from 1), given and committed now in
    /// `targets`' order. Ids are never reused, so one a removed target had stays unused.
    ///
    /// # Errors
    /// When the read or the commit fails.
    pub fn monitor_ids(&self, targets: &[&str]) -> Result<Vec<u64>, StoreError> {
        let db = self.db()?;
        {
            let txn = db.begin_read()?;
            let table = txn.open_table(MONITOR_IDS)?;
            let found: Option<Vec<u64>> = targets
                .iter()
                .map(|name| Ok(table.get(*name)?.map(|id| id.value())))
                .collect::<Result<_, StoreError>>()?;
            if let Some(ids) = found {
                return Ok(ids);
            }
        }
        let txn = db.begin_write()?;
        let mut ids = Vec::with_capacity(targets.len());
        {
            let mut table = txn.open_table(MONITOR_IDS)?;
            let mut meta = txn.open_table(META)?;
            let mut next = meta.get("next_monitor_id")?.map_or(1, |v| v.value());
            for name in targets {
                let known = table.get(*name)?.map(|id| id.value());
                let id = if let Some(id) = known {
                    id
                } else {
                    let id = next;
                    table.insert(*name, id)?;
                    next += 1;
                    id
                };
                ids.push(id);
            }
            meta.insert("next_monitor_id", next)?;
        }
        txn.commit()?;
        Ok(ids)
    }

    /// Every target's saved state.
    ///
    /// # Errors
    /// When the read fails or a record does not decode.
    pub fn states(&self) -> Result<HashMap<String, TargetState>, StoreError> {
        self.by_name(STATES, "state")
    }

    /// Push targets' last committed check-ins, per target.
    ///
    /// # Errors
    /// When the read fails or a record does not decode.
    pub fn push_records(&self) -> Result<HashMap<String, PushRecord>, StoreError> {
        self.by_name(PUSH, "push")
    }

    /// The certificate warnings in force, per target.
    ///
    /// # Errors
    /// When the read fails or a record does not decode.
    pub fn certificate_warnings(&self) -> Result<HashMap<String, CertificateWarning>, StoreError> {
        self.by_name(CERTIFICATES, "certificate")
    }

    /// Every record of a table keyed by target name, decoded; `what` names the record in
    /// [`StoreError::Corrupt`].
    fn by_name<T: for<'de> Deserialize<'de>>(
        &self,
        definition: TableDefinition<&str, &[u8]>,
        what: &'static str,
    ) -> Result<HashMap<String, T>, StoreError> {
        let db = self.db()?;
        let txn = db.begin_read()?;
        let table = txn.open_table(definition)?;
        let mut records = HashMap::new();
        for entry in table.iter()? {
            let (name, bytes) = entry?;
            records.insert(name.value().to_owned(), decode(bytes.value(), what)?);
        }
        Ok(records)
    }

    /// One target's saved state.
    ///
    /// # Errors
    /// When the read fails or the record does not decode.
    pub fn state(&self, target: &str) -> Result<Option<TargetState>, StoreError> {
        let db = self.db()?;
        let txn = db.begin_read()?;
        let table = txn.open_table(STATES)?;
        table
            .get(target)?
            .map(|bytes| decode(bytes.value(), "state"))
            .transpose()
    }

    /// Up to `limit` results of `target` from before `before_ms`, newest first.
    ///
    /// # Errors
    /// When the read fails or a record does not decode.
    pub fn results(
        &self,
        target: &str,
        before_ms: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ResultRecord>, StoreError> {
        let db = self.db()?;
        let txn = db.begin_read()?;
        let table = txn.open_table(RESULTS)?;
        let end = before_ms.unwrap_or(u64::MAX);
        let mut results = Vec::new();
        for entry in table.range((target, 0)..(target, end))?.rev().take(limit) {
            let (_, bytes) = entry?;
            results.push(decode(bytes.value(), "result")?);
        }
        Ok(results)
    }

    /// Up to `limit` results of `target`, newest first, after skipping the `skip` newest: a
    /// page counted from the newest, as Gatus pages.
    ///
    /// # Errors
    /// When the read fails or a record does not decode.
    pub fn results_page(
        &self,
        target: &str,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<ResultRecord>, StoreError> {
        let db = self.db()?;
        let txn = db.begin_read()?;
        let table = txn.open_table(RESULTS)?;
        let mut results = Vec::new();
        for entry in table
            .range((target, 0)..(target, u64::MAX))?
            .rev()
            .skip(skip)
            .take(limit)
        {
            let (_, bytes) = entry?;
            results.push(decode(bytes.value(), "result")?);
        }
        Ok(results)
    }

    /// The check-in bodies kept with `target`'s results at `at_ms`, in that order (`None` for
    /// a result that came with none).
    ///
    /// # Errors
    /// When the read fails.
    pub fn messages(&self, target: &str, at_ms: &[u64]) -> Result<Vec<Option<String>>, StoreError> {
        let db = self.db()?;
        let txn = db.begin_read()?;
        let table = txn.open_table(MESSAGES)?;
        at_ms
            .iter()
            .map(|at| Ok(table.get((target, *at))?.map(|m| m.value().to_owned())))
            .collect()
    }

    /// Each condition's verdict on `target`'s results at `at_ms`, in that order (`None` for a
    /// result kept without verdicts: one from before they were kept, or of a target without
    /// conditions).
    ///
    /// # Errors
    /// When the read fails or a record does not decode.
    pub fn verdicts(
        &self,
        target: &str,
        at_ms: &[u64],
    ) -> Result<Vec<Option<Vec<Verdict>>>, StoreError> {
        let db = self.db()?;
        let txn = db.begin_read()?;
        let table = txn.open_table(VERDICTS)?;
        let sets = txn.open_table(CONDITION_SETS)?;
        let mut known: HashMap<u64, Vec<String>> = HashMap::new();
        let mut out = Vec::with_capacity(at_ms.len());
        for at in at_ms {
            // The list in force at `at`: the latest that took effect by then.
            let Some((from, bytes)) = sets
                .range((target, 0)..=(target, *at))?
                .next_back()
                .transpose()?
                .map(|(key, value)| (key.value().1, value.value().to_vec()))
            else {
                out.push(None);
                continue;
            };
            let conditions = match known.entry(from) {
                std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::hash_map::Entry::Vacant(entry) => {
                    entry.insert(decode(&bytes, "condition set")?)
                }
            };
            if conditions.is_empty() {
                out.push(None);
                continue;
            }
            let failed = match table.get((target, *at))? {
                Some(bytes) => decode::<VerdictRecord>(bytes.value(), "verdict")?.failed,
                None => Vec::new(),
            };
            let verdicts = conditions
                .iter()
                .zip(0_u32..)
                .map(|(condition, index)| Verdict {
                    condition: condition.clone(),
                    failure: (failed.iter())
                        .find(|(i, _)| *i == index)
                        .map(|(_, reason)| reason.clone()),
                })
                .collect();
            out.push(Some(verdicts));
        }
        Ok(out)
    }

    /// `target`'s kept events (at most [`MAX_EVENTS`]), oldest first, each with its time in ms
    /// since the epoch.
    ///
    /// # Errors
    /// When the read fails or a record does not decode.
    pub fn events(&self, target: &str) -> Result<Vec<(u64, HealthEvent)>, StoreError> {
        let db = self.db()?;
        let txn = db.begin_read()?;
        let table = txn.open_table(EVENTS)?;
        table
            .range((target, 0)..=(target, u64::MAX))?
            .map(|entry| {
                let key = entry?.0.value().1;
                Ok((key >> 2, HealthEvent::from_code(key & 3)?))
            })
            .collect()
    }

    /// The hourly aggregates of `target` for the `count` hours up to and including `now`'s,
    /// oldest first, zero where none: what Gatus's response-time history reads.
    ///
    /// # Errors
    /// When the read fails.
    pub fn hours(
        &self,
        target: &str,
        now: SystemTime,
        count: u64,
    ) -> Result<Vec<(u64, Aggregate)>, StoreError> {
        let db = self.db()?;
        let txn = db.begin_read()?;
        buckets(
            &txn.open_table(HOURLY)?,
            target,
            millis(now) / HOUR_MS,
            count,
        )
    }

    /// Up to `limit` incidents, newest first.
    ///
    /// # Errors
    /// When the read fails or a record does not decode.
    pub fn incidents(&self, limit: usize) -> Result<Vec<Incident>, StoreError> {
        let db = self.db()?;
        let txn = db.begin_read()?;
        let table = txn.open_table(INCIDENTS)?;
        let mut incidents = Vec::new();
        for entry in table.iter()?.rev().take(limit) {
            let (_, bytes) = entry?;
            incidents.push(decode(bytes.value(), "incident")?);
        }
        Ok(incidents)
    }

    /// One incident.
    ///
    /// # Errors
    /// When the read fails or the record does not decode.
    pub fn incident(&self, id: u64) -> Result<Option<Incident>, StoreError> {
        let db = self.db()?;
        let txn = db.begin_read()?;
        let table = txn.open_table(INCIDENTS)?;
        table
            .get(id)?
            .map(|bytes| decode(bytes.value(), "incident"))
            .transpose()
    }

    /// The aggregates of `target` the status page and the API read: the 24 hours and the 90
    /// days up to and including `now`'s, in one read.
    ///
    /// # Errors
    /// When the read fails.
    pub fn history(&self, target: &str, now: SystemTime) -> Result<History, StoreError> {
        let db = self.db()?;
        let txn = db.begin_read()?;
        let now = millis(now);
        Ok(History {
            hours: buckets(
                &txn.open_table(HOURLY)?,
                target,
                now / HOUR_MS,
                HISTORY_HOURS,
            )?,
            days: buckets(&txn.open_table(DAILY)?, target, now / DAY_MS, HISTORY_DAYS)?,
        })
    }

    /// Notifications not yet delivered, in id order.
    ///
    /// # Errors
    /// When the read fails or a record does not decode.
    pub fn pending(&self) -> Result<Vec<Notification>, StoreError> {
        let db = self.db()?;
        let txn = db.begin_read()?;
        let pending = txn.open_table(PENDING)?;
        let notifications = txn.open_table(NOTIFICATIONS)?;
        let mut out = Vec::new();
        for entry in pending.iter()? {
            let (id, _) = entry?;
            if let Some(bytes) = notifications.get(id.value())? {
                out.push(decode(bytes.value(), "notification")?);
            }
        }
        Ok(out)
    }

    /// Every notification ever made (delivered or not) whose id is at least `from`, in id order.
    ///
    /// # Errors
    /// When the read fails or a record does not decode.
    pub fn notifications(&self, from: u64) -> Result<Vec<Notification>, StoreError> {
        let db = self.db()?;
        let txn = db.begin_read()?;
        let table = txn.open_table(NOTIFICATIONS)?;
        let mut out = Vec::new();
        for entry in table.range(from..)? {
            let (_, bytes) = entry?;
            out.push(decode(bytes.value(), "notification")?);
        }
        Ok(out)
    }

    /// Saves a delivery attempt: delivered (`delivered_ms` set) or not (`next_attempt_ms` moved,
    /// or `None` to give up on it).
    ///
    /// # Errors
    /// When the write fails.
    pub fn save_attempt(&self, notification: &Notification, retry: bool) -> Result<(), StoreError> {
        let db = self.db()?;
        let txn = db.begin_write()?;
        {
            let mut notifications = txn.open_table(NOTIFICATIONS)?;
            notifications.insert(notification.id, encode(notification).as_slice())?;
            let mut pending = txn.open_table(PENDING)?;
            if retry && notification.delivered_ms.is_none() {
                pending.insert(notification.id, notification.next_attempt_ms)?;
            } else {
                pending.remove(notification.id)?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// How many raw results the store holds (redb keeps the count: no scan).
    ///
    /// # Errors
    /// When the read fails.
    pub fn result_count(&self) -> Result<u64, StoreError> {
        let db = self.db()?;
        let txn = db.begin_read()?;
        Ok(txn.open_table(RESULTS)?.len()?)
    }

    /// The start times of the oldest and the newest raw result of any target, ms since the
    /// epoch; `None` without results.
    ///
    /// # Errors
    /// When the read fails.
    pub fn results_span(&self) -> Result<Option<(u64, u64)>, StoreError> {
        let db = self.db()?;
        let txn = db.begin_read()?;
        let states = txn.open_table(STATES)?;
        let results = txn.open_table(RESULTS)?;
        let mut span: Option<(u64, u64)> = None;
        for entry in states.iter()? {
            let (name, _) = entry?;
            let name = name.value();
            let mut range = results.range((name, 0)..=(name, u64::MAX))?;
            let first = range.next().transpose()?.map(|(k, _)| k.value().1);
            let last = range.next_back().transpose()?.map(|(k, _)| k.value().1);
            if let Some(first) = first {
                let last = last.unwrap_or(first);
                span = Some(span.map_or((first, last), |(a, b)| (a.min(first), b.max(last))));
            }
        }
        Ok(span)
    }

    /// Deletes raw results (and their messages and verdicts) older than `results_before`,
    /// aggregates and resolved incidents and delivered notifications older than
    /// `history_before`, and hourly aggregates of hours that began more than [`HOURS_KEPT`]
    /// hours before `now`'s. Returns the number of raw results deleted.
    ///
    /// # Errors
    /// When the write fails.
    pub fn prune(
        &self,
        now: SystemTime,
        results_before: SystemTime,
        history_before: SystemTime,
    ) -> Result<u64, StoreError> {
        let results_before = millis(results_before);
        let history_before = millis(history_before);
        let hours_before = (millis(now) / HOUR_MS).saturating_sub(HOURS_KEPT);
        let db = self.db()?;
        let txn = db.begin_write()?;
        let mut removed = 0;
        {
            let targets: Vec<String> = {
                let states = txn.open_table(STATES)?;
                states
                    .iter()?
                    .map(|e| e.map(|(k, _)| k.value().to_owned()))
                    .collect::<Result<_, _>>()?
            };
            let mut results = txn.open_table(RESULTS)?;
            let mut messages = txn.open_table(MESSAGES)?;
            let mut verdicts = txn.open_table(VERDICTS)?;
            let mut sets = txn.open_table(CONDITION_SETS)?;
            let mut hourly = txn.open_table(HOURLY)?;
            let mut daily = txn.open_table(DAILY)?;
            for target in &targets {
                let target = target.as_str();
                let before = results.len()?;
                results.retain_in((target, 0)..(target, results_before), |_, _| false)?;
                removed += before - results.len()?;
                messages.retain_in((target, 0)..(target, results_before), |_, _| false)?;
                verdicts.retain_in((target, 0)..(target, results_before), |_, _| false)?;
                // The lists no result left is judged by: all before the one in force at the
                // oldest result (or, without results, before the latest, which the next reuses).
                let oldest = results
                    .range((target, 0)..=(target, u64::MAX))?
                    .next()
                    .transpose()?
                    .map_or(u64::MAX, |(key, _)| key.value().1);
                let in_force = sets
                    .range((target, 0)..=(target, oldest))?
                    .next_back()
                    .transpose()?
                    .map(|(key, _)| key.value().1);
                if let Some(in_force) = in_force {
                    sets.retain_in((target, 0)..(target, in_force), |_, _| false)?;
                }
                hourly.retain_in((target, 0)..(target, hours_before), |_, _| false)?;
                daily.retain_in((target, 0)..(target, history_before / DAY_MS), |_, _| false)?;
            }
            let mut incidents = txn.open_table(INCIDENTS)?;
            incidents.retain(|_, bytes| {
                decode::<Incident>(bytes, "incident").map_or(true, |i| {
                    i.resolved_ms.is_none_or(|at| at >= history_before)
                })
            })?;
            let mut notifications = txn.open_table(NOTIFICATIONS)?;
            notifications.retain(|_, bytes| {
                decode::<Notification>(bytes, "notification").map_or(true, |n| {
                    n.delivered_ms.is_none_or(|at| at >= history_before)
                })
            })?;
        }
        txn.commit()?;
        Ok(removed)
    }
}

/// Writes each result's verdicts in `txn`: the target's list of conditions when it differs
/// from the one in force (none yet, or another), and the failed ones, if any.
fn write_verdicts(
    txn: &redb::WriteTransaction,
    batch: &[(String, u64, Vec<Verdict>)],
) -> Result<(), StoreError> {
    let mut sets = txn.open_table(CONDITION_SETS)?;
    let mut table = txn.open_table(VERDICTS)?;
    for (target, at_ms, verdicts) in batch {
        let target = target.as_str();
        let in_force = sets
            .range((target, 0)..=(target, u64::MAX))?
            .next_back()
            .transpose()?
            .map(|(_, value)| value.value().to_vec());
        let same = match &in_force {
            // A target without conditions that never had any: nothing to keep.
            None => verdicts.is_empty(),
            Some(bytes) => decode::<Vec<String>>(bytes, "condition set").is_ok_and(|known| {
                known.len() == verdicts.len()
                    && known.iter().zip(verdicts).all(|(k, v)| *k == v.condition)
            }),
        };
        if !same {
            let texts: Vec<&str> = verdicts.iter().map(|v| v.condition.as_str()).collect();
            sets.insert((target, *at_ms), encode(&texts).as_slice())?;
        }
        let failed: Vec<(u32, String)> = verdicts
            .iter()
            .zip(0_u32..)
            .filter_map(|(v, index)| v.failure.clone().map(|reason| (index, reason)))
            .collect();
        if !failed.is_empty() {
            let record = VerdictRecord { failed };
            table.insert((target, *at_ms), encode(&record).as_slice())?;
        }
    }
    Ok(())
}

/// The latest event of `target` in `table`: the health of its latest result (`START` always
/// shares its time with the first result's health, which sorts after it).
fn latest_event(
    table: &impl ReadableTable<(&'static str, u64), &'static [u8]>,
    target: &str,
) -> Result<Option<HealthEvent>, StoreError> {
    table
        .range((target, 0)..=(target, u64::MAX))?
        .next_back()
        .transpose()?
        .map(|(key, _)| HealthEvent::from_code(key.value().1 & 3))
        .transpose()
}

/// Writes the events `results` give, in `txn`, as Gatus's store adds them: `START` and the
/// result's health for a target without events, then the health of each result whose verdict
/// differs from the latest event's (the previous result's); each target keeps its latest
/// [`MAX_EVENTS`]. Reads one key per result, not the results before it.
fn write_events(
    txn: &redb::WriteTransaction,
    results: &[(String, ResultRecord)],
) -> Result<(), StoreError> {
    let mut table = txn.open_table(EVENTS)?;
    let mut grown: Vec<&str> = Vec::new();
    for (target, result) in results {
        let target = target.as_str();
        let health = HealthEvent::of(result.ok);
        let latest = latest_event(&table, target)?;
        if latest == Some(health) {
            continue;
        }
        if latest.is_none() {
            table.insert(
                (target, event_key(result.at_ms, HealthEvent::Start)),
                NOTHING,
            )?;
        }
        table.insert((target, event_key(result.at_ms, health)), NOTHING)?;
        if !grown.contains(&target) {
            grown.push(target);
        }
    }
    for target in grown {
        keep_latest_events(&mut table, target)?;
    }
    Ok(())
}

/// Removes all but the latest [`MAX_EVENTS`] events of `target`, oldest first, as Gatus does.
fn keep_latest_events(
    table: &mut redb::Table<(&'static str, u64), &'static [u8]>,
    target: &str,
) -> Result<(), StoreError> {
    let range = (target, 0)..=(target, u64::MAX);
    let excess = table
        .range(range.clone())?
        .count()
        .saturating_sub(MAX_EVENTS);
    if excess > 0 {
        let mut seen = 0;
        table.retain_in(range, |_, _| {
            seen += 1;
            seen > excess
        })?;
    }
    Ok(())
}

/// The start of a kept result: its time and verdict. postcard reads fields in order and leaves
/// the rest, so this decodes any format's result without the votes and reasons after.
#[derive(Deserialize)]
struct ResultHead {
    at_ms: u64,
    ok: bool,
}

/// Gives each target of a store written before [`EVENTS`] the events its kept results give, in
/// `txn`; returns how many. That is the best that can be known: results older than the
/// retention were pruned (with the flips among them), so `START` is at the oldest kept
/// result, and flips are those between kept results, of which the latest [`MAX_EVENTS`] are
/// kept, as [`write_events`] would have kept them. Each target's results are read newest
/// first, up to its 50th flip.
fn derive_events(txn: &redb::WriteTransaction) -> Result<u64, StoreError> {
    let results = txn.open_table(RESULTS)?;
    let mut table = txn.open_table(EVENTS)?;
    let mut derived = 0;
    let mut next = results.first()?.map(|(key, _)| key.value().0.to_owned());
    while let Some(target) = next {
        let name = target.as_str();
        // (time, health) of each flip, newest first, then the oldest result's.
        let mut events: Vec<(u64, HealthEvent)> = Vec::new();
        let mut newer: Option<ResultHead> = None;
        for entry in results.range((name, 0)..=(name, u64::MAX))?.rev() {
            let (_, bytes) = entry?;
            let head: ResultHead = decode(bytes.value(), "result")?;
            if let Some(newer) = newer.as_ref().filter(|n| n.ok != head.ok) {
                events.push((newer.at_ms, HealthEvent::of(newer.ok)));
                if events.len() == MAX_EVENTS {
                    break;
                }
            }
            newer = Some(head);
        }
        // The oldest result's health and START, unless 50 flips came before them.
        if let Some(oldest) = newer {
            events.push((oldest.at_ms, HealthEvent::of(oldest.ok)));
            events.push((oldest.at_ms, HealthEvent::Start));
        }
        events.truncate(MAX_EVENTS);
        for (at_ms, event) in &events {
            table.insert((name, event_key(*at_ms, *event)), NOTHING)?;
        }
        derived += events.len() as u64;
        next = results
            .range::<(&str, u64)>((
                std::ops::Bound::Excluded((name, u64::MAX)),
                std::ops::Bound::Unbounded,
            ))?
            .next()
            .transpose()?
            .map(|(key, _)| key.value().0.to_owned());
    }
    Ok(derived)
}

/// Format 1's result, before locations.
#[derive(Deserialize)]
struct ResultRecordV1 {
    at_ms: u64,
    ok: bool,
    status_code: Option<u16>,
    response_time_ms: u64,
    error: Option<String>,
}

impl ResultRecordV1 {
    /// The same result as a round with one vote, `location`'s.
    fn migrate(self, location: &str) -> ResultRecord {
        ResultRecord {
            votes: vec![Vote {
                location: location.to_owned(),
                ok: Some(self.ok),
                status_code: self.status_code,
                response_time_ms: self.response_time_ms,
                error: self.error.clone(),
            }],
            at_ms: self.at_ms,
            ok: self.ok,
            status_code: self.status_code,
            response_time_ms: self.response_time_ms,
            error: self.error,
        }
    }
}

/// Format 1's target state.
#[derive(Deserialize)]
struct TargetStateV1 {
    state: State,
    since_ms: Option<u64>,
    successes: u32,
    failures: u32,
    streak_start_ms: Option<u64>,
    open_incident: Option<u64>,
    last: Option<ResultRecordV1>,
    certificate_expiry_s: Option<u64>,
}

/// Rewrites format 1's results and states as format 2's, in `txn`. Returns the number of
/// results migrated.
fn migrate_from_1(txn: &redb::WriteTransaction, location: &str) -> Result<u64, StoreError> {
    let mut results = txn.open_table(RESULTS)?;
    let mut migrated = 0;
    // One target's results at a time, so memory stays bounded by the largest target's.
    let mut next: Option<(String, u64)> = None;
    loop {
        let batch: Vec<((String, u64), Vec<u8>)> = {
            let range = match &next {
                None => results.iter()?,
                Some((target, at)) => results.range((target.as_str(), *at)..)?,
            };
            let mut batch = Vec::new();
            for entry in range.take(10_000) {
                let (key, value) = entry?;
                let (target, at) = key.value();
                batch.push(((target.to_owned(), at), value.value().to_vec()));
            }
            batch
        };
        let Some(((last_target, last_at), _)) = batch.last().cloned() else {
            break;
        };
        for ((target, at), bytes) in &batch {
            let old: ResultRecordV1 = decode(bytes, "result")?;
            results.insert(
                (target.as_str(), *at),
                encode(&old.migrate(location)).as_slice(),
            )?;
            migrated += 1;
        }
        if batch.len() < 10_000 {
            break;
        }
        next = Some((last_target, last_at + 1));
    }
    let mut states = txn.open_table(STATES)?;
    let old: Vec<(String, Vec<u8>)> = states
        .iter()?
        .map(|e| e.map(|(k, v)| (k.value().to_owned(), v.value().to_vec())))
        .collect::<Result<_, _>>()?;
    for (target, bytes) in old {
        let old: TargetStateV1 = decode(&bytes, "state")?;
        let state = TargetState {
            state: old.state,
            since_ms: old.since_ms,
            successes: old.successes,
            failures: old.failures,
            streak_start_ms: old.streak_start_ms,
            open_incident: old.open_incident,
            last: old.last.map(|r| r.migrate(location)),
            certificate_expiry_s: old.certificate_expiry_s,
            locations: Vec::new(),
        };
        states.insert(target.as_str(), encode(&state).as_slice())?;
    }
    Ok(migrated)
}

/// Runs store work off the async workers: a read can wait on the disk, every write does.
///
/// # Errors
/// The work's own error, or [`StoreError::Io`] if it panicked.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| StoreError::Io(err.to_string()))?
}

/// Milliseconds since the Unix epoch (0 before it).
#[must_use]
pub fn millis(time: SystemTime) -> u64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

/// The inverse of [`millis`].
#[must_use]
pub fn from_millis(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // postcard fails only on types serde cannot describe (maps with non-string keys and the
    // like), and none of the records has one.
    postcard::to_stdvec(value).unwrap_or_default()
}

/// For the ledger's tests of failing commits.
#[cfg(test)]
impl Store {
    /// Closes the database as an I/O error leaves it: every operation fails until
    /// [`Store::reopen`].
    pub(crate) fn close(&self) {
        drop(
            self.db
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
    }
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8], what: &'static str) -> Result<T, StoreError> {
    postcard::from_bytes(bytes).map_err(|_| StoreError::Corrupt(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_800_000_000_000; // 2027-01-15T08:00:00Z, on an hour boundary

    fn result(at_ms: u64, ok: bool, response_time_ms: u64) -> ResultRecord {
        ResultRecord {
            at_ms,
            ok,
            status_code: Some(if ok { 200 } else { 500 }),
            response_time_ms,
            error: (!ok).then(|| "[STATUS] (500) == 200".to_owned()),
            votes: Vec::new(),
        }
    }

    fn batch(results: &[(&str, ResultRecord)]) -> Batch {
        Batch {
            results: results
                .iter()
                .map(|(t, r)| ((*t).to_owned(), r.clone()))
                .collect(),
            ..Batch::default()
        }
    }

    #[test]
    fn monitor_ids_are_given_on_first_sight_and_kept_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            assert_eq!(store.monitor_ids(&["api", "web"]).unwrap(), [1, 2]);
            // A target inserted before the others, and one removed: the others keep theirs.
            assert_eq!(store.monitor_ids(&["db", "api"]).unwrap(), [3, 1]);
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.monitor_ids(&["web", "db", "api"]).unwrap(), [2, 3, 1]);
        // An id is never reused: a new name gets one no other name ever had.
        assert_eq!(store.monitor_ids(&["cache"]).unwrap(), [4]);
    }

    #[test]
    fn a_store_of_a_newer_format_version_is_refused_not_read() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        {
            let db = Database::create(dir.path().join(FILE_NAME)).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(META)
                .unwrap()
                .insert("format_version", FORMAT_VERSION + 1)
                .unwrap();
            txn.commit().unwrap();
        }
        let err = Store::open(dir.path()).unwrap_err();
        assert!(matches!(err, StoreError::Version { found: 3, .. }), "{err}");
        let message = err.to_string();
        assert!(message.contains("format version 3"), "{message}");
        assert!(message.contains("reads versions up to 2"), "{message}");
    }

    /// A copy of tests/fixtures/store-v1, written by the format-1 code (see its README).
    fn format_1_store() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v1");
        std::fs::copy(fixture.join(FILE_NAME), dir.path().join(FILE_NAME)).unwrap();
        dir
    }

    #[test]
    fn a_format_1_store_is_migrated_whole_at_start_up() {
        let dir = format_1_store();
        let store = Store::open_at(dir.path(), "nrt").unwrap();
        // The fixture: api and web every 5 minutes for two days from 2026-12-04T00:00Z; api
        // failed 10:00-10:55 the first day (incident 1, resolved) and over the last 30 minutes
        // (incident 2, open, its notification pending).
        const T0: u64 = 1_796_342_400_000;
        let api = store.results("api", None, 1000).unwrap();
        assert_eq!(api.len(), 576);
        let last = &api[0];
        assert_eq!(last.at_ms, T0 + 575 * 300_000);
        assert!(!last.ok);
        assert_eq!(last.error.as_deref(), Some("[STATUS] (503) == 200"));
        assert_eq!(
            last.votes,
            [Vote {
                location: "nrt".to_owned(),
                ok: Some(false),
                status_code: Some(503),
                response_time_ms: last.response_time_ms,
                error: Some("[STATUS] (503) == 200".to_owned()),
            }]
        );
        assert_eq!(store.results("web", None, 1000).unwrap().len(), 576);
        let states = store.states().unwrap();
        let api_state = &states["api"];
        assert_eq!(api_state.state, State::Down);
        assert_eq!(api_state.open_incident, Some(2));
        assert_eq!(api_state.last.as_ref(), Some(last));
        assert_eq!(states["web"].state, State::Up);
        let incidents = store.incidents(10).unwrap();
        assert_eq!(incidents.iter().map(|i| i.id).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(incidents[0].resolved_ms, None);
        assert_eq!(incidents[0].started_ms, T0 + 570 * 300_000);
        assert_eq!(incidents[1].started_ms, T0 + 120 * 300_000);
        assert_eq!(incidents[1].resolved_ms, Some(T0 + 132 * 300_000));
        assert_eq!(store.next_incident_id().unwrap(), 3);
        let pending = store.pending().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].incident.id, 2);
        assert_eq!(store.notifications(1).unwrap().len(), 3);
        // Aggregates were not touched: the first day's 288 probes of api, 12 failed.
        let history = store.history("api", from_millis(T0 + DAY_MS)).unwrap();
        let first_day = history.days[history.days.len() - 2].1;
        assert_eq!((first_day.checks, first_day.failures), (288, 12));
        drop(store);

        // Opened again it is format 2 already: nothing to migrate, the same results.
        let store = Store::open_at(dir.path(), "ams").unwrap();
        assert_eq!(
            store.results("api", None, 1).unwrap()[0].votes[0].location,
            "nrt"
        );
    }

    #[test]
    fn a_format_1_store_past_a_batch_of_10_000_is_migrated_whole_and_counted_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        // Format 1's result record, field by field as postcard writes it.
        let v1 = |at_ms: u64| encode(&(at_ms, true, Some(200_u16), 20_u64, None::<String>));
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut meta = txn.open_table(META).unwrap();
            meta.insert("format_version", 1).unwrap();
            let mut results = txn.open_table(RESULTS).unwrap();
            // A batch of a's and one more, then two of b's: three batches' worth of reads.
            for at_ms in (T0..T0 + 10_001).chain(T0..T0 + 2) {
                let target = if results.len().unwrap() < 10_001 {
                    "a"
                } else {
                    "b"
                };
                results
                    .insert((target, at_ms), v1(at_ms).as_slice())
                    .unwrap();
            }
        }
        txn.commit().unwrap();

        let txn = db.begin_write().unwrap();
        assert_eq!(
            migrate_from_1(&txn, "nrt").unwrap(),
            10_003,
            "each result once"
        );
        let results = txn.open_table(RESULTS).unwrap();
        for key in [
            ("a", T0),
            ("a", T0 + 9_999),
            ("a", T0 + 10_000),
            ("b", T0 + 1),
        ] {
            let record: ResultRecord =
                decode(results.get(key).unwrap().unwrap().value(), "result").unwrap();
            assert_eq!(record, result_v2(key.1), "{key:?}");
        }
    }

    /// What [`ResultRecordV1::migrate`] makes of a passing format-1 result at `at_ms` in `nrt`.
    fn result_v2(at_ms: u64) -> ResultRecord {
        ResultRecord {
            votes: vec![Vote {
                location: "nrt".to_owned(),
                ok: Some(true),
                status_code: Some(200),
                response_time_ms: 20,
                error: None,
            }],
            ..result(at_ms, true, 20)
        }
    }

    #[test]
    fn a_file_that_is_not_a_store_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), b"not a database at all").unwrap();
        let err = Store::open(dir.path()).unwrap_err().to_string();
        assert!(err.starts_with("cannot open the store "), "{err}");
        assert!(err.contains(FILE_NAME), "{err}");
    }

    #[test]
    fn a_store_open_elsewhere_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Store::open(dir.path()).unwrap();
        let err = Store::open(dir.path()).unwrap_err().to_string();
        assert!(err.starts_with("cannot open the store "), "{err}");
    }

    #[test]
    fn results_come_back_newest_first_paged_by_time_and_per_target() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let results: Vec<_> = (0..5)
            .map(|i| ("a", result(T0 + i * 1000, i != 2, 10 + i)))
            .collect();
        store.commit(&batch(&results)).unwrap();
        store
            .commit(&batch(&[("ab", result(T0 + 500, true, 1))]))
            .unwrap();

        let all = store.results("a", None, 100).unwrap();
        let times: Vec<u64> = all.iter().map(|r| r.at_ms - T0).collect();
        assert_eq!(
            times,
            [4000, 3000, 2000, 1000, 0],
            "newest first, no other target's"
        );
        assert_eq!(all[2].error.as_deref(), Some("[STATUS] (500) == 200"));
        let page = store.results("a", Some(T0 + 3000), 2).unwrap();
        let times: Vec<u64> = page.iter().map(|r| r.at_ms - T0).collect();
        assert_eq!(times, [2000, 1000]);
        assert!(store.results("nobody", None, 10).unwrap().is_empty());
    }

    #[test]
    fn result_pages_count_from_the_newest_and_keep_to_their_target() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let results: Vec<_> = (0..5)
            .map(|i| ("a", result(T0 + i * 1000, true, 1)))
            .collect();
        store.commit(&batch(&results)).unwrap();
        store
            .commit(&batch(&[("ab", result(T0 + 500, true, 1))]))
            .unwrap();
        let page = |skip, limit| -> Vec<u64> {
            let page = store.results_page("a", skip, limit).unwrap();
            page.iter().map(|r| r.at_ms - T0).collect()
        };
        assert_eq!(page(0, 2), [4000, 3000]);
        assert_eq!(page(2, 2), [2000, 1000]);
        assert_eq!(page(4, 2), [0], "the last page is short");
        assert!(page(5, 2).is_empty());
        assert!(store.results_page("nobody", 0, 10).unwrap().is_empty());
    }

    #[test]
    fn aggregates_add_up_per_hour_and_day_and_windows_read_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // Hour 0: three checks, one failure; hour 1: one check; eight days earlier: one failure.
        store
            .commit(&batch(&[
                ("a", result(T0, true, 10)),
                ("a", result(T0 + 60_000, false, 30)),
                ("a", result(T0 + 120_000, true, 20)),
                ("a", result(T0 + HOUR_MS, true, 40)),
                ("a", result(T0 - 8 * DAY_MS, false, 50)),
            ]))
            .unwrap();
        let now = from_millis(T0 + HOUR_MS + 1);
        let history = store.history("a", now).unwrap();
        assert_eq!(history.hours.len(), 24);
        assert_eq!(
            history.hours[22..]
                .iter()
                .map(|(_, a)| *a)
                .collect::<Vec<_>>(),
            [
                Aggregate {
                    checks: 3,
                    failures: 1,
                    response_time_ms: 60
                },
                Aggregate {
                    checks: 1,
                    failures: 0,
                    response_time_ms: 40
                },
            ]
        );
        let [day, week, month, quarter] = history.windows();
        assert_eq!(day.checks, 4);
        assert_eq!(day.uptime(), Some(0.75));
        assert_eq!(day.mean_response_time_ms(), Some(25));
        assert_eq!(week.checks, 4, "eight days ago is outside the week");
        assert_eq!(month.checks, 5);
        assert_eq!(quarter.uptime(), Some(0.6));
        let [none, ..] = store.history("b", now).unwrap().windows();
        assert_eq!(none.uptime(), None, "no data is null, not 0 or 1");
        assert_eq!(none.mean_response_time_ms(), None);
        assert_eq!(history.days.len(), 90);
        assert_eq!(
            history.days.last().unwrap().0,
            (T0 + HOUR_MS) / DAY_MS,
            "today is last"
        );
    }

    /// Verdicts on `conditions` (each `(text, failure)`).
    fn verdicts(conditions: &[(&str, Option<&str>)]) -> Vec<Verdict> {
        conditions
            .iter()
            .map(|(condition, failure)| Verdict {
                condition: (*condition).to_owned(),
                failure: failure.map(str::to_owned),
            })
            .collect()
    }

    /// The keys of `target`'s condition lists, and of its verdict records.
    fn verdict_keys(store: &Store, target: &str) -> (Vec<u64>, Vec<u64>) {
        let db = store.db().unwrap();
        let txn = db.begin_read().unwrap();
        let keys = |definition: TableDefinition<(&str, u64), &[u8]>| {
            (txn.open_table(definition).unwrap())
                .range((target, 0)..=(target, u64::MAX))
                .unwrap()
                .map(|e| e.unwrap().0.value().1)
                .collect::<Vec<u64>>()
        };
        (keys(CONDITION_SETS), keys(VERDICTS))
    }

    #[test]
    fn verdicts_are_kept_with_their_result_naming_each_condition_list_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let both = [("[STATUS] == 200", None), ("[RESPONSE_TIME] < 500", None)];
        let failed = [
            ("[STATUS] == 200", Some("[STATUS] (503) == 200")),
            ("[RESPONSE_TIME] < 500", None),
        ];
        // The config changed between the second and the third result, and then lost them.
        let changed = [("[STATUS] == 204", None)];
        let mut first = batch(&[
            ("a", result(T0, true, 1)),
            ("a", result(T0 + 1, false, 1)),
            ("b", result(T0, true, 1)),
            ("c", result(T0, true, 1)),
        ]);
        first.verdicts = vec![
            ("a".to_owned(), T0, verdicts(&both)),
            ("a".to_owned(), T0 + 1, verdicts(&failed)),
            ("b".to_owned(), T0, verdicts(&changed)),
            ("c".to_owned(), T0, Vec::new()),
        ];
        store.commit(&first).unwrap();
        let mut second = batch(&[
            ("a", result(T0 + 2, true, 1)),
            ("a", result(T0 + 3, true, 1)),
        ]);
        second.verdicts = vec![
            ("a".to_owned(), T0 + 2, verdicts(&changed)),
            ("a".to_owned(), T0 + 3, Vec::new()),
        ];
        store.commit(&second).unwrap();

        assert_eq!(
            store
                .verdicts("a", &[T0 + 2, T0, T0 + 1, T0 - 1, T0 + 3])
                .unwrap(),
            [
                Some(verdicts(&changed)),
                Some(verdicts(&both)),
                Some(verdicts(&failed)),
                None,
                None,
            ],
            "none before the first list, nor once the conditions are gone"
        );
        assert_eq!(
            store.verdicts("b", &[T0]).unwrap(),
            [Some(verdicts(&changed))]
        );
        assert_eq!(store.verdicts("c", &[T0]).unwrap(), [None]);
        // Each list once, from its first result; a record only for the result that failed.
        assert_eq!(
            verdict_keys(&store, "a"),
            (vec![T0, T0 + 2, T0 + 3], vec![T0 + 1])
        );
        assert_eq!(verdict_keys(&store, "b"), (vec![T0], vec![]));
        assert_eq!(verdict_keys(&store, "c"), (vec![], vec![]), "never had any");
        let db = store.db().unwrap();
        let txn = db.begin_read().unwrap();
        let table = txn.open_table(VERDICTS).unwrap();
        assert_eq!(
            table.get(("a", T0 + 1)).unwrap().unwrap().value().len(),
            1 + 1 + 1 + "[STATUS] (503) == 200".len(),
            "one failure: the count, its index, the reason's length and the reason"
        );
    }

    #[test]
    fn verdicts_are_pruned_with_their_results_and_lists_no_longer_in_force_with_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let now = millis(SystemTime::now());
        let old = now - 10 * DAY_MS;
        let mut first = batch(&[("a", result(old, false, 5)), ("a", result(now, false, 5))]);
        first.states.insert("a".to_owned(), TargetState::default());
        let failing = |condition: &'static str| [(condition, Some("[STATUS] (500) == 2xx"))];
        first.verdicts = vec![
            ("a".to_owned(), old, verdicts(&failing("[STATUS] == 200"))),
            ("a".to_owned(), now, verdicts(&failing("[STATUS] == 204"))),
        ];
        store.commit(&first).unwrap();
        let removed = store
            .prune(
                from_millis(now),
                from_millis(now - DAY_MS),
                from_millis(now - 5 * DAY_MS),
            )
            .unwrap();
        assert_eq!(removed, 1);
        assert_eq!(
            store.verdicts("a", &[old, now]).unwrap(),
            [None, Some(verdicts(&failing("[STATUS] == 204")))]
        );
        assert_eq!(
            verdict_keys(&store, "a"),
            (vec![now], vec![now]),
            "the first list was in force only for the pruned result"
        );

        // Once every result went, the latest list stays for the next one to reuse.
        store
            .prune(from_millis(now), from_millis(now + 1), UNIX_EPOCH)
            .unwrap();
        assert_eq!(verdict_keys(&store, "a"), (vec![now], vec![]));
        let mut next = batch(&[("a", result(now + 1, true, 5))]);
        next.verdicts = vec![(
            "a".to_owned(),
            now + 1,
            verdicts(&[("[STATUS] == 204", None)]),
        )];
        store.commit(&next).unwrap();
        assert_eq!(verdict_keys(&store, "a"), (vec![now], vec![]));
        assert_eq!(
            store.verdicts("a", &[now + 1]).unwrap(),
            [Some(verdicts(&[("[STATUS] == 204", None)]))]
        );
    }

    #[test]
    fn hourly_aggregates_are_kept_30_days() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let now = T0 + 30 * DAY_MS + 1;
        let mut first = batch(&[
            ("a", result(T0 - 1, true, 10)),
            ("a", result(T0, true, 20)),
            ("a", result(now, true, 30)),
        ]);
        first.states.insert("a".to_owned(), TargetState::default());
        store.commit(&first).unwrap();
        store
            .prune(from_millis(now), UNIX_EPOCH, UNIX_EPOCH)
            .unwrap();
        let hours = store.hours("a", from_millis(now), HOURS_KEPT + 2).unwrap();
        let kept: Vec<(u64, u64)> = hours
            .iter()
            .filter(|(_, a)| a.checks > 0)
            .map(|(hour, a)| (*hour, a.response_time_ms))
            .collect();
        assert_eq!(
            kept,
            [(T0 / HOUR_MS, 20), (now / HOUR_MS, 30)],
            "the hour 720 hours before now's stays, the one before it went"
        );
        assert_eq!(hours.len(), 722);
        assert_eq!(hours[1].0, T0 / HOUR_MS);
    }

    /// The store's cost of verdicts and of 30 days of hourly aggregates, compacted (the README's
    /// figures): `cargo test --lib measure_verdicts_and_hours -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, printed"]
    fn measure_verdicts_and_hours() {
        const TARGETS: u64 = 50;
        const MINUTES: u64 = 1440;
        // As benches/monitor.py's targets: one vote, the two conditions, all passing; and
        // with every 10th result failing its second condition.
        let conditions = [("[STATUS] == 200", None), ("[BODY].status == UP", None)];
        let failing = [
            ("[STATUS] == 200", None),
            ("[BODY].status == UP", Some("[BODY].status (DOWN) == UP")),
        ];
        let fill = |verdicts_every: Option<u64>| {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path()).unwrap();
            for minute in 0..MINUTES {
                let mut batch = Batch::default();
                for t in 0..TARGETS {
                    let target = format!("t{t}");
                    let at_ms = T0 + minute * 60_000 + t;
                    let mut record = result(at_ms, true, 3);
                    record.votes = vec![Vote {
                        location: "local".to_owned(),
                        ok: Some(true),
                        status_code: Some(200),
                        response_time_ms: 3,
                        error: None,
                    }];
                    batch.results.push((target.clone(), record));
                    if let Some(every) = verdicts_every {
                        let v = if minute % every == 0 {
                            verdicts(&failing)
                        } else {
                            verdicts(&conditions)
                        };
                        batch.verdicts.push((target.clone(), at_ms, v));
                    }
                    batch.states.insert(target, TargetState::default());
                }
                store.commit(&batch).unwrap();
            }
            store.compact().unwrap();
            let bytes = store.file_bytes();
            (dir, store, bytes)
        };
        let results = TARGETS * MINUTES;
        let (_a, _, without) = fill(None);
        let (_b, _, all_pass) = fill(Some(u64::MAX));
        let (_c, _, tenth_fail) = fill(Some(10));
        println!(
            "{results} results: {without} bytes without verdicts, {all_pass} with passing \
             verdicts (+{} a result), {tenth_fail} with every 10th failing one (+{} a result)",
            (all_pass - without) / results,
            (tenth_fail - without) / results,
        );

        // Hourly aggregates: 721 hours per target, against the 49 kept before.
        let hours = |kept: u64| {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path()).unwrap();
            let mut batch = Batch::default();
            for t in 0..TARGETS {
                let target = format!("t{t}");
                for hour in 0..=HOURS_KEPT {
                    batch
                        .results
                        .push((target.clone(), result(T0 + hour * HOUR_MS, true, 3)));
                }
                batch.states.insert(target, TargetState::default());
            }
            store.commit(&batch).unwrap();
            // Raw results all go; of the hours, the `kept` latest stay.
            let now = from_millis(T0 + (2 * HOURS_KEPT + 1 - kept) * HOUR_MS);
            store.prune(now, now, UNIX_EPOCH).unwrap();
            store.compact().unwrap();
            store.file_bytes()
        };
        let (long, short) = (hours(HOURS_KEPT + 1), hours(49));
        println!(
            "{TARGETS} targets: {long} bytes with 721 hourly rows each, {short} with 49: \
             {} bytes a target, {} a row",
            (long - short) / TARGETS,
            (long - short) / TARGETS / (HOURS_KEPT + 1 - 49),
        );
    }

    #[test]
    fn push_records_are_kept_per_target_and_replaced_by_the_latest() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(store.push_records().unwrap().is_empty());
        let first = PushRecord {
            checked_in_ms: Some(T0),
            started_ms: None,
        };
        let started = PushRecord {
            checked_in_ms: Some(T0),
            started_ms: Some(T0 + 1_000),
        };
        store
            .commit(&Batch {
                push: vec![("a".to_owned(), first), ("b".to_owned(), first)],
                ..Batch::default()
            })
            .unwrap();
        store
            .commit(&Batch {
                push: vec![("a".to_owned(), started)],
                ..Batch::default()
            })
            .unwrap();
        assert_eq!(
            store.push_records().unwrap(),
            HashMap::from([("a".to_owned(), started), ("b".to_owned(), first)])
        );
    }

    #[test]
    fn uncounted_results_are_stored_but_left_out_of_the_aggregates() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // Only a's result at T0 is uncounted: not a's other result, nor b's at the same time.
        store
            .commit(&Batch {
                uncounted: vec![("a".to_owned(), T0)],
                ..batch(&[
                    ("a", result(T0, false, 10)),
                    ("a", result(T0 + 60_000, true, 20)),
                    ("b", result(T0, false, 30)),
                ])
            })
            .unwrap();
        let now = from_millis(T0 + 120_000);
        let [a, ..] = store.history("a", now).unwrap().windows();
        assert_eq!((a.checks, a.failures, a.response_time_ms), (1, 0, 20));
        let [b, ..] = store.history("b", now).unwrap().windows();
        assert_eq!((b.checks, b.failures, b.response_time_ms), (1, 1, 30));
        assert_eq!(store.result_count().unwrap(), 3, "all three are stored");
    }

    #[test]
    fn pruning_removes_old_results_but_keeps_aggregates_and_open_incidents() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let now = millis(SystemTime::now());
        let old = now - 10 * DAY_MS;
        let mut first = batch(&[("a", result(old, false, 5)), ("a", result(now, true, 5))]);
        first.states.insert("a".to_owned(), TargetState::default());
        let incident = |id, resolved_ms| Incident {
            id,
            target: "a".to_owned(),
            started_ms: old,
            resolved_ms,
            cause: "x".to_owned(),
            reminders: Vec::new(),
        };
        first.incidents = vec![incident(1, Some(old + 1000)), incident(2, None)];
        store.commit(&first).unwrap();

        let removed = store
            .prune(
                from_millis(now),
                from_millis(now - DAY_MS),
                from_millis(now - 5 * DAY_MS),
            )
            .unwrap();
        assert_eq!(removed, 1);
        let kept: Vec<u64> = store
            .results("a", None, 10)
            .unwrap()
            .iter()
            .map(|r| r.at_ms)
            .collect();
        assert_eq!(kept, [now]);
        let ids: Vec<u64> = store.incidents(10).unwrap().iter().map(|i| i.id).collect();
        assert_eq!(
            ids,
            [2],
            "the resolved old incident went, the open one stays"
        );
        assert_eq!(store.next_incident_id().unwrap(), 3, "ids are never reused");
    }

    #[test]
    fn notifications_stay_pending_until_delivered_or_given_up() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let notification = Notification {
            id: 0,
            alert: 0,
            kind: "webhook".to_owned(),
            event: Event::Down,
            incident: Incident {
                id: 1,
                target: "a".to_owned(),
                started_ms: T0,
                resolved_ms: None,
                cause: "x".to_owned(),
                reminders: Vec::new(),
            },
            url: "http://a/".to_owned(),
            created_ms: T0,
            attempts: 0,
            next_attempt_ms: T0,
            delivered_ms: None,
            last_error: None,
        };
        let two = Batch {
            notifications: vec![notification.clone(), notification],
            ..Batch::default()
        };
        assert_eq!(store.commit(&two).unwrap(), [1, 2]);
        let mut pending = store.pending().unwrap();
        assert_eq!(pending.iter().map(|n| n.id).collect::<Vec<_>>(), [1, 2]);

        let mut failed = pending.remove(0);
        failed.attempts = 1;
        failed.next_attempt_ms = T0 + 2000;
        store.save_attempt(&failed, true).unwrap();
        let mut delivered = pending.remove(0);
        delivered.delivered_ms = Some(T0 + 1);
        store.save_attempt(&delivered, false).unwrap();

        let pending = store.pending().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].next_attempt_ms, T0 + 2000);
        store.save_attempt(&pending[0], false).unwrap();
        assert!(store.pending().unwrap().is_empty(), "given up");
        let all = store.notifications(1).unwrap();
        assert_eq!(all[1].delivered_ms, Some(T0 + 1), "kept, marked delivered");
    }

    #[test]
    fn a_batch_with_anything_in_it_is_not_empty() {
        assert!(Batch::default().is_empty());
        let incident = Incident {
            id: 1,
            target: "a".to_owned(),
            started_ms: T0,
            resolved_ms: None,
            cause: String::new(),
            reminders: Vec::new(),
        };
        let notification = Notification {
            id: 0,
            alert: 0,
            kind: "webhook".to_owned(),
            event: Event::Down,
            incident: incident.clone(),
            url: String::new(),
            created_ms: T0,
            attempts: 0,
            next_attempt_ms: T0,
            delivered_ms: None,
            last_error: None,
        };
        let batches = [
            batch(&[("a", result(T0, true, 1))]),
            Batch {
                states: HashMap::from([("a".to_owned(), TargetState::default())]),
                ..Batch::default()
            },
            Batch {
                incidents: vec![incident],
                ..Batch::default()
            },
            Batch {
                notifications: vec![notification],
                ..Batch::default()
            },
            Batch {
                messages: vec![("a".to_owned(), T0, "done".to_owned())],
                ..Batch::default()
            },
            Batch {
                certificates: vec![("a".to_owned(), None)],
                ..Batch::default()
            },
            Batch {
                push: vec![("a".to_owned(), PushRecord::default())],
                ..Batch::default()
            },
        ];
        for batch in batches {
            assert!(!batch.is_empty(), "{batch:?}");
        }
    }

    #[test]
    fn a_store_names_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.path(), dir.path().join(FILE_NAME));
        let shown = format!("{store:?}");
        assert!(shown.contains(FILE_NAME), "{shown}");
    }

    #[test]
    fn pruning_counts_the_results_it_removes_from_every_target() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut first = batch(&[
            ("a", result(T0 - 3, true, 1)),
            ("a", result(T0 - 2, true, 1)),
            ("a", result(T0, true, 1)),
            ("b", result(T0 - 1, true, 1)),
            ("b", result(T0 + 1, true, 1)),
        ]);
        for target in ["a", "b"] {
            first
                .states
                .insert(target.to_owned(), TargetState::default());
        }
        store.commit(&first).unwrap();
        let now = from_millis(T0 + DAY_MS);
        assert_eq!(
            store.prune(now, from_millis(T0), from_millis(0)).unwrap(),
            3
        );
        assert_eq!(store.results("a", None, 10).unwrap().len(), 1);
        assert_eq!(store.results("b", None, 10).unwrap().len(), 1);
        assert_eq!(
            store.prune(now, from_millis(T0), from_millis(0)).unwrap(),
            0
        );
    }

    #[test]
    fn compacting_gives_the_free_pages_back_and_keeps_every_result() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // 2,000 results in 20 commits, then the older 1,000 pruned: their pages stay in the
        // file, free.
        for commit in 0..20 {
            let mut chunk = batch(&[]);
            chunk.states.insert("a".to_owned(), TargetState::default());
            for k in commit * 100..(commit + 1) * 100 {
                chunk
                    .results
                    .push(("a".to_owned(), result(T0 + k * 1000, true, 1)));
            }
            store.commit(&chunk).unwrap();
        }
        let now = from_millis(T0 + DAY_MS);
        store
            .prune(now, from_millis(T0 + 1_000_000), from_millis(0))
            .unwrap();
        let before = store.file_bytes();
        store.compact().unwrap();
        let after = store.file_bytes();
        assert!(after < before, "{after} of {before}");
        assert_eq!(store.result_count().unwrap(), 1000);
        assert_eq!(
            store.results_span().unwrap(),
            Some((T0 + 1_000_000, T0 + 1_999_000))
        );
    }

    #[test]
    fn a_message_is_kept_with_its_result_and_pruned_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let now = millis(SystemTime::now());
        let old = now - 10 * DAY_MS;
        let mut first = batch(&[("a", result(old, false, 5)), ("a", result(now, true, 5))]);
        first.states.insert("a".to_owned(), TargetState::default());
        first.messages = vec![
            ("a".to_owned(), old, "disk full\n".to_owned()),
            ("a".to_owned(), now, "backed up 3 GB".to_owned()),
        ];
        store.commit(&first).unwrap();
        assert_eq!(
            store.messages("a", &[now, old, now + 1]).unwrap(),
            [
                Some("backed up 3 GB".to_owned()),
                Some("disk full\n".to_owned()),
                None
            ]
        );
        assert_eq!(store.messages("b", &[now]).unwrap(), [None], "per target");

        let removed = store
            .prune(
                from_millis(now),
                from_millis(now - DAY_MS),
                from_millis(now - 5 * DAY_MS),
            )
            .unwrap();
        assert_eq!(removed, 1);
        assert_eq!(
            store.messages("a", &[now, old]).unwrap(),
            [Some("backed up 3 GB".to_owned()), None],
            "the old result's message went with it"
        );
    }

    /// A store written before the messages table existed (tests/fixtures/store-v2, see its
    /// README) opens, keeps what it held, and keeps new messages.
    #[test]
    fn a_store_without_the_messages_table_opens_and_keeps_new_messages() {
        let dir = tempfile::tempdir().unwrap();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v2");
        std::fs::copy(fixture.join(FILE_NAME), dir.path().join(FILE_NAME)).unwrap();
        let store = Store::open(dir.path()).unwrap();
        let old: Vec<(u64, bool)> = store
            .results("backup", None, 10)
            .unwrap()
            .iter()
            .map(|r| (r.at_ms, r.ok))
            .collect();
        assert_eq!(old, [(T0 + 60_000, false), (T0, true)]);
        assert_eq!(
            store.messages("backup", &[T0 + 60_000, T0]).unwrap(),
            [None, None],
            "results written before have none"
        );
        assert_eq!(
            store.push_records().unwrap()["backup"].checked_in_ms,
            Some(T0 + 60_000)
        );

        let mut next = batch(&[("backup", result(T0 + 120_000, true, 0))]);
        next.messages = vec![("backup".to_owned(), T0 + 120_000, "ok".to_owned())];
        store.commit(&next).unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.messages("backup", &[T0 + 120_000]).unwrap(),
            [Some("ok".to_owned())]
        );
    }

    #[test]
    fn events_are_start_then_each_change_of_verdict_across_commits() {
        use HealthEvent::{Healthy, Start, Unhealthy};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.events("a").unwrap(), []);
        store
            .commit(&batch(&[
                ("a", result(T0, true, 1)),
                ("b", result(T0 + 1, false, 1)),
                ("a", result(T0 + 1, true, 1)),
            ]))
            .unwrap();
        store
            .commit(&batch(&[
                ("a", result(T0 + 2, false, 1)),
                ("a", result(T0 + 3, false, 1)),
            ]))
            .unwrap();
        store
            .commit(&batch(&[("a", result(T0 + 4, true, 1))]))
            .unwrap();
        assert_eq!(
            store.events("a").unwrap(),
            [
                (T0, Start),
                (T0, Healthy),
                (T0 + 2, Unhealthy),
                (T0 + 4, Healthy)
            ]
        );
        assert_eq!(
            store.events("b").unwrap(),
            [(T0 + 1, Start), (T0 + 1, Unhealthy)]
        );
        // Events outlive the results that gave them: bounded by count, not pruned by age.
        let mut states = batch(&[]);
        states.states.insert("a".to_owned(), TargetState::default());
        store.commit(&states).unwrap();
        let now = from_millis(T0 + DAY_MS);
        store.prune(now, from_millis(T0 + 4), now).unwrap();
        assert_eq!(store.events("a").unwrap().len(), 4);
    }

    /// `count` results of `target` from `T0`, a ms apart, passing when `ok(k)`.
    fn results_of(target: &str, count: u64, ok: impl Fn(u64) -> bool) -> Batch {
        let mut batch = batch(&[]);
        for k in 0..count {
            batch
                .results
                .push((target.to_owned(), result(T0 + k, ok(k), 1)));
        }
        batch
    }

    #[test]
    fn a_target_keeps_its_latest_50_events() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // 60 results, each a change: `START` and 60 events, of which the latest 50 are kept.
        let all = results_of("a", 60, |k| k % 2 == 0);
        for half in all.results.chunks(30) {
            store
                .commit(&Batch {
                    results: half.to_vec(),
                    ..Batch::default()
                })
                .unwrap();
        }
        let expected: Vec<(u64, HealthEvent)> = (10..60)
            .map(|k| {
                let event = if k % 2 == 0 {
                    HealthEvent::Healthy
                } else {
                    HealthEvent::Unhealthy
                };
                (T0 + k, event)
            })
            .collect();
        assert_eq!(store.events("a").unwrap(), expected);
    }

    /// Drops the events table and its flag, as a store written before them lacks both.
    fn forget_events(store: &Store) {
        let db = store.db().unwrap();
        let txn = db.begin_write().unwrap();
        txn.delete_table(EVENTS).unwrap();
        txn.open_table(META)
            .unwrap()
            .remove("events_derived")
            .unwrap();
        txn.commit().unwrap();
    }

    #[test]
    fn events_derived_from_kept_results_are_those_commits_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // 120 changes (more than 50), 3 (fewer), and none; each in its own commit.
        store
            .commit(&results_of("flapping", 120, |k| k % 2 == 0))
            .unwrap();
        store
            .commit(&results_of("twice", 90, |k| !(30..60).contains(&k)))
            .unwrap();
        store.commit(&results_of("steady", 90, |_| false)).unwrap();
        let targets = ["flapping", "twice", "steady"];
        let written: Vec<_> = targets.map(|t| store.events(t).unwrap()).to_vec();
        assert_eq!(written.iter().map(Vec::len).collect::<Vec<_>>(), [50, 4, 2]);
        forget_events(&store);
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        let derived: Vec<_> = targets.map(|t| store.events(t).unwrap()).to_vec();
        assert_eq!(derived, written);
    }

    /// A store written before events were kept (tests/fixtures/store-v2) gets them at start-up
    /// from its kept results, and only once: after its first result is pruned, a second
    /// derivation would put `START` at the one left.
    #[test]
    fn a_store_from_before_events_gets_them_once() {
        use HealthEvent::{Healthy, Start, Unhealthy};
        let dir = tempfile::tempdir().unwrap();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v2");
        std::fs::copy(fixture.join(FILE_NAME), dir.path().join(FILE_NAME)).unwrap();
        let store = Store::open(dir.path()).unwrap();
        let expected = [(T0, Start), (T0, Healthy), (T0 + 60_000, Unhealthy)];
        assert_eq!(store.events("backup").unwrap(), expected);

        let mut state = batch(&[]);
        state
            .states
            .insert("backup".to_owned(), TargetState::default());
        store.commit(&state).unwrap();
        let now = from_millis(T0 + DAY_MS);
        let removed = store.prune(now, from_millis(T0 + 1), from_millis(0));
        assert_eq!(removed.unwrap(), 1);
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.events("backup").unwrap(), expected);
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.events("backup").unwrap(), expected);

        store
            .commit(&batch(&[("backup", result(T0 + 120_000, true, 0))]))
            .unwrap();
        assert_eq!(
            store.events("backup").unwrap(),
            [
                (T0, Start),
                (T0, Healthy),
                (T0 + 60_000, Unhealthy),
                (T0 + 120_000, Healthy)
            ],
            "new results go on from the derived events"
        );
    }

    /// What deriving events costs at start-up in the worst case, a target that never changed
    /// (its every kept result is read): 90 days of results at 30 s. Run with `cargo test --lib
    /// measure_event_derivation -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a test"]
    fn measure_event_derivation() {
        const RESULTS: u64 = 90 * 24 * 120;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for chunk in (0..RESULTS).collect::<Vec<_>>().chunks(10_000) {
            let mut batch = batch(&[]);
            for k in chunk {
                batch
                    .results
                    .push(("a".to_owned(), result(T0 + k * 30_000, true, 1)));
            }
            store.commit(&batch).unwrap();
        }
        forget_events(&store);
        drop(store);
        let start = std::time::Instant::now();
        let store = Store::open(dir.path()).unwrap();
        let took = start.elapsed();
        assert_eq!(store.events("a").unwrap().len(), 2);
        println!("{RESULTS} results of one steady target: events derived in {took:?}");
    }

    /// Deriving events says how many it derived, and only when there were any: a new store,
    /// or one opened again, says nothing.
    #[test]
    fn deriving_events_is_logged_only_when_it_derived_some() {
        let derived = |lines: &[serde_json::Value]| -> Vec<serde_json::Value> {
            lines
                .iter()
                .filter(|line| line["message"] == "events derived from the kept results")
                .map(|line| line["events"].clone())
                .collect()
        };
        let dir = tempfile::tempdir().unwrap();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v2");
        std::fs::copy(fixture.join(FILE_NAME), dir.path().join(FILE_NAME)).unwrap();
        let said = crate::telemetry::logged(|_| drop(Store::open(dir.path()).unwrap()));
        assert_eq!(derived(&said), [serde_json::json!(3)]);
        let said = crate::telemetry::logged(|_| drop(Store::open(dir.path()).unwrap()));
        assert_eq!(derived(&said), [] as [serde_json::Value; 0]);
        let fresh = tempfile::tempdir().unwrap();
        let said = crate::telemetry::logged(|_| drop(Store::open(fresh.path()).unwrap()));
        assert_eq!(derived(&said), [] as [serde_json::Value; 0]);
    }
}
