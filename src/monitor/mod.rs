//! Monitor mode (`health-service monitor`): probe HTTP targets, keep their history, alert on down
//! and recovery, and serve their status.
//!
//! # Layout
//! - [`config`]: the TOML file, `${NAME}` from the environment, checked with one line per problem.
//! - [`conditions`]: Gatus's condition syntax, parsed once and judged per probe.
//! - [`redact`]: what of a target's URL, headers and `${NAME}` values may be shown, and where.
//! - [`probe`]: the HTTP client (rustls with graviola, Mozilla roots), timeouts, the body limit;
//!   [`probe::push`], the clock of targets that check in instead.
//! - [`schedule`]: one task per target, spread over the interval.
//! - [`round`]: every location probes at once; the quorum rule decides.
//! - [`remote`]: `POST /api/v1/probe` between the monitor and its agents ([`crate::agent`]).
//! - [`heartbeat`]: the request an outside dead-man's switch waits for.
//! - [`maintenance`]: `[[maintenance]]` windows in their time zones: when failures alert nobody.
//! - [`ledger`]: results → states, incidents and notifications; the thread that commits them.
//! - [`store`]: the redb database: results, aggregates, states, incidents, notifications.
//! - [`health`]: whether the store commits: readiness, `/health`, the stale banner, metrics.
//! - [`alerts`]: one file per notifier and the delivery loop with retries.
//! - [`api`]: `/api/v1/*`, read-only.
//! - [`checkin`]: where push targets check in (Healthchecks' ping URLs, Gatus's external route).
//! - [`status`]: the status page, badges and the Atom feed of incidents.
//! - [`metrics`]: `probe_*` gauges and `monitor_notifications_total`.
//! - [`clock`]: the time the ledger and delivery loops read, which tests move by hand.
//!
//! The rest of the service (server, probes, docs, metrics listener) is shared: monitor mode is the
//! same application with [`api::MonitorApi`] beside the others and [`Monitor::start`]'s tasks
//! running until shutdown.

pub mod alerts;
pub mod api;
pub mod checkin;
pub mod clock;
pub mod compat;
pub mod conditions;
pub mod config;
pub mod health;
pub mod heartbeat;
pub mod ledger;
pub mod maintenance;
pub mod metrics;
pub mod probe;
pub mod redact;
pub mod remote;
pub mod round;
pub mod schedule;
pub mod status;
pub mod store;

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::Sender;

use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use self::alerts::Direct;
use self::checkin::Pushes;
use self::clock::SystemClock;
use self::config::MonitorConfig;
use self::health::StoreHealth;
use self::ledger::{Ledger, Outlets, Report};
use self::metrics::MonitorMetrics;
use self::probe::{Prober, ProberError};
use self::remote::Agents;
use self::round::Voters;
use self::store::{Store, StoreError};

/// What monitor mode adds to the service's API: `/api/v1/*`, and the status page, badges and
/// feed, where `GET /` now leads, and Gatus's and Uptime Kuma's APIs.
pub type MonitorApis = (
    api::MonitorApi,
    status::StatusApi,
    checkin::CheckInApi,
    compat::gatus::GatusApi,
    compat::kuma::KumaApi,
);

impl crate::api::Extension for MonitorApis {
    const HOME: &'static str = "/status";
}

