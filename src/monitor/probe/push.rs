//! `kind = "push"`: targets that are not probed but check in (a backup cron, a queue worker),
//! and fail when they stop.
//!
//! [`Watch`] is the state machine, with no I/O and exact times: a success is `up`; a `fail` or a
//! non-zero exit status fails at once; no check-in for `period + grace` fails (`no check-in for
//! 5m 30s`); a `start` not followed by a success within `grace` fails. [`Watch::resume`] starts
//! it again from the last committed check-in after a restart, giving the job at least one
//! `grace` first: the monitor could not see check-ins while it was down, so it invents no
//! outage for that time. The routes that receive check-ins are in [`crate::monitor::checkin`].

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::Outcome;
use crate::monitor::store::{from_millis, millis};

/// What a check-in says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ping {
    /// The job succeeded (`/ping/<token>`, `success=true`).
    Success,
    /// The job started (`/ping/<token>/start`): a success must follow within `grace`.
    Start,
    /// The job failed (`/ping/<token>/fail`, `success=false`).
    Fail,
    /// The job ended with this exit status (`/ping/<token>/<status>`): 0 is a success.
    Exit(u8),
}

/// What is kept of a push target between restarts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRecord {
    /// The last success or failure reported, ms since the epoch.
    pub checked_in_ms: Option<u64>,
    /// A `start` not yet followed by a success or failure, ms since the epoch.
    pub started_ms: Option<u64>,
}

/// One push target's clock: when it must next be heard from.
#[derive(Debug, Clone)]
pub struct Watch {
    /// How often the job checks in.
    period: Duration,
    /// How late it may be.
    grace: Duration,
    /// What it last said.
    record: PushRecord,
    /// When silence becomes a failure, ms since the epoch.
    deadline_ms: u64,
}

impl Watch {
    /// The clock of a target with `period` and `grace`, resumed from `record` (the last
    /// committed one, if any) at `now`: the deadline the record implies, but at least one `grace`
    /// from now; a target never heard from gets `period + grace`.
    #[must_use]
    pub fn resume(
        period: Duration,
        grace: Duration,
        record: Option<PushRecord>,
        now: SystemTime,
    ) -> Self {
        let now_ms = millis(now);
        let record = record.unwrap_or_default();
        let mut watch = Self {
            period,
            grace,
            record,
            deadline_ms: 0,
        };
        let implied = match (record.started_ms, record.checked_in_ms) {
            (Some(started), _) => started + watch.grace_ms(),
            (None, Some(last)) => last + watch.period_ms() + watch.grace_ms(),
            (None, None) => now_ms + watch.period_ms() + watch.grace_ms(),
        };
        watch.deadline_ms = implied.max(now_ms + watch.grace_ms());
        watch
    }

    /// Applies a check-in at `at`: returns the result it makes (none for a `start`).
    pub fn ping(&mut self, ping: Ping, at: SystemTime) -> Option<Outcome> {
        let at_ms = millis(at);
        if ping == Ping::Start {
            self.record.started_ms = Some(at_ms);
            self.deadline_ms = at_ms + self.grace_ms();
            return None;
        }
        // The run's length when it said it started, as Healthchecks measures it.
        let ran = self.record.started_ms.map_or(Duration::ZERO, |started| {
            Duration::from_millis(at_ms.saturating_sub(started))
        });
        self.record = PushRecord {
            checked_in_ms: Some(at_ms),
            started_ms: None,
        };
        self.deadline_ms = at_ms + self.period_ms() + self.grace_ms();
        let error = match ping {
            Ping::Success | Ping::Exit(0) | Ping::Start => None,
            Ping::Fail => Some("the job reported a failure".to_owned()),
            Ping::Exit(status) => Some(format!("the job exited with status {status}")),
        };
        Some(outcome(at, error, ran))
    }

    /// The failure due at `now`, if the deadline has passed: the next one is a `period` later.
    pub fn expire(&mut self, now: SystemTime) -> Option<Outcome> {
        let now_ms = millis(now);
        if now_ms < self.deadline_ms {
            return None;
        }
        let error = match self.record.started_ms.take() {
            Some(started) => format!(
                "started at {} and no success within {}",
                crate::clock::rfc3339_millis(from_millis(started)),
                humantime::format_duration(self.grace)
            ),
            None => format!(
                "no check-in for {}",
                humantime::format_duration(self.period + self.grace)
            ),
        };
        self.deadline_ms = now_ms + self.period_ms();
        Some(outcome(now, Some(error), Duration::ZERO))
    }

    /// When silence next becomes a failure, ms since the epoch.
    #[must_use]
    pub fn deadline_ms(&self) -> u64 {
        self.deadline_ms
    }

    /// What to commit for a restart to resume from.
    #[must_use]
    pub fn record(&self) -> PushRecord {
        self.record
    }

    fn period_ms(&self) -> u64 {
        u64::try_from(self.period.as_millis()).unwrap_or(u64::MAX / 4)
    }

    fn grace_ms(&self) -> u64 {
        u64::try_from(self.grace.as_millis()).unwrap_or(u64::MAX / 4)
    }
}

