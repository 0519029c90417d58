//! Whether the store commits: what `/readyz`, `/health`, the status page, the API and the metrics
//! say about it.
//!
//! The ledger's thread reports each commit period here: up to date (committed, or nothing to
//! commit) or failed with the store's error. Everyone else reads: the data is *stale* once the
//! ledger has not been up to date for [`STALE_AFTER`], whether because commits fail or because
//! a commit hangs on the disk. A monitor that cannot record what it sees must not report healthy.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use prometheus::{Gauge, IntCounter, IntGauge, Opts, Registry};

use super::ledger::COMMIT_EVERY;
use super::store::{from_millis, millis};
use crate::lifecycle::{Component, ComponentCheck};

/// The data is stale once the ledger has not been up to date for this long: three commit periods.
pub const STALE_AFTER: Duration = COMMIT_EVERY.saturating_mul(3);

/// The store's health, shared by the ledger's thread (which writes it) and the readers.
#[derive(Debug)]
pub struct StoreHealth {
    /// What `fresh_nanos` counts from.
    origin: Instant,
    /// When the ledger was last up to date, ns since `origin`: monotonic, so a corrected wall
    /// clock neither hides nor fakes staleness.
    fresh_nanos: AtomicU64,
    /// The same moment on the wall clock, ms since the epoch, for "stale since".
    fresh_ms: AtomicU64,
    /// The store's error since the first failed commit of the current run of failures.
    failure: Mutex<Option<String>>,
    /// The gauges and counters below, exported by [`StoreHealth::register`].
    metrics: StoreMetrics,
}

/// The store's metrics.
#[derive(Debug, Clone)]
struct StoreMetrics {
    /// `monitor_store_up`: 1 while the data is not stale.
    up: IntGauge,
    /// `monitor_last_commit_timestamp_seconds`: the last successful commit.
    last_commit: Gauge,
    /// `monitor_store_bytes`: the database file's size.
    bytes: IntGauge,
    /// `monitor_store_commit_errors_total`: failed commits and failed re-opens.
    commit_errors: IntCounter,
    /// `monitor_results_dropped_total`: results held in memory while the store could not commit,
    /// dropped oldest first past the bound.
    dropped: IntCounter,
}

/// Stale data: since when, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    /// When the ledger was last up to date, ms since the epoch.
    pub since_ms: u64,
    /// The store's error, or that the ledger has not committed.
    pub cause: String,
}

impl StoreHealth {
    /// Up to date now, with `bytes` in the file.
    ///
    /// # Errors
    /// When a metric cannot be made (a programming error).
    pub fn new(bytes: u64) -> prometheus::Result<Self> {
        let metrics = StoreMetrics {
            up: IntGauge::new(
                "monitor_store_up",
                "Whether the monitor's store has committed within the last three commit periods",
            )?,
            last_commit: Gauge::new(
                "monitor_last_commit_timestamp_seconds",
                "When the monitor's store last committed, Unix seconds",
            )?,
            bytes: IntGauge::new("monitor_store_bytes", "Size of the monitor's store file")?,
            commit_errors: IntCounter::with_opts(Opts::new(
                "monitor_store_commit_errors_total",
                "Commits (and re-opens) of the monitor's store that failed",
            ))?,
            dropped: IntCounter::new(
                "monitor_results_dropped_total",
                "Probe results dropped, oldest first, because the store could not commit them \
                 and too many were held in memory",
            )?,
        };
        let now = SystemTime::now();
        metrics.up.set(1);
        metrics.last_commit.set(seconds(now));
        metrics.bytes.set(i64::try_from(bytes).unwrap_or(i64::MAX));
        Ok(Self {
            origin: Instant::now(),
            fresh_nanos: AtomicU64::new(0),
            fresh_ms: AtomicU64::new(millis(now)),
            failure: Mutex::new(None),
            metrics,
        })
    }

