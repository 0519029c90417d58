//! The process's life as the endpoints report it: when it started and whether it is stopping.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// Shared by the API (which reports it) and the shutdown sequence (which flips it).
#[derive(Debug)]
pub struct Lifecycle {
    /// Monotonic start, so uptime never jumps when the wall clock is corrected.
    started: Instant,
    /// Wall-clock start, for `process_start_time_seconds`.
    started_at: SystemTime,
    /// Set once a shutdown signal arrives; never cleared, because a stopping process never recovers.
    stopping: AtomicBool,
}

impl Lifecycle {
    /// Starts counting uptime now.
    #[must_use]
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            started_at: SystemTime::now(),
            stopping: AtomicBool::new(false),
        }
    }

    /// Time since [`Lifecycle::new`].
    #[must_use]
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Wall-clock time of [`Lifecycle::new`].
    #[must_use]
    pub fn started_at(&self) -> SystemTime {
        self.started_at
    }

    /// Marks the process as stopping: readiness and health turn to 503 from this call on.
    pub fn begin_stopping(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// Whether [`Lifecycle::begin_stopping`] has been called.
    #[must_use]
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self::new()
    }
}
