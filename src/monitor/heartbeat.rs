//! Watching the watcher: with `heartbeat_url` set, the monitor requests it every
//! `heartbeat_interval` while it makes progress, so an outside dead-man's switch (Healthchecks.io,
//! or another monitor) notices when this one stops: dead, hung, or no longer probing.
//!
//! Progress is two clocks the ledger's thread sets ([`Progress`]): its own loop, which turns at
//! least once a second, and the last round it received. A heartbeat is sent only while the loop
//! turned within the last [`STALL`] and a round arrived within twice the longest interval (plus
//! its timeout and the agents' margin), so a stuck ledger or a silent schedule withholds it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use reqwest::Client;
use tokio_util::sync::CancellationToken;

use super::config::{Heartbeat, MonitorConfig};
use super::remote::ANSWER_MARGIN;
use super::store::millis;

/// A ledger loop that has not turned for this long is stuck.
pub const STALL: Duration = Duration::from_secs(10);
/// A heartbeat request gives up after this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// When the ledger's loop last turned and last received a round, ms since the epoch (0: never).
#[derive(Debug, Default)]
pub struct Progress {
    /// The ledger's loop.
    tick_ms: AtomicU64,
    /// The last round received.
    round_ms: AtomicU64,
}

impl Progress {
    /// The ledger's loop turned at `now`.
    pub fn tick(&self, now: SystemTime) {
        self.tick_ms.store(millis(now), Ordering::Relaxed);
    }

    /// A round arrived at `now`.
    pub fn round(&self, now: SystemTime) {
        self.round_ms.store(millis(now), Ordering::Relaxed);
    }

    /// Why the monitor is not making progress at `now`, or `None` when it is. `quiet` is how
    /// long the schedule may be silent; `started` is when the monitor started.
    #[must_use]
    pub fn stalled(&self, now: SystemTime, quiet: Duration, started: SystemTime) -> Option<String> {
        let age = |ms: u64| Duration::from_millis(millis(now).saturating_sub(ms));
        let tick = self.tick_ms.load(Ordering::Relaxed);
        if tick == 0 || age(tick) > STALL {
            return Some("the ledger's loop has not turned".to_owned());
        }
        let round = self.round_ms.load(Ordering::Relaxed).max(millis(started));
        if age(round) > quiet {
            return Some(format!(
                "no round has arrived for {}",
                humantime::format_duration(Duration::from_secs(age(round).as_secs()))
            ));
        }
        None
    }
}

/// How long the schedule may be silent before the heartbeat is withheld: twice the longest
/// interval, plus its timeout and the agents' margin. Push targets are not scheduled, so they
/// do not count; with no probed target at all, only the ledger's own loop is watched.
#[must_use]
pub fn quiet(config: &MonitorConfig) -> Duration {
    const UNWATCHED: Duration = Duration::from_secs(100 * 365 * 86_400);
    config
        .targets
        .iter()
        .filter(|t| t.push().is_none())
        .map(|t| t.interval * 2 + t.timeout + ANSWER_MARGIN)
        .max()
        .unwrap_or(if config.targets.is_empty() {
            STALL
        } else {
            UNWATCHED
        })
}