    /// Exports the metrics in `registry`.
    ///
    /// # Errors
    /// When a name is taken (a programming error).
    pub fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        let m = &self.metrics;
        registry.register(Box::new(m.up.clone()))?;
        registry.register(Box::new(m.last_commit.clone()))?;
        registry.register(Box::new(m.bytes.clone()))?;
        registry.register(Box::new(m.commit_errors.clone()))?;
        registry.register(Box::new(m.dropped.clone()))
    }

    /// The ledger is up to date at `now`; `committed` when it wrote something. Returns the
    /// error of the run of failures this ends, if it does.
    pub fn fresh(&self, now: SystemTime, committed: bool) -> Option<String> {
        self.fresh_nanos.store(
            u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX),
            Ordering::Release,
        );
        self.fresh_ms.store(millis(now), Ordering::Release);
        if committed {
            self.metrics.last_commit.set(seconds(now));
        }
        self.metrics.up.set(1);
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// A commit (or re-open) failed with `error`.
    pub fn failed(&self, error: &str) {
        self.metrics.commit_errors.inc();
        *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(error.to_owned());
        if self.stale().is_some() {
            self.metrics.up.set(0);
        }
    }

    /// Records the store file's size.
    pub fn set_bytes(&self, bytes: u64) {
        self.metrics
            .bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    /// Counts `count` results dropped unrecorded.
    pub fn dropped(&self, count: usize) {
        self.metrics
            .dropped
            .inc_by(u64::try_from(count).unwrap_or(u64::MAX));
    }

    /// Whether the data is stale now, since when and why.
    #[must_use]
    pub fn stale(&self) -> Option<Stale> {
        let age = self.age();
        if age <= STALE_AFTER {
            return None;
        }
        self.metrics.up.set(0);
        let cause = self
            .failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .unwrap_or_else(|| {
                format!(
                    "the monitor has not committed to its store for {}",
                    humantime::format_duration(Duration::from_secs(age.as_secs()))
                )
            });
        Some(Stale {
            since_ms: self.fresh_ms.load(Ordering::Acquire),
            cause,
        })
    }

    /// Time since the ledger was last up to date.
    fn age(&self) -> Duration {
        let fresh = Duration::from_nanos(self.fresh_nanos.load(Ordering::Acquire));
        self.origin.elapsed().saturating_sub(fresh)
    }
}

impl Component for StoreHealth {
    fn check(&self) -> ComponentCheck {
        ComponentCheck {
            name: "monitor:store",
            component_type: "datastore",
            observed_seconds: self.age().as_secs(),
            failure: self.stale().map(|stale| {
                format!(
                    "the monitor's store has not committed since {}: {}",
                    crate::clock::rfc3339_millis(from_millis(stale.since_ms)),
                    stale.cause
                )
            }),
        }
    }
}

/// For the ledger's tests, which cannot wait three commit periods of real time.
#[cfg(test)]
impl StoreHealth {
    /// Stale with `error` since `since`: last up to date four commit periods ago, with one
    /// failed commit since.
    pub(crate) fn stale_since(since: SystemTime, error: &str) -> Self {
        let health = Self::new(0).expect("the metrics are made");
        health.failed(error);
        health.fresh_ms.store(millis(since), Ordering::Release);
        let origin = Instant::now()
            .checked_sub(STALE_AFTER + COMMIT_EVERY)
            .expect("the monotonic clock counts from before four commit periods ago");
        Self { origin, ..health }
    }
}

#[allow(clippy::cast_precision_loss)] // Unix seconds fit in f64 exactly
fn seconds(time: SystemTime) -> f64 {
    millis(time) as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_until_three_periods_pass_then_stale_with_the_error_and_since() {
        let health = StoreHealth::new(0).unwrap();
        assert_eq!(health.stale(), None);
        assert_eq!(health.check().failure, None);
        health.failed("store: No space left on device (os error 28)");
        assert_eq!(health.stale(), None, "one failure is not yet stale");
        // Pretend the last fresh moment was four periods ago.
        let since = health.fresh_ms.load(Ordering::Acquire);
        health.fresh_nanos.store(0, Ordering::Release);
        let origin = Instant::now()
            .checked_sub(STALE_AFTER + COMMIT_EVERY)
            .unwrap();
        let health = StoreHealth { origin, ..health };
        let stale = health.stale().unwrap();
        assert_eq!(stale.since_ms, since);
        assert_eq!(stale.cause, "store: No space left on device (os error 28)");
        assert_eq!(health.metrics.up.get(), 0);
        assert_eq!(health.metrics.commit_errors.get(), 1);
        let failure = health.check().failure.unwrap();
        assert!(
            failure.starts_with("the monitor's store has not committed since "),
            "{failure}"
        );
        assert!(
            failure.ends_with("No space left on device (os error 28)"),
            "{failure}"
        );

        assert_eq!(
            health.fresh(SystemTime::now(), true).as_deref(),
            Some("store: No space left on device (os error 28)"),
            "the run of failures it ends"
        );
        assert_eq!(health.stale(), None);
        assert_eq!(health.metrics.up.get(), 1);
    }

    #[test]
    fn the_last_commit_gauge_is_the_time_of_the_last_commit_in_unix_seconds() {
        let health = StoreHealth::new(0).unwrap();
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_796_581_800_125);
        health.fresh(at, true);
        assert_eq!(health.metrics.last_commit.get(), 1_796_581_800.125);
        // Up to date without writing anything: the last commit stays where it was.
        health.fresh(at + Duration::from_secs(1), false);
        assert_eq!(health.metrics.last_commit.get(), 1_796_581_800.125);
    }
}
