//! The monitor's Prometheus metrics, under blackbox_exporter's names with `target` and
//! `location` labels, so dashboards and alert rules written for blackbox work unchanged.

use prometheus::{GaugeVec, IntCounterVec, Opts, Registry};

use super::probe::Outcome;
use super::round::Round;
use super::store::millis;

/// Gauges per target and location, per location, and the notification counter.
#[derive(Clone)]
pub struct MonitorMetrics {
    /// `probe_success{target,location}`: 1 when the last probe's conditions held.
    success: GaugeVec,
    /// `probe_duration_seconds{target,location}`: how long the last probe took, body included.
    duration: GaugeVec,
    /// `probe_http_status_code{target,location}`: the last status, 0 without a response.
    status: GaugeVec,
    /// `probe_ssl_earliest_cert_expiry{target,location}`: the certificate's expiry, Unix seconds.
    certificate: GaugeVec,
    /// `monitor_location_up{location}`: 1 while that location's agent answers (the monitor's own
    /// location always), 0 while it does not.
    location_up: GaugeVec,
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
            let gauge = GaugeVec::new(Opts::new(name, help), &["target", "location"])?;
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
        let location_up = GaugeVec::new(
            Opts::new(
                "monitor_location_up",
                "Whether the location's agent answered its last probe request (1) or not (0)",
            ),
            &["location"],
        )?;
        registry.register(Box::new(location_up.clone()))?;
        Ok(Self {
            location_up,
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

    /// Shows every location in `monitor_location_up` from the start: 1 for the monitor's own,
    /// 0 for agents until they answer.
    pub fn locations<'a>(&self, own: &str, agents: impl Iterator<Item = &'a str>) {
        self.location_up.with_label_values(&[own]).set(1.0);
        for agent in agents {
            self.location_up.with_label_values(&[agent]).set(0.0);
        }
    }

    /// Records the last round of `target`: each location's probe, and whether it answered.
    pub fn observe(&self, target: &str, round: &Round) {
        for ballot in &round.ballots {
            let answered = ballot.outcome.is_ok();
            self.location_up
                .with_label_values(&[ballot.location.as_str()])
                .set(if answered { 1.0 } else { 0.0 });
            if let Ok(outcome) = &ballot.outcome {
                self.observe_one(target, &ballot.location, outcome);
            }
        }
    }

    fn observe_one(&self, target: &str, location: &str, outcome: &Outcome) {
        let labels = [target, location];
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::monitor::round::Ballot;

    /// The registry's metrics in the text format, one sample a line.
    fn exported(registry: &Registry) -> Vec<String> {
        let text = prometheus::TextEncoder::new()
            .encode_to_string(&registry.gather())
            .unwrap();
        text.lines()
            .filter(|line| !line.starts_with('#'))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn a_round_sets_each_answering_locations_gauges_and_who_answered() {
        let registry = Registry::new();
        let metrics = MonitorMetrics::register(&registry).unwrap();
        metrics.locations("local", ["ams", "nrt"].into_iter());
        let outcome = Outcome {
            at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_581_800),
            ok: false,
            status_code: Some(503),
            response_time: Duration::from_millis(200),
            duration: Duration::from_millis(250),
            error: Some("[STATUS] (503) == 200".to_owned()),
            certificate_expiry: Some(
                SystemTime::UNIX_EPOCH + Duration::from_millis(1_800_000_000_900),
            ),
            certificate_subject: None,
            conditions: Vec::new(),
        };
        let round = Round {
            ballots: vec![
                Ballot {
                    location: "local".to_owned(),
                    outcome: Ok(outcome.clone()),
                },
                Ballot {
                    location: "ams".to_owned(),
                    outcome: Ok(Outcome {
                        ok: true,
                        status_code: None,
                        certificate_expiry: None,
                        ..outcome
                    }),
                },
                Ballot {
                    location: "nrt".to_owned(),
                    outcome: Err("no answer within 12s".to_owned()),
                },
            ],
        };
        metrics.observe("api", &round);
        metrics.notification("slack", "delivered");
        metrics.notification("slack", "delivered");
        assert_eq!(
            exported(&registry),
            [
                "monitor_location_up{location=\"ams\"} 1",
                "monitor_location_up{location=\"local\"} 1",
                "monitor_location_up{location=\"nrt\"} 0",
                "monitor_notifications_total{kind=\"slack\",result=\"delivered\"} 2",
                "probe_duration_seconds{location=\"ams\",target=\"api\"} 0.25",
                "probe_duration_seconds{location=\"local\",target=\"api\"} 0.25",
                "probe_http_status_code{location=\"ams\",target=\"api\"} 0",
                "probe_http_status_code{location=\"local\",target=\"api\"} 503",
                "probe_ssl_earliest_cert_expiry{location=\"local\",target=\"api\"} 1800000000",
                "probe_success{location=\"ams\",target=\"api\"} 1",
                "probe_success{location=\"local\",target=\"api\"} 0",
            ]
        );
    }

    #[test]
    fn every_location_is_shown_from_the_start() {
        let registry = Registry::new();
        let metrics = MonitorMetrics::register(&registry).unwrap();
        metrics.locations("local", ["ams"].into_iter());
        assert_eq!(
            exported(&registry),
            [
                "monitor_location_up{location=\"ams\"} 0",
                "monitor_location_up{location=\"local\"} 1",
            ]
        );
    }
}
