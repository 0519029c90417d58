//! Building and running the application: bind the listeners, serve, shut down in order.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::lifecycle::Lifecycle;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The public address could not be bound (in use, not local, not permitted).
    #[error(
        "cannot listen on {addr} (HOST, PORT): {source}; set PORT to a free port or HOST to a local address"
    )]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// What the operating system said.
        source: std::io::Error,
    },
}

/// A bound, not yet serving, service.
pub struct Application {
    /// The public listener, bound in [`Application::build`] so that port 0 can be read back.
    listener: TcpListener,
    /// Settings.
    config: Config,
    /// Start time and stopping flag, shared with the API.
    lifecycle: Arc<Lifecycle>,
}

impl Application {
    /// Binds the listeners.
    ///
    /// # Errors
    /// [`StartupError::Bind`] when an address cannot be bound.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let addr = config.addr();
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::Bind { addr, source })?;
        Ok(Self {
            listener,
            config,
            lifecycle: Arc::new(Lifecycle::new()),
        })
    }

    /// The address the public listener is bound to (with the real port when 0 was asked for).
    ///
    /// # Errors
    /// When the socket cannot report its address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Uptime and the stopping flag, as the endpoints report them.
    #[must_use]
    pub fn lifecycle(&self) -> Arc<Lifecycle> {
        self.lifecycle.clone()
    }

    /// Serves until `shutdown` resolves, then shuts down gracefully:
    ///
    /// 1. /readyz and /health turn 503 at once;
    /// 2. for the drain delay the listener still accepts, so load balancers see the 503s;
    /// 3. the listener closes, and each connection finishes its request in flight;
    /// 4. after the grace period, connections still open are dropped.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) {
        let Self {
            listener,
            config,
            lifecycle,
        } = self;
        let endpoint = Arc::new(crate::api::endpoint(
            Arc::new(config.identity.clone()),
            lifecycle.clone(),
        ));
        let stop = CancellationToken::new();
        let connections = TaskTracker::new();
        let accepting = tokio::spawn(crate::server::serve(
            listener,
            endpoint,
            config.header_timeout,
            stop.clone(),
            connections.clone(),
        ));

        shutdown.await;
        lifecycle.begin_stopping();
        tracing::info!(drain_delay = ?config.drain_delay, "shutting down: draining");
        tokio::time::sleep(config.drain_delay).await;

        stop.cancel();
        let _ = accepting.await;
        connections.close();
        tracing::info!(open = connections.len(), grace = ?config.shutdown_grace, "listener closed; finishing requests in flight");
        if tokio::time::timeout(config.shutdown_grace, connections.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                open = connections.len(),
                "grace period over; dropping the connections still open"
            );
        }
        tracing::info!("stopped");
    }
}
