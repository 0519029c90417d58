//! The process's life as the endpoints report it: when it started, whether it is stopping, and
//! whether a part it depends on (monitor mode's store) is failing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// A part of the process that `/health` reports and whose failure makes it unready: monitor
/// mode's store, which cannot fail silently.
pub trait Component: Send + Sync + std::fmt::Debug {
    /// How the part is now.
    fn check(&self) -> ComponentCheck;
}

/// One [`Component`]'s state, as `/health` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentCheck {
    /// The `checks` key in `application/health+json`, `component:measurement`.
    pub name: &'static str,
    /// The draft's `componentType`, e.g. `datastore`.
    pub component_type: &'static str,
    /// Seconds since the part last did its job (the store's last commit).
    pub observed_seconds: u64,
    /// `None` while it works; otherwise why not, in one line.
    pub failure: Option<String>,
}

/// Shared by the API (which reports it) and the shutdown sequence (which flips it).
#[derive(Debug)]
pub struct Lifecycle {
    /// Monotonic start, so uptime never jumps when the wall clock is corrected.
    started: Instant,
    /// Wall-clock start, for `process_start_time_seconds`.
    started_at: SystemTime,
    /// Set once a shutdown signal arrives; never cleared, because a stopping process never recovers.
    stopping: AtomicBool,
    /// The part whose failure makes the process unready, when a mode has one.
    component: OnceLock<Arc<dyn Component>>,
}

impl Lifecycle {
    /// Starts counting uptime now.
    #[must_use]
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            started_at: SystemTime::now(),
            stopping: AtomicBool::new(false),
            component: OnceLock::new(),
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

    /// Watches `component` from now on: while it fails, readiness and health answer 503. Only
    /// the first call counts (one mode, one component).
    pub fn watch(&self, component: Arc<dyn Component>) {
        let _ = self.component.set(component);
    }

    /// The watched component's state, if one is watched.
    #[must_use]
    pub fn component(&self) -> Option<ComponentCheck> {
        self.component.get().map(|c| c.check())
    }
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self::new()
    }
}
