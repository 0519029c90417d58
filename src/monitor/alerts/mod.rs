//! Notifications: what each alert kind sends, and the delivery loop that sends it.
//!
//! Each kind is one small file that turns the facts of a notification into a [`Message`]: an
//! HTTP request, or for `email` a message to send through an SMTP server. Delivery is the same
//! for all: a 2xx (for e-mail, a 250 after DATA) marks it delivered, anything else is retried
//! with backoff, in order per alert, across restarts (the store keeps what is pending).
//!
//! While the store cannot commit, the outbox cannot be written either: [`deliver_direct`] then
//! sends [`Direct`] messages straight from memory: one to every alert when the monitor's data
//! goes stale and one when it is fresh again ([`MonitorFacts`]), and the target notifications
//! the store could not record, marked so.

mod discord;
mod email;
mod gotify;
mod matrix;
mod ntfy;
mod pagerduty;
mod pushover;
mod slack;
mod teams;
mod telegram;
mod webhook;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::Url;
use rustls::pki_types::CertificateDer;
use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::clock::Clock;
use super::config::{Alert, AlertKind, MonitorConfig};
use super::metrics::MonitorMetrics;
use super::redact;
use super::store::{self, Event, Notification, Store, from_millis, millis};

/// How long one delivery attempt may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// The first retry waits this long; each further one twice as long as the one before.
const FIRST_BACKOFF: Duration = Duration::from_secs(2);
/// The longest wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// A notification still undelivered this long after it was made is given up.
const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);
/// With nothing pending, the loop still looks once in a while (a missed wake-up costs this much).
const IDLE_LOOK: Duration = Duration::from_secs(60);
/// Attempts at a [`Direct`] message (2 s, 4 s, 8 s, 16 s apart): held in memory only, so not
/// for ever.
const DIRECT_ATTEMPTS: u32 = 5;

/// A message sent without the outbox, because the outbox is what cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Direct {
    /// The monitor's data is stale: its store has not committed since `since_ms`.
    Degraded {
        /// When the ledger was last up to date, ms since the epoch.
        since_ms: u64,
        /// The store's error.
        cause: String,
    },
    /// The store commits again.
    Recovered {
        /// When the data went stale, ms since the epoch.
        since_ms: u64,
        /// When it committed again, ms since the epoch.
        at_ms: u64,
        /// The error it had.
        cause: String,
    },
    /// A target's notification the store could not record; sent to its alert only.
    Unrecorded(Box<Notification>),
}

/// What a message about the monitor itself says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitorEvent {
    /// Its store cannot commit.
    Degraded,
    /// It can again.
    Recovered,
}

impl MonitorEvent {
    /// As written in the webhook body.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Degraded => "monitor_degraded",
            Self::Recovered => "monitor_recovered",
        }
    }
}

/// The facts of a message about the monitor itself (no target, no incident).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorFacts {
    /// Degraded or recovered.
    pub event: MonitorEvent,
    /// When the data went stale, ms since the epoch.
    pub since_ms: u64,
    /// When it recovered, ms since the epoch.
    pub recovered_ms: Option<u64>,
    /// The store's error.
    pub cause: String,
    /// The status page, when `[monitor] public_url` is set.
    pub status_page_url: Option<String>,
}

impl MonitorFacts {
    /// Whole seconds stale: so far, or in all once recovered.
    #[must_use]
    pub fn duration_seconds(&self, now_ms: u64) -> u64 {
        self.recovered_ms
            .unwrap_or(now_ms)
            .saturating_sub(self.since_ms)
            / 1000
    }

    /// One line for humans, the text of chat messages.
    #[must_use]
    pub fn summary(&self) -> String {
        match (self.event, self.recovered_ms) {
            (MonitorEvent::Recovered, Some(at)) => format!(
                "The monitor can write its store again after {} (stale since {}; the error was: {})",
                humantime::format_duration(Duration::from_secs(self.duration_seconds(at))),
                rfc3339(self.since_ms),
                self.cause
            ),
            _ => format!(
                "The monitor cannot write its store since {}: alerts may be missed ({})",
                rfc3339(self.since_ms),
                self.cause
            ),
        }
    }
}

/// The facts every kind of message is made of.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// What happened.
    pub event: &'a Event,
    /// The notification, with its incident as it was when the event happened.
    pub notification: &'a Notification,
    /// The target's URL as alerts carry it: no user info, query values `redacted`.
    pub url: String,
    /// The incident's duration so far (or in all, once resolved), whole seconds.
    pub duration_seconds: u64,
    /// The status page, when `[monitor] public_url` is set.
    pub status_page_url: Option<String>,
    /// Whether the store holds it: false when it was sent while the store could not commit
    /// (it may then be sent again once the store recovers).
    pub recorded: bool,
}

/// What an unrecorded notification's summary ends with.
pub const UNRECORDED: &str =
    " [sent without a record: the monitor cannot write its store, so this may repeat]";

impl Facts<'_> {
    /// The target's name.
    #[must_use]
    pub fn target(&self) -> &str {
        &self.notification.incident.target
    }

    /// One line for humans, the text of chat messages.
    #[must_use]
    pub fn summary(&self) -> String {
        let mut summary = self.event_summary();
        if !self.recorded {
            summary.push_str(UNRECORDED);
        }
        summary
    }

    fn event_summary(&self) -> String {
        let incident = &self.notification.incident;
        let duration = humantime::format_duration(Duration::from_secs(self.duration_seconds));
        match self.event {
            Event::Certificate {
                expires_ms,
                subject,
            } => format!(
                "{}: the certificate {subject} expires in {} days, at {}",
                incident.target,
                days_left(*expires_ms, self.notification.created_ms),
                rfc3339(*expires_ms)
            ),
            Event::Down => format!(
                "{} is DOWN: {} (incident #{}, since {})",
                incident.target,
                incident.cause,
                incident.id,
                rfc3339(incident.started_ms)
            ),
            Event::Reminder => format!(
                "{} is still DOWN after {duration}: {} (incident #{})",
                incident.target, incident.cause, incident.id
            ),
            Event::Resolved => format!(
                "{} is UP again after {duration} down (incident #{}, cause: {})",
                incident.target, incident.id, incident.cause
            ),
            Event::Warning => format!(
                "{} fails from one location, too few others agree (not down): {} (since {})",
                incident.target,
                incident.cause,
                rfc3339(incident.started_ms)
            ),
        }
    }
}

/// What delivers one notification.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request to a service's API or webhook.
    Http(Request),
    /// A message to mailboxes, through an SMTP server.
    Email(Box<email::Email>),
}

/// The HTTP kinds' tests read a message's request as if it were one.
#[cfg(test)]
impl std::ops::Deref for Message {
    type Target = Request;

    fn deref(&self) -> &Request {
        match self {
            Self::Http(request) => request,
            Self::Email(_) => panic!("an e-mail, not an HTTP request"),
        }
    }
}

/// An HTTP request that delivers one notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Where to send it.
    pub url: Url,
    /// The JSON body.
    pub body: serde_json::Value,
    /// What the request needs beyond a JSON POST to `url`.
    pub delivery: Delivery,
}

