//! From probe results to target states, incidents and notifications, and the thread that
//! commits them to the store.
//!
//! [`Ledger`] is the state machine, with no I/O, so its rules are tested with exact times:
//! a target is `unknown` until its first result; `failure_threshold` failures in a row take it
//! down and open an incident; `success_threshold` successes in a row bring it back up and close
//! the incident. Each change queues one notification per alert that covers the target, in the
//! same [`Batch`] as the change, and [`run`] commits that batch before anything is sent.
//!
//! During a maintenance window a failure is stored but not counted: it opens no incident,
//! queues nothing and stays out of the uptime aggregates; an open incident still resolves.
//!
//! A leaf certificate seen expiring within the target's `certificate_warning` queues one
//! `certificate` notification per covering alert, once per certificate (its expiry and subject):
//! a renewed one that comes within the warning again is warned about again. Alerts with a
//! `reminder` repeat it until the certificate changes or expires. The target's state is untouched.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedSender;

use super::alerts::Direct;
use super::clock::Clock;
use super::config::MonitorConfig;
use super::health::StoreHealth;
use super::heartbeat::Progress;
use super::probe::Outcome;
use super::round::Round;
use super::store::{
    Batch, CertificateWarning, Event, Incident, LocationState, Notification, ResultRecord, State,
    Store, StoreError, TargetState, from_millis, millis,
};

/// What the ledger is sent: a round of probes, or a push target's check-in (or silence).
#[derive(Debug)]
pub struct Report {
    /// The target's index in the config.
    pub index: usize,
    /// The round; `None` for a check-in that makes no result (a `start`).
    pub round: Option<Round>,
    /// A push target's state after it, committed with it so a restart resumes from it.
    pub push: Option<super::store::PushRecord>,
    /// Told once the report is committed: a check-in is answered only then.
    pub committed: Option<oneshot::Sender<()>>,
    /// The body a check-in came with, kept with its result (already scrubbed and capped).
    pub message: Option<String>,
}

impl From<(usize, Round)> for Report {
    fn from((index, round): (usize, Round)) -> Self {
        Self {
            index,
            round: Some(round),
            push: None,
            committed: None,
            message: None,
        }
    }
}

/// Results are committed at least this often: a SIGKILL loses at most this much of them.
pub const COMMIT_EVERY: Duration = Duration::from_secs(1);
/// Old results are pruned this often.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// Daily aggregates, incidents and delivered notifications are kept at least this long, for the
/// status page's 90 days.
const MIN_HISTORY: Duration = Duration::from_secs(91 * 24 * 3600);

/// For something that started at `started_ms`, reminded of every `period` and `sent` times so
/// far: the count to record if a reminder is due at `now_ms` (one whole period since the last;
/// at most one per call, however many periods passed), and when the one after that falls due.
fn reminder(started_ms: u64, period: Duration, sent: u32, now_ms: u64) -> (Option<u32>, u64) {
    let period_ms = u64::try_from(period.as_millis()).unwrap_or(u64::MAX).max(1);
    let due = now_ms.saturating_sub(started_ms) / period_ms;
    let due = u32::try_from(due).unwrap_or(u32::MAX);
    let now = (due > sent).then_some(due);
    let sent = u64::from(now.unwrap_or(sent));
    (
        now,
        started_ms.saturating_add(period_ms.saturating_mul(sent + 1)),
    )
}

