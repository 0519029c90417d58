//! From probe results to target states, incidents and notifications, and the thread that
//! commits them to the store.
//!
//! [`Ledger`] is the state machine, with no I/O, so its rules are tested with exact times:
//! a target is `unknown` until its first result; `failure_threshold` failures in a row take it
//! down and open an incident; `success_threshold` successes in a row bring it back up and close
//! the incident. Each change queues one notification per alert that covers the target, in the
//! same [`Batch`] as the change, and [`run`] commits that batch before anything is sent.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;

use super::config::MonitorConfig;
use super::probe::Outcome;
use super::store::{
    Batch, Event, Incident, Notification, ResultRecord, State, Store, StoreError, TargetState,
    millis,
};

/// Results are committed at least this often: a SIGKILL loses at most this much of them.
pub const COMMIT_EVERY: Duration = Duration::from_secs(1);
/// Old results are pruned this often.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// Daily aggregates, incidents and delivered notifications are kept at least this long, for the
/// status page's 90 days.
const MIN_HISTORY: Duration = Duration::from_secs(91 * 24 * 3600);

/// The monitor's state machine over every target.
#[derive(Debug)]
pub struct Ledger {
    config: Arc<MonitorConfig>,
    /// Per target, in config order.
    states: Vec<TargetState>,
    /// The open incident per target, in config order.
    open: Vec<Option<Incident>>,
    /// The id the next incident gets.
    next_incident: u64,
    /// What the next commit writes.
    batch: Batch,
}