/// Requests `heartbeat.url` every interval while `progress` shows progress, until `stop`.
pub async fn beat(
    heartbeat: Heartbeat,
    quiet: Duration,
    progress: Arc<Progress>,
    client: Client,
    stop: CancellationToken,
) {
    let started = SystemTime::now();
    let mut ticks = tokio::time::interval_at(
        tokio::time::Instant::from_std(Instant::now() + heartbeat.interval),
        heartbeat.interval,
    );
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = stop.cancelled() => return,
        }
        if let Some(reason) = progress.stalled(SystemTime::now(), quiet, started) {
            tracing::error!(
                reason,
                "heartbeat withheld: the monitor is not making progress"
            );
            continue;
        }
        let sent = client
            .get(heartbeat.url.clone())
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => {}
            // The URL may hold a secret (a ping key): it is never logged.
            Ok(response) => {
                tracing::warn!(status = response.status().as_u16(), "heartbeat refused");
            }
            Err(err) => {
                tracing::warn!(error = %super::probe::describe(&err.without_url()), "heartbeat failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::store::from_millis;

    #[test]
    fn beats_each_interval_from_one_after_the_start_and_warns_of_a_refusal_only() {
        const INTERVAL: Duration = Duration::from_millis(300);
        let (url, mut arrivals) = crate::monitor::tests::answering(vec![503, 200, 200]);
        let progress = Arc::new(Progress::default());
        progress.tick(SystemTime::now());
        progress.round(SystemTime::now());
        let heartbeat = Heartbeat {
            url: url.parse().unwrap(),
            interval: INTERVAL,
        };
        let mut came = Vec::new();
        let said = crate::telemetry::logged(|_| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let stop = CancellationToken::new();
                let started = Instant::now();
                let hour = Duration::from_secs(3600);
                let client = crate::monitor::probe::Prober::new(Vec::new())
                    .unwrap()
                    .alert_client();
                let beating = tokio::spawn(beat(heartbeat, hour, progress, client, stop.clone()));
                // The third request comes after the second answer's outcome was logged (or not).
                for _ in 0..3 {
                    let at = tokio::time::timeout(Duration::from_secs(10), arrivals.recv()).await;
                    came.push(at.expect("a heartbeat within 10 s").unwrap() - started);
                }
                stop.cancel();
                beating.await.unwrap();
            });
        });
        // Beat k is due k intervals after the start, never earlier.
        for (k, at) in (1..).zip(&came) {
            assert!(*at >= INTERVAL * k, "beat {k} too early: {came:?}");
        }
        let refused: Vec<_> = said
            .iter()
            .filter(|line| line["message"] == "heartbeat refused")
            .map(|line| &line["status"])
            .collect();
        assert_eq!(refused, [503]);
    }

    #[test]
    fn a_heartbeat_needs_a_turning_ledger_and_recent_rounds() {
        let start = from_millis(1_800_000_000_000);
        let at = |s: u64| start + Duration::from_secs(s);
        let quiet = Duration::from_secs(30);
        let progress = Progress::default();
        assert_eq!(
            progress.stalled(at(1), quiet, start).as_deref(),
            Some("the ledger's loop has not turned")
        );
        progress.tick(at(1));
        assert_eq!(progress.stalled(at(2), quiet, start), None, "just started");
        progress.round(at(5));
        progress.tick(at(40));
        assert_eq!(
            progress.stalled(at(40), quiet, start).as_deref(),
            Some("no round has arrived for 35s")
        );
        progress.round(at(39));
        assert_eq!(progress.stalled(at(40), quiet, start), None);
        assert_eq!(
            progress.stalled(at(51), quiet, start).as_deref(),
            Some("the ledger's loop has not turned"),
            "11 s since it turned"
        );
    }

    #[test]
    fn the_ledger_and_the_schedule_may_be_quiet_up_to_their_limits_exactly() {
        let start = from_millis(1_800_000_000_000);
        let quiet = Duration::from_secs(30);
        let progress = Progress::default();
        progress.tick(start);
        assert_eq!(progress.stalled(start + STALL, quiet, start), None);
        progress.tick(start + quiet);
        assert_eq!(progress.stalled(start + quiet, quiet, start), None);
    }

    #[test]
    fn the_schedule_may_be_quiet_for_twice_the_longest_interval_and_its_timeout() {
        let parse = |toml: &str| {
            let token = |_: &str| Some("0123456789abcdef0123456789abcdef".to_owned());
            crate::monitor::config::parse(toml, token).unwrap()
        };
        let probed = parse(
            "[[target]]\nname = \"a\"\nurl = \"http://127.0.0.1:1/\"\ninterval = \"60s\"\n\
             timeout = \"7s\"\n\
             [[target]]\nname = \"b\"\nurl = \"http://127.0.0.1:2/\"\ninterval = \"30s\"\n\
             timeout = \"20s\"\n\
             [[target]]\nname = \"job\"\nkind = \"push\"\nperiod = \"1d\"\n\
             token = \"${TOKEN}\"\n",
        );
        assert_eq!(quiet(&probed), Duration::from_secs(127) + ANSWER_MARGIN);
        let pushed = parse(
            "[[target]]\nname = \"job\"\nkind = \"push\"\nperiod = \"1d\"\n\
             token = \"${TOKEN}\"\n",
        );
        assert_eq!(
            quiet(&pushed),
            Duration::from_secs(3_153_600_000),
            "100 years"
        );
        // No target at all (the config refuses that, the type does not).
        let mut none = pushed;
        none.targets.clear();
        assert_eq!(quiet(&none), STALL);
    }
}