/// How a [`Request`] is sent, where a service wants more than a JSON POST.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// POST, or PUT for Matrix.
    pub method: reqwest::Method,
    /// Headers that carry credentials (ntfy's and Matrix's bearer tokens, Gotify's key).
    pub headers: Vec<(&'static str, redact::Secret<String>)>,
    /// Whether the delivery key ends the URL's path: Matrix takes its transaction id there, so
    /// a retry of a message it already has is not posted twice.
    pub key_in_path: bool,
}

impl Default for Delivery {
    fn default() -> Self {
        Self {
            method: reqwest::Method::POST,
            headers: Vec::new(),
            key_in_path: false,
        }
    }
}

impl Delivery {
    /// A POST with `header: value`, e.g. a bearer token.
    fn with_header(name: &'static str, value: String) -> Self {
        Self {
            headers: vec![(name, redact::Secret::new(value))],
            ..Self::default()
        }
    }
}

/// The plain text of chat-style messages: the summary, the target's URL, the status page.
fn text(facts: &Facts<'_>) -> String {
    let mut text = format!("{}\n{}", facts.summary(), facts.url);
    if let Some(page) = &facts.status_page_url {
        text.push_str(&format!("\nStatus page: {page}"));
    }
    text
}

/// [`text`] for a message about the monitor itself.
fn monitor_text(facts: &MonitorFacts) -> String {
    let mut text = facts.summary();
    if let Some(page) = &facts.status_page_url {
        text.push_str(&format!("\nStatus page: {page}"));
    }
    text
}

/// What a message is about, for the kinds that colour or rank their messages by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tone {
    /// An outage (down, a reminder of one) or a monitor that cannot write its store.
    Bad,
    /// A resolution or a recovery.
    Good,
    /// A location's warning or an expiring certificate: worth a look, not an outage.
    Notice,
}

impl Tone {
    fn of(event: &Event) -> Self {
        match event {
            Event::Down | Event::Reminder => Self::Bad,
            Event::Resolved => Self::Good,
            Event::Warning | Event::Certificate { .. } => Self::Notice,
        }
    }

    fn of_monitor(event: MonitorEvent) -> Self {
        match event {
            MonitorEvent::Degraded => Self::Bad,
            MonitorEvent::Recovered => Self::Good,
        }
    }
}

/// A title for services that show one: `<target>: <event>`.
fn title(facts: &Facts<'_>) -> String {
    format!("{}: {}", facts.target(), facts.event.name())
}

/// The title of a message about the monitor itself.
fn monitor_title(facts: &MonitorFacts) -> &'static str {
    match facts.event {
        MonitorEvent::Degraded => "health-service monitor: degraded",
        MonitorEvent::Recovered => "health-service monitor: recovered",
    }
}

/// `text` cut to at most `max` characters, for services that refuse longer fields.
fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => text[..end].to_owned(),
        None => text.to_owned(),
    }
}

/// What `alert` sends for `facts`.
#[must_use]
pub fn message(alert: &AlertKind, facts: &Facts<'_>) -> Message {
    let request = match alert {
        AlertKind::Email { server, from, to } => {
            return Message::Email(Box::new(email::message(server, from, to, facts)));
        }
        AlertKind::Webhook { url } => webhook::message(url.expose(), facts),
        AlertKind::Slack { url } => slack::message(url.expose(), facts),
        AlertKind::Discord { url } => discord::message(url.expose(), facts),
        AlertKind::Telegram {
            bot_token,
            chat_id,
            api,
        } => telegram::message(api.expose(), bot_token.expose(), chat_id, facts),
        AlertKind::Ntfy {
            url,
            token,
            priority,
        } => ntfy::message(url.expose(), token.as_ref(), *priority, facts),
        AlertKind::Pagerduty { routing_key, url } => {
            pagerduty::message(url.expose(), routing_key.expose(), facts)
        }
        AlertKind::Teams { url } => teams::message(url.expose(), facts),
        AlertKind::Gotify {
            url,
            token,
            priority,
        } => gotify::message(url.expose(), token.expose(), *priority, facts),
        AlertKind::Pushover { token, user, url } => {
            pushover::message(url.expose(), token.expose(), user.expose(), facts)
        }
        AlertKind::Matrix {
            homeserver,
            room_id,
            access_token,
        } => matrix::message(
            homeserver.expose(),
            room_id,
            access_token.expose(),
            text(facts),
        ),
    };
    Message::Http(request)
}

/// What `alert` sends about the monitor itself.
#[must_use]
pub fn monitor_message(alert: &AlertKind, facts: &MonitorFacts) -> Message {
    let request = match alert {
        AlertKind::Email { server, from, to } => {
            return Message::Email(Box::new(email::monitor_message(server, from, to, facts)));
        }
        AlertKind::Webhook { url } => webhook::monitor_message(url.expose(), facts),
        AlertKind::Slack { url } => slack::monitor_message(url.expose(), facts),
        AlertKind::Discord { url } => discord::monitor_message(url.expose(), facts),
        AlertKind::Telegram {
            bot_token,
            chat_id,
            api,
        } => telegram::monitor_message(api.expose(), bot_token.expose(), chat_id, facts),
        AlertKind::Ntfy {
            url,
            token,
            priority,
        } => ntfy::monitor_message(url.expose(), token.as_ref(), *priority, facts),
        AlertKind::Pagerduty { routing_key, url } => {
            pagerduty::monitor_message(url.expose(), routing_key.expose(), facts)
        }
        AlertKind::Teams { url } => teams::monitor_message(url.expose(), facts),
        AlertKind::Gotify {
            url,
            token,
            priority,
        } => gotify::monitor_message(url.expose(), token.expose(), *priority, facts),
        AlertKind::Pushover { token, user, url } => {
            pushover::monitor_message(url.expose(), token.expose(), user.expose(), facts)
        }
        AlertKind::Matrix {
            homeserver,
            room_id,
            access_token,
        } => matrix::message(
            homeserver.expose(),
            room_id,
            access_token.expose(),
            monitor_text(facts),
        ),
    };
    Message::Http(request)
}

/// Whole days from `now_ms` until `expires_ms` (0 once past).
#[must_use]
pub fn days_left(expires_ms: u64, now_ms: u64) -> u64 {
    expires_ms.saturating_sub(now_ms) / store::DAY_MS
}

/// RFC 3339 in UTC with milliseconds, as every body writes times.
#[must_use]
pub fn rfc3339(ms: u64) -> String {
    crate::clock::rfc3339_millis(from_millis(ms))
}

/// The facts of `notification` for the config's status page.
#[must_use]
pub fn facts<'a>(config: &MonitorConfig, notification: &'a Notification) -> Facts<'a> {
    // Redacted again: a notification stored by an older version kept more of the URL.
    let url = redact::alert_url_text(&notification.url);
    let url = match config
        .targets
        .iter()
        .find(|t| t.name == notification.incident.target)
    {
        Some(target) => target.scrub(&url).into_owned(),
        None => url,
    };
    Facts {
        event: &notification.event,
        notification,
        url,
        // To the resolution once resolved, else so far.
        duration_seconds: notification
            .incident
            .duration_seconds(notification.created_ms),
        status_page_url: status_page_url(config),
        recorded: true,
    }
}

/// `<public_url>/status`, when `public_url` is set.
fn status_page_url(config: &MonitorConfig) -> Option<String> {
    config
        .public_url
        .as_ref()
        .and_then(|url| url.join("status").ok())
        .map(String::from)
}