/// A result made by a check-in or by silence.
fn outcome(at: SystemTime, error: Option<String>, ran: Duration) -> Outcome {
    Outcome {
        at,
        ok: error.is_none(),
        status_code: None,
        response_time: ran,
        duration: ran,
        error,
        certificate_expiry: None,
        certificate_subject: None,
        conditions: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `seconds` past a fixed time.
    fn at(seconds: u64) -> SystemTime {
        from_millis(1_800_000_000_000 + seconds * 1000)
    }

    /// A 5-minute period with 30 seconds of grace, first heard of at 0.
    fn watch() -> Watch {
        Watch::resume(
            Duration::from_secs(300),
            Duration::from_secs(30),
            None,
            at(0),
        )
    }

    fn error(outcome: Option<Outcome>) -> Option<String> {
        outcome.expect("a result").error
    }

    #[test]
    fn silence_for_period_and_grace_fails_then_again_each_period() {
        let mut w = watch();
        assert_eq!(w.deadline_ms(), millis(at(330)), "never heard from");
        assert!(w.ping(Ping::Success, at(10)).unwrap().ok);
        assert_eq!(w.expire(at(339)), None);
        assert_eq!(
            error(w.expire(at(340))).as_deref(),
            Some("no check-in for 5m 30s")
        );
        assert_eq!(w.expire(at(639)), None);
        assert!(w.expire(at(640)).is_some(), "a period later");
        // A check-in sets the clock from itself.
        assert!(w.ping(Ping::Success, at(700)).unwrap().ok);
        assert_eq!(w.deadline_ms(), millis(at(1030)));
    }

    #[test]
    fn fail_and_non_zero_exits_fail_at_once_and_zero_succeeds() {
        let mut w = watch();
        assert_eq!(
            error(w.ping(Ping::Fail, at(5))).as_deref(),
            Some("the job reported a failure")
        );
        assert_eq!(
            error(w.ping(Ping::Exit(3), at(6))).as_deref(),
            Some("the job exited with status 3")
        );
        assert!(w.ping(Ping::Exit(0), at(7)).unwrap().ok);
        // A failure is a check-in too: the next is expected a period later.
        w.ping(Ping::Exit(1), at(100));
        assert_eq!(w.deadline_ms(), millis(at(430)));
    }

    #[test]
    fn a_start_needs_a_success_within_grace() {
        let mut w = watch();
        w.ping(Ping::Success, at(0));
        assert_eq!(w.ping(Ping::Start, at(100)), None, "no result");
        assert_eq!(w.record().started_ms, Some(millis(at(100))));
        assert_eq!(w.expire(at(129)), None);
        assert_eq!(
            error(w.expire(at(130))).as_deref(),
            Some("started at 2027-01-15T08:01:40.000Z and no success within 30s")
        );
        // Started and finished in time: the run's length is its response time.
        w.ping(Ping::Start, at(200));
        let done = w.ping(Ping::Success, at(212)).unwrap();
        assert!(done.ok);
        assert_eq!(done.response_time, Duration::from_secs(12));
        assert_eq!(w.record().started_ms, None);
        assert_eq!(w.deadline_ms(), millis(at(542)));
    }

    #[test]
    fn a_restart_resumes_from_the_last_check_in_and_waits_one_grace() {
        let period = Duration::from_secs(300);
        let grace = Duration::from_secs(30);
        let record = PushRecord {
            checked_in_ms: Some(millis(at(0))),
            started_ms: None,
        };
        // Back quickly: the deadline the last check-in implies.
        let w = Watch::resume(period, grace, Some(record), at(60));
        assert_eq!(w.deadline_ms(), millis(at(330)));
        // Back after the deadline passed: one grace from the restart, no invented outage.
        let mut w = Watch::resume(period, grace, Some(record), at(1000));
        assert_eq!(w.deadline_ms(), millis(at(1030)));
        assert_eq!(w.expire(at(1029)), None);
        // A start that was pending resumes its own deadline.
        let started = PushRecord {
            checked_in_ms: Some(millis(at(0))),
            started_ms: Some(millis(at(100))),
        };
        let w = Watch::resume(period, grace, Some(started), at(101));
        assert_eq!(w.deadline_ms(), millis(at(131)));
        // One recorded ahead of the clock (it was set back across the restart) keeps the
        // deadline it implies, later than one grace from now.
        let w = Watch::resume(period, grace, Some(started), at(50));
        assert_eq!(w.deadline_ms(), millis(at(130)));
    }

    #[test]
    fn a_period_or_grace_too_long_for_u64_milliseconds_counts_as_a_quarter_of_u64() {
        // humantime takes "1000000000y", which is more milliseconds than u64 holds: such a
        // target is never due, and the deadline's sums cannot overflow.
        let huge = Duration::MAX;
        let grace = Duration::from_secs(30);
        let w = Watch::resume(huge, grace, None, at(0));
        assert_eq!(w.deadline_ms(), millis(at(0)) + u64::MAX / 4 + 30_000);
        let w = Watch::resume(Duration::from_secs(300), huge, None, at(0));
        assert_eq!(w.deadline_ms(), millis(at(0)) + 300_000 + u64::MAX / 4);
    }
}
