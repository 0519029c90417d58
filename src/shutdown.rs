//! The signals that start a graceful shutdown.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// The signals that start a graceful shutdown, by name (fly.toml's `kill_signal` must be one).
pub const HANDLED: [&str; 2] = ["SIGTERM", "SIGINT"];

/// Handlers for SIGTERM (what Fly.io and Docker send) and SIGINT (Ctrl-C).
///
/// Install them before announcing readiness: a signal that arrives earlier would otherwise kill
/// the process outright instead of draining it.
pub struct Signals {
    terminate: Signal,
    interrupt: Signal,
}

impl Signals {
    /// Installs the handlers; from here on these signals no longer kill the process.
    ///
    /// # Errors
    /// When a handler cannot be installed.
    pub fn install() -> std::io::Result<Self> {
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for the first of the signals and returns its name.
    pub async fn recv(mut self) -> &'static str {
        tokio::select! {
            _ = self.terminate.recv() => HANDLED[0],
            _ = self.interrupt.recv() => HANDLED[1],
        }
    }
}