impl Ledger {
    /// Resumes from what `store` holds: states, open incidents, the incident counter.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub fn load(config: Arc<MonitorConfig>, store: &Store) -> Result<Self, StoreError> {
        let mut saved = store.states()?;
        let mut states = Vec::with_capacity(config.targets.len());
        let mut open = Vec::with_capacity(config.targets.len());
        for target in &config.targets {
            let state = saved.remove(&target.name).unwrap_or_default();
            let incident = match state.open_incident {
                Some(id) => store.incident(id)?,
                None => None,
            };
            states.push(state);
            open.push(incident);
        }
        Ok(Self {
            next_incident: store.next_incident_id()?,
            config,
            states,
            open,
            batch: Batch::default(),
        })
    }

    /// Applies the result of probing target `index`. Returns whether an incident opened or
    /// closed, which the caller commits at once.
    pub fn record(&mut self, index: usize, outcome: &Outcome) -> bool {
        let config = self.config.clone();
        let Some(target) = config.targets.get(index) else {
            return false;
        };
        let result = ResultRecord {
            at_ms: millis(outcome.at),
            ok: outcome.ok,
            status_code: outcome.status_code,
            response_time_ms: u64::try_from(outcome.response_time.as_millis()).unwrap_or(u64::MAX),
            error: outcome.error.clone(),
        };
        let at = result.at_ms;
        let state = &mut self.states[index];
        let continues_streak = if outcome.ok {
            state.successes > 0
        } else {
            state.failures > 0
        };
        if !continues_streak {
            state.streak_start_ms = Some(at);
        }
        if outcome.ok {
            state.successes = state.successes.saturating_add(1);
            state.failures = 0;
        } else {
            state.failures = state.failures.saturating_add(1);
            state.successes = 0;
        }
        if let Some(expiry) = outcome.certificate_expiry {
            state.certificate_expiry_s = Some(millis(expiry) / 1000);
        }
        state.last = Some(result.clone());
        let streak_start = state.streak_start_ms.unwrap_or(at);

        let transition = match state.state {
            State::Unknown if outcome.ok => {
                state.state = State::Up;
                state.since_ms = Some(at);
                None
            }
            State::Unknown | State::Up if state.failures >= target.failure_threshold => {
                let incident = Incident {
                    id: self.next_incident,
                    target: target.name.clone(),
                    started_ms: streak_start,
                    resolved_ms: None,
                    cause: outcome.error.clone().unwrap_or_default(),
                    reminders: Vec::new(),
                };
                self.next_incident += 1;
                state.state = State::Down;
                state.since_ms = Some(streak_start);
                state.open_incident = Some(incident.id);
                Some((Event::Down, incident))
            }
            State::Down if state.successes >= target.success_threshold => {
                state.state = State::Up;
                state.since_ms = Some(streak_start);
                state.open_incident = None;
                self.open[index].take().map(|mut incident| {
                    incident.resolved_ms = Some(streak_start);
                    (Event::Resolved, incident)
                })
            }
            State::Unknown | State::Up | State::Down => None,
        };
        self.batch
            .states
            .insert(target.name.clone(), self.states[index].clone());
        self.batch.results.push((target.name.clone(), result));
        let Some((event, incident)) = transition else {
            return false;
        };
        for (alert, _) in config
            .alerts
            .iter()
            .enumerate()
            .filter(|(_, alert)| alert.covers(&target.name))
        {
            self.queue(alert, event, &incident, at);
        }
        if event == Event::Down {
            self.open[index] = Some(incident.clone());
        }
        self.batch.incidents.push(incident);
        true
    }

    /// Queues the reminders due at `now`: for each open incident and each alert with a
    /// `reminder`, one when a whole reminder period has passed since the last (at most one per
    /// call, however long the monitor was stopped). Returns whether any was queued.
    pub fn remind(&mut self, now: SystemTime) -> bool {
        let config = self.config.clone();
        let now_ms = millis(now);
        let mut queued = false;
        for index in 0..self.open.len() {
            let Some(mut incident) = self.open[index].clone() else {
                continue;
            };
            let mut changed = false;
            for (alert_index, alert) in config.alerts.iter().enumerate() {
                let Some(period) = alert.reminder else {
                    continue;
                };
                if !alert.covers(&incident.target) {
                    continue;
                }
                let alert_id = u32::try_from(alert_index).unwrap_or(u32::MAX);
                let period_ms = u64::try_from(period.as_millis()).unwrap_or(u64::MAX).max(1);
                let due = now_ms.saturating_sub(incident.started_ms) / period_ms;
                let due = u32::try_from(due).unwrap_or(u32::MAX);
                if due > incident.reminders_sent(alert_id) {
                    incident.reminders.retain(|(a, _)| *a != alert_id);
                    incident.reminders.push((alert_id, due));
                    self.queue(alert_index, Event::Reminder, &incident, now_ms);
                    changed = true;
                }
            }
            if changed {
                self.batch.incidents.push(incident.clone());
                self.open[index] = Some(incident);
                queued = true;
            }
        }
        queued
    }

    /// What the next commit writes.
    #[must_use]
    pub fn batch(&self) -> &Batch {
        &self.batch
    }

    /// Forgets the batch, once committed.
    pub fn committed(&mut self) {
        self.batch = Batch::default();
    }

    /// The state of target `index`.
    #[must_use]
    pub fn state(&self, index: usize) -> Option<&TargetState> {
        self.states.get(index)
    }

    fn queue(&mut self, alert: usize, event: Event, incident: &Incident, now_ms: u64) {
        let url = self
            .config
            .targets
            .iter()
            .find(|t| t.name == incident.target)
            .map(super::config::Target::alert_url)
            .unwrap_or_default();
        self.batch.notifications.push(Notification {
            id: 0,
            alert: u32::try_from(alert).unwrap_or(u32::MAX),
            kind: self.config.alerts[alert].kind.name().to_owned(),
            event,
            incident: incident.clone(),
            url,
            created_ms: now_ms,
            attempts: 0,
            next_attempt_ms: now_ms,
            delivered_ms: None,
            last_error: None,
        });
    }
}

/// Commits what `results` brings until every sender is gone, then commits the rest.
///
/// Results are committed once per [`COMMIT_EVERY`]; an incident change and its notifications
/// at once, after which `delivery` is woken. A failed commit is kept and tried again, so
/// nothing is lost while the process lives. Runs on its own thread: every commit waits for the
/// disk.
pub fn run(
    mut ledger: Ledger,
    store: &Store,
    results: &Receiver<(usize, Outcome)>,
    delivery: &Notify,
) {
    let retention = ledger.config.retention;
    let mut last_commit = Instant::now();
    let mut last_prune: Option<Instant> = None;
    loop {
        let wait = COMMIT_EVERY.saturating_sub(last_commit.elapsed());
        let (urgent, done) = match results.recv_timeout(wait) {
            Ok((index, outcome)) => (ledger.record(index, &outcome), false),
            Err(RecvTimeoutError::Timeout) => (false, false),
            Err(RecvTimeoutError::Disconnected) => (false, true),
        };
        let urgent = ledger.remind(SystemTime::now()) || urgent;
        if urgent || done || last_commit.elapsed() >= COMMIT_EVERY {
            last_commit = Instant::now();
            if !ledger.batch().is_empty() {
                match store.commit(ledger.batch()) {
                    Ok(ids) => {
                        ledger.committed();
                        if !ids.is_empty() {
                            delivery.notify_one();
                        }
                    }
                    Err(err) => tracing::error!(error = %err, "commit failed; retrying"),
                }
            }
        }
        if last_prune.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
            last_prune = Some(Instant::now());
            let now = SystemTime::now();
            // A retention reaching before any representable time keeps everything.
            let keep_from = |age: Duration| now.checked_sub(age).unwrap_or(UNIX_EPOCH);
            let results_before = keep_from(retention);
            let history_before = keep_from(retention.max(MIN_HISTORY));
            match store.prune(results_before, history_before) {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "pruned results past the retention"),
                Err(err) => tracing::error!(error = %err, "pruning failed"),
            }
        }
        if done {
            break;
        }
    }
}