/// Why monitor mode could not start.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The store could not be opened or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Prober(#[from] ProberError),
    /// The ledger's thread could not be started.
    #[error("cannot start the monitor's ledger thread: {0}")]
    Thread(#[from] std::io::Error),
    /// The store's metrics could not be made (a programming error).
    #[error("cannot make the store's metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// The share of the data directory's filesystem the store may fill when `max_store_size` is
/// not set.
pub const DEFAULT_STORE_SHARE: f64 = 0.8;

/// `max_store_size`, or [`DEFAULT_STORE_SHARE`] of the size of the filesystem `dir` is on (`None`
/// when that cannot be read: no limit).
#[must_use]
pub fn max_store_bytes(config: &MonitorConfig, dir: &Path) -> Option<u64> {
    if let Some(max) = config.max_store_size {
        return Some(max);
    }
    let (total, _) = filesystem_bytes(dir)?;
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    Some((total as f64 * DEFAULT_STORE_SHARE) as u64)
}

/// The store's bytes per raw result (a round, with every location's vote), aggregates, states
/// and redb's own pages included, as `benches/monitor.py --agents 2` measured it, rounded up
/// (README, "Performance": 318 with three locations, 313 with one).
pub const BYTES_PER_RESULT: u64 = 320;
/// Bytes per hourly or daily aggregate row, key included (a bound, not a measurement).
const BYTES_PER_AGGREGATE: u64 = 64;

/// What the configured targets, intervals and retention will fill the store with.
#[must_use]
pub fn expected_store_bytes(config: &MonitorConfig) -> u64 {
    let retention = config.retention.as_secs();
    config
        .targets
        .iter()
        .map(|target| {
            let results = retention / target.interval.as_secs().max(1);
            // 30 days of hourly rows, at least 91 days of daily ones, and the events (smaller
            // rows, counted as aggregates for a bound).
            let aggregates =
                store::HOURS_KEPT + 1 + (retention / 86_400).max(91) + store::MAX_EVENTS as u64;
            results * BYTES_PER_RESULT + aggregates * BYTES_PER_AGGREGATE
        })
        .sum()
}

/// The size and the free bytes (for unprivileged users) of the filesystem `dir` is on; `dir`'s
/// nearest existing ancestor when it does not exist yet.
#[must_use]
pub fn filesystem_bytes(dir: &Path) -> Option<(u64, u64)> {
    let existing = dir.ancestors().find(|d| d.exists())?;
    let existing = if existing.as_os_str().is_empty() {
        Path::new(".")
    } else {
        existing
    };
    let stat = rustix::fs::statvfs(existing).ok()?;
    Some((
        stat.f_blocks.saturating_mul(stat.f_frsize),
        stat.f_bavail.saturating_mul(stat.f_frsize),
    ))
}

/// A monitor ready to run: checked config, open store, client, resumed state.
pub struct Monitor {
    config: Arc<MonitorConfig>,
    store: Arc<Store>,
    prober: Arc<Prober>,
    /// Where rounds and check-ins go: the ledger's thread, already running, which commits them.
    results: Sender<Report>,
    /// Push targets and their clocks, shared with the check-in routes.
    pushes: Arc<Pushes>,
    /// The ledger's thread; it ends once every sender of `results` is gone.
    ledger: std::thread::JoinHandle<()>,
    /// Wakes the delivery loop when the ledger commits new notifications.
    wake: Arc<Notify>,
    /// Whether the store commits.
    health: Arc<StoreHealth>,
    /// What the ledger sends without the outbox while the store cannot commit.
    direct: UnboundedReceiver<Direct>,
    /// The ledger's progress, which the heartbeat waits on.
    progress: Arc<heartbeat::Progress>,
}

impl Monitor {
    /// Opens the store in `data_dir` and resumes from what it holds.
    ///
    /// # Errors
    /// See [`MonitorError`].
    pub fn open(config: MonitorConfig, data_dir: &Path) -> Result<Self, MonitorError> {
        Self::open_with(config, data_dir, Prober::from_env()?)
    }

    /// [`Monitor::open`] with a given client (tests trust their own CA through it).
    ///
    /// # Errors
    /// See [`MonitorError`].
    pub fn open_with(
        config: MonitorConfig,
        data_dir: &Path,
        prober: Prober,
    ) -> Result<Self, MonitorError> {
        let user_agent = probe::user_agent(
            &config.location,
            config.public_url.as_ref().map(reqwest::Url::as_str),
        );
        let prober = Arc::new(prober.with_user_agent(&user_agent)?);
        let store = Arc::new(Store::open_at(data_dir, &config.location)?);
        // Each target's Uptime Kuma id, given now in the file's order to the names not seen
        // before, so the API only reads them.
        let names: Vec<&str> = config.targets.iter().map(|t| t.name.as_str()).collect();
        store.monitor_ids(&names)?;
        let config = Arc::new(config);
        let ledger = Ledger::load(config.clone(), &store)?;
        let records = store.push_records()?;
        // The thread is started here, where a failure can still stop start-up; it waits for
        // results, and ends at once if the monitor is dropped without starting.
        let (results, received) = std::sync::mpsc::channel();
        let wake = Arc::new(Notify::new());
        let health = Arc::new(StoreHealth::new(store.file_bytes())?);
        let (direct, direct_received) = tokio::sync::mpsc::unbounded_channel();
        let max_store_bytes = max_store_bytes(&config, data_dir).unwrap_or(u64::MAX);
        let progress = Arc::new(heartbeat::Progress::default());
        let outlets = Outlets {
            delivery: wake.clone(),
            health: health.clone(),
            direct,
            max_store_bytes,
            progress: progress.clone(),
            clock: Arc::new(SystemClock),
        };
        let ledger = ledger::spawn(ledger, store.clone(), received, outlets)?;
        let pushes = Arc::new(Pushes::new(
            &config,
            &records,
            results.clone(),
            std::time::SystemTime::now(),
        ));
        Ok(Self {
            config,
            store,
            prober,
            results,
            pushes,
            ledger,
            wake,
            health,
            direct: direct_received,
            progress,
        })
    }

    /// The API and pages over this monitor's config and store.
    #[must_use]
    pub fn api(&self) -> MonitorApis {
        let monitoring = api::Monitoring {
            config: self.config.clone(),
            store: self.store.clone(),
            health: self.health.clone(),
        };
        (
            api::MonitorApi {
                monitoring: monitoring.clone(),
            },
            status::StatusApi {
                monitoring: monitoring.clone(),
                cache: Arc::default(),
            },
            checkin::CheckInApi {
                pushes: self.pushes.clone(),
            },
            compat::gatus::GatusApi {
                monitoring: monitoring.clone(),
            },
            compat::kuma::KumaApi { monitoring },
        )
    }

    /// Whether the store commits: readiness and `/health` watch it, the metrics export it.
    #[must_use]
    pub fn health(&self) -> Arc<StoreHealth> {
        self.health.clone()
    }

    /// Starts probing and delivering until `stop` is cancelled.
    #[must_use]
    pub fn start(self, metrics: Arc<MonitorMetrics>, stop: CancellationToken) -> Running {
        let Self {
            config,
            store,
            prober,
            results,
            pushes,
            ledger,
            wake,
            health: _,
            direct,
            progress,
        } = self;
        let tasks = TaskTracker::new();
        if let Some(heartbeat) = config.heartbeat.clone() {
            tasks.spawn(heartbeat::beat(
                heartbeat,
                heartbeat::quiet(&config),
                progress,
                prober.alert_client(),
                stop.clone(),
            ));
        }
        pushes.start(metrics.clone(), &stop, &tasks);
        let targets = Arc::new(config.targets.clone());
        metrics.locations(
            &config.location,
            config.locations.iter().map(|l| l.name.as_str()),
        );
        schedule::spawn(
            targets,
            Arc::new(voters(&config, &prober)),
            metrics.clone(),
            &results,
            &stop,
            &tasks,
        );
        // The schedule's tasks hold the only senders now: when they end, the ledger commits
        // what is left and ends too.
        drop(results);
        tasks.spawn(alerts::deliver_direct(
            config.clone(),
            prober.notifier(),
            direct,
            metrics.clone(),
            stop.clone(),
        ));
        tasks.spawn(alerts::deliver(
            store,
            config,
            prober.notifier(),
            wake,
            metrics,
            stop,
            Arc::new(SystemClock),
        ));
        tasks.close();
        tracing::info!("monitor started");
        Running { tasks, ledger }
    }
}

/// Who votes in each round: this process's prober, and the agents when `[[location]]`s are set.
fn voters(config: &MonitorConfig, prober: &Arc<Prober>) -> Voters<Arc<Prober>> {
    let agents = (!config.locations.is_empty()).then(|| {
        let public_url = config.public_url.as_ref().map(ToString::to_string);
        let client = Agents::new(prober.alert_client(), public_url);
        (client, config.locations.clone())
    });
    Voters {
        prober: prober.clone(),
        location: config.location.clone(),
        agents,
    }
}

/// A started monitor.
pub struct Running {
    /// Probing and delivery.
    tasks: TaskTracker,
    /// Commits results until the probing tasks end.
    ledger: std::thread::JoinHandle<()>,
}

impl Running {
    /// Waits until the tasks have stopped (after `stop` was cancelled) and the ledger has
    /// committed the last results.
    pub async fn finish(self) {
        self.tasks.wait().await;
        let ledger = self.ledger;
        let _ = tokio::task::spawn_blocking(move || ledger.join()).await;
        tracing::info!("monitor stopped; every result is committed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> MonitorConfig {
        config::parse(text, |_| None).unwrap()
    }

    #[test]
    fn agents_vote_only_when_locations_are_set() {
        let prober = Arc::new(Prober::new(Vec::new()).unwrap());
        let target = "[[target]]\nname = \"a\"\nurl = \"http://127.0.0.1:1/\"\n";
        let alone = voters(&parsed(target), &prober);
        assert!(alone.agents.is_none());
        let with_agent = voters(
            &parsed(&format!(
                "{target}[[location]]\nname = \"ams\"\nurl = \"http://ams.internal:8080\"\n\
                 token = \"0123456789abcdef0123456789abcdef\"\n"
            )),
            &prober,
        );
        let (_, locations) = with_agent.agents.expect("the agent at ams votes");
        let names: Vec<&str> = locations.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["ams"]);
    }

    /// A server that answers its requests with `statuses` in turn, and sends when each came.
    pub(super) fn answering(statuses: Vec<u16>) -> (String, UnboundedReceiver<std::time::Instant>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/ping", listener.local_addr().unwrap());
        let (came, arrivals) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for (mut stream, status) in listener.incoming().flatten().zip(statuses) {
                let _ = came.send(std::time::Instant::now());
                let _ = stream.read(&mut [0; 4096]);
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        (url, arrivals)
    }

    // Current-thread: after `stop` is cancelled, the probing and delivery tasks can end only
    // while `finish` awaits them, so nothing but `finish` can have committed the result below.
    #[tokio::test(flavor = "current_thread")]
    async fn finish_returns_after_the_last_result_is_committed_and_the_store_let_go() {
        let dir = tempfile::tempdir().unwrap();
        let (url, _arrivals) = answering(vec![200]);
        let config = parsed(&format!(
            "[[target]]\nname = \"a\"\nurl = \"{url}\"\ninterval = \"1h\"\n"
        ));
        let monitor =
            Monitor::open_with(config, dir.path(), Prober::new(Vec::new()).unwrap()).unwrap();
        let (store, progress) = (monitor.store.clone(), monitor.progress.clone());
        let metrics = Arc::new(MonitorMetrics::unexposed().unwrap());
        let stop = CancellationToken::new();
        let running = monitor.start(metrics, stop.clone());
        // The first round is probed at once; wait (bounded) until the ledger has received it.
        // `stalled` is None once a round arrived within the hour and the ledger's loop turned.
        let received = || {
            let epoch = std::time::SystemTime::UNIX_EPOCH;
            let hour = std::time::Duration::from_secs(3600);
            progress
                .stalled(std::time::SystemTime::now(), hour, epoch)
                .is_none()
        };
        for _ in 0..500 {
            if received() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(received(), "no round reached the ledger within 5 s");
        stop.cancel();
        running.finish().await;
        assert_eq!(
            Arc::strong_count(&store),
            1,
            "a task or the ledger still holds the store"
        );
        assert_eq!(store.result_count().unwrap(), 1);
    }

    #[test]
    fn expected_store_bytes_counts_results_and_aggregates_per_target() {
        // 100 days: 8,640,000 s, so more than the 91 days of daily rows kept at least.
        let config = parsed(
            "[monitor]\nretention = \"100d\"\n\
             [[target]]\nname = \"a\"\nurl = \"http://127.0.0.1:1/\"\ninterval = \"60s\"\n\
             [[target]]\nname = \"b\"\nurl = \"http://127.0.0.1:2/\"\ninterval = \"7s\"\ntimeout = \"5s\"",
        );
        // a: 144,000 results; b: 1,234,285 (8,640,000 / 7, rounded down); each 720 hourly
        // rows + 1 + 100 daily ones + 50 events.
        let aggregates = (720 + 1 + 100 + 50) * 64;
        assert_eq!(aggregates, 55_744);
        assert_eq!(
            expected_store_bytes(&config),
            144_000 * 320 + aggregates + 1_234_285 * 320 + aggregates
        );
        assert_eq!(expected_store_bytes(&config), 441_162_688);
    }

    #[test]
    fn expected_store_bytes_keeps_91_days_of_daily_rows_under_a_shorter_retention() {
        // The default retention, 90 days: 129,600 results a minute apart, 720 + 1 + 91 rows
        // and 50 events.
        let config = parsed("[[target]]\nname = \"a\"\nurl = \"http://127.0.0.1:1/\"");
        assert_eq!(expected_store_bytes(&config), 129_600 * 320 + 862 * 64);
        assert_eq!(expected_store_bytes(&config), 41_527_168);
    }

    #[test]
    fn max_store_bytes_is_the_setting_or_four_fifths_of_the_filesystem() {
        let dir = tempfile::tempdir().unwrap();
        let set = parsed(
            "[monitor]\nmax_store_size = \"5MiB\"\n\
             [[target]]\nname = \"a\"\nurl = \"http://127.0.0.1:1/\"",
        );
        assert_eq!(max_store_bytes(&set, dir.path()), Some(5 * 1024 * 1024));

        let unset = parsed("[[target]]\nname = \"a\"\nurl = \"http://127.0.0.1:1/\"");
        let (total, free) = filesystem_bytes(dir.path()).unwrap();
        assert!(
            total > 1024 * 1024 && free > 0 && free <= total,
            "{total} {free}"
        );
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let share = (total as f64 * 0.8) as u64;
        assert_eq!(max_store_bytes(&unset, dir.path()), Some(share));
        // A data directory not made yet: the filesystem it will be on.
        assert_eq!(
            filesystem_bytes(&dir.path().join("not/yet")).map(|(total, _)| total),
            Some(total)
        );
    }
}