/// Sends each [`Direct`] message from `queue` until `stop`: to every alert (or, for an
/// unrecorded notification, to its own), each with a few attempts; one message after another,
/// so a recovery never overtakes its degradation.
pub async fn deliver_direct(
    config: Arc<MonitorConfig>,
    client: Notifier,
    mut queue: UnboundedReceiver<Direct>,
    metrics: Arc<MonitorMetrics>,
    stop: CancellationToken,
) {
    loop {
        let direct = tokio::select! {
            direct = queue.recv() => match direct {
                Some(direct) => direct,
                None => return,
            },
            () = stop.cancelled() => return,
        };
        let mut sending = JoinSet::new();
        for (kind, message, key) in direct_messages(&config, &direct) {
            let (client, metrics) = (client.clone(), metrics.clone());
            sending.spawn(async move {
                for attempt in 1..=DIRECT_ATTEMPTS {
                    match client.send(message.clone(), &key).await {
                        Ok(()) => {
                            tracing::info!(kind, key, "direct message delivered");
                            metrics.notification(kind, "delivered");
                            return;
                        }
                        Err(reason) => {
                            tracing::warn!(
                                kind,
                                key,
                                attempt,
                                error = reason,
                                "direct message not delivered"
                            );
                            metrics.notification(kind, "failed");
                            if attempt < DIRECT_ATTEMPTS {
                                tokio::time::sleep(backoff(attempt)).await;
                            }
                        }
                    }
                }
                metrics.notification(kind, "abandoned");
            });
        }
        tokio::select! {
            () = async { while sending.join_next().await.is_some() {} } => {}
            () = stop.cancelled() => return,
        }
    }
}

/// The requests of `direct`: alert kind, message and idempotency key.
fn direct_messages(
    config: &MonitorConfig,
    direct: &Direct,
) -> Vec<(&'static str, Message, String)> {
    let (facts, key) = match direct {
        Direct::Unrecorded(notification) => {
            let alert = usize::try_from(notification.alert)
                .ok()
                .and_then(|index| config.alerts.get(index))
                .filter(|alert| alert.kind.name() == notification.kind);
            let Some(alert) = alert else {
                return Vec::new();
            };
            let facts = Facts {
                recorded: false,
                ..facts(config, notification)
            };
            let key = format!(
                "health-service-unrecorded-{}-{}-{}-{}",
                notification.incident.id,
                notification.event.name(),
                notification.alert,
                notification.created_ms
            );
            return vec![(alert.kind.name(), message(&alert.kind, &facts), key)];
        }
        Direct::Degraded { since_ms, cause } => (
            MonitorFacts {
                event: MonitorEvent::Degraded,
                since_ms: *since_ms,
                recovered_ms: None,
                cause: cause.clone(),
                status_page_url: status_page_url(config),
            },
            format!("health-service-monitor-degraded-{since_ms}"),
        ),
        Direct::Recovered {
            since_ms,
            at_ms,
            cause,
        } => (
            MonitorFacts {
                event: MonitorEvent::Recovered,
                since_ms: *since_ms,
                recovered_ms: Some(*at_ms),
                cause: cause.clone(),
                status_page_url: status_page_url(config),
            },
            format!("health-service-monitor-recovered-{since_ms}"),
        ),
    };
    config
        .alerts
        .iter()
        .map(|alert| {
            (
                alert.kind.name(),
                monitor_message(&alert.kind, &facts),
                key.clone(),
            )
        })
        .collect()
}

/// Delivers pending notifications until `stop`, woken by `wake` when new ones are committed;
/// `clock` says when (tests move it by hand).
pub async fn deliver(
    store: Arc<Store>,
    config: Arc<MonitorConfig>,
    client: Notifier,
    wake: Arc<Notify>,
    metrics: Arc<MonitorMetrics>,
    stop: CancellationToken,
    clock: Arc<dyn Clock>,
) {
    // Failed reads in a row: a store that cannot be read (a full disk) is retried less and less
    // often, up to once a minute; the ledger wakes this loop when it commits again.
    let mut failures = 0;
    loop {
        let next_due = match deliver_due(&store, &config, &client, &metrics, clock.as_ref()).await {
            Ok(next_due) => {
                failures = 0;
                next_due
            }
            Err(err) => {
                failures += 1;
                tracing::error!(error = %err, failures, "cannot read pending notifications");
                Some(clock.now() + backoff(failures).min(IDLE_LOOK))
            }
        };
        let wait = next_due.map_or(IDLE_LOOK, |due| {
            due.duration_since(clock.now())
                .unwrap_or(Duration::ZERO)
                .min(IDLE_LOOK)
        });
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
            () = stop.cancelled() => return,
        }
    }
}

/// One pass over the pending notifications, in order; returns when the next is due.
async fn deliver_due(
    store: &Arc<Store>,
    config: &MonitorConfig,
    client: &Notifier,
    metrics: &MonitorMetrics,
    clock: &dyn Clock,
) -> Result<Option<SystemTime>, store::StoreError> {
    let reader = store.clone();
    let pending = store::blocking(move || reader.pending()).await?;
    // An alert whose earlier notification is still waiting gets none of its later ones, so
    // "resolved" never arrives before "down".
    let mut waiting: HashSet<u32> = HashSet::new();
    let mut next_due: Option<u64> = None;
    for mut notification in pending {
        if waiting.contains(&notification.alert) {
            continue;
        }
        let now = millis(clock.now());
        if notification.next_attempt_ms > now {
            waiting.insert(notification.alert);
            next_due = Some(next_due.map_or(notification.next_attempt_ms, |d| {
                d.min(notification.next_attempt_ms)
            }));
            continue;
        }
        let alert = usize::try_from(notification.alert)
            .ok()
            .and_then(|index| config.alerts.get(index))
            .filter(|alert| alert.kind.name() == notification.kind);
        let Some(alert) = alert else {
            tracing::warn!(
                id = notification.id,
                kind = notification.kind,
                "dropping a notification: its alert is no longer in the config"
            );
            notification.last_error = Some("its alert is no longer in the config".to_owned());
            metrics.notification(&notification.kind, "abandoned");
            save(store, notification, false).await?;
            continue;
        };
        notification.attempts += 1;
        let result = send(client, config, alert, &notification).await;
        let kind = alert.kind.name();
        match result {
            Ok(()) => {
                notification.delivered_ms = Some(millis(clock.now()));
                notification.last_error = None;
                tracing::info!(
                    id = notification.id,
                    kind,
                    event = notification.event.name(),
                    target = notification.incident.target,
                    "notification delivered"
                );
                metrics.notification(kind, "delivered");
                save(store, notification, false).await?;
            }
            Err(reason) => {
                let age = now.saturating_sub(notification.created_ms);
                let give_up = age >= millis_of(GIVE_UP_AFTER);
                tracing::warn!(
                    id = notification.id,
                    kind,
                    attempts = notification.attempts,
                    error = reason,
                    give_up,
                    "notification not delivered"
                );
                notification.last_error = Some(reason);
                if give_up {
                    metrics.notification(kind, "abandoned");
                    save(store, notification, false).await?;
                } else {
                    metrics.notification(kind, "failed");
                    notification.next_attempt_ms = now + millis_of(backoff(notification.attempts));
                    waiting.insert(notification.alert);
                    next_due = Some(next_due.map_or(notification.next_attempt_ms, |d| {
                        d.min(notification.next_attempt_ms)
                    }));
                    save(store, notification, true).await?;
                }
            }
        }
    }
    Ok(next_due.map(from_millis))
}

