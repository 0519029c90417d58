//! The monitor's Prometheus metrics, under blackbox_exporter's names with a `target` label, so
//! dashboards and alert rules written for blackbox work unchanged.

use prometheus::{GaugeVec, IntCounterVec, Opts, Registry};

use super::probe::Outcome;
use super::store::millis;

/// Gauges per target and the notification counter.
#[derive(Clone)]
pub struct MonitorMetrics {
    /// `probe_success{target}`: 1 when the last probe's conditions held.
    success: GaugeVec,
    /// `probe_duration_seconds{target}`: how long the last probe took, body included.
    duration: GaugeVec,
    /// `probe_http_status_code{target}`: the last status, 0 without a response.
    status: GaugeVec,
    /// `probe_ssl_earliest_cert_expiry{target}`: the certificate's expiry, Unix seconds.
    certificate: GaugeVec,
    /// `monitor_notifications_total{kind,result}`: delivery attempts.
    notifications: IntCounterVec,
}

impl MonitorMetrics {
    /// Registers the metrics in `registry` (the metrics listener's).
    ///
    /// # Errors
    /// When a name is taken (a programming error).
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let gauge = |name: &str, help: &str| -> prometheus::Result<GaugeVec> {
            let gauge = GaugeVec::new(Opts::new(name, help), &["target"])?;
            registry.register(Box::new(gauge.clone()))?;
            Ok(gauge)
        };
        let notifications = IntCounterVec::new(
            Opts::new(
                "monitor_notifications_total",
                "Notification delivery attempts, by alert kind and result (delivered, failed, abandoned)",
            ),
            &["kind", "result"],
        )?;
        registry.register(Box::new(notifications.clone()))?;
        Ok(Self {
            success: gauge("probe_success", "Whether the last probe succeeded")?,
            duration: gauge(
                "probe_duration_seconds",
                "How long the last probe took, body included",
            )?,
            status: gauge(
                "probe_http_status_code",
                "HTTP status of the last probe's response, 0 without one",
            )?,
            certificate: gauge(
                "probe_ssl_earliest_cert_expiry",
                "Expiry of the target's TLS certificate, in Unix seconds",
            )?,
            notifications,
        })
    }

    /// A registry of its own, for a monitor without the metrics listener.
    ///
    /// # Errors
    /// As [`MonitorMetrics::register`].
    pub fn unexposed() -> prometheus::Result<Self> {
        Self::register(&Registry::new())
    }

    /// Records the last probe of `target`.
    pub fn observe(&self, target: &str, outcome: &Outcome) {
        let labels = [target];
        self.success
            .with_label_values(&labels)
            .set(if outcome.ok { 1.0 } else { 0.0 });
        self.duration
            .with_label_values(&labels)
            .set(outcome.duration.as_secs_f64());
        self.status
            .with_label_values(&labels)
            .set(f64::from(outcome.status_code.unwrap_or(0)));
        #[allow(clippy::cast_precision_loss)] // seconds since the epoch fit in f64 exactly
        if let Some(expiry) = outcome.certificate_expiry {
            self.certificate
                .with_label_values(&labels)
                .set((millis(expiry) / 1000) as f64);
        }
    }

    /// Counts one delivery attempt.
    pub fn notification(&self, kind: &str, result: &str) {
        self.notifications.with_label_values(&[kind, result]).inc();
    }
}
