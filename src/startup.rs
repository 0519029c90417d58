//! Building and running the application: bind the listeners, serve, shut down in order.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::agent::Agent;
use crate::config::Config;
use crate::lifecycle::Lifecycle;
use crate::metrics::Metrics;
use crate::monitor::Monitor;
use crate::monitor::metrics::MonitorMetrics;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// An address could not be bound (in use, not local, not permitted).
    #[error(
        "cannot listen on {addr} (HOST, {setting}): {source}; set {setting} to a free port or HOST to a local address"
    )]
    Bind {
        /// The variable that chose the port: `PORT` or `METRICS_PORT`.
        setting: &'static str,
        /// The address that was asked for.
        addr: SocketAddr,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The metrics registry refused a metric (a programming error).
    #[error("cannot register metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// A bound, not yet serving, service.
pub struct Application {
    /// The public listener, bound before serving so that port 0 can be read back.
    listener: TcpListener,
    /// The private Prometheus listener and what it serves, when `METRICS_PORT` is not 0.
    metrics: Option<(TcpListener, Arc<Metrics>)>,
    /// Settings.
    config: Config,
    /// Start time and stopping flag, shared with the API.
    lifecycle: Arc<Lifecycle>,
    /// Monitor mode's probing, history and API, with its metrics, when it runs.
    monitor: Option<(Monitor, Arc<MonitorMetrics>)>,
    /// Agent mode's probe API, when it runs.
    agent: Option<Agent>,
}

impl Application {
    /// Binds the listeners `config` names.
    ///
    /// # Errors
    /// [`StartupError::Bind`] when an address cannot be bound.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let listener = bind("PORT", config.addr()).await?;
        let metrics_listener = match config.metrics_addr() {
            Some(addr) => Some(bind("METRICS_PORT", addr).await?),
            None => None,
        };
        Self::with_listeners(config, listener, metrics_listener)
    }

    /// Uses listeners bound by the caller (tests bind port 0 for both); `config`'s addresses are
    /// ignored.
    ///
    /// # Errors
    /// [`StartupError::Metrics`] when the metrics cannot be registered.
    pub fn with_listeners(
        config: Config,
        listener: TcpListener,
        metrics_listener: Option<TcpListener>,
    ) -> Result<Self, StartupError> {
        let lifecycle = Arc::new(Lifecycle::new());
        let metrics = match metrics_listener {
            Some(listener) => Some((listener, Arc::new(Metrics::new(lifecycle.started_at())?))),
            None => None,
        };
        Ok(Self {
            listener,
            metrics,
            config,
            lifecycle,
            monitor: None,
            agent: None,
        })
    }

    /// Runs `monitor` too: its API beside the others, its metrics on the metrics listener, its
    /// probing until shutdown.
    ///
    /// # Errors
    /// [`StartupError::Metrics`] when its metrics cannot be registered.
    pub fn with_monitor(mut self, monitor: Monitor) -> Result<Self, StartupError> {
        let metrics = match &self.metrics {
            Some((_, metrics)) => {
                monitor.health().register(metrics.registry())?;
                MonitorMetrics::register(metrics.registry())?
            }
            None => MonitorMetrics::unexposed()?,
        };
        // A monitor whose store cannot commit is blind: unready, and /health says why.
        self.lifecycle.watch(monitor.health());
        self.monitor = Some((monitor, Arc::new(metrics)));
        Ok(self)
    }

    /// Serves `agent`'s probe API too, its requests counted on the metrics listener.
    ///
    /// # Errors
    /// [`StartupError::Metrics`] when its metrics cannot be registered.
    pub fn with_agent(mut self, mut agent: Agent) -> Result<Self, StartupError> {
        if let Some((_, metrics)) = &self.metrics {
            agent.register(metrics.registry())?;
        }
        self.agent = Some(agent);
        Ok(self)
    }

    /// The address the public listener is bound to (with the real port when 0 was asked for).
    ///
    /// # Errors
    /// When the socket cannot report its address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The address of the metrics listener, if it is on.
    #[must_use]
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    /// Uptime and the stopping flag, as the endpoints report them.
    #[must_use]
    pub fn lifecycle(&self) -> Arc<Lifecycle> {
        self.lifecycle.clone()
    }

    /// Serves until `shutdown` resolves, then shuts down gracefully:
    ///
    /// 1. /readyz and /health turn 503 at once;
    /// 2. for the drain delay the listeners still accept, so load balancers see the 503s;
    /// 3. the listeners close, and each connection finishes its request in flight;
    /// 4. after the grace period, connections still open are dropped.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) {
        let Self {
            listener,
            metrics,
            config,
            lifecycle,
            monitor,
            agent,
        } = self;
        let identity = Arc::new(config.identity.clone());
        let recorder = metrics.as_ref().map(|(_, metrics)| metrics.clone());
        let stop = CancellationToken::new();
        let connections = TaskTracker::new();
        let serving = (config.header_timeout, &stop, &connections);
        let (mut accepting, monitoring) = match (monitor, agent) {
            (None, None) => {
                let endpoint = crate::api::endpoint(identity, lifecycle.clone(), recorder, ());
                (vec![spawn_serve(listener, endpoint, serving)], None)
            }
            (None, Some(agent)) => {
                let endpoint =
                    crate::api::endpoint(identity, lifecycle.clone(), recorder, agent.api());
                (vec![spawn_serve(listener, endpoint, serving)], None)
            }
            (Some((monitor, monitor_metrics)), _) => {
                let api = monitor.api();
                let endpoint = crate::api::endpoint(identity, lifecycle.clone(), recorder, api);
                let accepting = vec![spawn_serve(listener, endpoint, serving)];
                (
                    accepting,
                    Some(monitor.start(monitor_metrics, stop.clone())),
                )
            }
        };
        if let Some((listener, metrics)) = metrics {
            accepting.push(spawn_serve(
                listener,
                crate::metrics::endpoint(metrics),
                serving,
            ));
        }

        shutdown.await;
        lifecycle.begin_stopping();
        tracing::info!(drain_delay = ?config.drain_delay, "shutting down: draining");
        tokio::time::sleep(config.drain_delay).await;

        stop.cancel();
        for task in accepting {
            let _ = task.await;
        }
        connections.close();
        tracing::info!(
            open = connections.len(),
            grace = ?config.shutdown_grace,
            "listeners closed; finishing requests in flight"
        );
        let finished = async {
            connections.wait().await;
            if let Some(monitoring) = monitoring {
                monitoring.finish().await;
            }
        };
        if tokio::time::timeout(config.shutdown_grace, finished)
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

/// Serves `endpoint` on `listener` in a task of its own, with the header timeout, stop signal
/// and connection tracker every listener shares.
fn spawn_serve<E: poem::Endpoint + 'static>(
    listener: TcpListener,
    endpoint: E,
    (header_timeout, stop, connections): (std::time::Duration, &CancellationToken, &TaskTracker),
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(crate::server::serve(
        listener,
        Arc::new(endpoint),
        header_timeout,
        stop.clone(),
        connections.clone(),
    ))
}

async fn bind(setting: &'static str, addr: SocketAddr) -> Result<TcpListener, StartupError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind {
            setting,
            addr,
            source,
        })
}
