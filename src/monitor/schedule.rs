//! When each target is probed: one task per target, so a slow target never delays another, and
//! targets that share an interval spread over it instead of firing together.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::config::Target;
use super::ledger::Report;
use super::metrics::MonitorMetrics;
use super::probe::Probe;
use super::round::Voters;

/// The delay before each target's first probe: the k-th of n targets with the same interval
/// starts k/n of the way into it.
#[must_use]
pub fn offsets(targets: &[Target]) -> Vec<Duration> {
    let mut counts: HashMap<Duration, u32> = HashMap::new();
    for target in targets {
        *counts.entry(target.interval).or_default() += 1;
    }
    let mut seen: HashMap<Duration, u32> = HashMap::new();
    targets
        .iter()
        .map(|target| {
            let position = seen.entry(target.interval).or_default();
            let offset = target.interval / counts[&target.interval] * *position;
            *position += 1;
            offset
        })
        .collect()
}

/// Starts one probing task per target on `tasks`; each sends `(index, round)` to `results`
/// after every round (every location probing at once), until `stop` is cancelled.
pub fn spawn<P: Probe>(
    targets: Arc<Vec<Target>>,
    voters: Arc<Voters<P>>,
    metrics: Arc<MonitorMetrics>,
    results: &Sender<Report>,
    stop: &CancellationToken,
    tasks: &TaskTracker,
) {
    let start = Instant::now();
    for (index, offset) in offsets(&targets).into_iter().enumerate() {
        let (targets, voters, metrics) = (targets.clone(), voters.clone(), metrics.clone());
        if targets[index].push().is_some() {
            // Not probed: it checks in (see `checkin`).
            continue;
        }
        let (results, stop) = (results.clone(), stop.clone());
        tasks.spawn(async move {
            let target = &targets[index];
            let mut ticks = tokio::time::interval_at(start + offset, target.interval);
            // A probe that outlasts its interval pushes the next one back rather than bunching.
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    () = stop.cancelled() => return,
                }
                let round = tokio::select! {
                    round = voters.round(target) => round,
                    () = stop.cancelled() => return,
                };
                metrics.observe(&target.name, &round);
                if results.send((index, round).into()).is_err() {
                    return;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::SystemTime;

    use super::*;
    use crate::monitor::config;
    use crate::monitor::probe::Outcome;

    /// Targets named t0, t1, ... with the given intervals (seconds).
    fn targets(intervals: &[u64]) -> Vec<Target> {
        let toml: String = intervals
            .iter()
            .enumerate()
            .map(|(i, s)| {
                format!("[[target]]\nname = \"t{i}\"\nurl = \"http://127.0.0.1/\"\ninterval = \"{s}s\"\ntimeout = \"1s\"\n")
            })
            .collect();
        config::parse(&toml, |_| None).unwrap().targets
    }

    /// Records when each target was probed; `t0` takes `slow` to answer.
    struct Recorder {
        start: Instant,
        slow: Duration,
        probes: Mutex<Vec<(String, Duration)>>,
    }

    impl Probe for Recorder {
        async fn probe(&self, target: &Target) -> Outcome {
            self.probes
                .lock()
                .unwrap()
                .push((target.name.clone(), self.start.elapsed()));
            if target.name == "t0" {
                tokio::time::sleep(self.slow).await;
            }
            Outcome {
                at: SystemTime::now(),
                ok: true,
                status_code: Some(200),
                response_time: Duration::ZERO,
                duration: Duration::ZERO,
                error: None,
                certificate_expiry: None,
                certificate_subject: None,
                conditions: Vec::new(),
            }
        }
    }

    /// Runs the schedule for `run` of paused time; returns each probe's (target, time).
    async fn run(targets: Vec<Target>, slow: Duration, run: Duration) -> Vec<(String, Duration)> {
        let recorder = Arc::new(Recorder {
            start: Instant::now(),
            slow,
            probes: Mutex::new(Vec::new()),
        });
        let (results, received) = std::sync::mpsc::channel();
        let stop = CancellationToken::new();
        let tasks = TaskTracker::new();
        let metrics = Arc::new(MonitorMetrics::unexposed().unwrap());
        spawn(
            Arc::new(targets),
            Arc::new(Voters::alone(recorder.clone(), "local")),
            metrics,
            &results,
            &stop,
            &tasks,
        );
        tokio::time::sleep(run).await;
        stop.cancel();
        tasks.close();
        tasks.wait().await;
        drop(received);
        recorder.probes.lock().unwrap().clone()
    }

    fn times_of(probes: &[(String, Duration)], name: &str) -> Vec<f64> {
        probes
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, at)| at.as_secs_f64())
            .collect()
    }

    #[test]
    fn targets_sharing_an_interval_are_spread_over_it() {
        let offsets = offsets(&targets(&[10, 10, 30, 10, 10]));
        let seconds: Vec<f64> = offsets.iter().map(Duration::as_secs_f64).collect();
        assert_eq!(seconds, [0.0, 2.5, 0.0, 5.0, 7.5]);
    }

    #[tokio::test(start_paused = true)]
    async fn each_target_is_probed_at_its_offset_then_every_interval() {
        let probes = run(
            targets(&[10, 10, 10, 10]),
            Duration::ZERO,
            Duration::from_millis(20_001),
        )
        .await;
        assert_eq!(times_of(&probes, "t0"), [0.0, 10.0, 20.0]);
        assert_eq!(times_of(&probes, "t1"), [2.5, 12.5]);
        assert_eq!(times_of(&probes, "t2"), [5.0, 15.0]);
        assert_eq!(times_of(&probes, "t3"), [7.5, 17.5]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_target_never_delays_another() {
        // t0 takes 25 s per probe, far past its 10 s interval; t1 keeps its times exactly.
        let probes = run(
            targets(&[10, 10]),
            Duration::from_secs(25),
            Duration::from_millis(40_001),
        )
        .await;
        assert_eq!(times_of(&probes, "t1"), [5.0, 15.0, 25.0, 35.0]);
        // t0 starts its next probe when the last one ends, not in a burst to catch up.
        assert_eq!(times_of(&probes, "t0"), [0.0, 25.0]);
    }
}