/// The wait before attempt `attempts + 1`: 2 s after the first failure, doubling each time, at
/// most 10 minutes.
#[must_use]
pub fn backoff(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    FIRST_BACKOFF
        .saturating_mul(1 << doublings)
        .min(MAX_BACKOFF)
}

async fn send(
    client: &Notifier,
    config: &MonitorConfig,
    alert: &Alert,
    notification: &Notification,
) -> Result<(), String> {
    let message = message(&alert.kind, &facts(config, notification));
    // Receivers that see the same id twice (a crash between their 2xx and our record of it) can
    // drop the second.
    client
        .send(message, &format!("health-service-{}", notification.id))
        .await
}

/// What notifications leave through: the HTTP client, and for e-mail the CA certificates
/// trusted besides webpki's (`SSL_CERT_FILE`'s), so SMTP's TLS trusts what HTTPS does.
#[derive(Debug, Clone)]
pub struct Notifier {
    /// For every kind but e-mail (the probes' TLS, no redirects).
    http: reqwest::Client,
    /// For e-mail's TLS: lettre builds its own rustls config, from webpki's roots and these.
    extra_roots: Arc<[CertificateDer<'static>]>,
}

impl Notifier {
    /// Sends with `http`, and e-mail trusting `extra_roots` besides webpki's roots.
    #[must_use]
    pub fn new(http: reqwest::Client, extra_roots: Arc<[CertificateDer<'static>]>) -> Self {
        Self { http, extra_roots }
    }

    /// Sends `message` once, with `key` as its idempotency key (an e-mail's `Message-ID`).
    async fn send(&self, message: Message, key: &str) -> Result<(), String> {
        match message {
            Message::Http(request) => post(&self.http, request, key).await,
            Message::Email(email) => email::send(&email, &self.extra_roots, key).await,
        }
    }
}

/// Sends `message` with `key` as its `Idempotency-Key`; a 2xx is success.
async fn post(client: &reqwest::Client, message: Request, key: &str) -> Result<(), String> {
    let mut url = message.url;
    if message.delivery.key_in_path
        && let Ok(mut segments) = url.path_segments_mut()
    {
        segments.push(key);
    }
    let mut request = client
        .request(message.delivery.method, url)
        .timeout(SEND_TIMEOUT)
        .header("Idempotency-Key", key)
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    for (name, value) in &message.delivery.headers {
        request = request.header(*name, value.expose());
    }
    let response = request
        .body(message.body.to_string())
        .send()
        .await
        // Without the URL, which may hold a token (Telegram's, Slack's path).
        .map_err(|err| super::probe::describe(&err.without_url()))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("answered {status}"))
    }
}

async fn save(
    store: &Arc<Store>,
    notification: Notification,
    retry: bool,
) -> Result<(), store::StoreError> {
    let store = store.clone();
    store::blocking(move || store.save_attempt(&notification, retry)).await
}