/// Runs [`run`] on a thread of its own; `Arc` because the API reads the same store.
pub fn spawn(
    ledger: Ledger,
    store: Arc<Store>,
    results: Receiver<(usize, Outcome)>,
    delivery: Arc<Notify>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("monitor-ledger".to_owned())
        .spawn(move || run(ledger, &store, &results, &delivery))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::monitor::config;
    use crate::monitor::store::from_millis;

    /// Two targets (a: thresholds 3 down / 2 up; b: 1 / 1), a webhook for both and a Slack alert
    /// for `a` with a 10-minute reminder.
    const CONFIG: &str = r#"
        [[target]]
        name = "a"
        url = "http://127.0.0.1:1/"
        [[target]]
        name = "b"
        url = "http://127.0.0.1:2/"
        failure_threshold = 1
        success_threshold = 1
        [[alert]]
        kind = "webhook"
        url = "http://127.0.0.1:3/hook"
        [[alert]]
        kind = "slack"
        url = "http://127.0.0.1:4/slack"
        targets = ["a"]
        reminder = "10m"
    "#;

    /// A ledger over a fresh store; the directory lives as long as the store.
    fn ledger() -> (Ledger, Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let config = Arc::new(config::parse(CONFIG, |_| None).unwrap());
        (Ledger::load(config, &store).unwrap(), store, dir)
    }

    /// A probe at `second` seconds past a fixed time.
    fn outcome(second: u64, ok: bool) -> Outcome {
        Outcome {
            at: from_millis(1_800_000_000_000 + second * 1000),
            ok,
            status_code: Some(if ok { 200 } else { 503 }),
            response_time: Duration::from_millis(20),
            duration: Duration::from_millis(21),
            error: (!ok).then(|| format!("[STATUS] (503) == 200 at {second}")),
            certificate_expiry: None,
        }
    }

    fn events(ledger: &Ledger) -> Vec<(String, &'static str, String)> {
        ledger
            .batch()
            .notifications
            .iter()
            .map(|n| (n.kind.clone(), n.event.name(), n.incident.target.clone()))
            .collect()
    }

    #[test]
    fn unknown_until_the_first_result_then_up_at_once() {
        let (mut ledger, _store, _dir) = ledger();
        assert_eq!(ledger.state(0).unwrap().state, State::Unknown);
        assert!(!ledger.record(0, &outcome(0, true)));
        let state = ledger.state(0).unwrap();
        assert_eq!(state.state, State::Up);
        assert_eq!(state.since_ms, Some(1_800_000_000_000));
    }

    #[test]
    fn failures_open_an_incident_only_at_the_threshold_and_from_the_first_failure() {
        let (mut ledger, _store, _dir) = ledger();
        ledger.record(0, &outcome(0, true));
        assert!(!ledger.record(0, &outcome(30, false)));
        assert!(!ledger.record(0, &outcome(60, false)));
        assert_eq!(ledger.state(0).unwrap().state, State::Up);
        assert!(events(&ledger).is_empty());

        assert!(ledger.record(0, &outcome(90, false)));
        let state = ledger.state(0).unwrap();
        assert_eq!(state.state, State::Down);
        let incident = &ledger.batch().incidents[0];
        assert_eq!(incident.id, 1);
        assert_eq!(incident.started_ms, 1_800_000_030_000, "the first failure");
        assert_eq!(incident.cause, "[STATUS] (503) == 200 at 90");
        assert_eq!(
            events(&ledger),
            [
                ("webhook".to_owned(), "down", "a".to_owned()),
                ("slack".to_owned(), "down", "a".to_owned()),
            ]
        );
        // Further failures change nothing.
        assert!(!ledger.record(0, &outcome(120, false)));
        assert_eq!(ledger.batch().notifications.len(), 2);
    }

    #[test]
    fn recovery_needs_the_success_threshold_and_closes_the_incident() {
        let (mut ledger, _store, _dir) = ledger();
        for second in [0, 30, 60] {
            ledger.record(0, &outcome(second, false));
        }
        ledger.committed();
        assert!(!ledger.record(0, &outcome(90, true)));
        assert!(!ledger.record(0, &outcome(120, false)), "the run is broken");
        assert!(!ledger.record(0, &outcome(150, true)));
        assert_eq!(ledger.state(0).unwrap().state, State::Down);
        assert!(ledger.record(0, &outcome(180, true)));
        let state = ledger.state(0).unwrap();
        assert_eq!(state.state, State::Up);
        assert_eq!(state.open_incident, None);
        let incident = &ledger.batch().incidents[0];
        assert_eq!(
            incident.resolved_ms,
            Some(1_800_000_150_000),
            "the run's first success"
        );
        assert_eq!(incident.duration_seconds(0), 150);
        assert_eq!(
            events(&ledger),
            [
                ("webhook".to_owned(), "resolved", "a".to_owned()),
                ("slack".to_owned(), "resolved", "a".to_owned()),
            ]
        );
    }

    #[test]
    fn a_flapping_target_never_reaches_a_threshold_and_alerts_nobody() {
        let (mut ledger, _store, _dir) = ledger();
        // Two failures, one success, over and over: never three failures in a row.
        for round in 0..40 {
            for (step, ok) in [(0, false), (10, false), (20, true)] {
                assert!(!ledger.record(0, &outcome(round * 30 + step, ok)));
            }
        }
        assert_eq!(ledger.state(0).unwrap().state, State::Up);
        assert!(events(&ledger).is_empty());
        assert!(ledger.batch().incidents.is_empty());
    }

    #[test]
    fn each_alert_covers_only_its_targets() {
        let (mut ledger, _store, _dir) = ledger();
        assert!(ledger.record(1, &outcome(0, false)));
        assert_eq!(
            events(&ledger),
            [("webhook".to_owned(), "down", "b".to_owned())]
        );
    }

    #[test]
    fn reminders_repeat_per_period_and_at_most_one_per_call() {
        let (mut ledger, _store, _dir) = ledger();
        for second in [0, 30, 60] {
            ledger.record(0, &outcome(second, false));
        }
        ledger.committed();
        let start = from_millis(1_800_000_000_000);
        assert!(!ledger.remind(start + Duration::from_secs(599)));
        assert!(ledger.remind(start + Duration::from_secs(600)));
        assert_eq!(
            events(&ledger),
            [("slack".to_owned(), "reminder", "a".to_owned())],
            "only the alert with a reminder"
        );
        assert!(!ledger.remind(start + Duration::from_secs(900)));
        // A monitor stopped for an hour sends one reminder, not six.
        ledger.committed();
        assert!(ledger.remind(start + Duration::from_secs(4200)));
        assert!(!ledger.remind(start + Duration::from_secs(4201)));
        assert_eq!(ledger.batch().notifications.len(), 1);
        assert_eq!(
            ledger.batch().incidents.last().unwrap().reminders_sent(1),
            7
        );
    }

    #[test]
    fn a_restart_resumes_the_open_incident_without_a_second_down() {
        let (mut ledger, store, dir) = ledger();
        for second in [0, 30, 60] {
            ledger.record(0, &outcome(second, false));
        }
        store.commit(ledger.batch()).unwrap();
        drop(ledger);

        let config = Arc::new(config::parse(CONFIG, |_| None).unwrap());
        let mut resumed = Ledger::load(config, &store).unwrap();
        assert_eq!(resumed.state(0).unwrap().state, State::Down);
        assert!(!resumed.record(0, &outcome(90, false)));
        assert!(events(&resumed).is_empty(), "no second down");
        resumed.record(0, &outcome(120, true));
        assert!(resumed.record(0, &outcome(150, true)));
        assert_eq!(
            resumed.batch().incidents[0].id,
            1,
            "the same incident closes"
        );
        // The next incident gets a new id.
        assert!(resumed.record(1, &outcome(160, false)));
        assert_eq!(resumed.batch().incidents.last().unwrap().id, 2);
        drop(dir);
    }

    #[test]
    fn results_for_unknown_targets_are_ignored() {
        let (mut ledger, _store, _dir) = ledger();
        assert!(!ledger.record(7, &outcome(0, false)));
        assert!(ledger.batch().is_empty());
    }
}