/// The monitor's state machine over every target.
#[derive(Debug)]
pub struct Ledger {
    config: Arc<MonitorConfig>,
    /// Per target, in config order.
    states: Vec<TargetState>,
    /// The open incident per target, in config order.
    open: Vec<Option<Incident>>,
    /// The certificate warning in force per target, in config order.
    certificates: Vec<Option<CertificateWarning>>,
    /// Before this time (ms) [`Ledger::remind`] has nothing to do; 0 when an incident or a
    /// certificate warning changed since it last looked. Without it every report would scan
    /// every target twice: quadratic in the number of targets.
    next_reminder_ms: u64,
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
        let mut warnings = store.certificate_warnings()?;
        let certificates = (config.targets.iter())
            .map(|target| warnings.remove(&target.name))
            .collect();
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
            certificates,
            next_reminder_ms: 0,
            batch: Batch::default(),
        })
    }

    /// Applies the result of probing target `index` from this monitor alone. Returns whether
    /// an incident opened or closed, which the caller commits at once.
    pub fn record(&mut self, index: usize, outcome: &Outcome) -> bool {
        let round = Round::alone(&self.config.location, outcome.clone());
        self.record_round(index, &round)
    }

    /// Applies a round of target `index`: its verdict under the quorum rule counts toward the
    /// thresholds, and each location's vote toward that location's warning. Returns whether an
    /// incident opened or closed, which the caller commits at once.
    pub fn record_round(&mut self, index: usize, round: &Round) -> bool {
        let config = self.config.clone();
        let Some(target) = config.targets.get(index) else {
            return false;
        };
        let Some(outcome) = round.outcome(config.quorum) else {
            return false;
        };
        let outcome = &outcome;
        let result = ResultRecord {
            at_ms: millis(outcome.at),
            ok: outcome.ok,
            status_code: outcome.status_code,
            response_time_ms: u64::try_from(outcome.response_time.as_millis()).unwrap_or(u64::MAX),
            error: outcome.error.clone(),
            votes: round.votes(),
        };
        let warned = self.track_locations(index, &result, target.failure_threshold);
        let at = result.at_ms;
        let warned = self.warn(target, &warned, at);
        let maintenance = config.maintenance.active(&target.name, at);
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
        } else if maintenance {
            // Planned: no streak toward the threshold, and none carried past the window.
            state.successes = 0;
            state.failures = 0;
            state.streak_start_ms = None;
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
                self.next_reminder_ms = 0;
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
        if maintenance {
            self.batch.uncounted.push((target.name.clone(), at));
        }
        self.batch.results.push((target.name.clone(), result));
        // The monitor's own verdicts, as the result's status and response time are its own;
        // none too, so the store sees when a target's conditions are gone.
        let verdicts = (target.name.clone(), at, outcome.conditions.clone());
        self.batch.verdicts.push(verdicts);
        let warned = self.check_certificate(index, outcome, at) || warned;
        let Some((event, incident)) = transition else {
            return warned;
        };
        for (alert, _) in config
            .alerts
            .iter()
            .enumerate()
            .filter(|(_, alert)| alert.covers(&target.name))
        {
            self.queue(alert, event.clone(), &incident, at);
        }
        if event == Event::Down {
            self.open[index] = Some(incident.clone());
            self.next_reminder_ms = 0;
        }
        self.batch.incidents.push(incident);
        true
    }

    /// Queues a `warning` for each location in `started` (name, reason) to every alert that
    /// covers `target` and opted in with `location_warnings`. Returns whether any was queued.
    fn warn(
        &mut self,
        target: &super::config::Target,
        started: &[(String, String)],
        at: u64,
    ) -> bool {
        let config = self.config.clone();
        let mut queued = false;
        for (location, reason) in started {
            // Not an incident: id 0, never stored among incidents, only in the notification.
            let warning = Incident {
                id: 0,
                target: target.name.clone(),
                started_ms: at,
                resolved_ms: None,
                cause: format!("{location}: {reason}"),
                reminders: Vec::new(),
            };
            for (alert, _) in config
                .alerts
                .iter()
                .enumerate()
                .filter(|(_, a)| a.location_warnings && a.covers(&target.name))
            {
                self.queue(alert, Event::Warning, &warning, at);
                queued = true;
            }
        }
        queued
    }

    /// Updates each location's latest vote and run of failures for target `index`; a location
    /// failing for `threshold` rounds while the round passes is a warning (logged once when it
    /// starts; the page, API and metrics show it while it lasts). Returns the locations whose
    /// warning started, with their reasons.
    fn track_locations(
        &mut self,
        index: usize,
        result: &ResultRecord,
        threshold: u32,
    ) -> Vec<(String, String)> {
        let mut started = Vec::new();
        let target = &self.config.targets[index].name;
        let locations = &mut self.states[index].locations;
        for vote in &result.votes {
            let position = match locations
                .iter()
                .position(|l| l.vote.location == vote.location)
            {
                Some(position) => position,
                None => {
                    locations.push(LocationState {
                        at_ms: result.at_ms,
                        vote: vote.clone(),
                        failures: 0,
                        warning: false,
                    });
                    locations.len() - 1
                }
            };
            let location = &mut locations[position];
            location.at_ms = result.at_ms;
            location.vote = vote.clone();
            match vote.ok {
                Some(true) => location.failures = 0,
                Some(false) => location.failures = location.failures.saturating_add(1),
                None => {}
            }
            let warning = result.ok && location.failures >= threshold;
            if warning && !location.warning {
                started.push((
                    vote.location.clone(),
                    vote.error.clone().unwrap_or_else(|| "failed".to_owned()),
                ));
                tracing::warn!(
                    target = %target,
                    location = %vote.location,
                    failures = location.failures,
                    reason = vote.error.as_deref().unwrap_or(""),
                    "location warning: this location fails, too few others agree"
                );
            }
            location.warning = warning;
        }
        // Locations no longer configured leave with the next round.
        locations.retain(|l| result.votes.iter().any(|v| v.location == l.vote.location));
        started
    }

    /// Queues the reminders due at `now`: for each open incident and each alert with a
    /// `reminder`, one when a whole reminder period has passed since the last (at most one per
    /// call, however long the monitor was stopped); the same for each certificate warning in
    /// force. Returns whether any was queued.
    pub fn remind(&mut self, now: SystemTime) -> bool {
        let now_ms = millis(now);
        if now_ms < self.next_reminder_ms {
            return false;
        }
        // The earliest time a reminder falls due after this call, found on the way.
        let mut next = u64::MAX;
        let queued = self.remind_incidents(now_ms, &mut next);
        let queued = self.remind_certificates(now_ms, &mut next) || queued;
        self.next_reminder_ms = next;
        queued
    }

    /// Queues the incident reminders due at `now_ms`, lowering `next` to the earliest one due
    /// later. Returns whether any was queued.
    fn remind_incidents(&mut self, now_ms: u64, next: &mut u64) -> bool {
        let config = self.config.clone();
        let mut queued = false;
        for index in 0..self.open.len() {
            let Some(mut incident) = self.open[index].clone() else {
                continue;
            };
            if let Some(window) = config.maintenance.ongoing(&incident.target, now_ms) {
                // Reminders wait for the window's end.
                *next = (*next).min(window.end_ms);
                continue;
            }
            let mut changed = false;
            for (alert_index, alert) in config.alerts.iter().enumerate() {
                let Some(period) = alert.reminder else {
                    continue;
                };
                if !alert.covers(&incident.target) {
                    continue;
                }
                let alert_id = u32::try_from(alert_index).unwrap_or(u32::MAX);
                let sent = incident.reminders_sent(alert_id);
                let (due, after) = reminder(incident.started_ms, period, sent, now_ms);
                if let Some(due) = due {
                    incident.reminders.retain(|(a, _)| *a != alert_id);
                    incident.reminders.push((alert_id, due));
                    self.queue(alert_index, Event::Reminder, &incident, now_ms);
                    changed = true;
                }
                *next = (*next).min(after);
            }
            if changed {
                self.batch.incidents.push(incident.clone());
                self.open[index] = Some(incident);
                queued = true;
            }
        }
        queued
    }

    /// Applies `report`: its result as [`Ledger::record`] does, and a push record. Returns
    /// whether to commit at once (an incident changed, or someone waits for the commit).
    pub fn report(&mut self, report: &Report) -> bool {
        let mut urgent = report.committed.is_some();
        if let Some(round) = &report.round {
            let before = self.batch.results.len();
            urgent |= self.record_round(report.index, round);
            // A message belongs to the result the round made, if it made one.
            if let (Some(message), true) = (&report.message, self.batch.results.len() > before)
                && let Some((target, result)) = self.batch.results.last()
            {
                let entry = (target.clone(), result.at_ms, message.clone());
                self.batch.messages.push(entry);
            }
        }
        if let (Some(record), Some(target)) = (report.push, self.config.targets.get(report.index)) {
            self.batch.push.push((target.name.clone(), record));
        }
        urgent
    }

    /// Queues a `certificate` notification when `outcome` shows a certificate of target `index`
    /// expiring within its warning that was not warned about yet; forgets the warning once the
    /// certificate is renewed. Returns whether anything was queued.
    fn check_certificate(&mut self, index: usize, outcome: &Outcome, at: u64) -> bool {
        let config = self.config.clone();
        let target = &config.targets[index];
        let (Some(expiry), Some(subject)) =
            (outcome.certificate_expiry, &outcome.certificate_subject)
        else {
            return false;
        };
        let expires_ms = millis(expiry);
        let warning_ms = u64::try_from(target.certificate_warning.as_millis()).unwrap_or(u64::MAX);
        let within = warning_ms > 0 && expires_ms.saturating_sub(at) <= warning_ms;
        let same = self.certificates[index]
            .as_ref()
            .is_some_and(|w| w.expires_ms == expires_ms && w.subject == *subject);
        if same {
            return false;
        }
        if !within {
            if self.certificates[index].take().is_some() {
                self.batch.certificates.push((target.name.clone(), None));
                self.next_reminder_ms = 0;
            }
            return false;
        }
        let warning = CertificateWarning {
            expires_ms,
            subject: subject.clone(),
            warned_ms: at,
            reminders: Vec::new(),
        };
        let alerts: Vec<usize> = (config.alerts.iter().enumerate())
            .filter(|(_, alert)| alert.covers(&target.name))
            .map(|(i, _)| i)
            .collect();
        for &alert in &alerts {
            self.queue_certificate(alert, &target.name, &warning, at);
        }
        self.batch
            .certificates
            .push((target.name.clone(), Some(warning.clone())));
        self.certificates[index] = Some(warning);
        self.next_reminder_ms = 0;
        !alerts.is_empty()
    }

    /// Queues the certificate reminders due at `now_ms`, as [`Ledger::remind_incidents`] does
    /// for incidents. Returns whether any was queued.
    fn remind_certificates(&mut self, now_ms: u64, next: &mut u64) -> bool {
        let config = self.config.clone();
        let mut queued = false;
        for (index, target) in config.targets.iter().enumerate() {
            let Some(mut warning) = self.certificates[index].clone() else {
                continue;
            };
            if now_ms >= warning.expires_ms {
                // Expired: the probes fail now, and incidents take over.
                continue;
            }
            let mut changed = false;
            for (alert_index, alert) in config.alerts.iter().enumerate() {
                let Some(period) = alert.reminder else {
                    continue;
                };
                if !alert.covers(&target.name) {
                    continue;
                }
                let alert_id = u32::try_from(alert_index).unwrap_or(u32::MAX);
                let sent = (warning.reminders.iter())
                    .find(|(a, _)| *a == alert_id)
                    .map_or(0, |(_, n)| *n);
                let (due, after) = reminder(warning.warned_ms, period, sent, now_ms);
                if let Some(due) = due {
                    warning.reminders.retain(|(a, _)| *a != alert_id);
                    warning.reminders.push((alert_id, due));
                    self.queue_certificate(alert_index, &target.name, &warning, now_ms);
                    changed = true;
                }
                // None once the certificate has expired: the probes fail then.
                if after < warning.expires_ms {
                    *next = (*next).min(after);
                }
            }
            if changed {
                self.batch
                    .certificates
                    .push((target.name.clone(), Some(warning.clone())));
                self.certificates[index] = Some(warning);
                queued = true;
            }
        }
        queued
    }

    /// A certificate notification: its facts are the event's; the incident only names the
    /// target (there is no incident: an expiring certificate is not an outage).
    fn queue_certificate(
        &mut self,
        alert: usize,
        target: &str,
        warning: &CertificateWarning,
        now_ms: u64,
    ) {
        let event = Event::Certificate {
            expires_ms: warning.expires_ms,
            subject: warning.subject.clone(),
        };
        let incident = Incident {
            id: 0,
            target: target.to_owned(),
            started_ms: warning.warned_ms,
            resolved_ms: None,
            cause: String::new(),
            reminders: Vec::new(),
        };
        self.queue(alert, event, &incident, now_ms);
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

    /// Drops the oldest results of the batch beyond `max` (states, incidents and notifications
    /// stay); returns how many went.
    pub fn hold_at_most(&mut self, max: usize) -> usize {
        let excess = self.batch.results.len().saturating_sub(max);
        if excess == 0 {
            return 0;
        }
        let dropped: Vec<(String, u64)> = (self.batch.results.drain(..excess))
            .map(|(target, result)| (target, result.at_ms))
            .collect();
        // Messages and verdicts go with their results: none is kept without one. A set of the
        // few dropped, as up to MAX_HELD_RESULTS verdicts are held.
        let dropped: HashSet<(&str, u64)> =
            dropped.iter().map(|(t, at)| (t.as_str(), *at)).collect();
        let kept = |target: &String, at: u64| !dropped.contains(&(target.as_str(), at));
        self.batch.messages.retain(|(t, at, _)| kept(t, *at));
        self.batch.verdicts.retain(|(t, at, _)| kept(t, *at));
        excess
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

/// Where the ledger's thread reports, besides the store.
#[derive(Debug, Clone)]
pub struct Outlets {
    /// Woken when notifications are committed: the delivery loop.
    pub delivery: Arc<Notify>,
    /// Whether the store commits, for readiness, `/health`, the page, the API and metrics.
    pub health: Arc<StoreHealth>,
    /// Messages sent without the outbox while the store cannot commit.
    pub direct: UnboundedSender<Direct>,
    /// Near this many bytes of store, raw results are pruned oldest first.
    pub max_store_bytes: u64,
    /// When the loop last turned and last received a round, for the heartbeat.
    pub progress: Arc<Progress>,
    /// The time the commit and prune cadence, retries and records read (tests move it).
    pub clock: Arc<dyn Clock>,
}

/// Commits what `results` brings until every sender is gone, then commits the rest.
///
/// Results are committed once per [`COMMIT_EVERY`]; an incident change and its notifications
/// at once, after which `delivery` is woken. A failed commit is kept in memory and tried again
/// with backoff after re-opening the store (redb fails everything after an I/O error until
/// then), so a full disk that gets space again loses nothing; past [`MAX_HELD_RESULTS`] the
/// oldest held results are dropped and counted. Once the data is stale every alert is told
/// directly, and so is each target change meanwhile. Runs on its own thread: every commit waits
/// for the disk.
pub fn run(mut ledger: Ledger, store: &Store, results: &Receiver<Report>, outlets: &Outlets) {
    let retention = ledger.config.retention;
    let clock = outlets.clock.as_ref();
    let mut last_commit = clock.instant();
    let mut last_prune: Option<Instant> = None;
    let mut size = SizeGuard::default();
    let mut trouble: Option<Trouble> = None;
    let since = |at: Instant| clock.instant().saturating_duration_since(at);
    // Check-ins waiting for the commit that holds them.
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    loop {
        let mut wait = COMMIT_EVERY.saturating_sub(since(last_commit));
        if let Some(trouble) = &trouble {
            // Nothing is tried before the retry is due: waiting less would turn the loop
            // without pause, a whole core spent while the disk is full.
            wait = wait.max(
                trouble
                    .next_attempt
                    .saturating_duration_since(clock.instant()),
            );
        }
        let (urgent, done) = match results.recv_timeout(wait) {
            Ok(mut report) => {
                if report.round.is_some() {
                    outlets.progress.round(clock.now());
                }
                let urgent = ledger.report(&report);
                waiting.extend(report.committed.take());
                (urgent, false)
            }
            Err(RecvTimeoutError::Timeout) => (false, false),
            Err(RecvTimeoutError::Disconnected) => (false, true),
        };
        outlets.progress.tick(clock.now());
        let urgent = ledger.remind(clock.now()) || urgent;
        let may_try = done
            || trouble
                .as_ref()
                .is_none_or(|t| clock.instant() >= t.next_attempt);
        if (urgent || done || since(last_commit) >= COMMIT_EVERY) && may_try {
            last_commit = clock.instant();
            commit(&mut ledger, store, outlets, &mut trouble);
            if trouble.is_none() {
                for waiter in waiting.drain(..) {
                    let _ = waiter.send(());
                }
            }
        }
        if let Some(trouble) = &mut trouble {
            trouble.tell(&mut ledger, outlets);
        } else {
            if last_prune.is_none_or(|at| since(at) >= PRUNE_EVERY) {
                last_prune = Some(clock.instant());
                prune(store, retention, clock.now());
            }
            size.check(store, outlets);
        }
        if done {
            if trouble.is_some() {
                tracing::error!(
                    results = ledger.batch().results.len(),
                    "stopping with results the store could not commit; they are lost"
                );
            }
            break;
        }
    }
}

/// Most results held in memory while the store cannot commit; past it the oldest are dropped.
/// 150 targets probed every 30 s make that many in 5.5 hours.
pub const MAX_HELD_RESULTS: usize = 100_000;
/// The first retry of a failed commit waits this long; each further one twice as long.
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// The longest wait between commit attempts while the store fails: once space is back,
/// commits resume within this.
const MAX_RETRY: Duration = Duration::from_secs(8);

/// A run of failed commits.
#[derive(Debug)]
struct Trouble {
    /// Failed attempts so far.
    failures: u32,
    /// When to try again (re-open, then commit).
    next_attempt: Instant,
    /// When the data went stale, once every alert was told.
    announced: Option<u64>,
    /// How many of the batch's notifications were sent directly.
    sent: usize,
}

impl Trouble {
    /// Tells every alert once the data is stale, and each notification queued since; drops
    /// the oldest results past the bound.
    fn tell(&mut self, ledger: &mut Ledger, outlets: &Outlets) {
        let dropped = ledger.hold_at_most(MAX_HELD_RESULTS);
        if dropped > 0 {
            outlets.health.dropped(dropped);
            tracing::warn!(
                dropped,
                held = MAX_HELD_RESULTS,
                "dropped the oldest results the store could not commit"
            );
        }
        if self.announced.is_none()
            && let Some(stale) = outlets.health.stale()
        {
            tracing::error!(
                since = crate::clock::rfc3339_millis(from_millis(stale.since_ms)),
                error = stale.cause,
                "the monitor cannot write its store: telling every alert directly"
            );
            self.announced = Some(stale.since_ms);
            let _ = outlets.direct.send(Direct::Degraded {
                since_ms: stale.since_ms,
                cause: stale.cause,
            });
        }
        if self.announced.is_some() {
            for notification in ledger.batch().notifications.iter().skip(self.sent) {
                let _ = outlets
                    .direct
                    .send(Direct::Unrecorded(Box::new(notification.clone())));
            }
            self.sent = ledger.batch().notifications.len();
        }
    }
}

/// One commit attempt; after a failure, the store is re-opened first.
fn commit(ledger: &mut Ledger, store: &Store, outlets: &Outlets, trouble: &mut Option<Trouble>) {
    let now = outlets.clock.now();
    if ledger.batch().is_empty() && trouble.is_none() {
        outlets.health.fresh(now, false);
        return;
    }
    let attempt = match trouble {
        Some(_) => store.reopen().and_then(|()| store.commit(ledger.batch())),
        None => store.commit(ledger.batch()),
    };
    match attempt {
        Ok(ids) => {
            ledger.committed();
            // After a failure too: the delivery loop waits longer between reads of a failing
            // store.
            if !ids.is_empty() || trouble.is_some() {
                outlets.delivery.notify_one();
            }
            let cause = outlets.health.fresh(now, true);
            outlets.health.set_bytes(store.file_bytes());
            if let Some(ended) = trouble.take() {
                tracing::info!(failures = ended.failures, "the store commits again");
                if let Some(since_ms) = ended.announced {
                    let _ = outlets.direct.send(Direct::Recovered {
                        since_ms,
                        at_ms: millis(now),
                        cause: cause.unwrap_or_default(),
                    });
                }
            }
        }
        Err(err) => {
            let error = err.to_string();
            outlets.health.failed(&error);
            let trouble = trouble.get_or_insert(Trouble {
                failures: 0,
                next_attempt: outlets.clock.instant(),
                announced: None,
                sent: 0,
            });
            trouble.failures += 1;
            let wait = FIRST_RETRY
                .saturating_mul(1 << trouble.failures.saturating_sub(1).min(8))
                .min(MAX_RETRY);
            trouble.next_attempt = outlets.clock.instant() + wait;
            tracing::error!(
                error,
                failures = trouble.failures,
                held = ledger.batch().results.len(),
                retry_in = ?wait,
                "commit failed; re-opening the store and retrying"
            );
        }
    }
}

/// Prunes what `retention` and [`MIN_HISTORY`] no longer keep at `now`.
fn prune(store: &Store, retention: Duration, now: SystemTime) {
    // A retention reaching before any representable time keeps everything.
    let keep_from = |age: Duration| now.checked_sub(age).unwrap_or(UNIX_EPOCH);
    let results_before = keep_from(retention);
    let history_before = keep_from(retention.max(MIN_HISTORY));
    match store.prune(now, results_before, history_before) {
        Ok(0) => {}
        Ok(removed) => tracing::info!(removed, "pruned results past the retention"),
        Err(err) => tracing::error!(error = %err, "pruning failed"),
    }
}

/// How often the store's size is looked at.
const SIZE_CHECK_EVERY: Duration = Duration::from_secs(10);
/// The share of the file that raw results may fill once it cannot grow any more, percent: the
/// rest is free pages for the next commits.
const SIZE_FILL_PERCENT: u64 = 80;
/// The size warning is logged at most this often.
const SIZE_WARN_EVERY: Duration = Duration::from_secs(24 * 3600);

/// Keeps the store file within `max_store_size`.
///
/// redb doubles its file whenever it runs out of free pages, so once twice the file would pass
/// the limit the file must not grow at all: from then on the raw results may fill only
/// [`SIZE_FILL_PERCENT`] of it, and the oldest are pruned (beyond what `retention` prunes) to
/// make room for new ones, whose pages the store reuses. How many results fit is measured once,
/// dividing the file's size by the results it holds: free pages, aggregates, states and
/// incidents are counted in as if they were results, so the estimate errs on the side of
/// pruning more. A file already past the limit (a limit set below an existing store) is
/// compacted first.
#[derive(Debug, Default)]
struct SizeGuard {
    /// When the size was last looked at, on the ledger's clock (so tests move it).
    checked: Option<Instant>,
    /// When the warning was last logged, on the ledger's clock.
    warned: Option<Instant>,
    /// Bytes per raw result, measured once the limit is near.
    per_result: Option<u64>,
}

impl SizeGuard {
    fn check(&mut self, store: &Store, outlets: &Outlets) {
        let now = outlets.clock.instant();
        if self
            .checked
            .is_some_and(|at| now.saturating_duration_since(at) < SIZE_CHECK_EVERY)
        {
            return;
        }
        self.checked = Some(now);
        if let Err(err) = self.keep_within(store, outlets) {
            tracing::error!(error = %err, "cannot keep the store within max_store_size");
        }
    }

    fn keep_within(&mut self, store: &Store, outlets: &Outlets) -> Result<(), StoreError> {
        let max = outlets.max_store_bytes;
        let mut bytes = store.file_bytes();
        outlets.health.set_bytes(bytes);
        if bytes.saturating_mul(2) <= max {
            return Ok(());
        }
        let per_result = match self.per_result {
            Some(per_result) => per_result,
            None => {
                if bytes > max {
                    store.compact()?;
                    bytes = store.file_bytes();
                    outlets.health.set_bytes(bytes);
                }
                let count = store.result_count()?.max(1);
                let per_result = (bytes / count).max(1);
                self.per_result = Some(per_result);
                tracing::info!(
                    bytes,
                    results = count,
                    per_result,
                    max_store_size = max,
                    "the store is near max_store_size: from now on it holds at most what fits"
                );
                per_result
            }
        };
        let fit = bytes.min(max) / 100 * SIZE_FILL_PERCENT / per_result;
        let count = store.result_count()?;
        if count <= fit {
            return Ok(());
        }
        // Oldest first: the share of the time span that holds the excess (and a tenth more, so
        // this runs now and then, not every check).
        let excess = (count - fit) + fit / 10;
        let removed = match store.results_span()? {
            Some((oldest, newest)) => {
                let span = u128::from(newest - oldest);
                let cut = span * u128::from(excess) / u128::from(count.max(1));
                let cut = oldest + u64::try_from(cut).unwrap_or(u64::MAX).min(newest - oldest) + 1;
                let removed = store.prune(outlets.clock.now(), from_millis(cut), UNIX_EPOCH)?;
                store.settle()?;
                removed
            }
            None => 0,
        };
        let now = outlets.clock.instant();
        if self
            .warned
            .is_none_or(|at| now.saturating_duration_since(at) >= SIZE_WARN_EVERY)
        {
            self.warned = Some(now);
            tracing::warn!(
                bytes,
                max_store_size = max,
                results = count,
                removed,
                "the store is near max_store_size: pruning the oldest raw results beyond the \
                 retention (aggregates and incidents stay); logged once a day"
            );
        }
        Ok(())
    }
}

/// Runs [`run`] on a thread of its own; `Arc` because the API reads the same store.
pub fn spawn(
    ledger: Ledger,
    store: Arc<Store>,
    results: Receiver<Report>,
    outlets: Outlets,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("monitor-ledger".to_owned())
        .spawn(move || run(ledger, &store, &results, &outlets))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::monitor::clock::ManualClock;
    use crate::monitor::config;
    use crate::monitor::round::Round;
    use crate::monitor::store::{DAY_MS, HOUR_MS, HOURS_KEPT, from_millis};
    use crate::telemetry::logged;
    use serde_json::json;

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
            certificate_subject: None,
            conditions: Vec::new(),
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
    fn a_message_goes_with_the_result_its_report_made_and_only_with_it() {
        let (mut ledger, store, _dir) = ledger();
        let report = |second, message: Option<&str>| Report {
            index: 1,
            round: Some(Round::alone("local", outcome(second, false))),
            push: None,
            committed: None,
            message: message.map(str::to_owned),
        };
        ledger.report(&report(0, Some("disk full\n")));
        ledger.report(&report(1, None));
        // A report without a round (a `start`) makes no result, so its message has none to join.
        ledger.report(&Report {
            round: None,
            ..report(2, Some("starting"))
        });
        let at = |second: u64| 1_800_000_000_000 + second * 1000;
        assert_eq!(
            ledger.batch().messages,
            [("b".to_owned(), at(0), "disk full\n".to_owned())]
        );
        store.commit(ledger.batch()).unwrap();
        assert_eq!(
            store.messages("b", &[at(0), at(1)]).unwrap(),
            [Some("disk full\n".to_owned()), None]
        );
        ledger.committed();

        ledger.report(&report(3, Some("dropped")));
        ledger.report(&report(4, None));
        assert_eq!(ledger.hold_at_most(1), 1);
        assert!(ledger.batch().messages.is_empty(), "gone with its result");
    }

    #[test]
    fn a_message_joins_no_result_when_its_round_made_none_and_leaves_with_its_own_only() {
        let (mut ledger, _store, _dir) = ledger();
        let report = |index, second, message: &str| Report {
            index,
            round: Some(Round::alone("local", outcome(second, true))),
            push: None,
            committed: None,
            message: Some(message.to_owned()),
        };
        ledger.report(&report(1, 0, "b's"));
        // A target that is not configured makes no result, so its message joins none, not
        // the batch's last.
        ledger.report(&report(99, 1, "nobody's"));
        let at = 1_800_000_000_000;
        assert_eq!(
            ledger.batch().messages,
            [("b".to_owned(), at, "b's".to_owned())]
        );

        // b's result goes; a's at the same time stays, and keeps b's message from staying.
        ledger.report(&Report {
            message: None,
            ..report(0, 0, "")
        });
        assert_eq!(ledger.hold_at_most(1), 1);
        assert_eq!(ledger.batch().results[0].0, "a");
        assert!(ledger.batch().messages.is_empty(), "gone with b's result");
    }

    #[test]
    fn each_result_s_verdicts_go_with_it_into_the_batch_and_out_with_it() {
        let (mut ledger, _store, _dir) = ledger();
        let verdict = crate::monitor::conditions::Verdict {
            condition: "[STATUS] == 200".to_owned(),
            failure: Some("[STATUS] (503) == 200".to_owned()),
        };
        let judged = |second| Outcome {
            conditions: vec![verdict.clone()],
            ..outcome(second, false)
        };
        ledger.record(0, &judged(0));
        ledger.record(1, &outcome(0, true));
        ledger.record(0, &judged(1));
        let at = |second: u64| 1_800_000_000_000 + second * 1000;
        // Every result's, none included: the store marks when a target's conditions are gone.
        assert_eq!(
            ledger.batch().verdicts,
            [
                ("a".to_owned(), at(0), vec![verdict.clone()]),
                ("b".to_owned(), at(0), vec![]),
                ("a".to_owned(), at(1), vec![verdict.clone()]),
            ]
        );
        assert_eq!(ledger.hold_at_most(1), 2);
        assert_eq!(
            ledger.batch().verdicts,
            [("a".to_owned(), at(1), vec![verdict])],
            "the dropped results' went with them"
        );
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
    fn reminders_are_looked_for_when_one_is_due_or_something_changed() {
        let (mut ledger, _store, _dir) = ledger();
        let t = 1_800_000_000_000;
        // Nothing open: nothing is ever due, until something changes.
        assert!(!ledger.remind(from_millis(t)));
        assert_eq!(ledger.next_reminder_ms, u64::MAX);
        for second in [0, 30, 60] {
            ledger.record(0, &outcome(second, false));
        }
        assert_eq!(ledger.next_reminder_ms, 0, "a's incident opened");
        ledger.committed();
        assert!(!ledger.remind(from_millis(t + 100_000)));
        assert_eq!(ledger.next_reminder_ms, t + 600_000, "slack's 10 minutes");
        assert!(ledger.remind(from_millis(t + 600_000)));
        assert_eq!(ledger.next_reminder_ms, t + 1_200_000);
        ledger.committed();
        // a comes back showing a certificate near its expiry: the incident's reminders end, the
        // certificate's begin, 10 minutes after its warning.
        ledger.record(0, &outcome(650, true));
        assert!(!ledger.remind(from_millis(t + 660_000)));
        assert_eq!(ledger.next_reminder_ms, t + 1_200_000, "still open");
        assert!(ledger.record(0, &with_certificate(680, "CN=a", 10)));
        assert_eq!(
            ledger.next_reminder_ms, 0,
            "resolved, and a certificate warning"
        );
        ledger.committed();
        assert!(!ledger.remind(from_millis(t + 700_000)));
        assert_eq!(ledger.next_reminder_ms, t + 1_280_000);
        assert!(ledger.remind(from_millis(t + 1_280_000)));
        assert_eq!(ledger.next_reminder_ms, t + 1_880_000);
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

    /// A monitor at nrt with agents at ams and iad (quorum: the default majority, 2), one target
    /// with thresholds 2 and 2, and a webhook.
    const LOCATED: &str = r#"
        [[target]]
        name = "api"
        url = "http://127.0.0.1:1/"
        failure_threshold = 2
        success_threshold = 2
        [[alert]]
        kind = "webhook"
        url = "http://127.0.0.1:3/hook"
        [[location]]
        name = "ams"
        url = "http://127.0.0.1:5/"
        token = "0123456789abcdef0123456789abcdef"
        [[location]]
        name = "iad"
        url = "http://127.0.0.1:6/"
        token = "0123456789abcdef0123456789abcdef"
    "#;

    fn located() -> (Ledger, Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let config = config::parse(LOCATED, |_| None)
            .unwrap()
            .located("nrt")
            .unwrap();
        assert_eq!(config.quorum, 2);
        (Ledger::load(Arc::new(config), &store).unwrap(), store, dir)
    }

    /// A round at `second` of nrt, ams and iad: `Some(ok)` a vote, `None` no answer.
    fn round(second: u64, votes: [Option<bool>; 3]) -> Round {
        use crate::monitor::round::Ballot;
        Round {
            ballots: ["nrt", "ams", "iad"]
                .into_iter()
                .zip(votes)
                .map(|(location, vote)| Ballot {
                    location: location.to_owned(),
                    outcome: vote
                        .map(|ok| outcome(second, ok))
                        .ok_or_else(|| "no answer within 2s".to_owned()),
                })
                .collect(),
        }
    }

    const UP: Option<bool> = Some(true);
    const FAIL: Option<bool> = Some(false);
    const GONE: Option<bool> = None;

    fn warnings(ledger: &Ledger) -> Vec<&str> {
        ledger
            .state(0)
            .unwrap()
            .locations
            .iter()
            .filter(|l| l.warning)
            .map(|l| l.vote.location.as_str())
            .collect()
    }

    #[test]
    fn a_minority_failing_pages_nobody_and_becomes_a_warning_at_the_threshold() {
        let (mut ledger, _store, _dir) = located();
        ledger.record_round(0, &round(0, [UP, UP, UP]));
        // ams fails alone for five rounds: the rounds pass, nobody is told.
        for second in [10, 20, 30, 40, 50] {
            assert!(!ledger.record_round(0, &round(second, [UP, FAIL, UP])));
        }
        let state = ledger.state(0).unwrap();
        assert_eq!(state.state, State::Up);
        assert!(events(&ledger).is_empty());
        assert!(ledger.batch().results.iter().all(|(_, r)| r.ok));
        assert_eq!(warnings(&ledger), ["ams"]);
        let ams = &state.locations[1];
        assert_eq!(ams.failures, 5);
        assert_eq!(
            ams.vote.error.as_deref(),
            Some("[STATUS] (503) == 200 at 50")
        );
        // One failure is not yet a warning (threshold 2); ams recovering ends it.
        ledger.record_round(0, &round(60, [UP, UP, FAIL]));
        assert_eq!(warnings(&ledger), Vec::<&str>::new());
        ledger.record_round(0, &round(70, [UP, UP, FAIL]));
        assert_eq!(warnings(&ledger), ["iad"]);
    }

    #[test]
    fn a_location_warning_reaches_only_the_alerts_that_opted_in_once() {
        let config = format!(
            "{LOCATED}\n[[alert]]\nkind = \"slack\"\nurl = \"http://127.0.0.1:4/s\"\nlocation_warnings = true\n"
        );
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let config = config::parse(&config, |_| None)
            .unwrap()
            .located("nrt")
            .unwrap();
        let mut ledger = Ledger::load(Arc::new(config), &store).unwrap();
        ledger.record_round(0, &round(0, [UP, UP, UP]));
        assert!(!ledger.record_round(0, &round(10, [UP, FAIL, UP])));
        assert!(
            ledger.record_round(0, &round(20, [UP, FAIL, UP])),
            "the warning starts"
        );
        assert_eq!(
            events(&ledger),
            [("slack".to_owned(), "warning", "api".to_owned())],
            "the webhook did not opt in"
        );
        let warning = &ledger.batch().notifications[0].incident;
        assert_eq!(warning.id, 0, "not an incident");
        assert_eq!(warning.cause, "ams: [STATUS] (503) == 200 at 20");
        assert!(ledger.batch().incidents.is_empty());
        // While it lasts, nothing more.
        assert!(!ledger.record_round(0, &round(30, [UP, FAIL, UP])));
        assert_eq!(ledger.batch().notifications.len(), 1);
    }

    #[test]
    fn the_monitor_failing_alone_is_outvoted_too() {
        let (mut ledger, _store, _dir) = located();
        for second in [0, 10, 20, 30] {
            assert!(!ledger.record_round(0, &round(second, [FAIL, UP, UP])));
        }
        assert_eq!(ledger.state(0).unwrap().state, State::Up);
        assert!(events(&ledger).is_empty());
        assert_eq!(warnings(&ledger), ["nrt"]);
        // The result keeps the monitor's own failure among the votes.
        let (_, last) = ledger.batch().results.last().unwrap();
        assert!(last.ok);
        assert_eq!(last.votes[0].ok, Some(false));
    }

    #[test]
    fn a_quorum_failing_for_the_threshold_in_rounds_opens_one_incident_naming_them() {
        let (mut ledger, _store, _dir) = located();
        ledger.record_round(0, &round(0, [UP, UP, UP]));
        assert!(
            !ledger.record_round(0, &round(10, [UP, FAIL, FAIL])),
            "one round"
        );
        assert!(
            ledger.record_round(0, &round(20, [FAIL, FAIL, UP])),
            "two rounds: down"
        );
        assert_eq!(ledger.state(0).unwrap().state, State::Down);
        let incident = &ledger.batch().incidents[0];
        assert_eq!(
            incident.started_ms, 1_800_000_010_000,
            "the first failed round"
        );
        assert_eq!(
            incident.cause,
            "nrt: [STATUS] (503) == 200 at 20; ams: [STATUS] (503) == 200 at 20"
        );
        assert_eq!(
            events(&ledger),
            [("webhook".to_owned(), "down", "api".to_owned())]
        );
        assert!(
            warnings(&ledger).is_empty(),
            "a quorum is an incident, not a warning"
        );
        // Still failing: nothing more.
        assert!(!ledger.record_round(0, &round(30, [FAIL, FAIL, FAIL])));
        assert_eq!(ledger.batch().notifications.len(), 1);
    }

    #[test]
    fn with_agents_unreachable_the_votes_cast_decide() {
        let (mut ledger, _store, _dir) = located();
        ledger.record_round(0, &round(0, [UP, UP, UP]));
        // Both agents gone: the monitor alone decides, as a single monitor would.
        assert!(!ledger.record_round(0, &round(10, [FAIL, GONE, GONE])));
        assert!(ledger.record_round(0, &round(20, [FAIL, GONE, GONE])));
        assert_eq!(
            ledger.batch().incidents[0].cause,
            "nrt: [STATUS] (503) == 200 at 20"
        );
        let state = ledger.state(0).unwrap();
        let ams = &state.locations[1];
        assert_eq!(ams.vote.ok, None, "no vote, not a failure");
        assert_eq!(ams.failures, 0);
        assert_eq!(
            ams.vote.error.as_deref(),
            Some("unreachable: no answer within 2s")
        );
    }

    #[test]
    fn recovery_needs_the_success_threshold_in_passing_rounds() {
        let (mut ledger, _store, _dir) = located();
        for second in [0, 10] {
            ledger.record_round(0, &round(second, [FAIL, FAIL, FAIL]));
        }
        assert_eq!(ledger.state(0).unwrap().state, State::Down);
        ledger.committed();
        // A round with one failure passes; two passing rounds bring it back.
        assert!(!ledger.record_round(0, &round(20, [UP, FAIL, UP])));
        assert!(
            !ledger.record_round(0, &round(30, [FAIL, FAIL, UP])),
            "the run is broken"
        );
        assert!(!ledger.record_round(0, &round(40, [UP, UP, FAIL])));
        assert!(ledger.record_round(0, &round(50, [UP, GONE, UP])));
        let state = ledger.state(0).unwrap();
        assert_eq!(state.state, State::Up);
        assert_eq!(
            ledger.batch().incidents[0].resolved_ms,
            Some(1_800_000_040_000)
        );
        assert_eq!(
            events(&ledger),
            [("webhook".to_owned(), "resolved", "api".to_owned())]
        );
    }

    #[test]
    fn held_results_past_the_bound_go_oldest_first_and_the_rest_stays() {
        let (mut ledger, _store, _dir) = ledger();
        for second in 0..5 {
            ledger.record(1, &outcome(second, false));
        }
        assert_eq!(ledger.hold_at_most(3), 2);
        let kept: Vec<u64> = ledger
            .batch()
            .results
            .iter()
            .map(|(_, r)| (r.at_ms - 1_800_000_000_000) / 1000)
            .collect();
        assert_eq!(kept, [2, 3, 4], "the oldest went");
        assert_eq!(ledger.batch().incidents.len(), 1, "the incident stays");
        assert_eq!(
            ledger.batch().notifications.len(),
            1,
            "its notification too"
        );
        assert_eq!(ledger.hold_at_most(3), 0);
    }

    /// [`CONFIG`] with a one-off window from `from` to `until` (RFC 3339); the tests' time is
    /// 2027-01-15T08:00:00Z.
    fn ledger_with_window(from: &str, until: &str) -> (Ledger, Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let text = format!("{CONFIG}\n[[maintenance]]\nfrom = \"{from}\"\nuntil = \"{until}\"\n");
        let config = Arc::new(config::parse(&text, |_| None).unwrap());
        (Ledger::load(config, &store).unwrap(), store, dir)
    }

    #[test]
    fn failures_in_a_window_open_nothing_and_count_from_its_end() {
        // From 100 s to 200 s.
        let (mut ledger, store, _dir) =
            ledger_with_window("2027-01-15T08:01:40Z", "2027-01-15T08:03:20Z");
        ledger.record(0, &outcome(0, true));
        for second in [100, 130, 160, 190] {
            assert!(!ledger.record(0, &outcome(second, false)));
        }
        assert_eq!(ledger.state(0).unwrap().state, State::Up);
        assert!(events(&ledger).is_empty() && ledger.batch().incidents.is_empty());
        // Out of the window, the threshold counts from the first failure after it.
        assert!(!ledger.record(0, &outcome(200, false)));
        assert!(!ledger.record(0, &outcome(230, false)));
        assert!(ledger.record(0, &outcome(260, false)));
        assert_eq!(ledger.batch().incidents[0].started_ms, 1_800_000_200_000);
        // Uptime leaves the window out: 1 success and 3 failures, not 7 failures.
        store.commit(ledger.batch()).unwrap();
        let history = store.history("a", from_millis(1_800_000_300_000)).unwrap();
        let day = history.windows()[0];
        assert_eq!((day.checks, day.failures), (4, 3));
        assert_eq!(
            store.results("a", None, 100).unwrap().len(),
            8,
            "all stored"
        );
    }

    #[test]
    fn an_open_incident_resolves_in_a_window_and_reminds_nobody_there() {
        // From 540 s to 720 s.
        let (mut ledger, _store, _dir) =
            ledger_with_window("2027-01-15T08:09:00Z", "2027-01-15T08:12:00Z");
        assert!(ledger.record(1, &outcome(0, false)), "b is down");
        for second in [10, 40, 70] {
            ledger.record(0, &outcome(second, false));
        }
        ledger.committed();
        // a's 10-minute reminder is due at 610 s, in the window: it waits for the window's end.
        assert!(!ledger.remind(from_millis(1_800_000_610_000)));
        assert!(!ledger.remind(from_millis(1_800_000_719_999)));
        assert!(ledger.remind(from_millis(1_800_000_720_000)));
        ledger.committed();
        assert!(
            ledger.record(1, &outcome(600, true)),
            "resolved in the window"
        );
        assert_eq!(
            events(&ledger),
            [("webhook".to_owned(), "resolved", "b".to_owned())]
        );
    }

    /// A success at `second` showing a certificate `subject` that expires `days` days after
    /// the tests' time.
    fn with_certificate(second: u64, subject: &str, days: u64) -> Outcome {
        Outcome {
            certificate_expiry: Some(from_millis(1_800_000_000_000 + days * 86_400_000)),
            certificate_subject: Some(subject.to_owned()),
            ..outcome(second, true)
        }
    }

    /// The (kind, expiry in days after the tests' time) of each certificate notification queued.
    fn certificate_events(ledger: &Ledger) -> Vec<(String, u64)> {
        (ledger.batch().notifications.iter())
            .filter_map(|n| match &n.event {
                Event::Certificate { expires_ms, .. } => Some((
                    n.kind.clone(),
                    (expires_ms - 1_800_000_000_000) / 86_400_000,
                )),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_certificate_within_the_warning_is_warned_about_once_until_renewed() {
        let (mut ledger, store, _dir) = ledger();
        assert!(
            !ledger.record(0, &with_certificate(0, "CN=a", 30)),
            "30 days"
        );
        assert!(
            ledger.record(0, &with_certificate(30, "CN=a", 10)),
            "10 days"
        );
        assert_eq!(
            certificate_events(&ledger),
            [("webhook".to_owned(), 10), ("slack".to_owned(), 10)]
        );
        let Event::Certificate { subject, .. } = &ledger.batch().notifications[0].event else {
            panic!("a certificate event");
        };
        assert_eq!(subject, "CN=a");
        assert_eq!(ledger.state(0).unwrap().state, State::Up, "not an outage");
        assert!(ledger.batch().incidents.is_empty());
        store.commit(ledger.batch()).unwrap();
        ledger.committed();

        // The same certificate again: nothing; the slack alert's reminder after 10 minutes.
        assert!(!ledger.record(0, &with_certificate(60, "CN=a", 10)));
        assert!(!ledger.remind(from_millis(1_800_000_629_999)));
        assert!(ledger.remind(from_millis(1_800_000_630_000)));
        assert_eq!(certificate_events(&ledger), [("slack".to_owned(), 10)]);
        store.commit(ledger.batch()).unwrap();
        ledger.committed();

        // A restart remembers the warning.
        let config = Arc::new(config::parse(CONFIG, |_| None).unwrap());
        let mut ledger = Ledger::load(config, &store).unwrap();
        assert!(!ledger.record(0, &with_certificate(700, "CN=a", 10)));
        assert!(
            !ledger.remind(from_millis(1_800_000_700_000)),
            "reminder 1 was sent"
        );
        assert!(certificate_events(&ledger).is_empty());

        // Renewed: the warning is over, and the renewed certificate's own warning comes later.
        assert!(!ledger.record(0, &with_certificate(900, "CN=a", 90)));
        assert!(
            !ledger.remind(from_millis(1_800_003_000_000)),
            "no reminder now"
        );
        assert!(ledger.record(0, &with_certificate(960, "CN=a", 12)));
        assert_eq!(
            certificate_events(&ledger),
            [("webhook".to_owned(), 12), ("slack".to_owned(), 12)]
        );
        // Another certificate with the same expiry (a new subject) is another warning.
        ledger.committed();
        assert!(ledger.record(0, &with_certificate(990, "CN=www.a", 12)));
        assert_eq!(certificate_events(&ledger).len(), 2);
    }

    #[test]
    fn certificate_reminders_count_per_period_and_each_is_sent_once() {
        let (mut ledger, _store, _dir) = ledger();
        assert!(ledger.record(0, &with_certificate(30, "CN=a", 10)));
        ledger.committed();
        // The slack alert's period is 10 minutes from the warning at 30 s.
        assert!(ledger.remind(from_millis(1_800_000_630_000)));
        ledger.committed();
        assert!(!ledger.remind(from_millis(1_800_001_229_999)));
        assert!(ledger.remind(from_millis(1_800_001_230_000)), "the second");
        assert_eq!(certificate_events(&ledger), [("slack".to_owned(), 10)]);
        ledger.committed();
        assert!(
            !ledger.remind(from_millis(1_800_001_300_000)),
            "the second was sent"
        );
        assert!(certificate_events(&ledger).is_empty());
    }

    #[test]
    fn certificate_warning_zero_turns_it_off_and_a_target_may_set_its_own() {
        let text = CONFIG
            .replace(
                "url = \"http://127.0.0.1:1/\"",
                "url = \"http://127.0.0.1:1/\"\ncertificate_warning = \"0s\"",
            )
            .replace(
                "url = \"http://127.0.0.1:2/\"",
                "url = \"http://127.0.0.1:2/\"\ncertificate_warning = \"40d\"",
            );
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let config = Arc::new(config::parse(&text, |_| None).unwrap());
        let mut ledger = Ledger::load(config, &store).unwrap();
        assert!(!ledger.record(0, &with_certificate(0, "CN=a", 1)));
        // Off means off, even for a certificate expiring this very moment.
        assert!(!ledger.record(0, &with_certificate(0, "CN=a", 0)));
        assert!(ledger.record(1, &with_certificate(0, "CN=b", 30)));
        assert_eq!(certificate_events(&ledger), [("webhook".to_owned(), 30)]);
    }

    #[test]
    fn results_for_unknown_targets_are_ignored() {
        let (mut ledger, _store, _dir) = ledger();
        assert!(!ledger.record(7, &outcome(0, false)));
        assert!(ledger.batch().is_empty());
    }

    #[test]
    fn a_result_keeps_its_certificate_expiry_and_a_notification_its_target_url() {
        let (mut ledger, _store, _dir) = ledger();
        let expiry = from_millis(1_900_000_000_999);
        ledger.record(
            1,
            &Outcome {
                certificate_expiry: Some(expiry),
                ..outcome(0, false)
            },
        );
        let state = ledger.state(1).unwrap();
        assert_eq!(state.certificate_expiry_s, Some(1_900_000_000));
        let urls: Vec<&str> = ledger
            .batch()
            .notifications
            .iter()
            .map(|n| n.url.as_str())
            .collect();
        assert_eq!(urls, ["http://127.0.0.1:2/"], "b's own URL, not a's");
    }

    #[test]
    fn two_incidents_in_one_run_get_their_own_ids() {
        let (mut ledger, store, _dir) = ledger();
        for (second, ok) in [(0, false), (10, true), (20, false), (30, true)] {
            assert!(ledger.record(1, &outcome(second, ok)));
        }
        let ids: Vec<u64> = ledger.batch().incidents.iter().map(|i| i.id).collect();
        assert_eq!(ids, [1, 1, 2, 2], "opened and resolved, twice");
        store.commit(ledger.batch()).unwrap();
        let kept: Vec<(u64, u64, Option<u64>)> = store
            .incidents(10)
            .unwrap()
            .iter()
            .map(|i| (i.id, i.started_ms, i.resolved_ms))
            .collect();
        let t0 = 1_800_000_000_000;
        assert_eq!(
            kept,
            [
                (2, t0 + 20_000, Some(t0 + 30_000)),
                (1, t0, Some(t0 + 10_000)),
            ]
        );
    }

    /// Wall-clock time at which the [`Running`] tests start: 2027-01-15T08:00:00Z, on an hour.
    const T: u64 = 1_800_000_000_000;

    /// Polls `done` until it holds; fails after ten seconds (a hang guard, not a timing).
    fn eventually(what: &str, mut done: impl FnMut() -> bool) {
        let give_up = std::time::Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(
                std::time::Instant::now() < give_up,
                "{what}: never happened"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// A result of target `index` at `at_ms`.
    fn result_at(index: usize, at_ms: u64, ok: bool) -> (usize, Outcome) {
        let second = at_ms.saturating_sub(T) / 1000;
        let mut outcome = outcome(second, ok);
        outcome.at = from_millis(at_ms);
        (index, outcome)
    }

    /// [`run`] on its own thread over a store, with a clock the test moves.
    struct Running {
        clock: Arc<ManualClock>,
        store: Arc<Store>,
        delivery: Arc<Notify>,
        results: Option<std::sync::mpsc::Sender<Report>>,
        /// This monitor's location: each result is a round of it alone.
        location: String,
        thread: Option<std::thread::JoinHandle<()>>,
        /// Target `b`'s results sent by [`Running::barrier`], which alternate.
        barriers: u64,
        _dir: tempfile::TempDir,
    }

    impl Running {
        /// [`CONFIG`] with `monitor` as its `[monitor]` section over a store holding `seed`;
        /// `first` is waiting in the channel before the thread starts, so the first round
        /// reads it.
        fn start(monitor: &str, seed: &Batch, first: &[(usize, Outcome)]) -> Self {
            let (direct, _) = tokio::sync::mpsc::unbounded_channel();
            let health = Arc::new(StoreHealth::new(0).unwrap());
            Self::start_with(monitor, seed, first, health, direct)
        }

        /// [`Running::start`] reporting the store's state to `health` and direct messages to
        /// `direct`.
        fn start_with(
            monitor: &str,
            seed: &Batch,
            first: &[(usize, Outcome)],
            health: Arc<StoreHealth>,
            direct: UnboundedSender<Direct>,
        ) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let store = Arc::new(Store::open(dir.path()).unwrap());
            store.commit(seed).unwrap();
            let config = Arc::new(
                config::parse(&format!("[monitor]\n{monitor}\n{CONFIG}"), |_| None).unwrap(),
            );
            let location = config.location.clone();
            let ledger = Ledger::load(config, &store).unwrap();
            let clock = Arc::new(ManualClock::at(from_millis(T)));
            let (results, received) = std::sync::mpsc::channel();
            for (index, outcome) in first {
                let round = Round::alone(&location, outcome.clone());
                results.send((*index, round).into()).unwrap();
            }
            let delivery = Arc::new(Notify::new());
            let outlets = Outlets {
                delivery: delivery.clone(),
                health,
                direct,
                max_store_bytes: u64::MAX,
                progress: Arc::default(),
                clock: clock.clone(),
            };
            let thread = spawn(ledger, store.clone(), received, outlets).unwrap();
            Self {
                clock,
                store,
                delivery,
                results: Some(results),
                location,
                thread: Some(thread),
                barriers: 0,
                _dir: dir,
            }
        }

        fn now_ms(&self) -> u64 {
            millis(self.clock.now())
        }

        fn send(&self, (index, outcome): (usize, Outcome)) {
            let round = Round::alone(&self.location, outcome);
            self.results
                .as_ref()
                .unwrap()
                .send((index, round).into())
                .unwrap();
        }

        /// Returns once every round before it has ended: sends target `b` (thresholds 1/1) a
        /// result that changes its state, so it is committed at once whatever the clock says,
        /// and waits until the store holds it. The round it starts may still be pruning.
        fn barrier(&mut self) {
            self.barriers += 1;
            let at = self.now_ms() + self.barriers;
            // b goes down on odd barriers and up on even ones.
            self.send(result_at(1, at, self.barriers.is_multiple_of(2)));
            eventually("the barrier's commit", || {
                self.store
                    .state("b")
                    .unwrap()
                    .and_then(|s| s.last)
                    .is_some_and(|last| last.at_ms == at)
            });
        }

        /// Whether a notification was committed since the last call.
        fn woken(&self) -> bool {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap();
            runtime.block_on(async {
                tokio::time::timeout(Duration::ZERO, self.delivery.notified())
                    .await
                    .is_ok()
            })
        }

        fn result_times(&self, target: &str) -> Vec<u64> {
            let mut times: Vec<u64> = self
                .store
                .results(target, None, 1000)
                .unwrap()
                .iter()
                .map(|r| r.at_ms)
                .collect();
            times.reverse();
            times
        }

        /// Drops the sender, as the schedule does on shutdown, and waits for the thread.
        fn stop(&mut self) {
            drop(self.results.take());
            self.thread.take().unwrap().join().unwrap();
        }
    }

    impl Drop for Running {
        fn drop(&mut self) {
            drop(self.results.take());
        }
    }

    /// A batch that gives target `a` a saved state (pruning walks the saved targets) and a
    /// result at each of `times`.
    fn seed(times: &[u64]) -> Batch {
        let mut batch = Batch::default();
        batch.states.insert("a".to_owned(), TargetState::default());
        for &at_ms in times {
            batch.results.push(("a".to_owned(), passing(at_ms)));
        }
        batch
    }

    /// A passing result at `at_ms`, as the store holds it.
    fn passing(at_ms: u64) -> ResultRecord {
        ResultRecord {
            at_ms,
            ok: true,
            status_code: Some(200),
            response_time_ms: 20,
            error: None,
            votes: Vec::new(),
        }
    }

    #[test]
    fn run_commits_results_each_second_a_change_at_once_and_the_rest_at_the_end() {
        let old = T - 8 * DAY_MS;
        let mut running = Running::start(
            "retention = \"7d\"",
            &seed(&[old]),
            &[result_at(0, T, true)],
        );
        // The first round reads T's result, then prunes: once `old` is gone, the round is over,
        // and T's result waits for the next second.
        eventually("the first prune", || {
            !running.result_times("a").contains(&old)
        });
        assert!(running.result_times("a").is_empty(), "not yet a second");

        running.clock.advance(Duration::from_millis(1000));
        running.send(result_at(0, T + 1000, true));
        eventually("the commit a second on", || {
            running.result_times("a") == [T, T + 1000]
        });
        assert!(!running.woken(), "results alone wake no delivery");

        // b goes down: committed at once, with its notification, and delivery is woken.
        running.send(result_at(1, T + 1001, false));
        eventually("the incident's commit", || {
            running.store.incidents(10).unwrap().len() == 1
        });
        assert_eq!(running.store.pending().unwrap().len(), 1);
        eventually("delivery woken", || running.woken());

        // Shutdown commits what the last second brought.
        running.send(result_at(0, T + 1002, true));
        running.stop();
        assert_eq!(running.result_times("a"), [T, T + 1000, T + 1002]);
        assert!(!running.woken());
    }

    #[test]
    fn run_prunes_at_start_then_each_hour_of_the_clock_it_is_given() {
        let edge = T - 7 * DAY_MS;
        let mut running = Running::start("retention = \"7d\"", &seed(&[edge - 1, edge]), &[]);
        running.barrier();
        running.barrier();
        assert_eq!(running.result_times("a"), [edge], "pruned at start");

        // An hour less a millisecond later `edge` is past the retention, but no prune is due.
        running.clock.advance(Duration::from_millis(3_599_999));
        running.barrier();
        running.barrier();
        assert_eq!(running.result_times("a"), [edge]);
        running.clock.advance(Duration::from_millis(1));
        running.barrier();
        running.barrier();
        assert!(running.result_times("a").is_empty(), "pruned on the hour");
    }

    #[test]
    fn run_keeps_results_for_the_retention_and_history_for_91_days_at_least() {
        let results_edge = T - 7 * DAY_MS;
        let history_edge = T - 91 * DAY_MS;
        // The first hour and day whose aggregates are kept: 30 days, and 91 days, back.
        let hour_edge = T - HOURS_KEPT * HOUR_MS;
        let day_edge = history_edge / DAY_MS * DAY_MS;
        let mut batch = seed(&[
            results_edge - 1,
            results_edge,
            hour_edge - 1,
            hour_edge,
            day_edge - 1,
            day_edge,
            T - HOUR_MS,
        ]);
        let incident = |id, resolved_ms| Incident {
            id,
            target: "a".to_owned(),
            started_ms: T - 200 * DAY_MS,
            resolved_ms,
            cause: "x".to_owned(),
            reminders: Vec::new(),
        };
        batch.incidents = vec![
            incident(1, Some(history_edge - 1)),
            incident(2, Some(history_edge)),
            incident(3, None),
        ];
        let notification = |delivered_ms| Notification {
            id: 0,
            alert: 0,
            kind: "webhook".to_owned(),
            event: Event::Resolved,
            incident: incident(1, None),
            url: String::new(),
            created_ms: T - 200 * DAY_MS,
            attempts: 1,
            next_attempt_ms: T - 200 * DAY_MS,
            delivered_ms,
            last_error: None,
        };
        batch.notifications = vec![
            notification(Some(history_edge - 1)),
            notification(Some(history_edge)),
            notification(None),
        ];
        let mut running = Running::start("retention = \"7d\"", &batch, &[]);
        let store = running.store.clone();
        running.barrier();
        running.barrier();

        assert_eq!(
            running.result_times("a"),
            [results_edge, T - HOUR_MS],
            "those at hour_edge are past the retention"
        );
        let ids: Vec<u64> = store.incidents(10).unwrap().iter().map(|i| i.id).collect();
        assert!(
            !ids.contains(&1) && ids.contains(&2) && ids.contains(&3),
            "{ids:?}"
        );
        let kept: Vec<Option<u64>> = store
            .notifications(1)
            .unwrap()
            .iter()
            .filter(|n| n.incident.id == 1)
            .map(|n| n.delivered_ms)
            .collect();
        assert_eq!(kept, [Some(history_edge), None]);

        // Aggregates, read back as the status page reads them: the hours of the last 30 days
        // and the days of the last 91 stay, older ones go.
        let hours = store.history("a", from_millis(hour_edge)).unwrap().hours;
        let checks: Vec<u64> = hours[22..].iter().map(|(_, a)| a.checks).collect();
        assert_eq!(checks, [0, 1], "hour_edge - 1 went, hour_edge stayed");
        let days = store.history("a", from_millis(day_edge)).unwrap().days;
        let checks: Vec<u64> = days[88..].iter().map(|(_, a)| a.checks).collect();
        assert_eq!(checks, [0, 1], "day_edge - 1 went, day_edge stayed");
        let now = store.history("a", from_millis(T)).unwrap();
        assert_eq!(now.hours[23].1.checks, 0);
        assert_eq!(now.hours[22].1.checks, 1, "the last hour's result");
        // The last hour's; the two at the retention's edge, 7 days back (one of whose raw
        // results went while its day stays); those 30 days back are outside the month.
        let [day, week, month, _] = now.windows();
        assert_eq!((day.checks, week.checks, month.checks), (1, 1, 3));
    }

    #[test]
    fn run_commits_a_reminder_as_soon_as_it_is_due() {
        // a's incident starts 599.5 s before T, so its 10-minute reminder is due at T + 0.5 s.
        let start = T - 599_500;
        let failures: Vec<_> = (0..3)
            .map(|i| result_at(0, start + i * 10_000, false))
            .collect();
        let running = Running::start("", &Batch::default(), &failures);
        let reminders = || {
            running
                .store
                .pending()
                .unwrap()
                .iter()
                .filter(|n| n.event == Event::Reminder)
                .count()
        };
        eventually("the incident's commit", || {
            running.store.incidents(1).unwrap().len() == 1
        });
        assert_eq!(reminders(), 0);
        // Half a second: too soon for the commit of results, not for the reminder's.
        running.clock.advance(Duration::from_millis(500));
        eventually("the reminder's commit", || reminders() == 1);
        let reminder = running.store.pending().unwrap().pop().unwrap();
        assert_eq!(reminder.kind, "slack");
        assert_eq!(reminder.created_ms, T + 500);
    }

    /// [`Outlets`] telling `health`'s state and sending direct messages to `direct`.
    fn outlets_with(health: StoreHealth, direct: &UnboundedSender<Direct>) -> Outlets {
        Outlets {
            delivery: Arc::new(Notify::new()),
            health: Arc::new(health),
            direct: direct.clone(),
            max_store_bytes: u64::MAX,
            progress: Arc::default(),
            clock: Arc::new(ManualClock::at(from_millis(T))),
        }
    }

    #[test]
    fn while_the_store_fails_alerts_are_told_once_stale_and_each_notification_once() {
        let (mut ledger, _store, _dir) = ledger();
        let (direct, mut told) = tokio::sync::mpsc::unbounded_channel();
        let mut trouble = Trouble {
            failures: 1,
            next_attempt: Instant::now(),
            announced: None,
            sent: 0,
        };
        // b goes down: one notification, for the webhook.
        assert!(ledger.record(1, &outcome(0, false)));
        let unrecorded = |ledger: &Ledger, index: usize| {
            Direct::Unrecorded(Box::new(ledger.batch().notifications[index].clone()))
        };

        // Not stale yet: nobody is told, not even of the notification.
        let fresh = outlets_with(StoreHealth::new(0).unwrap(), &direct);
        trouble.tell(&mut ledger, &fresh);
        assert_eq!(told.try_recv().ok(), None);

        let error = "store: No space left on device (os error 28)";
        let stale = outlets_with(
            StoreHealth::stale_since(from_millis(T - 5000), error),
            &direct,
        );
        trouble.tell(&mut ledger, &stale);
        assert_eq!(
            told.try_recv().ok(),
            Some(Direct::Degraded {
                since_ms: T - 5000,
                cause: error.to_owned(),
            })
        );
        assert_eq!(told.try_recv().ok(), Some(unrecorded(&ledger, 0)));
        assert_eq!(told.try_recv().ok(), None);

        // Each later turn tells only what was queued since.
        trouble.tell(&mut ledger, &stale);
        assert_eq!(told.try_recv().ok(), None);
        assert!(ledger.record(1, &outcome(1, true)));
        trouble.tell(&mut ledger, &stale);
        assert_eq!(told.try_recv().ok(), Some(unrecorded(&ledger, 1)));
        assert_eq!(told.try_recv().ok(), None);
        assert_eq!(ledger.batch().notifications.len(), 2, "kept for the commit");
    }

    #[test]
    fn failed_commits_are_retried_after_1_s_doubling_up_to_8_s_then_recover() {
        let (mut ledger, store, dir) = ledger();
        let (direct, mut told) = tokio::sync::mpsc::unbounded_channel();
        let outlets = outlets_with(StoreHealth::new(0).unwrap(), &direct);
        let mut trouble = None;
        assert!(ledger.record(1, &outcome(0, false)));
        // Closed, then unable to re-open: a directory where the file was.
        store.close();
        let file = dir.path().join(crate::monitor::store::FILE_NAME);
        let aside = dir.path().join("aside");
        std::fs::rename(&file, &aside).unwrap();
        std::fs::create_dir(&file).unwrap();
        let mut waits = Vec::new();
        for _ in 0..5 {
            commit(&mut ledger, &store, &outlets, &mut trouble);
            let failing = trouble.as_ref().expect("the commit failed");
            waits.push((
                failing.failures,
                failing.next_attempt - outlets.clock.instant(),
            ));
        }
        let s = Duration::from_secs;
        assert_eq!(
            waits,
            [(1, s(1)), (2, s(2)), (3, s(4)), (4, s(8)), (5, s(8))]
        );
        assert_eq!(ledger.batch().results.len(), 1, "held, not lost");

        std::fs::remove_dir(&file).unwrap();
        std::fs::rename(&aside, &file).unwrap();
        commit(&mut ledger, &store, &outlets, &mut trouble);
        assert!(trouble.is_none(), "committed after re-opening");
        assert!(ledger.batch().is_empty());
        assert_eq!(store.state("b").unwrap().unwrap().state, State::Down);
        assert_eq!(
            told.try_recv().ok(),
            None,
            "never stale, so nobody was told"
        );
    }

    /// The value of the counter or gauge `name` in `registry`.
    fn metric(registry: &prometheus::Registry, name: &str) -> f64 {
        let families = registry.gather();
        let family = families.iter().find(|f| f.name() == name).unwrap();
        let metric = &family.get_metric()[0];
        match family.get_field_type() {
            prometheus::proto::MetricType::COUNTER => metric.get_counter().get_value(),
            _ => metric.get_gauge().get_value(),
        }
    }

    /// The next direct message; fails after ten seconds (a hang guard, not a timing).
    fn next_told(told: &mut tokio::sync::mpsc::UnboundedReceiver<Direct>) -> Direct {
        let mut next = None;
        eventually("a direct message", || {
            next = told.try_recv().ok();
            next.is_some()
        });
        next.unwrap()
    }

    #[test]
    fn run_tries_a_failing_store_again_only_once_its_retry_is_due() {
        let since = T - 60_000;
        let health = Arc::new(StoreHealth::stale_since(from_millis(since), "disk full"));
        let registry = prometheus::Registry::new();
        health.register(&registry).unwrap();
        // stale_since counts one failure of its own.
        let attempts = || metric(&registry, "monitor_store_commit_errors_total") as u64 - 1;
        let (direct, mut told) = tokio::sync::mpsc::unbounded_channel();
        let mut running = Running::start_with("", &Batch::default(), &[], health, direct);
        // Closed, then unable to re-open: a directory where the file was.
        running.store.close();
        let file = running._dir.path().join(crate::monitor::store::FILE_NAME);
        let aside = running._dir.path().join("aside");
        std::fs::rename(&file, &aside).unwrap();
        std::fs::create_dir(&file).unwrap();

        running.send(result_at(1, T, false));
        assert_eq!(
            next_told(&mut told),
            Direct::Degraded {
                since_ms: since,
                cause: "store: the store is closed after an I/O error, and not yet re-opened"
                    .to_owned()
            }
        );
        assert!(matches!(next_told(&mut told), Direct::Unrecorded(_)));
        assert_eq!(attempts(), 1, "at T, failed: the next is due at T + 1 s");
        // Each report changes b's state (thresholds 1/1), so each turn would commit at once;
        // the notification it makes is told directly (the data is stale) at the end of the
        // turn, after the turn's commit attempt, if any.
        let mut turn = |at_ms: u64, ok: bool| {
            running
                .clock
                .advance(Duration::from_millis(at_ms - running.now_ms()));
            running.send(result_at(1, at_ms, ok));
            match next_told(&mut told) {
                Direct::Unrecorded(notification) => assert_eq!(notification.created_ms, at_ms),
                other => panic!("{other:?}"),
            }
            attempts()
        };
        // The retries of commit()'s schedule, 1 s then 2 s then 4 s after each failure.
        assert_eq!(turn(T + 999, true), 1);
        assert_eq!(turn(T + 1000, false), 2, "due at T + 3 s");
        assert_eq!(turn(T + 2999, true), 2);
        assert_eq!(turn(T + 3000, false), 3, "due at T + 7 s");
        // A second after that failure the next commit is due by the clock of commits but the
        // retry is not: the loop waits for the retry. In a tenth of a second (real time: the
        // test's clock does not move by itself, so the retry stays 3 s away) it reads the
        // clock a few times at most, not the thousands of a loop that turns without pause.
        assert_eq!(turn(T + 4000, true), 3);
        let reads = running.clock.reads();
        std::thread::sleep(Duration::from_millis(100));
        let turned = running.clock.reads() - reads;
        assert!(
            turned < 20,
            "the clock was read {turned} times while nothing was due"
        );
        assert_eq!(turn(T + 5000, false), 3);
        assert_eq!(turn(T + 6999, true), 3);

        std::fs::remove_dir(&file).unwrap();
        std::fs::rename(&aside, &file).unwrap();
        running.clock.advance(Duration::from_millis(1));
        running.send(result_at(1, T + 7000, false));
        match next_told(&mut told) {
            Direct::Recovered {
                since_ms, at_ms, ..
            } => assert_eq!((since_ms, at_ms), (since, T + 7000)),
            other => panic!("{other:?}"),
        }
        assert_eq!(attempts(), 3, "re-opened and committed");
        running.stop();
        let times: Vec<u64> = running
            .store
            .results("b", None, 10)
            .unwrap()
            .iter()
            .rev()
            .map(|r| r.at_ms)
            .collect();
        assert_eq!(
            times,
            [
                T,
                T + 999,
                T + 1000,
                T + 2999,
                T + 3000,
                T + 4000,
                T + 5000,
                T + 6999,
                T + 7000
            ],
            "every held result committed"
        );
    }

    /// A store holding target `a`'s results at `times`, committed 100 at a time.
    fn store_with(times: &[u64]) -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for chunk in times.chunks(100) {
            store.commit(&seed(chunk)).unwrap();
        }
        (store, dir)
    }

    /// [`Outlets`] with `max` bytes of store, a clock the test moves, and the store's size
    /// gauge in a registry.
    fn sized(max: u64) -> (Outlets, Arc<ManualClock>, prometheus::Registry) {
        let (direct, _) = tokio::sync::mpsc::unbounded_channel();
        let clock = Arc::new(ManualClock::at(from_millis(T + DAY_MS)));
        let registry = prometheus::Registry::new();
        let outlets = Outlets {
            max_store_bytes: max,
            clock: clock.clone(),
            ..outlets_with(StoreHealth::new(0).unwrap(), &direct)
        };
        outlets.health.register(&registry).unwrap();
        (outlets, clock, registry)
    }

    fn result_times(store: &Store) -> Vec<u64> {
        let results = store.results("a", None, 10_000).unwrap();
        results.iter().rev().map(|r| r.at_ms).collect()
    }

    /// 2,000 results a second apart, from T, committed 100 at a time; then the older 1,000
    /// pruned, which leaves their pages free in the file.
    fn store_with_free_pages() -> (Store, tempfile::TempDir) {
        let times: Vec<u64> = (0..2000).map(|k| T + k * 1000).collect();
        let (store, dir) = store_with(&times);
        store
            .prune(
                from_millis(T + DAY_MS),
                from_millis(T + 1_000_000),
                UNIX_EPOCH,
            )
            .unwrap();
        assert_eq!(store.result_count().unwrap(), 1000);
        (store, dir)
    }

    #[test]
    fn a_store_past_its_limit_is_compacted_then_keeps_what_fits_newest_first() {
        let (store, _dir) = store_with_free_pages();
        let before = store.file_bytes();
        let (outlets, _clock, registry) = sized(before - 1);
        let mut guard = SizeGuard::default();
        guard.check(&store, &outlets);

        // The gauge was last set after compacting, before pruning.
        let compacted = metric(&registry, "monitor_store_bytes") as u64;
        assert!(compacted < before, "compacted: {compacted} of {before}");
        let after = store.file_bytes();
        assert!(after < before, "the file shrank: {after} of {before}");
        // The rule: bytes per result measured on the compacted file; 80 % of it (it is below
        // the limit) holds `fit` results; the excess and a tenth of `fit` go, as the share of
        // the time span they make, oldest first, the result on the cut included.
        let per_result = compacted / 1000;
        assert_eq!(guard.per_result, Some(per_result));
        let fit = compacted / 100 * 80 / per_result;
        let excess = (1000 - fit) + fit / 10;
        let cut = 999_000 * excess / 1000;
        let gone = cut / 1000 + 1;
        let kept: Vec<u64> = (1000 + gone..2000).map(|k| T + k * 1000).collect();
        assert_eq!(result_times(&store), kept, "the oldest {gone} went");
        assert!(kept.len() as u64 <= fit && kept.len() as u64 >= fit - fit / 10 - 1);
    }

    #[test]
    fn a_store_exactly_at_its_limit_is_measured_as_it_is() {
        let (store, _dir) = store_with_free_pages();
        let bytes = store.file_bytes();
        let (outlets, _clock, registry) = sized(bytes);
        let mut guard = SizeGuard::default();
        guard.check(&store, &outlets);
        assert_eq!(metric(&registry, "monitor_store_bytes") as u64, bytes);
        assert_eq!(guard.per_result, Some(bytes / 1000), "not compacted");
    }

    #[test]
    fn a_store_within_half_its_limit_is_left_alone() {
        let times: Vec<u64> = (0..100).map(|k| T + k * 1000).collect();
        let (store, _dir) = store_with(&times);
        let bytes = store.file_bytes();
        let mut guard = SizeGuard::default();
        guard.check(&store, &sized(2 * bytes).0);
        assert_eq!(guard.per_result, None, "at half");
        let mut guard = SizeGuard::default();
        guard.check(&store, &sized(2 * bytes - 1).0);
        assert_eq!(
            guard.per_result,
            Some(bytes / 100),
            "measured once past half"
        );
    }

    #[test]
    fn past_the_fill_share_the_oldest_go_up_to_the_cut_and_the_result_on_it() {
        // 80 % of 100,000 bytes at 100 bytes a result: 800 fit.
        let max = 100_000;
        let mut guard = SizeGuard {
            per_result: Some(100),
            ..SizeGuard::default()
        };
        let times: Vec<u64> = (0..800).map(|k| T + k * 1000).collect();
        let (store, _dir) = store_with(&times);
        assert!(store.file_bytes() > max, "{}", store.file_bytes());
        let (outlets, clock, _) = sized(max);
        guard.check(&store, &outlets);
        assert_eq!(result_times(&store), times, "800 fit");

        // 1,000: the 200 past the fit and a tenth of it, 280, as a share of the span of
        // 1,000 s is 280 s; the result at T + 280 s is on the cut and goes too.
        let mut more: Vec<u64> = (800..999).map(|k| T + k * 1000).collect();
        more.push(T + 1_000_000);
        store.commit(&seed(&more)).unwrap();
        clock.advance(SIZE_CHECK_EVERY);
        guard.check(&store, &outlets);
        let mut kept: Vec<u64> = (281..999).map(|k| T + k * 1000).collect();
        kept.push(T + 1_000_000);
        assert_eq!(result_times(&store), kept);
    }

    #[test]
    fn pruning_to_the_size_is_warned_of_once_a_day_of_the_ledgers_clock() {
        // 800 results fit (as above); each check below finds 1,000 and prunes.
        let max = 100_000;
        let mut guard = SizeGuard {
            per_result: Some(100),
            ..SizeGuard::default()
        };
        let (store, _dir) = store_with(&[]);
        let (outlets, clock, _) = sized(max);
        let mut next = T;
        let mut warnings_after = |wait: Duration| {
            clock.advance(wait);
            let times: Vec<u64> = (0..1000).map(|k| next + k * 1000).collect();
            next += 1_000_000;
            store.commit(&seed(&times)).unwrap();
            let said = logged(|_| guard.check(&store, &outlets));
            assert!(store.result_count().unwrap() < 1000, "pruned");
            said.iter().filter(|line| line["level"] == "WARN").count()
        };
        assert_eq!(warnings_after(Duration::ZERO), 1, "the first time");
        assert_eq!(warnings_after(Duration::from_secs(3630)), 0, "an hour on");
        // Checks are 10 s apart at least: the last comes at exactly a day.
        assert_eq!(
            warnings_after(SIZE_WARN_EVERY - Duration::from_secs(3640)),
            0,
            "10 s short of a day"
        );
        assert_eq!(warnings_after(SIZE_CHECK_EVERY), 1, "a day on");
    }

    #[test]
    fn the_size_is_looked_at_once_per_10_s_of_the_ledgers_clock() {
        let (store, _dir) = store_with(&[T]);
        let (outlets, clock, registry) = sized(u64::MAX);
        let looked = |guard: &mut SizeGuard| {
            outlets.health.set_bytes(0);
            guard.check(&store, &outlets);
            metric(&registry, "monitor_store_bytes") as u64 == store.file_bytes()
        };
        let mut guard = SizeGuard::default();
        assert!(looked(&mut guard), "at once");
        clock.advance(Duration::from_millis(9_999));
        assert!(!looked(&mut guard));
        clock.advance(Duration::from_millis(1));
        assert!(looked(&mut guard), "10 s after");
        assert!(!looked(&mut guard), "not again at once");
        clock.advance(Duration::from_secs(60));
        assert!(looked(&mut guard), "however late");
    }

    #[test]
    fn while_the_store_fails_results_past_the_bound_go_oldest_first_and_are_counted() {
        let (mut ledger, _store, _dir) = ledger();
        let (direct, _told) = tokio::sync::mpsc::unbounded_channel();
        let outlets = outlets_with(StoreHealth::new(0).unwrap(), &direct);
        let registry = prometheus::Registry::new();
        outlets.health.register(&registry).unwrap();
        let dropped = || {
            registry
                .gather()
                .iter()
                .find(|family| family.name() == "monitor_results_dropped_total")
                .map(|family| family.get_metric()[0].get_counter().get_value())
        };
        let mut trouble = Trouble {
            failures: 1,
            next_attempt: Instant::now(),
            announced: None,
            sent: 0,
        };
        let held = (0..MAX_HELD_RESULTS as u64).map(|at_ms| ("a".to_owned(), passing(at_ms)));
        ledger.batch.results.extend(held);

        // At the bound: all stay, and nothing is said (tell runs each turn of the loop).
        let said = logged(|_| trouble.tell(&mut ledger, &outlets));
        assert_eq!(ledger.batch().results.len(), MAX_HELD_RESULTS);
        assert_eq!(dropped(), Some(0.0));
        assert!(said.is_empty(), "{said:?}");

        ledger
            .batch
            .results
            .push(("a".to_owned(), passing(u64::MAX)));
        ledger
            .batch
            .results
            .push(("a".to_owned(), passing(u64::MAX)));
        let said = logged(|_| trouble.tell(&mut ledger, &outlets));
        let results = &ledger.batch().results;
        assert_eq!(results.len(), MAX_HELD_RESULTS);
        assert_eq!(results[0].1.at_ms, 2, "the two oldest went");
        assert_eq!(results[MAX_HELD_RESULTS - 1].1.at_ms, u64::MAX);
        assert_eq!(dropped(), Some(2.0));
        assert_eq!(said.len(), 1, "{said:?}");
        assert_eq!(
            (&said[0]["message"], &said[0]["dropped"]),
            (
                &json!("dropped the oldest results the store could not commit"),
                &json!(2)
            )
        );
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;
    use crate::monitor::store::ResultRecord;

    /// Commits `count` results of `target` a second apart, ending `skip` seconds before now.
    fn fill(store: &Store, skip: u64, count: u64) {
        let now = millis(SystemTime::now()) - skip * 1000;
        let mut batch = Batch::default();
        batch.states.insert("a".to_owned(), TargetState::default());
        for i in 0..count {
            batch.results.push((
                "a".to_owned(),
                ResultRecord {
                    at_ms: now - (count - i) * 1000,
                    ok: true,
                    status_code: Some(200),
                    response_time_ms: 20,
                    error: None,
                    votes: Vec::new(),
                },
            ));
        }
        store.commit(&batch).unwrap();
    }

    #[test]
    fn near_max_store_size_the_oldest_results_go_and_the_file_stops_growing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let max = 4 * 1024 * 1024;
        let mut skip = 10_000_000;
        while store.file_bytes() <= max / 2 {
            skip -= 5000;
            fill(&store, skip, 5000);
        }
        let (direct, _queue) = tokio::sync::mpsc::unbounded_channel();
        let outlets = Outlets {
            delivery: Arc::new(Notify::new()),
            health: Arc::new(StoreHealth::new(0).unwrap()),
            direct,
            max_store_bytes: max,
            progress: Arc::default(),
            clock: Arc::new(crate::monitor::clock::SystemClock),
        };
        let (first, _) = store.results_span().unwrap().unwrap();
        let mut guard = SizeGuard::default();
        let mut sizes = Vec::new();
        // 40,000 new results, 40 a commit, the size checked every 25 commits: more than the
        // file holds.
        for round in 0..1000 {
            if round % 25 == 0 {
                guard.checked = None;
                guard.check(&store, &outlets);
            }
            skip -= 40;
            fill(&store, skip, 40);
            sizes.push(store.file_bytes());
        }
        let largest = *sizes.iter().max().unwrap();
        assert!(largest <= max, "grew to {largest}");
        // redb gives free pages at the end back, so the size moves, but never up again.
        let first_half = sizes[..500].iter().max();
        assert!(sizes[500..].iter().max() <= first_half, "stopped growing");
        let (oldest, _) = store.results_span().unwrap().unwrap();
        assert!(oldest > first, "the oldest went");
        let newest = &store.results("a", None, 1).unwrap()[0];
        assert!(
            newest.at_ms > millis(SystemTime::now()) - skip * 1000 - 2000,
            "the newest stay"
        );
    }
}