fn millis_of(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::config;
    use crate::monitor::store::Incident;

    const CONFIG: &str = r#"
        [monitor]
        public_url = "https://status.example.org/"
        [[target]]
        name = "api"
        url = "https://api.example.org/health"
        [[alert]]
        kind = "webhook"
        url = "https://hooks.example.org/in"
        [[alert]]
        kind = "slack"
        url = "https://hooks.slack.com/services/T/B/X"
        [[alert]]
        kind = "discord"
        url = "https://discord.com/api/webhooks/1/x"
        [[alert]]
        kind = "telegram"
        bot_token = "123:abc"
        chat_id = "-100"
    "#;

    pub(super) fn notification(event: Event, resolved: bool) -> Notification {
        Notification {
            id: 9,
            alert: 0,
            kind: "webhook".to_owned(),
            event,
            incident: Incident {
                id: 4,
                target: "api".to_owned(),
                started_ms: 1_800_000_000_000,
                resolved_ms: resolved.then_some(1_800_000_305_000),
                cause: "[STATUS] (503) == 200".to_owned(),
                reminders: Vec::new(),
            },
            url: "https://api.example.org/health".to_owned(),
            created_ms: 1_800_000_305_000,
            attempts: 0,
            next_attempt_ms: 0,
            delivered_ms: None,
            last_error: None,
        }
    }

    fn messages(event: Event, resolved: bool) -> Vec<Message> {
        let config = config::parse(CONFIG, |_| None).unwrap();
        let notification = notification(event, resolved);
        let facts = facts(&config, &notification);
        config
            .alerts
            .iter()
            .map(|a| message(&a.kind, &facts))
            .collect()
    }

    #[test]
    fn the_webhook_body_has_exactly_the_documented_facts() {
        let down = &messages(Event::Down, false)[0];
        assert_eq!(down.url.as_str(), "https://hooks.example.org/in");
        assert_eq!(
            down.body,
            serde_json::json!({
                "event": "down",
                "target": "api",
                "url": "https://api.example.org/health",
                "incident_id": 4,
                "started_at": "2027-01-15T08:00:00.000Z",
                "resolved_at": null,
                "duration_seconds": 305,
                "cause": "[STATUS] (503) == 200",
                "status_page_url": "https://status.example.org/status",
                "recorded": true,
            })
        );
        let resolved = &messages(Event::Resolved, true)[0];
        assert_eq!(resolved.body["event"], "resolved");
        assert_eq!(resolved.body["resolved_at"], "2027-01-15T08:05:05.000Z");
    }

    #[test]
    fn chat_messages_carry_the_same_facts_in_their_own_formats() {
        let [_, slack, discord, telegram] = &messages(Event::Resolved, true)[..] else {
            panic!("four alerts");
        };
        let summary =
            "api is UP again after 5m 5s down (incident #4, cause: [STATUS] (503) == 200)";
        assert_eq!(
            slack.body["text"],
            format!(":large_green_circle: {summary}")
        );
        let fields = slack.body["blocks"][1]["fields"].to_string();
        assert!(fields.contains("2027-01-15T08:05:05.000Z"), "{fields}");
        assert!(
            fields.contains("https://status.example.org/status"),
            "{fields}"
        );

        assert_eq!(discord.body["content"], summary);
        assert_eq!(discord.body["embeds"][0]["title"], "api: resolved");
        assert_eq!(discord.body["embeds"][0]["color"], 0x57_F2_87);

        assert_eq!(
            telegram.url.as_str(),
            "https://api.telegram.org/bot123:abc/sendMessage"
        );
        assert_eq!(telegram.body["chat_id"], "-100");
        let text = telegram.body["text"].as_str().unwrap();
        assert!(text.starts_with(summary), "{text}");
        assert!(text.contains("https://api.example.org/health"), "{text}");
    }

    #[test]
    fn no_format_carries_the_user_info_or_query_values_of_a_stored_url() {
        let config = config::parse(CONFIG, |_| None).unwrap();
        let mut notification = notification(Event::Down, false);
        // As an older version stored it: only the password was left out.
        notification.url = "https://user@api.example.org/health?token=t0k3n#frag".to_owned();
        let facts = facts(&config, &notification);
        assert_eq!(facts.url, "https://api.example.org/health?token=redacted");
        for alert in &config.alerts {
            let body = message(&alert.kind, &facts).body.to_string();
            assert!(
                body.contains("https://api.example.org/health?token=redacted"),
                "{body}"
            );
            assert!(!body.contains("user") && !body.contains("t0k3n"), "{body}");
        }
    }

    #[test]
    fn down_and_reminder_summaries_say_so() {
        let config = config::parse(CONFIG, |_| None).unwrap();
        let down = notification(Event::Down, false);
        assert_eq!(facts(&config, &down).target(), "api");
        assert_eq!(
            facts(&config, &down).summary(),
            "api is DOWN: [STATUS] (503) == 200 (incident #4, since 2027-01-15T08:00:00.000Z)"
        );
        let reminder = notification(Event::Reminder, false);
        assert_eq!(
            facts(&config, &reminder).summary(),
            "api is still DOWN after 5m 5s: [STATUS] (503) == 200 (incident #4)"
        );
    }

    #[test]
    fn pagerduty_resolves_the_monitors_own_trouble_and_the_others_say_it() {
        let config = config::parse(
            r#"
            [[target]]
            name = "api"
            url = "https://api.example.org/health"
            [[alert]]
            kind = "pagerduty"
            routing_key = "R"
            [[alert]]
            kind = "ntfy"
            url = "https://ntfy.example.org/base/alerts?x=1"
            [[alert]]
            kind = "gotify"
            url = "https://gotify.example.org/"
            token = "T"
            [[alert]]
            kind = "teams"
            url = "https://teams.example.org/workflow"
            [[alert]]
            kind = "pushover"
            token = "T"
            user = "U"
            [[alert]]
            kind = "matrix"
            homeserver = "https://matrix.example.org"
            room_id = "!r:example.org"
            access_token = "A"
            "#,
            |_| None,
        )
        .unwrap();
        let cause = "store: disk full".to_owned();
        let degraded = direct_messages(
            &config,
            &Direct::Degraded {
                since_ms: 1_800_000_000_000,
                cause: cause.clone(),
            },
        );
        let recovered = direct_messages(
            &config,
            &Direct::Recovered {
                since_ms: 1_800_000_000_000,
                at_ms: 1_800_000_305_000,
                cause,
            },
        );
        let (trigger, resolve) = (&degraded[0].1, &recovered[0].1);
        assert_eq!(
            trigger.url.as_str(),
            "https://events.pagerduty.com/v2/enqueue"
        );
        assert_eq!(trigger.body["event_action"], "trigger");
        assert_eq!(trigger.body["payload"]["severity"], "error");
        assert_eq!(
            trigger.body["dedup_key"],
            "health-service/monitor/store/1800000000000"
        );
        assert_eq!(
            resolve.body,
            serde_json::json!({
                "routing_key": "R",
                "event_action": "resolve",
                "dedup_key": "health-service/monitor/store/1800000000000",
            })
        );
        let ntfy = &degraded[1].1;
        assert_eq!(ntfy.url.as_str(), "https://ntfy.example.org/base/?x=1");
        assert_eq!(ntfy.body["topic"], "alerts");
        assert_eq!(ntfy.body["title"], "health-service monitor: degraded");
        assert_eq!(ntfy.body["priority"], 4);
        assert_eq!(ntfy.delivery, Delivery::default(), "no token, no header");
        assert_eq!(recovered[1].1.body["priority"], 3);
        assert_eq!(
            recovered[1].1.body["tags"],
            serde_json::json!(["green_circle"])
        );
        let gotify = &degraded[2].1;
        assert_eq!(gotify.url.as_str(), "https://gotify.example.org/message");
        assert_eq!(
            (
                gotify.body["priority"].as_u64(),
                recovered[2].1.body["priority"].as_u64()
            ),
            (Some(8), Some(4))
        );
        assert_eq!(
            degraded[3].1.body["attachments"][0]["content"]["body"][0]["color"],
            "Attention"
        );
        assert_eq!(
            recovered[3].1.body["attachments"][0]["content"]["body"][0]["color"],
            "Good"
        );
        assert_eq!(
            degraded[4].1.body["title"],
            "health-service monitor: degraded"
        );
        let matrix = &degraded[5].1;
        assert_eq!(matrix.delivery.method, reqwest::Method::PUT);
        assert!(matrix.delivery.key_in_path);
        assert_eq!(
            matrix.url.as_str(),
            "https://matrix.example.org/_matrix/client/v3/rooms/!r:example.org/send/m.room.message"
        );
    }

    #[test]
    fn monitor_messages_reach_every_alert_with_target_null_and_the_store_error() {
        let config = config::parse(CONFIG, |_| None).unwrap();
        let cause = "store: I/O error: No space left on device (os error 28)".to_owned();
        let degraded = direct_messages(
            &config,
            &Direct::Degraded {
                since_ms: 1_800_000_000_000,
                cause: cause.clone(),
            },
        );
        let kinds: Vec<&str> = degraded.iter().map(|(kind, _, _)| *kind).collect();
        assert_eq!(kinds, ["webhook", "slack", "discord", "telegram"]);
        let (_, webhook, key) = &degraded[0];
        assert_eq!(key, "health-service-monitor-degraded-1800000000000");
        let body = &webhook.body;
        assert_eq!(body["event"], "monitor_degraded");
        assert_eq!(body["target"], serde_json::Value::Null);
        assert_eq!(body["incident_id"], serde_json::Value::Null);
        assert_eq!(body["started_at"], "2027-01-15T08:00:00.000Z");
        assert_eq!(body["resolved_at"], serde_json::Value::Null);
        assert_eq!(body["cause"], cause.as_str());
        let summary = format!(
            "The monitor cannot write its store since 2027-01-15T08:00:00.000Z: alerts may be \
             missed ({cause})"
        );
        assert_eq!(degraded[1].1.body["text"], format!(":warning: {summary}"));
        assert_eq!(degraded[2].1.body["content"], summary);
        assert_eq!(
            degraded[2].1.body["embeds"][0]["title"],
            "monitor: monitor_degraded"
        );
        assert!(
            degraded[3].1.body["text"]
                .as_str()
                .unwrap()
                .starts_with(&summary),
            "{}",
            degraded[3].1.body
        );

        let recovered = direct_messages(
            &config,
            &Direct::Recovered {
                since_ms: 1_800_000_000_000,
                at_ms: 1_800_000_305_000,
                cause: cause.clone(),
            },
        );
        let body = &recovered[0].1.body;
        assert_eq!(body["event"], "monitor_recovered");
        assert_eq!(body["resolved_at"], "2027-01-15T08:05:05.000Z");
        assert_eq!(body["duration_seconds"], 305);
        assert_eq!(
            recovered[2].1.body["content"],
            format!(
                "The monitor can write its store again after 5m 5s (stale since \
                 2027-01-15T08:00:00.000Z; the error was: {cause})"
            )
        );
    }

    #[test]
    fn a_stored_url_loses_the_secrets_of_its_own_target() {
        let config = config::parse(
            r#"
            [[target]]
            name = "db"
            url = "https://db.example.org/"
            [[target]]
            name = "api"
            url = "https://api.example.org/health"
            headers = { Authorization = "Bearer t0ps3cret" }
            "#,
            |_| None,
        )
        .unwrap();
        // As an older version may have stored it.
        let mut stored = notification(Event::Down, false);
        stored.url = "https://api.example.org/t0ps3cret".to_owned();
        assert_eq!(
            facts(&config, &stored).url,
            "https://api.example.org/redacted"
        );
    }

    #[test]
    fn a_notification_sent_without_a_record_goes_to_its_alert_only_and_says_so() {
        let config = config::parse(CONFIG, |_| None).unwrap();
        let mut down = notification(Event::Down, false);
        down.alert = 1;
        down.kind = "slack".to_owned();
        let sent = direct_messages(&config, &Direct::Unrecorded(Box::new(down)));
        assert_eq!(sent.len(), 1);
        let (kind, message, key) = &sent[0];
        assert_eq!(*kind, "slack");
        assert_eq!(key, "health-service-unrecorded-4-down-1-1800000305000");
        let text = message.body["text"].as_str().unwrap();
        assert!(text.ends_with(UNRECORDED), "{text}");
        let webhook = direct_messages(
            &config,
            &Direct::Unrecorded(Box::new(notification(Event::Down, false))),
        );
        assert_eq!(webhook[0].1.body["recorded"], false);
        assert_eq!(webhook[0].1.body["target"], "api");
    }

    #[test]
    fn a_certificate_warning_carries_the_expiry_and_subject_in_every_format() {
        let config = config::parse(CONFIG, |_| None).unwrap();
        let mut notification = notification(
            Event::Certificate {
                // 9 days and 1 hour after created_ms.
                expires_ms: 1_800_000_305_000 + 9 * 86_400_000 + 3_600_000,
                subject: "CN=api.example.org".to_owned(),
            },
            false,
        );
        notification.incident.id = 0;
        let facts = facts(&config, &notification);
        let bodies: Vec<serde_json::Value> = (config.alerts.iter())
            .map(|a| message(&a.kind, &facts).body.clone())
            .collect();
        assert_eq!(
            bodies[0],
            serde_json::json!({
                "event": "certificate",
                "target": "api",
                "url": "https://api.example.org/health",
                "certificate_expires_at": "2027-01-24T09:05:05.000Z",
                "subject": "CN=api.example.org",
                "days_left": 9,
                "status_page_url": "https://status.example.org/status",
                "recorded": true,
            })
        );
        let summary = "api: the certificate CN=api.example.org expires in 9 days, at 2027-01-24T09:05:05.000Z";
        assert_eq!(facts.summary(), summary);
        assert_eq!(bodies[1]["text"], format!(":warning: {summary}"));
        assert_eq!(bodies[2]["content"], summary);
        assert_eq!(bodies[2]["embeds"][0]["title"], "api: certificate");
        assert!(bodies[3]["text"].as_str().unwrap().starts_with(summary));
    }

    #[test]
    fn backoff_doubles_from_two_seconds_up_to_ten_minutes() {
        let waits: Vec<u64> = (1..=12).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600, 600]);
    }

    /// Delivery against a local receiver, with a clock the test moves.
    mod delivery {
        use std::collections::HashMap;
        use std::net::SocketAddr;
        use std::sync::Mutex;

        use poem::http::StatusCode;
        use poem::{Request, Response};
        use tokio_util::task::TaskTracker;

        use super::*;
        use crate::monitor::clock::ManualClock;
        use crate::monitor::probe::Prober;
        use crate::monitor::store::Batch;

        /// 2027-01-15T08:00:00Z.
        const T: u64 = 1_800_000_000_000;

        /// Answers each POST with the status set for its path (200 if none) and records the
        /// path and idempotency key of each, and when it arrived.
        struct Receiver {
            addr: SocketAddr,
            statuses: Arc<Mutex<HashMap<String, u16>>>,
            seen: Arc<Mutex<Vec<(String, String)>>>,
            /// Each request's path and arrival on tokio's clock (paused in some tests).
            arrived: Arc<Mutex<Vec<(String, tokio::time::Instant)>>>,
            stop: CancellationToken,
        }

        impl Receiver {
            async fn start() -> Self {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let statuses: Arc<Mutex<HashMap<String, u16>>> = Arc::default();
                let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
                let arrived: Arc<Mutex<Vec<(String, tokio::time::Instant)>>> = Arc::default();
                let (s, log, times) = (statuses.clone(), seen.clone(), arrived.clone());
                let endpoint = poem::endpoint::make(move |req: Request| {
                    let (statuses, log, times) = (s.clone(), log.clone(), times.clone());
                    async move {
                        let path = req.uri().path().to_owned();
                        let now = tokio::time::Instant::now();
                        times.lock().unwrap().push((path.clone(), now));
                        let key = req
                            .headers()
                            .get("idempotency-key")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned();
                        let status = statuses.lock().unwrap().get(&path).copied();
                        log.lock().unwrap().push((path, key));
                        Response::builder()
                            .status(StatusCode::from_u16(status.unwrap_or(200)).unwrap())
                            .finish()
                    }
                });
                let stop = CancellationToken::new();
                tokio::spawn(crate::server::serve(
                    listener,
                    Arc::new(endpoint),
                    Duration::from_secs(5),
                    stop.clone(),
                    TaskTracker::new(),
                ));
                Self {
                    addr,
                    statuses,
                    seen,
                    arrived,
                    stop,
                }
            }

            fn answer(&self, path: &str, status: u16) {
                self.statuses
                    .lock()
                    .unwrap()
                    .insert(path.to_owned(), status);
            }

            /// (path, idempotency key) of every request so far.
            fn seen(&self) -> Vec<(String, String)> {
                self.seen.lock().unwrap().clone()
            }
        }

        impl Drop for Receiver {
            fn drop(&mut self) {
                self.stop.cancel();
            }
        }

        /// A store, a config of two webhooks (`/a` and `/b` of the receiver) and the clock.
        struct Delivery {
            store: Arc<Store>,
            config: MonitorConfig,
            client: Notifier,
            registry: prometheus::Registry,
            metrics: MonitorMetrics,
            clock: ManualClock,
            receiver: Receiver,
            _dir: tempfile::TempDir,
        }

        impl Delivery {
            async fn start() -> Self {
                let receiver = Receiver::start().await;
                let toml = format!(
                    "[[target]]\nname = \"api\"\nurl = \"http://127.0.0.1:1/\"\n\
                     [[alert]]\nkind = \"webhook\"\nurl = \"http://{0}/a\"\n\
                     [[alert]]\nkind = \"webhook\"\nurl = \"http://{0}/b\"\n",
                    receiver.addr
                );
                let dir = tempfile::tempdir().unwrap();
                let registry = prometheus::Registry::new();
                Self {
                    store: Arc::new(Store::open(dir.path()).unwrap()),
                    config: config::parse(&toml, |_| None).unwrap(),
                    client: Prober::new(Vec::new()).unwrap().notifier(),
                    metrics: MonitorMetrics::register(&registry).unwrap(),
                    registry,
                    clock: ManualClock::at(from_millis(T)),
                    receiver,
                    _dir: dir,
                }
            }

            /// Commits a notification to `alert` (of `kind`) made at `created_ms`, due at
            /// `due_ms`; returns its id.
            fn add(&self, alert: u32, kind: &str, created_ms: u64, due_ms: u64) -> u64 {
                let mut made = notification(Event::Down, false);
                made.alert = alert;
                made.kind = kind.to_owned();
                made.created_ms = created_ms;
                made.next_attempt_ms = due_ms;
                let batch = Batch {
                    notifications: vec![made],
                    ..Batch::default()
                };
                self.store.commit(&batch).unwrap()[0]
            }

            /// One pass at the clock's time; when the next is due, ms.
            async fn pass(&self) -> Option<u64> {
                deliver_due(
                    &self.store,
                    &self.config,
                    &self.client,
                    &self.metrics,
                    &self.clock,
                )
                .await
                .unwrap()
                .map(millis)
            }

            fn now_ms(&self) -> u64 {
                millis(self.clock.now())
            }

            fn advance_to(&self, ms: u64) {
                self.clock
                    .advance(Duration::from_millis(ms - self.now_ms()));
            }

            fn pending(&self) -> Vec<Notification> {
                self.store.pending().unwrap()
            }

            fn all(&self) -> Vec<Notification> {
                self.store.notifications(1).unwrap()
            }

            /// `monitor_notifications_total{kind="webhook",result}`.
            fn counted(&self, result: &str) -> u64 {
                let families = self.registry.gather();
                let Some(family) = families
                    .iter()
                    .find(|f| f.name() == "monitor_notifications_total")
                else {
                    return 0;
                };
                family
                    .get_metric()
                    .iter()
                    .filter(|m| {
                        m.get_label()
                            .iter()
                            .any(|l| l.name() == "result" && l.value() == result)
                    })
                    .map(|m| m.get_counter().get_value() as u64)
                    .sum()
            }
        }

        /// Tokio's clock, read as wall-clock time from `wall`, so the loop's waits and the
        /// times it compares move together under paused time.
        #[derive(Debug)]
        struct TokioClock {
            wall: SystemTime,
            start: tokio::time::Instant,
        }

        impl Clock for TokioClock {
            fn now(&self) -> SystemTime {
                self.wall + self.start.elapsed()
            }

            fn instant(&self) -> std::time::Instant {
                self.start.into_std() + self.start.elapsed()
            }
        }

        /// How long after `start` every pending notification was gone.
        async fn emptied(store: &Store, start: tokio::time::Instant) -> Duration {
            when(start, || store.pending().unwrap().is_empty()).await
        }

        /// When `done` first held after `start`: polled every 100 ms of paused time, up to ten
        /// minutes of it.
        async fn when(start: tokio::time::Instant, mut done: impl FnMut() -> bool) -> Duration {
            for _ in 0..6000 {
                if done() {
                    return start.elapsed();
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("not within ten minutes");
        }

        /// Runs `test` under paused time on a thread of its own, and fails it if it has not
        /// ended within ten real seconds (it takes milliseconds): a loop that never waits
        /// never lets paused time move, and would hang the test instead of failing it.
        fn paused<F: Future<Output = ()>>(test: impl FnOnce() -> F + Send + 'static) {
            let (ended, end) = std::sync::mpsc::channel();
            let thread = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .start_paused(true)
                    .build()
                    .unwrap();
                runtime.block_on(test());
                ended.send(()).unwrap();
            });
            match end.recv_timeout(Duration::from_secs(10)) {
                Ok(()) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    panic!("paused time stood still: a loop never waits")
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    std::panic::resume_unwind(thread.join().unwrap_err())
                }
            }
        }

        #[test]
        fn the_loop_looks_when_the_next_is_due_when_woken_and_each_minute() {
            paused(|| async {
                let delivery = Delivery::start().await;
                let start = tokio::time::Instant::now();
                let clock = Arc::new(TokioClock {
                    wall: from_millis(T),
                    start,
                });
                // Made for an alert no longer in the config: dropped when due, with no request.
                delivery.add(9, "webhook", T, T + 30_000);
                let (wake, stop) = (Arc::new(Notify::new()), CancellationToken::new());
                let running = tokio::spawn(deliver(
                    delivery.store.clone(),
                    Arc::new(delivery.config.clone()),
                    delivery.client.clone(),
                    wake.clone(),
                    Arc::new(delivery.metrics.clone()),
                    stop.clone(),
                    clock.clone(),
                ));
                let at = emptied(&delivery.store, start).await;
                assert!(
                    at >= Duration::from_secs(30) && at <= Duration::from_millis(30_100),
                    "{at:?}"
                );

                // Committed without a wake-up: seen at the next minute's look, 60 s after the last.
                let now = millis(clock.now());
                delivery.add(9, "webhook", now, now);
                let at = emptied(&delivery.store, start).await;
                assert!(
                    at >= Duration::from_secs(90) && at <= Duration::from_millis(90_100),
                    "{at:?}"
                );

                // Woken: at once.
                let now = millis(clock.now());
                delivery.add(9, "webhook", now, now);
                wake.notify_one();
                let woken = start.elapsed();
                let at = emptied(&delivery.store, start).await;
                assert!(at - woken <= Duration::from_millis(100), "{at:?} {woken:?}");

                stop.cancel();
                running.await.unwrap();
                assert_eq!(delivery.counted("abandoned"), 3);
            });
        }

        /// A store whose pending notifications cannot be read: the loop logs it and looks
        /// again 2 s later, not at once, over and over.
        #[test]
        fn a_store_that_cannot_be_read_is_looked_at_again_after_2_s() {
            let dir = tempfile::tempdir().unwrap();
            {
                let store = Store::open(dir.path()).unwrap();
                let batch = Batch {
                    notifications: vec![notification(Event::Down, false)],
                    ..Batch::default()
                };
                store.commit(&batch).unwrap();
            }
            {
                // The notification's record, emptied: it no longer decodes.
                let db = redb::Database::open(dir.path().join(store::FILE_NAME)).unwrap();
                let txn = db.begin_write().unwrap();
                let table: redb::TableDefinition<u64, &[u8]> =
                    redb::TableDefinition::new("notifications");
                txn.open_table(table).unwrap().insert(1, &[][..]).unwrap();
                txn.commit().unwrap();
            }
            let store = Arc::new(Store::open(dir.path()).unwrap());
            assert!(store.pending().is_err(), "the record is damaged");
            paused(move || async move {
                let clock = Arc::new(TokioClock {
                    wall: from_millis(T),
                    start: tokio::time::Instant::now(),
                });
                let config = config::parse(CONFIG, |_| None).unwrap();
                let stop = CancellationToken::new();
                let running = tokio::spawn(deliver(
                    store,
                    Arc::new(config),
                    Prober::new(Vec::new()).unwrap().notifier(),
                    Arc::new(Notify::new()),
                    Arc::new(MonitorMetrics::unexposed().unwrap()),
                    stop.clone(),
                    clock,
                ));
                tokio::time::sleep(Duration::from_secs(10)).await;
                stop.cancel();
                running.await.unwrap();
            });
        }

        /// Reads that fail in a row wait longer each time: the store closed (as after an I/O
        /// error) fails the reads at 0, 2 and 6 s; re-opened at 7 s, it is read at 14 s.
        #[test]
        fn failed_reads_in_a_row_wait_2_s_then_4_s_then_8_s() {
            paused(|| async {
                let delivery = Delivery::start().await;
                let start = tokio::time::Instant::now();
                let clock = Arc::new(TokioClock {
                    wall: from_millis(T),
                    start,
                });
                // For an alert not in the config: dropped, without a request, once read.
                delivery.add(9, "webhook", T, T);
                delivery.store.close();
                let stop = CancellationToken::new();
                let running = tokio::spawn(deliver(
                    delivery.store.clone(),
                    Arc::new(delivery.config.clone()),
                    delivery.client.clone(),
                    Arc::new(Notify::new()),
                    Arc::new(delivery.metrics.clone()),
                    stop.clone(),
                    clock,
                ));
                tokio::time::sleep(Duration::from_secs(7)).await;
                delivery.store.reopen().unwrap();
                let read = when(start, || delivery.counted("abandoned") == 1).await;
                assert!(
                    read >= Duration::from_secs(14) && read <= Duration::from_millis(14_100),
                    "{read:?}"
                );
                stop.cancel();
                running.await.unwrap();
                assert!(delivery.pending().is_empty());
            });
        }

        /// A message sent without the outbox reaches every alert; one that fails is tried five
        /// times, 2, 4, 8 and 16 s apart, then given up.
        #[test]
        fn a_direct_message_is_tried_five_times_2_s_doubling_apart_then_given_up() {
            paused(|| async {
                let delivery = Delivery::start().await;
                delivery.receiver.answer("/a", 500);
                let (queue, queued) = tokio::sync::mpsc::unbounded_channel();
                let stop = CancellationToken::new();
                let running = tokio::spawn(deliver_direct(
                    Arc::new(delivery.config.clone()),
                    delivery.client.clone(),
                    queued,
                    Arc::new(delivery.metrics.clone()),
                    stop.clone(),
                ));
                let start = tokio::time::Instant::now();
                queue
                    .send(Direct::Degraded {
                        since_ms: T,
                        cause: "disk full".to_owned(),
                    })
                    .unwrap();
                let given_up = when(start, || delivery.counted("abandoned") == 1).await;
                let tried: Vec<u128> = delivery
                    .receiver
                    .arrived
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|(path, _)| path == "/a")
                    .map(|(_, at)| (*at - start).as_millis())
                    .collect();
                assert_eq!(tried, [0, 2000, 6000, 14_000, 30_000]);
                assert!(
                    given_up >= Duration::from_secs(30)
                        && given_up <= Duration::from_millis(30_100),
                    "{given_up:?}"
                );
                let key = format!("health-service-monitor-degraded-{T}");
                let mut seen = delivery.receiver.seen();
                seen.sort();
                let mut expected = vec![("/a".to_owned(), key.clone()); 5];
                expected.push(("/b".to_owned(), key));
                assert_eq!(seen, expected);
                assert_eq!(
                    (delivery.counted("delivered"), delivery.counted("failed")),
                    (1, 5)
                );
                stop.cancel();
                running.await.unwrap();
            });
        }

        #[tokio::test]
        async fn a_failing_webhook_is_retried_after_2_s_doubling_up_to_10_minutes() {
            let delivery = Delivery::start().await;
            delivery.receiver.answer("/a", 500);
            delivery.add(0, "webhook", T, T);
            let mut waits = Vec::new();
            for attempt in 1..=12_u32 {
                let now = delivery.now_ms();
                let due = delivery.pass().await.expect("a retry is due");
                assert_eq!(delivery.receiver.seen().len(), attempt as usize);
                let pending = delivery.pending();
                assert_eq!(pending[0].attempts, attempt);
                assert_eq!(pending[0].next_attempt_ms, due);
                assert_eq!(
                    pending[0].last_error.as_deref(),
                    Some("answered 500 Internal Server Error")
                );
                waits.push((due - now) / 1000);
                // A millisecond early, nothing is sent.
                delivery.advance_to(due - 1);
                assert_eq!(delivery.pass().await, Some(due));
                assert_eq!(delivery.receiver.seen().len(), attempt as usize);
                delivery.advance_to(due);
            }
            assert_eq!(waits, [2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600, 600]);
            assert_eq!(delivery.counted("failed"), 12);
            assert_eq!(delivery.counted("delivered"), 0);
        }

        #[tokio::test]
        async fn a_notification_is_given_up_24_hours_after_it_was_made() {
            let delivery = Delivery::start().await;
            delivery.receiver.answer("/a", 503);
            let day = 24 * 3_600_000;
            delivery.add(0, "webhook", T, T + day - 2000);
            delivery.advance_to(T + day - 2000);
            assert_eq!(delivery.pass().await, Some(T + day), "still retried");
            delivery.advance_to(T + day);
            assert_eq!(delivery.pass().await, None, "nothing left to send");
            assert!(delivery.pending().is_empty());
            let kept = &delivery.all()[0];
            assert_eq!(kept.attempts, 2);
            assert_eq!(kept.delivered_ms, None);
            assert_eq!(
                kept.last_error.as_deref(),
                Some("answered 503 Service Unavailable")
            );
            assert_eq!(
                (delivery.counted("failed"), delivery.counted("abandoned")),
                (1, 1)
            );
        }

        #[tokio::test]
        async fn each_alert_gets_its_notifications_in_order_and_others_are_not_held_up() {
            let delivery = Delivery::start().await;
            delivery.receiver.answer("/a", 500);
            let first = delivery.add(0, "webhook", T, T);
            let second = delivery.add(0, "webhook", T, T);
            let other = delivery.add(1, "webhook", T, T);
            assert_eq!(delivery.pass().await, Some(T + 2000));
            let key = |id: u64| format!("health-service-{id}");
            assert_eq!(
                delivery.receiver.seen(),
                [("/a".to_owned(), key(first)), ("/b".to_owned(), key(other))],
                "the second waits behind the first"
            );
            let pending: Vec<u64> = delivery.pending().iter().map(|n| n.id).collect();
            assert_eq!(pending, [first, second]);
            assert_eq!(delivery.all()[2].delivered_ms, Some(T));

            delivery.receiver.answer("/a", 204);
            delivery.advance_to(T + 2000);
            assert_eq!(delivery.pass().await, None);
            let seen = delivery.receiver.seen();
            assert_eq!(
                seen[2..],
                [
                    ("/a".to_owned(), key(first)),
                    ("/a".to_owned(), key(second))
                ]
            );
            assert!(delivery.pending().is_empty());
            let delivered: Vec<Option<u64>> =
                delivery.all().iter().map(|n| n.delivered_ms).collect();
            assert_eq!(delivered, [Some(T + 2000), Some(T + 2000), Some(T)]);
            assert_eq!(delivery.all()[0].last_error, None, "cleared once delivered");
            assert_eq!(delivery.counted("delivered"), 3);
        }

        #[tokio::test]
        async fn a_notification_whose_alert_left_the_config_is_dropped_unsent() {
            let delivery = Delivery::start().await;
            // Index 0 is a webhook now: a Slack message made for it is not sent there.
            delivery.add(0, "slack", T, T);
            delivery.add(7, "webhook", T, T);
            assert_eq!(delivery.pass().await, None);
            assert!(delivery.receiver.seen().is_empty());
            assert!(delivery.pending().is_empty());
            for dropped in delivery.all() {
                assert_eq!(
                    dropped.last_error.as_deref(),
                    Some("its alert is no longer in the config")
                );
                assert_eq!(dropped.attempts, 0);
            }
            assert_eq!(delivery.counted("abandoned"), 2);
        }
    }
}
