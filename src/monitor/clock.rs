//! Where the monitor's time-driven loops read the time, so tests can drive them.
//!
//! The ledger's commit and prune cadence and the delivery loop's backoff and give-up are rules
//! about time; behind [`Clock`] a test sets the time to the millisecond and checks each rule at
//! its boundary instead of sleeping through it.

use std::time::{Instant, SystemTime};

/// Wall-clock and monotonic time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The time of day: what results, incidents and notifications record.
    fn now(&self) -> SystemTime;
    /// Monotonic time: what the spacing of commits and prunes is measured with, so a wall
    /// clock set back or forward neither stalls nor hurries them.
    fn instant(&self) -> Instant;
}

/// The real clocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn instant(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told, for tests.
#[cfg(test)]
#[derive(Debug)]
pub struct ManualClock {
    /// The wall-clock time at the start.
    wall: SystemTime,
    /// The monotonic time at the start.
    start: Instant,
    /// How far the clock was moved since the start.
    moved: std::sync::Mutex<std::time::Duration>,
    /// How many times it was read: how often a loop reading it turned.
    reads: std::sync::atomic::AtomicU64,
}

#[cfg(test)]
impl ManualClock {
    /// A clock reading `wall` until moved.
    pub fn at(wall: SystemTime) -> Self {
        Self {
            wall,
            start: Instant::now(),
            moved: std::sync::Mutex::new(std::time::Duration::ZERO),
            reads: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Moves both clocks forward by `by`.
    pub fn advance(&self, by: std::time::Duration) {
        *self.moved.lock().unwrap() += by;
    }

    /// How many times [`Clock::now`] or [`Clock::instant`] was called so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn moved(&self) -> std::time::Duration {
        self.reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        *self.moved.lock().unwrap()
    }
}

#[cfg(test)]
impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        self.wall + self.moved()
    }

    fn instant(&self) -> Instant {
        self.start + self.moved()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_manual_clock_moves_both_times_together_and_only_when_told() {
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let clock = ManualClock::at(wall);
        let start = clock.instant();
        assert_eq!(clock.now(), wall);
        clock.advance(Duration::from_millis(1500));
        assert_eq!(clock.now(), wall + Duration::from_millis(1500));
        assert_eq!(clock.instant() - start, Duration::from_millis(1500));
    }

    #[test]
    fn the_system_clock_reads_the_real_time() {
        let before = SystemTime::now();
        let now = SystemClock.now();
        assert!(now >= before && now <= SystemTime::now());
        let before = Instant::now();
        let instant = SystemClock.instant();
        assert!(instant >= before && instant <= Instant::now());
    }
}
