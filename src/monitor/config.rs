//! The monitor's TOML file: read, `${NAME}` filled in from the environment, checked, typed.
//!
//! Every problem is found in one pass and reported as one [`Problem`] line naming the target
//! (or alert) and the key, so `monitor --check` shows them all at once.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;
use std::time::Duration;

use lettre::message::Mailbox;
use reqwest::Url;
use reqwest::header::{HeaderName, HeaderValue};
use rustls::pki_types::ServerName;
use serde::Deserialize;

use super::conditions::Condition;
use super::maintenance::{self, Maintenance};
use super::redact::{self, Secret, Secrets};

/// Page and feed title when `[monitor] title` is not set.
pub const DEFAULT_TITLE: &str = "Status";
/// How often a target is probed when `interval` is not set (Gatus's default).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// How long a probe may take when `timeout` is not set (Gatus's default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Consecutive failures before a target is down, when not set.
pub const DEFAULT_FAILURE_THRESHOLD: u32 = 3;
/// Consecutive successes before a down target is up again, when not set.
pub const DEFAULT_SUCCESS_THRESHOLD: u32 = 2;
/// How long raw results are kept when `retention` is not set.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);
/// How long before a certificate expires its warning is sent, when `certificate_warning` is
/// not set.
pub const DEFAULT_CERTIFICATE_WARNING: Duration = Duration::from_secs(14 * 24 * 3600);
/// How late a push target may check in when `grace` is not set.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(60);
/// The fewest bits of a push target's token: guessing one must be out of reach.
pub const MIN_TOKEN_BITS: usize = 128;
/// The Telegram Bot API, unless an alert's `url` points elsewhere (a proxy, or a test).
pub const TELEGRAM_API: &str = "https://api.telegram.org";
/// PagerDuty's Events API v2, unless an alert's `url` points elsewhere.
pub const PAGERDUTY_API: &str = "https://events.pagerduty.com/v2/enqueue";
/// Pushover's messages API, unless an alert's `url` points elsewhere.
pub const PUSHOVER_API: &str = "https://api.pushover.net/1/messages.json";

/// Shortest probe interval: faster probing is load, not monitoring.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Shortest retention: the status page's 24-hour figures need a day of results.
const MIN_RETENTION: Duration = Duration::from_secs(24 * 3600);
/// Smallest `max_store_size`: an empty store takes about a megabyte.
const MIN_STORE_SIZE: u64 = 4 * 1024 * 1024;
/// Longest target name: names appear in URLs and metric labels.
const MAX_NAME_LEN: usize = 63;
/// How often the heartbeat is sent when `heartbeat_interval` is not set.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(60);
/// The location a monitor probes from when nobody says (see `--location`).
pub const DEFAULT_LOCATION: &str = "local";
/// The Uptime Kuma-compatible status page's slug when `status_page_slug` is not set (Kuma's
/// own first page is `default`).
pub const DEFAULT_STATUS_PAGE_SLUG: &str = "default";

/// The whole monitor configuration, checked.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    /// Title of the status page and feed.
    pub title: String,
    /// Where the status page is public, for links in alerts.
    pub public_url: Option<Url>,
    /// Raw results older than this are pruned; daily aggregates stay.
    pub retention: Duration,
    /// Near this many bytes of store, raw results are pruned oldest first; `None` means 80 % of
    /// the data directory's filesystem, measured at start-up.
    pub max_store_size: Option<u64>,
    /// What to probe, in the file's order (the status page keeps it).
    pub targets: Vec<Target>,
    /// Where to send notifications.
    pub alerts: Vec<Alert>,
    /// Where this process (the decider) probes from: `--location`, set by
    /// [`MonitorConfig::located`]; [`DEFAULT_LOCATION`] until then.
    pub location: String,
    /// The agents that probe every target too, each from its own location.
    pub locations: Vec<Location>,
    /// Failed votes that fail a round (fewer when fewer locations vote): `quorum`, by default a
    /// majority of all locations, the decider's own included.
    pub quorum: usize,
    /// Requested while the monitor makes progress, for an outside dead-man's switch.
    pub heartbeat: Option<Heartbeat>,
    /// Planned work, when failures alert nobody.
    pub maintenance: Maintenance,
    /// The slug of the Uptime Kuma-compatible status page (`/api/status-page/{slug}`): Kuma's
    /// rule, lower-case letters and digits in runs joined by single hyphens.
    pub status_page_slug: String,
}

impl MonitorConfig {
    /// This config for a decider probing from `location`, checked against the `[[location]]`
    /// names (the decider's own cannot be one of them).
    ///
    /// # Errors
    /// The problem, in the same form as the file's.
    pub fn located(mut self, location: &str) -> Result<Self, Vec<Problem>> {
        if self.locations.iter().any(|l| l.name == location) {
            return Err(vec![problem(
                &format!("location {location:?}: name"),
                "is this monitor's own location (--location / MONITOR_LOCATION / FLY_REGION); \
                 a [[location]] names an agent elsewhere",
            )]);
        }
        location.clone_into(&mut self.location);
        Ok(self)
    }

    /// Every location's name, the decider's own first.
    pub fn location_names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.location.as_str())
            .chain(self.locations.iter().map(|l| l.name.as_str()))
    }
}

/// A probe agent (`health-service agent`) the decider asks to probe every target.
#[derive(Clone)]
pub struct Location {
    /// Unique among locations, `[a-z0-9-]`: shown in the API, page, metrics and causes.
    pub name: String,
    /// The agent's base URL (`POST {url}/api/v1/probe`).
    pub url: Url,
    /// The agent's `AGENT_TOKEN`; sent to that agent only, shown nowhere.
    pub token: String,
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Location")
            .field("name", &self.name)
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

/// The dead-man's-switch request.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    /// Requested with `GET` (Healthchecks.io's ping URLs take GET).
    pub url: Url,
    /// How often.
    pub interval: Duration,
}

impl MonitorConfig {
    /// What `--check` warns about without refusing the file, one line each.
    #[must_use]
    pub fn warnings(&self) -> Vec<String> {
        self.targets
            .iter()
            .filter_map(Target::show_url_warning)
            .collect()
    }
}

/// One HTTP service to probe.
#[derive(Debug, Clone)]
pub struct Target {
    /// Unique, `[a-z0-9-]`: used in URLs, metric labels and the store's keys.
    pub name: String,
    /// What to request; may hold credentials, so it is shown only through [`Target::public_url`]
    /// and [`Target::alert_url`]. `None` for a push target, which is not probed.
    pub url: Option<Secret<Url>>,
    /// Probed, or checking in.
    pub kind: TargetKind,
    /// Whether public surfaces show the URL (as [`Target::public_url`]); off unless asked.
    pub show_url: bool,
    /// `GET` or `HEAD`.
    pub method: ProbeMethod,
    /// Time between probes.
    pub interval: Duration,
    /// Longest a probe may take, body included.
    pub timeout: Duration,
    /// Sent with every probe; the values are marked sensitive, so their `Debug` hides them.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// All must hold for a probe to succeed; none means a status from 200 to 399.
    pub conditions: Vec<Condition>,
    /// Consecutive failures before the target is down.
    pub failure_threshold: u32,
    /// Consecutive successes before a down target is up again.
    pub success_threshold: u32,
    /// Heading the target is listed under on the status page.
    pub group: Option<String>,
    /// Whether redirects are followed (else a 3xx is the answer judged).
    pub follow_redirects: bool,
    /// A certificate expiring within this sends one `certificate` notification; zero is off.
    pub certificate_warning: Duration,
    /// What this target must never show: its user info, query values and header values, and
    /// every value filled in from `${NAME}`.
    pub secrets: Secrets,
}

impl Target {
    /// The URL as public surfaces show it: `None` unless `show_url = true`, then without user
    /// info, query or fragment, and any `${NAME}` value shown as `${NAME}`.
    #[must_use]
    pub fn public_url(&self) -> Option<String> {
        let url = self.url.as_ref().filter(|_| self.show_url)?;
        Some(self.scrub(&redact::public_url(url.expose())).into_owned())
    }

    /// The URL as alerts carry it: without user info, query values `redacted`.
    #[must_use]
    pub fn alert_url(&self) -> String {
        self.url.as_ref().map_or_else(String::new, |url| {
            self.scrub(&redact::alert_url(url.expose())).into_owned()
        })
    }

    /// The push settings, for a push target.
    #[must_use]
    pub fn push(&self) -> Option<&PushSettings> {
        match &self.kind {
            TargetKind::Push(push) => Some(push),
            _ => None,
        }
    }

    /// `text` (a probe's reason, say) without this target's secrets.
    #[must_use]
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.secrets.scrub(text)
    }

    /// Why publishing this target's URL (`show_url = true`) leaves parts of it out, if it does:
    /// the `--check` warning.
    #[must_use]
    pub fn show_url_warning(&self) -> Option<String> {
        let url = self.url.as_ref()?.expose();
        let user_info = !url.username().is_empty() || url.password().is_some();
        let hidden = match (user_info, url.query().is_some()) {
            _ if !self.show_url => return None,
            (true, true) => "user info and query are",
            (true, false) => "user info is",
            (false, true) => "query is",
            (false, false) => return None,
        };
        Some(format!(
            "target {:?}: show_url: the URL's {hidden} never shown; the page and API show {}",
            self.name,
            self.public_url().unwrap_or_default()
        ))
    }
}

/// Whether a target is probed, and how, or checks in.
#[derive(Debug, Clone)]
pub enum TargetKind {
    /// Probed at its `http://` or `https://` URL every `interval`.
    Http,
    /// `tcp://host:port`: a connection.
    Tcp,
    /// `tls://host:port`: a connection and a TLS handshake.
    Tls,
    /// `dns://server[:port]`: one query.
    Dns(DnsQuery),
    /// Not probed: it checks in (`kind = "push"`), and silence fails it.
    Push(PushSettings),
}

impl TargetKind {
    /// The kind as `--check` names it.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Http => "an http(s)://",
            Self::Tcp => "a tcp://",
            Self::Tls => "a tls://",
            Self::Dns(_) => "a dns://",
            Self::Push(_) => "a push",
        }
    }

    /// The placeholders its probes record, for `--check`.
    #[must_use]
    pub fn placeholders(&self) -> &'static [&'static str] {
        match self {
            Self::Http => &[
                "[STATUS]",
                "[RESPONSE_TIME]",
                "[BODY]",
                "[CERTIFICATE_EXPIRATION]",
                "[CONNECTED]",
            ],
            Self::Tcp => &["[CONNECTED]", "[RESPONSE_TIME]"],
            Self::Tls => &["[CONNECTED]", "[RESPONSE_TIME]", "[CERTIFICATE_EXPIRATION]"],
            Self::Dns(_) => &["[DNS_RCODE]", "[BODY]", "[RESPONSE_TIME]", "[CONNECTED]"],
            Self::Push(_) => &[],
        }
    }
}

/// What a `dns://` target asks, as Gatus's `dns` endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsQuery {
    /// The name asked about, e.g. `example.org`.
    pub name: String,
    /// The record type: `A`, `AAAA`, `CNAME`, `MX`, `NS`, `PTR` or `SRV`.
    pub record_type: String,
}

/// The record types a `dns://` target may ask for: those Gatus renders into `[BODY]`.
pub const DNS_TYPES: [&str; 7] = ["A", "AAAA", "CNAME", "MX", "NS", "PTR", "SRV"];

/// A push target's clock and secret.
#[derive(Debug, Clone)]
pub struct PushSettings {
    /// How often the job checks in.
    pub period: Duration,
    /// How late it may be.
    pub grace: Duration,
    /// What its check-ins carry (the path of `/ping/<token>`, Gatus's bearer token); at least
    /// [`MIN_TOKEN_BITS`] bits, never shown.
    pub token: Secret<String>,
}

/// The request method of a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ProbeMethod {
    /// Status, headers and body.
    #[serde(rename = "GET")]
    Get,
    /// Status and headers only: no `[BODY]` conditions.
    #[serde(rename = "HEAD")]
    Head,
}

/// One destination for notifications.
#[derive(Debug, Clone)]
pub struct Alert {
    /// Where and in which format.
    pub kind: AlertKind,
    /// The targets it is about; `None` means every target.
    pub targets: Option<Vec<String>>,
    /// Repeat the `down` notification this often while the target stays down.
    pub reminder: Option<Duration>,
    /// Also tell this alert when a location starts failing while too few others agree (a
    /// location warning), which pages nobody otherwise.
    pub location_warnings: bool,
}

impl Alert {
    /// Whether this alert is about `target`.
    #[must_use]
    pub fn covers(&self, target: &str) -> bool {
        self.targets
            .as_ref()
            .is_none_or(|targets| targets.iter().any(|t| t == target))
    }
}

/// A notification channel and its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertKind {
    /// A JSON POST of the facts to any URL.
    Webhook {
        /// Where to POST (its path or query is often the credential).
        url: Secret<Url>,
    },
    /// A Slack incoming webhook.
    Slack {
        /// The incoming webhook's URL, whose path is the credential.
        url: Secret<Url>,
    },
    /// A Discord channel webhook.
    Discord {
        /// The channel webhook's URL, whose path is the credential.
        url: Secret<Url>,
    },
    /// A Telegram chat, through a bot.
    Telegram {
        /// The bot's token from BotFather.
        bot_token: Secret<String>,
        /// The chat to write to.
        chat_id: String,
        /// The Bot API's base URL ([`TELEGRAM_API`] unless set).
        api: Secret<Url>,
    },
    /// An ntfy topic.
    Ntfy {
        /// The topic's URL, e.g. `https://ntfy.sh/my-alerts` (the topic name is its secret on
        /// a public server).
        url: Secret<Url>,
        /// An access token, for a topic that needs one.
        token: Option<Secret<String>>,
        /// 1 (min) to 5 (urgent); unset: 4 for outages, 3 for the rest.
        priority: Option<u8>,
    },
    /// A PagerDuty service, through its Events API v2 integration.
    Pagerduty {
        /// The integration's routing key.
        routing_key: Secret<String>,
        /// The Events API ([`PAGERDUTY_API`] unless set).
        url: Secret<Url>,
    },
    /// A Microsoft Teams channel, through a Workflows webhook.
    Teams {
        /// The workflow's URL, whose query is the credential.
        url: Secret<Url>,
    },
    /// A Gotify server.
    Gotify {
        /// The server's base URL.
        url: Secret<Url>,
        /// An application token.
        token: Secret<String>,
        /// 0 to 10; unset: 8 for outages, 4 for the rest.
        priority: Option<u8>,
    },
    /// Pushover.
    Pushover {
        /// The application's API token.
        token: Secret<String>,
        /// The user or group key to notify.
        user: Secret<String>,
        /// The messages API ([`PUSHOVER_API`] unless set).
        url: Secret<Url>,
    },
    /// A Matrix room, through the client-server API.
    Matrix {
        /// The homeserver's base URL, e.g. `https://matrix.org`.
        homeserver: Secret<Url>,
        /// The room's id, e.g. `!abc:matrix.org` (the bot must have joined it).
        room_id: String,
        /// The bot account's access token.
        access_token: Secret<String>,
    },
    /// Mailboxes, through an SMTP server.
    Email {
        /// The server and how to log in to it.
        server: SmtpServer,
        /// The sender, `From:` and `MAIL FROM`.
        from: Mailbox,
        /// The recipients: one message, addressed to all of them.
        to: Vec<Mailbox>,
    },
}

/// An SMTP server that takes the monitor's mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpServer {
    /// Its host name (what its certificate names) or IP address.
    pub host: String,
    /// Its port ([`SmtpTls::default_port`] unless set).
    pub port: u16,
    /// How the connection is secured.
    pub tls: SmtpTls,
    /// The login and its password; `None` for a relay that takes mail without one.
    pub credentials: Option<(String, Secret<String>)>,
}

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text first, then `STARTTLS` before anything else is said; refused if the server
    /// does not offer it.
    Starttls,
    /// TLS from the first byte (SMTPS).
    Implicit,
    /// No TLS: only for a relay on the same host, where nothing crosses a network.
    None,
}

impl SmtpTls {
    /// The port mail clients use for it: 587 (submission), 465 (submissions), 25 (SMTP).
    #[must_use]
    pub fn default_port(self) -> u16 {
        match self {
            Self::Starttls => 587,
            Self::Implicit => 465,
            Self::None => 25,
        }
    }
}

impl AlertKind {
    /// The kind's name, as written in the file and in metrics.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Webhook { .. } => "webhook",
            Self::Slack { .. } => "slack",
            Self::Discord { .. } => "discord",
            Self::Telegram { .. } => "telegram",
            Self::Ntfy { .. } => "ntfy",
            Self::Pagerduty { .. } => "pagerduty",
            Self::Teams { .. } => "teams",
            Self::Gotify { .. } => "gotify",
            Self::Pushover { .. } => "pushover",
            Self::Matrix { .. } => "matrix",
            Self::Email { .. } => "email",
        }
    }
}

/// One thing wrong with the file: where, and what is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The target, alert or section and the key, e.g. `target "api": interval`.
    pub place: String,
    /// What is wrong and what is accepted.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.place.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.place, self.message)
        }
    }
}

/// Reads and checks the file at `path`, filling `${NAME}` from the process environment.
///
/// # Errors
/// Every problem found: unreadable file, TOML syntax, unknown keys, bad values, unset variables.
pub fn load(path: &Path) -> Result<MonitorConfig, Vec<Problem>> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        vec![Problem {
            place: String::new(),
            message: format!("cannot read {}: {err}", path.display()),
        }]
    })?;
    parse(&text, |name| std::env::var(name).ok())
}

/// Checks the TOML `text`, reading `${NAME}` values through `env`.
///
/// # Errors
/// Every problem found, section by section.
pub fn parse(
    text: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<MonitorConfig, Vec<Problem>> {
    let mut table: toml::Table = text.parse().map_err(|err: toml::de::Error| {
        vec![Problem {
            place: location(text, err.span()),
            message: format!("not valid TOML: {}", err.message().trim()),
        }]
    })?;
    let mut problems = Vec::new();
    let mut variables = Secrets::default();
    substitute_table(
        &mut table,
        &mut Vec::new(),
        &mut Substitution {
            env: &env,
            problems: &mut problems,
            secrets: &mut variables,
        },
    );
    // A value whose variable is unset is reported once, not again as a bad value.
    let unset: HashSet<String> = problems.iter().map(|p| p.place.clone()).collect();

    let mut monitor = RawMonitor::default();
    let mut raw_targets = Vec::new();
    let mut raw_alerts = Vec::new();
    let mut raw_locations = Vec::new();
    let mut raw_windows = Vec::new();
    for (key, mut value) in table {
        match key.as_str() {
            "monitor" => match RawMonitor::deserialize(known_keys(
                "[monitor]",
                &mut value,
                MONITOR_KEYS,
                &mut problems,
            )) {
                Ok(raw) => monitor = raw,
                Err(err) => problems.push(problem("[monitor]", serde_message(&err))),
            },
            "target" => raw_targets = entries("target", value, &mut problems),
            "alert" => raw_alerts = entries("alert", value, &mut problems),
            "location" => raw_locations = entries("location", value, &mut problems),
            "maintenance" => raw_windows = entries("maintenance", value, &mut problems),
            other => problems.push(problem(
                other,
                "unknown top-level key; expected [monitor], [[target]], [[alert]], [[location]] \
                 or [[maintenance]]",
            )),
        }
    }

    let title = monitor.title.unwrap_or_else(|| DEFAULT_TITLE.to_owned());
    if title.trim().is_empty() {
        problems.push(problem("[monitor] title", "is empty; expected a title"));
    }
    let public_url = monitor
        .public_url
        .and_then(|url| check_url("[monitor] public_url", &url, &mut problems));
    let retention = monitor.retention.map_or(Some(DEFAULT_RETENTION), |text| {
        check_duration("[monitor] retention", &text, MIN_RETENTION, &mut problems)
    });
    let max_store_size = monitor
        .max_store_size
        .and_then(|text| check_size("[monitor] max_store_size", &text, &mut problems));
    let certificate_warning = monitor
        .certificate_warning
        .map_or(Some(DEFAULT_CERTIFICATE_WARNING), |text| {
            check_duration(
                "[monitor] certificate_warning",
                &text,
                Duration::ZERO,
                &mut problems,
            )
        })
        .unwrap_or(DEFAULT_CERTIFICATE_WARNING);

    if raw_targets.is_empty() && !problems.iter().any(|p| p.place.starts_with("target")) {
        problems.push(problem(
            "[[target]]",
            "none defined; a monitor needs at least one target",
        ));
    }
    let mut targets = Vec::new();
    let mut names = HashSet::new();
    let mut tokens = HashSet::new();
    for (index, mut value) in raw_targets.into_iter().enumerate() {
        let place = target_place(&value, index);
        let value = known_keys(&place, &mut value, TARGET_KEYS, &mut problems);
        let raw = match RawTarget::deserialize(value) {
            Ok(raw) => raw,
            Err(err) => {
                problems.push(problem(&place, serde_message(&err)));
                continue;
            }
        };
        if !names.insert(raw.name.clone()) {
            problems.push(problem(
                &format!("{place}: name"),
                "another target has this name; names must be unique",
            ));
        }
        // Compared as written, like the names, so that a target with another problem counts too
        // (check_target drops such a target).
        if raw.kind == Some(RawTargetKind::Push)
            && let Some(token) = &raw.token
            && !tokens.insert(token.clone())
        {
            problems.push(problem(
                &format!("{place}: token"),
                "another push target has this token; each needs its own",
            ));
        }
        targets.extend(check_target(
            &place,
            raw,
            &variables,
            certificate_warning,
            &mut problems,
        ));
    }

    let mut alerts = Vec::new();
    for (index, mut value) in raw_alerts.into_iter().enumerate() {
        let place = format!("alert #{}", index + 1);
        let value = known_keys(&place, &mut value, ALERT_KEYS, &mut problems);
        match RawAlert::deserialize(value) {
            Ok(raw) => alerts.extend(check_alert(&place, raw, &names, &mut problems)),
            Err(err) => problems.push(problem(&place, serde_message(&err))),
        }
    }

    let mut locations = Vec::new();
    let mut location_names = HashSet::new();
    for (index, mut value) in raw_locations.into_iter().enumerate() {
        let place = match value.get("name").and_then(toml::Value::as_str) {
            Some(name) if !name.is_empty() => format!("location {name:?}"),
            _ => format!("location #{}", index + 1),
        };
        let value = known_keys(&place, &mut value, LOCATION_KEYS, &mut problems);
        match RawLocation::deserialize(value) {
            Ok(raw) => {
                if !location_names.insert(raw.name.clone()) {
                    problems.push(problem(
                        &format!("{place}: name"),
                        "another location has this name; names must be unique",
                    ));
                }
                locations.extend(check_location(&place, raw, &mut problems));
            }
            Err(err) => problems.push(problem(&place, serde_message(&err))),
        }
    }
    let all_locations = location_names.len() + 1;
    let quorum = match monitor.quorum {
        None => all_locations / 2 + 1,
        Some(quorum) if (1..=all_locations).contains(&quorum) => quorum,
        Some(quorum) => {
            problems.push(problem(
                "[monitor] quorum",
                format!(
                    "is {quorum}; expected 1 to {all_locations} (the [[location]]s plus this \
                     monitor's own)"
                ),
            ));
            1
        }
    };
    let heartbeat_interval =
        monitor
            .heartbeat_interval
            .map_or(Some(DEFAULT_HEARTBEAT_INTERVAL), |text| {
                check_duration(
                    "[monitor] heartbeat_interval",
                    &text,
                    Duration::from_secs(1),
                    &mut problems,
                )
            });
    let heartbeat = match monitor.heartbeat_url {
        Some(url) => check_url("[monitor] heartbeat_url", &url, &mut problems)
            .zip(heartbeat_interval)
            .map(|(url, interval)| Heartbeat { url, interval }),
        None => None,
    };
    let mut windows = Vec::new();
    for (index, mut value) in raw_windows.into_iter().enumerate() {
        let place = format!("maintenance #{}", index + 1);
        let value = known_keys(&place, &mut value, maintenance::KEYS, &mut problems);
        match maintenance::RawWindow::deserialize(value) {
            Ok(raw) => windows.extend(maintenance::check(&place, raw, &names, &mut problems)),
            Err(err) => problems.push(problem(&place, serde_message(&err))),
        }
    }

    let mut reported = HashSet::new();
    let status_page_slug = monitor
        .status_page_slug
        .unwrap_or_else(|| DEFAULT_STATUS_PAGE_SLUG.to_owned());
    if !is_slug(&status_page_slug) {
        problems.push(problem(
            "[monitor] status_page_slug",
            format!(
                "{status_page_slug:?} is not a slug: lower-case letters and digits, runs joined \
                 by single hyphens, such as default or my-status"
            ),
        ));
    }

    problems.retain(|p| !unset.contains(&p.place) || reported.insert(p.place.clone()));
    // A bad value quoted in a problem shows its `${NAME}` parts by name, not by value.
    for problem in &mut problems {
        problem.message = variables.scrub(&problem.message).into_owned();
    }
    match (problems.is_empty(), retention) {
        (true, Some(retention)) => Ok(MonitorConfig {
            title,
            public_url,
            retention,
            max_store_size,
            targets,
            alerts,
            location: DEFAULT_LOCATION.to_owned(),
            locations,
            quorum,
            heartbeat,
            maintenance: Maintenance { windows },
            status_page_slug,
        }),
        _ => Err(problems),
    }
}

fn check_location(place: &str, raw: RawLocation, problems: &mut Vec<Problem>) -> Option<Location> {
    let before = problems.len();
    let at = |key: &str| format!("{place}: {key}");
    let name_ok = !raw.name.is_empty()
        && raw.name.len() <= 32
        && raw
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !name_ok {
        problems.push(problem(
            &at("name"),
            format!("{:?} is not 1 to 32 characters of a-z, 0-9 and -", raw.name),
        ));
    }
    let url = check_url(&at("url"), &raw.url, problems);
    let chars = raw.token.chars().count();
    if chars < crate::config::MIN_TOKEN_CHARS {
        problems.push(problem(
            &at("token"),
            format!(
                "is {chars} characters; expected the agent's AGENT_TOKEN, at least {}",
                crate::config::MIN_TOKEN_CHARS
            ),
        ));
    }
    if problems.len() > before {
        return None;
    }
    Some(Location {
        name: raw.name,
        url: url?,
        token: raw.token,
    })
}

/// The keys of each section; anything else is reported (and serde would refuse it too).
const MONITOR_KEYS: &[&str] = &[
    "title",
    "public_url",
    "retention",
    "max_store_size",
    "quorum",
    "heartbeat_url",
    "heartbeat_interval",
    "certificate_warning",
    "status_page_slug",
];
const LOCATION_KEYS: &[&str] = &["name", "url", "token"];
const TARGET_KEYS: &[&str] = &[
    "name",
    "url",
    "method",
    "interval",
    "timeout",
    "headers",
    "conditions",
    "failure_threshold",
    "success_threshold",
    "group",
    "follow_redirects",
    "show_url",
    "certificate_warning",
    "kind",
    "period",
    "grace",
    "token",
    "dns",
];
const ALERT_KEYS: &[&str] = &[
    "kind",
    "url",
    "bot_token",
    "chat_id",
    "token",
    "priority",
    "routing_key",
    "user",
    "homeserver",
    "room_id",
    "access_token",
    "host",
    "port",
    "tls",
    "username",
    "password",
    "from",
    "to",
    "targets",
    "reminder",
    "location_warnings",
];

/// Reports and removes the keys of `value` outside `known`, so the rest is still checked.
fn known_keys(
    place: &str,
    value: &mut toml::Value,
    known: &[&str],
    problems: &mut Vec<Problem>,
) -> toml::Value {
    if let toml::Value::Table(table) = value {
        table.retain(|key, _| {
            let ok = known.contains(&key);
            if !ok {
                // `[monitor] key` like the other monitor problems, `target "x": key` elsewhere.
                let separator = if place.starts_with('[') { " " } else { ": " };
                problems.push(problem(
                    &format!("{place}{separator}{key}"),
                    format!("unknown key; expected one of: {}", known.join(", ")),
                ));
            }
            ok
        });
    }
    std::mem::replace(value, toml::Value::Boolean(false))
}

/// `[monitor]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMonitor {
    title: Option<String>,
    public_url: Option<String>,
    retention: Option<String>,
    max_store_size: Option<String>,
    quorum: Option<usize>,
    heartbeat_url: Option<String>,
    heartbeat_interval: Option<String>,
    certificate_warning: Option<String>,
    status_page_slug: Option<String>,
}

/// `[[location]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLocation {
    name: String,
    url: String,
    token: String,
}

/// `[[target]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    name: String,
    kind: Option<RawTargetKind>,
    url: Option<String>,
    period: Option<String>,
    grace: Option<String>,
    token: Option<String>,
    dns: Option<RawDns>,
    method: Option<ProbeMethod>,
    interval: Option<String>,
    timeout: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    conditions: Vec<String>,
    failure_threshold: Option<u32>,
    success_threshold: Option<u32>,
    group: Option<String>,
    #[serde(default)]
    follow_redirects: bool,
    #[serde(default)]
    show_url: bool,
    certificate_warning: Option<String>,
}

/// `[[alert]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlert {
    kind: RawKind,
    url: Option<String>,
    bot_token: Option<String>,
    chat_id: Option<String>,
    token: Option<String>,
    priority: Option<i64>,
    routing_key: Option<String>,
    user: Option<String>,
    homeserver: Option<String>,
    room_id: Option<String>,
    access_token: Option<String>,
    host: Option<String>,
    port: Option<i64>,
    tls: Option<String>,
    username: Option<String>,
    password: Option<String>,
    from: Option<String>,
    to: Option<Vec<String>>,
    targets: Option<Vec<String>>,
    reminder: Option<String>,
    #[serde(default)]
    location_warnings: bool,
}

/// `dns = { query_name, query_type }` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDns {
    query_name: String,
    query_type: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawTargetKind {
    Http,
    Push,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawKind {
    Webhook,
    Slack,
    Discord,
    Telegram,
    Ntfy,
    Pagerduty,
    Teams,
    Gotify,
    Pushover,
    Matrix,
    Email,
}

impl RawKind {
    const ALL: [Self; 11] = [
        Self::Webhook,
        Self::Slack,
        Self::Discord,
        Self::Telegram,
        Self::Ntfy,
        Self::Pagerduty,
        Self::Teams,
        Self::Gotify,
        Self::Pushover,
        Self::Matrix,
        Self::Email,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Slack => "slack",
            Self::Discord => "discord",
            Self::Telegram => "telegram",
            Self::Ntfy => "ntfy",
            Self::Pagerduty => "pagerduty",
            Self::Teams => "teams",
            Self::Gotify => "gotify",
            Self::Pushover => "pushover",
            Self::Matrix => "matrix",
            Self::Email => "email",
        }
    }

    /// The keys this kind takes besides `kind`, `targets`, `reminder` and `location_warnings`.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Self::Webhook | Self::Slack | Self::Discord | Self::Teams => &["url"],
            Self::Telegram => &["url", "bot_token", "chat_id"],
            Self::Ntfy | Self::Gotify => &["url", "token", "priority"],
            Self::Pagerduty => &["url", "routing_key"],
            Self::Pushover => &["url", "token", "user"],
            Self::Matrix => &["homeserver", "room_id", "access_token"],
            Self::Email => &["host", "port", "tls", "username", "password", "from", "to"],
        }
    }
}

/// A size with a unit, `500MB` or `2GiB` (bytesize's syntax: SI and binary units), of at
/// least [`MIN_STORE_SIZE`].
fn check_size(place: &str, text: &str, problems: &mut Vec<Problem>) -> Option<u64> {
    match text.trim().parse::<bytesize::ByteSize>() {
        Ok(size) if size.as_u64() >= MIN_STORE_SIZE => Some(size.as_u64()),
        _ => {
            problems.push(problem(
                place,
                format!("{text:?} is not a size of at least 4MiB such as 500MB or 2GiB"),
            ));
            None
        }
    }
}

fn check_target(
    place: &str,
    raw: RawTarget,
    variables: &Secrets,
    certificate_warning: Duration,
    problems: &mut Vec<Problem>,
) -> Option<Target> {
    let before = problems.len();
    let at = |key: &str| format!("{place}: {key}");

    let name_ok = !raw.name.is_empty()
        && raw.name.len() <= MAX_NAME_LEN
        && raw
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !name_ok {
        problems.push(problem(
            &at("name"),
            format!(
                "{:?} is not 1 to {MAX_NAME_LEN} characters of a-z, 0-9 and -",
                raw.name
            ),
        ));
    }
    let push = raw.kind == Some(RawTargetKind::Push);
    let url = match (&raw.url, push) {
        (Some(url), false) => check_target_url(&at("url"), url, problems),
        (None, false) => {
            problems.push(problem(
                &at("url"),
                "missing; expected the URL to probe, or kind = \"push\" for a target that checks in",
            ));
            None
        }
        (_, true) => None,
    };
    let kind = if push {
        check_push(place, &raw, problems)
    } else {
        for (key, given) in [
            ("period", raw.period.is_some()),
            ("grace", raw.grace.is_some()),
            ("token", raw.token.is_some()),
        ] {
            if given {
                problems.push(problem(&at(key), "applies to kind = \"push\" targets only"));
            }
        }
        probe_kind(place, &raw, url.as_ref(), problems)
    };
    let method = raw.method.unwrap_or(ProbeMethod::Get);
    let interval = raw.interval.map_or(Some(DEFAULT_INTERVAL), |text| {
        check_duration(&at("interval"), &text, MIN_INTERVAL, problems)
    });
    let timeout = raw.timeout.map_or(Some(DEFAULT_TIMEOUT), |text| {
        check_duration(&at("timeout"), &text, Duration::from_millis(1), problems)
    });
    if let (Some(interval), Some(timeout)) = (interval, timeout)
        && timeout > interval
    {
        problems.push(problem(
            &at("timeout"),
            format!(
                "{} is longer than the interval {}; expected at most the interval",
                humantime::format_duration(timeout),
                humantime::format_duration(interval)
            ),
        ));
    }

    let mut secrets = variables.clone();
    if let Some(url) = &url {
        for part in [url.username(), url.password().unwrap_or_default()] {
            secrets.add(part, redact::REDACTED);
        }
        // Query values both decoded and as written.
        for (_, value) in url.query_pairs() {
            secrets.add(&value, redact::REDACTED);
        }
        for part in url.query().unwrap_or_default().split('&') {
            secrets.add(
                part.split_once('=').map_or(part, |(_, v)| v),
                redact::REDACTED,
            );
        }
    }
    let mut headers = Vec::new();
    for (name, value) in raw.headers {
        let header_name = HeaderName::try_from(name.as_str());
        let header_value = HeaderValue::try_from(value.as_str());
        match (header_name, header_value) {
            (Ok(name), Ok(mut header)) => {
                secrets.add(&value, redact::REDACTED);
                // `Bearer <token>`: a server may echo the token alone.
                if let Some((_, credentials)) = value.split_once(' ') {
                    secrets.add(credentials.trim(), redact::REDACTED);
                }
                header.set_sensitive(true);
                headers.push((name, header));
            }
            (Err(_), _) => problems.push(problem(
                &at("headers"),
                format!("{name:?} is not a valid header name"),
            )),
            (_, Err(_)) => problems.push(problem(
                &at(&format!("headers.{name}")),
                "is not a valid header value (visible ASCII and spaces only)",
            )),
        }
    }

    let mut conditions = Vec::new();
    for (index, text) in raw.conditions.iter().enumerate() {
        match Condition::parse(text) {
            Ok(condition) => conditions.push(condition),
            Err(message) => problems.push(problem(&at(&format!("conditions[{index}]")), message)),
        }
    }
    if let Some(kind) = kind.as_ref().filter(|k| !matches!(k, TargetKind::Push(_))) {
        for (index, condition) in conditions.iter().enumerate() {
            for placeholder in condition.placeholders() {
                if !kind.placeholders().contains(&placeholder) {
                    problems.push(problem(
                        &at(&format!("conditions[{index}]")),
                        format!(
                            "{:?} reads {placeholder}, which means nothing for {} target; it records {}",
                            condition.text(),
                            kind.name(),
                            kind.placeholders().join(" ")
                        ),
                    ));
                }
            }
        }
    }
    if method == ProbeMethod::Head
        && let Some(text) = raw.conditions.iter().find(|c| c.contains("[BODY]"))
    {
        problems.push(problem(
            &at("conditions"),
            format!("{text:?} reads the body, but HEAD responses have none; use method = \"GET\""),
        ));
    }

    let threshold = |key: &str, value: Option<u32>, default: u32, problems: &mut Vec<Problem>| {
        let value = value.unwrap_or(default);
        if value == 0 {
            problems.push(problem(&at(key), "is 0; expected 1 or more"));
        }
        value
    };
    // A push target's check-ins are rare and deliberate: one failure or success decides.
    let (failure_default, success_default) = if push {
        (1, 1)
    } else {
        (DEFAULT_FAILURE_THRESHOLD, DEFAULT_SUCCESS_THRESHOLD)
    };
    let failure_threshold = threshold(
        "failure_threshold",
        raw.failure_threshold,
        failure_default,
        problems,
    );
    let success_threshold = threshold(
        "success_threshold",
        raw.success_threshold,
        success_default,
        problems,
    );
    if let Some(token) = &raw.token {
        secrets.add(token, redact::REDACTED);
    }
    let certificate_warning = raw
        .certificate_warning
        .map_or(Some(certificate_warning), |text| {
            check_duration(&at("certificate_warning"), &text, Duration::ZERO, problems)
        });
    if raw.group.as_ref().is_some_and(|g| g.trim().is_empty()) {
        problems.push(problem(&at("group"), "is empty; leave it out instead"));
    }

    if problems.len() > before {
        return None;
    }
    let kind = kind?;
    let interval = match &kind {
        // Not probed: the schedule spreads nothing over it, and the page reads it as the period.
        TargetKind::Push(push) => push.period,
        _ => interval?,
    };
    Some(Target {
        name: raw.name,
        url: url.map(Secret::new),
        kind,
        show_url: raw.show_url,
        method,
        interval,
        timeout: timeout?,
        headers,
        conditions,
        failure_threshold,
        success_threshold,
        group: raw.group,
        follow_redirects: raw.follow_redirects,
        certificate_warning: certificate_warning?,
        secrets,
    })
}

/// The kind of a probed target, from its URL's scheme, and a problem for each key that kind
/// does not use.
fn probe_kind(
    place: &str,
    raw: &RawTarget,
    url: Option<&Url>,
    problems: &mut Vec<Problem>,
) -> Option<TargetKind> {
    let at = |key: &str| format!("{place}: {key}");
    let kind = match url.map(Url::scheme) {
        Some("tcp") => TargetKind::Tcp,
        Some("tls") => TargetKind::Tls,
        Some("dns") => match &raw.dns {
            Some(dns) => {
                let record_type = dns.query_type.to_ascii_uppercase();
                if !DNS_TYPES.contains(&record_type.as_str()) {
                    problems.push(problem(
                        &at("dns.query_type"),
                        format!(
                            "{:?} is not one of {}",
                            dns.query_type,
                            DNS_TYPES.join(", ")
                        ),
                    ));
                }
                if dns.query_name.trim().is_empty() {
                    problems.push(problem(&at("dns.query_name"), "is empty; expected a name"));
                }
                TargetKind::Dns(DnsQuery {
                    name: dns.query_name.trim().to_owned(),
                    record_type,
                })
            }
            None => {
                problems.push(problem(
                    &at("dns"),
                    "missing; a dns:// target needs dns = { query_name = \"example.org\", query_type = \"A\" }",
                ));
                return None;
            }
        },
        _ => TargetKind::Http,
    };
    if !matches!(kind, TargetKind::Dns(_)) && raw.dns.is_some() {
        problems.push(problem(&at("dns"), "applies to dns:// targets only"));
    }
    if !matches!(kind, TargetKind::Http) {
        for (key, given) in [
            ("method", raw.method.is_some()),
            ("headers", !raw.headers.is_empty()),
            ("follow_redirects", raw.follow_redirects),
        ] {
            if given {
                problems.push(problem(
                    &at(key),
                    format!("means nothing for {} target", kind.name()),
                ));
            }
        }
    }
    Some(kind)
}

/// A target's URL: `http://` or `https://`, `tcp://host:port`, `tls://host:port` or
/// `dns://server[:port]`.
fn check_target_url(place: &str, text: &str, problems: &mut Vec<Problem>) -> Option<Url> {
    match Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(url),
        Ok(url)
            if matches!(url.scheme(), "tcp" | "tls")
                && url.host_str().is_some_and(|h| !h.is_empty())
                && url.port().is_some()
                && matches!(url.path(), "" | "/") =>
        {
            Some(url)
        }
        Ok(url)
            if url.scheme() == "dns"
                && url.host_str().is_some_and(|h| !h.is_empty())
                && matches!(url.path(), "" | "/") =>
        {
            Some(url)
        }
        _ => {
            problems.push(problem(
                place,
                format!(
                    "{text:?} is not an http:// or https:// URL with a host, tcp://host:port, \
                     tls://host:port or dns://server[:port]"
                ),
            ));
            None
        }
    }
}

/// The push settings of a `kind = "push"` target, and a problem for each probing key it has.
fn check_push(place: &str, raw: &RawTarget, problems: &mut Vec<Problem>) -> Option<TargetKind> {
    let at = |key: &str| format!("{place}: {key}");
    for (key, given) in [
        ("url", raw.url.is_some()),
        ("method", raw.method.is_some()),
        ("interval", raw.interval.is_some()),
        ("timeout", raw.timeout.is_some()),
        ("headers", !raw.headers.is_empty()),
        ("conditions", !raw.conditions.is_empty()),
        ("follow_redirects", raw.follow_redirects),
        ("show_url", raw.show_url),
        ("certificate_warning", raw.certificate_warning.is_some()),
    ] {
        if given {
            problems.push(problem(
                &at(key),
                "means nothing for kind = \"push\": it is not probed, it checks in",
            ));
        }
    }
    let period = match &raw.period {
        Some(text) => check_duration(&at("period"), text, MIN_INTERVAL, problems),
        None => {
            problems.push(problem(
                &at("period"),
                "missing; expected how often the job checks in, such as 5m or 1d",
            ));
            None
        }
    };
    let grace = raw.grace.as_ref().map_or(Some(DEFAULT_GRACE), |text| {
        check_duration(&at("grace"), text, Duration::from_secs(1), problems)
    });
    let token = match &raw.token {
        Some(token) => match token_problem(token) {
            Some(message) => {
                problems.push(problem(&at("token"), message));
                None
            }
            None => Some(token.clone()),
        },
        None => {
            problems.push(problem(
                &at("token"),
                "missing; expected a secret of at least 128 bits from the environment, such as \
                 token = \"${BACKUP_TOKEN}\" with BACKUP_TOKEN from `openssl rand -hex 16`",
            ));
            None
        }
    };
    Some(TargetKind::Push(PushSettings {
        period: period?,
        grace: grace?,
        token: Secret::new(token?),
    }))
}

/// Why `token` is not a push token: it goes in a URL path, and must carry at least
/// [`MIN_TOKEN_BITS`] bits (4 per hex digit, 6 per character of base64url's alphabet). Never
/// quotes the token.
fn token_problem(token: &str) -> Option<String> {
    let url_safe = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    if !token.bytes().all(url_safe) {
        return Some(
            "has characters other than A-Z, a-z, 0-9, - and _; it is part of a URL".to_owned(),
        );
    }
    let bits_per_char = if token.bytes().all(|b| b.is_ascii_hexdigit()) {
        4
    } else {
        6
    };
    let bits = token.len() * bits_per_char;
    (bits < MIN_TOKEN_BITS).then(|| {
        format!(
            "is {} characters, about {bits} bits; expected at least {MIN_TOKEN_BITS} bits: 32 hex \
             digits or 22 base64url characters (`openssl rand -hex 16`)",
            token.len()
        )
    })
}

fn check_alert(
    place: &str,
    raw: RawAlert,
    names: &HashSet<String>,
    problems: &mut Vec<Problem>,
) -> Option<Alert> {
    let before = problems.len();
    let at = |key: &str| format!("{place}: {key}");
    let given = [
        ("url", raw.url.is_some()),
        ("bot_token", raw.bot_token.is_some()),
        ("chat_id", raw.chat_id.is_some()),
        ("token", raw.token.is_some()),
        ("priority", raw.priority.is_some()),
        ("routing_key", raw.routing_key.is_some()),
        ("user", raw.user.is_some()),
        ("homeserver", raw.homeserver.is_some()),
        ("room_id", raw.room_id.is_some()),
        ("access_token", raw.access_token.is_some()),
        ("host", raw.host.is_some()),
        ("port", raw.port.is_some()),
        ("tls", raw.tls.is_some()),
        ("username", raw.username.is_some()),
        ("password", raw.password.is_some()),
        ("from", raw.from.is_some()),
        ("to", raw.to.is_some()),
    ];
    for (key, _) in given
        .iter()
        .filter(|(key, given)| *given && !raw.kind.keys().contains(key))
    {
        let takers: Vec<&str> = RawKind::ALL
            .iter()
            .filter(|kind| kind.keys().contains(key))
            .map(|kind| kind.name())
            .collect();
        problems.push(problem(
            &at(key),
            format!("applies to {} alerts only", takers.join(", ")),
        ));
    }
    let kind = alert_kind(&raw, &at, problems);
    if let Some(targets) = &raw.targets {
        if targets.is_empty() {
            problems.push(problem(
                &at("targets"),
                "is empty; leave it out to cover every target",
            ));
        }
        for name in targets.iter().filter(|name| !names.contains(*name)) {
            problems.push(problem(
                &at("targets"),
                format!("{name:?} is not the name of a [[target]]"),
            ));
        }
    }
    let reminder = raw
        .reminder
        .and_then(|text| check_duration(&at("reminder"), &text, Duration::from_secs(1), problems));
    if problems.len() > before {
        return None;
    }
    Some(Alert {
        kind: kind?,
        targets: raw.targets,
        reminder,
        location_warnings: raw.location_warnings,
    })
}

/// The channel of `raw`, with a problem for each key its kind needs and lacks.
fn alert_kind(
    raw: &RawAlert,
    at: &dyn Fn(&str) -> String,
    problems: &mut Vec<Problem>,
) -> Option<AlertKind> {
    if matches!(raw.kind, RawKind::Email) {
        return email_kind(raw, at, problems);
    }
    let kind = raw.kind.name();
    let mut need = |key: &str, value: &Option<String>, what: &str| {
        if value.is_none() {
            problems.push(problem(&at(key), format!("missing; {kind} needs {what}")));
        }
        value.clone()
    };
    let (token, routing_key, user) = match raw.kind {
        RawKind::Gotify => (
            need("token", &raw.token, "an application token"),
            None,
            None,
        ),
        RawKind::Pushover => (
            need("token", &raw.token, "the application's API token"),
            None,
            need("user", &raw.user, "the user or group key"),
        ),
        RawKind::Pagerduty => (
            None,
            need(
                "routing_key",
                &raw.routing_key,
                "the integration's routing key",
            ),
            None,
        ),
        _ => (raw.token.clone(), None, None),
    };
    let (bot_token, chat_id) = match raw.kind {
        RawKind::Telegram => (
            need("bot_token", &raw.bot_token, "a bot token"),
            need("chat_id", &raw.chat_id, "a chat id"),
        ),
        _ => (None, None),
    };
    let (room_id, access_token, homeserver) = match raw.kind {
        RawKind::Matrix => (
            need(
                "room_id",
                &raw.room_id,
                "the room's id, such as !abc:matrix.org",
            ),
            need(
                "access_token",
                &raw.access_token,
                "the bot account's access token",
            ),
            need(
                "homeserver",
                &raw.homeserver,
                "the homeserver's URL, such as https://matrix.org",
            ),
        ),
        _ => (None, None, None),
    };
    let default_url = match raw.kind {
        RawKind::Telegram => Some(TELEGRAM_API),
        RawKind::Pagerduty => Some(PAGERDUTY_API),
        RawKind::Pushover => Some(PUSHOVER_API),
        _ => None,
    };
    let url = match (raw.kind, raw.url.as_deref().or(default_url)) {
        (RawKind::Matrix, _) => None,
        (_, Some(url)) => check_url(&at("url"), url, problems),
        (_, None) => {
            let what = match raw.kind {
                RawKind::Ntfy => {
                    "missing; expected the topic's URL, such as https://ntfy.sh/my-alerts"
                }
                RawKind::Gotify => "missing; expected the Gotify server's URL",
                _ => "missing; expected the URL to POST to",
            };
            problems.push(problem(&at("url"), what));
            None
        }
    };
    let homeserver = homeserver.and_then(|text| check_url(&at("homeserver"), &text, problems));
    if let Some(room) = &room_id
        && !(room.starts_with('!') && room.contains(':'))
    {
        problems.push(problem(
            &at("room_id"),
            format!("{room:?} is not a room id; expected one such as !abc:matrix.org (Room settings, Advanced)"),
        ));
        return None;
    }
    let priority = match (raw.kind, raw.priority) {
        (_, None) => None,
        (RawKind::Ntfy, Some(p @ 1..=5)) | (RawKind::Gotify, Some(p @ 0..=10)) => {
            u8::try_from(p).ok()
        }
        (_, Some(p)) => {
            let range = if matches!(raw.kind, RawKind::Ntfy) {
                "1 to 5"
            } else {
                "0 to 10"
            };
            problems.push(problem(
                &at("priority"),
                format!("{p} is out of range; {kind} takes {range}"),
            ));
            return None;
        }
    };
    if matches!(raw.kind, RawKind::Ntfy)
        && let Some(url) = &url
        && url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .is_none_or(str::is_empty)
    {
        problems.push(problem(
            &at("url"),
            "has no topic; expected the topic's URL, such as https://ntfy.sh/my-alerts",
        ));
        return None;
    }
    Some(match raw.kind {
        RawKind::Webhook => AlertKind::Webhook {
            url: Secret::new(url?),
        },
        RawKind::Slack => AlertKind::Slack {
            url: Secret::new(url?),
        },
        RawKind::Discord => AlertKind::Discord {
            url: Secret::new(url?),
        },
        RawKind::Teams => AlertKind::Teams {
            url: Secret::new(url?),
        },
        RawKind::Telegram => AlertKind::Telegram {
            bot_token: Secret::new(bot_token?),
            chat_id: chat_id?,
            api: Secret::new(url?),
        },
        RawKind::Ntfy => AlertKind::Ntfy {
            url: Secret::new(url?),
            token: token.map(Secret::new),
            priority,
        },
        RawKind::Pagerduty => AlertKind::Pagerduty {
            routing_key: Secret::new(routing_key?),
            url: Secret::new(url?),
        },
        RawKind::Gotify => AlertKind::Gotify {
            url: Secret::new(url?),
            token: Secret::new(token?),
            priority,
        },
        RawKind::Pushover => AlertKind::Pushover {
            token: Secret::new(token?),
            user: Secret::new(user?),
            url: Secret::new(url?),
        },
        RawKind::Matrix => AlertKind::Matrix {
            homeserver: Secret::new(homeserver?),
            room_id: room_id?,
            access_token: Secret::new(access_token?),
        },
        // Taken above, before the keys of the URL-based kinds are looked at.
        RawKind::Email => return email_kind(raw, at, problems),
    })
}

/// `kind = "email"`: the server, how the connection is secured, the login and the addresses.
fn email_kind(
    raw: &RawAlert,
    at: &dyn Fn(&str) -> String,
    problems: &mut Vec<Problem>,
) -> Option<AlertKind> {
    let before = problems.len();
    let host = match raw.host.as_deref() {
        // What rustls will check the certificate against: a DNS name or an IP address.
        Some(host) if ServerName::try_from(host).is_ok() => Some(host.to_owned()),
        Some(host) => {
            problems.push(problem(
                &at("host"),
                format!("{host:?} is not a host name or IP address such as smtp.gmail.com"),
            ));
            None
        }
        None => {
            problems.push(problem(
                &at("host"),
                "missing; email needs the SMTP server's host name, such as smtp.gmail.com",
            ));
            None
        }
    };
    let tls = match raw.tls.as_deref() {
        None | Some("starttls") => Some(SmtpTls::Starttls),
        Some("implicit") => Some(SmtpTls::Implicit),
        Some("none") => Some(SmtpTls::None),
        Some(other) => {
            problems.push(problem(
                &at("tls"),
                format!("{other:?} is not starttls, implicit or none"),
            ));
            None
        }
    };
    if let (Some(SmtpTls::None), Some(host)) = (tls, &host)
        && !is_loopback(host)
    {
        problems.push(problem(
            &at("tls"),
            format!(
                "\"none\" to {host:?}: without TLS the messages (and any password) cross the \
                 network in clear, so none is accepted only for a relay on this host (localhost, \
                 127.0.0.1 or ::1); use starttls or implicit"
            ),
        ));
    }
    let port = match raw.port {
        None => tls.map(SmtpTls::default_port),
        Some(port) => match u16::try_from(port) {
            Ok(port) if port > 0 => Some(port),
            _ => {
                problems.push(problem(
                    &at("port"),
                    format!("{port} is not a port number from 1 to 65535"),
                ));
                None
            }
        },
    };
    let credentials = match (&raw.username, &raw.password) {
        (Some(username), Some(password)) => Some((username.clone(), Secret::new(password.clone()))),
        (Some(_), None) => {
            problems.push(problem(
                &at("password"),
                "missing; a username needs its password, such as password = \"${SMTP_PASSWORD}\"",
            ));
            None
        }
        (None, Some(_)) => {
            problems.push(problem(
                &at("username"),
                "missing; a password needs the username it logs in with",
            ));
            None
        }
        (None, None) => None,
    };
    let from = match &raw.from {
        Some(text) => check_mailbox(&at("from"), text, problems),
        None => {
            problems.push(problem(
                &at("from"),
                "missing; email needs the sender's address, such as \"Status <status@example.org>\"",
            ));
            None
        }
    };
    let to: Vec<Mailbox> = match &raw.to {
        Some(list) if list.is_empty() => {
            problems.push(problem(
                &at("to"),
                "is empty; expected at least one address, such as [\"ops@example.org\"]",
            ));
            Vec::new()
        }
        Some(list) => list
            .iter()
            .filter_map(|text| check_mailbox(&at("to"), text, problems))
            .collect(),
        None => {
            problems.push(problem(
                &at("to"),
                "missing; email needs the recipients, such as [\"ops@example.org\"]",
            ));
            Vec::new()
        }
    };
    if problems.len() > before {
        return None;
    }
    Some(AlertKind::Email {
        server: SmtpServer {
            host: host?,
            port: port?,
            tls: tls?,
            credentials,
        },
        from: from?,
        to,
    })
}

/// `localhost` or a loopback address: a host whose traffic never leaves this machine.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// An address, bare or with a display name.
fn check_mailbox(place: &str, text: &str, problems: &mut Vec<Problem>) -> Option<Mailbox> {
    match text.parse::<Mailbox>() {
        Ok(mailbox) => Some(mailbox),
        Err(_) => {
            problems.push(problem(
                place,
                format!(
                    "{text:?} is not an e-mail address; expected one such as ops@example.org or \
                     \"Ops <ops@example.org>\""
                ),
            ));
            None
        }
    }
}

fn check_url(place: &str, text: &str, problems: &mut Vec<Problem>) -> Option<Url> {
    match Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(url),
        _ => {
            problems.push(problem(
                place,
                format!("{text:?} is not an http:// or https:// URL with a host"),
            ));
            None
        }
    }
}

fn check_duration(
    place: &str,
    text: &str,
    min: Duration,
    problems: &mut Vec<Problem>,
) -> Option<Duration> {
    match humantime::parse_duration(text) {
        Ok(duration) if duration >= min => Some(duration),
        _ => {
            problems.push(problem(
                place,
                format!(
                    "{text:?} is not a duration of at least {} such as 30s, 5m, 1h or 90d",
                    humantime::format_duration(min)
                ),
            ));
            None
        }
    }
}

/// `target "api"`, or `target #2` when the entry has no usable name.
fn target_place(value: &toml::Value, index: usize) -> String {
    match value.get("name").and_then(toml::Value::as_str) {
        Some(name) if !name.is_empty() => format!("target {name:?}"),
        _ => format!("target #{}", index + 1),
    }
}

/// The entries of an array of tables such as `[[target]]`.
fn entries(key: &str, value: toml::Value, problems: &mut Vec<Problem>) -> Vec<toml::Value> {
    match value {
        toml::Value::Array(items) => items,
        _ => {
            problems.push(problem(
                key,
                format!("expected an array of tables, written [[{key}]]"),
            ));
            Vec::new()
        }
    }
}

/// What `${NAME}` substitution reads and records as it walks the file.
struct Substitution<'a, E> {
    /// Reads a variable.
    env: &'a E,
    /// Gets a problem for each unset variable and each `${NAME}` where none is accepted.
    problems: &'a mut Vec<Problem>,
    /// Gets each value filled in, outside the keys that are public anyway.
    secrets: &'a mut Secrets,
}

/// Replaces `${NAME}` in every string value, recording a problem for each unset variable.
fn substitute_table<E: Fn(&str) -> Option<String>>(
    table: &mut toml::Table,
    path: &mut Vec<String>,
    with: &mut Substitution<'_, E>,
) {
    for (key, value) in table.iter_mut() {
        path.push(key.clone());
        substitute_value(value, path, with);
        path.pop();
    }
}

fn substitute_value<E: Fn(&str) -> Option<String>>(
    value: &mut toml::Value,
    path: &mut Vec<String>,
    with: &mut Substitution<'_, E>,
) {
    match value {
        toml::Value::String(text) if text.contains("${") && is_target_name(path) => {
            with.problems.push(problem(
                &display_path(path),
                "${NAME} is not accepted in a name: names are shown on the page, in the API and \
                 in logs, and key the store; write the name itself",
            ));
        }
        toml::Value::String(text) if !text.contains("${") && is_push_token(path) => {
            with.problems.push(problem(
                &display_path(path),
                "written in the file; expected it from the environment, such as token = \
                 \"${BACKUP_TOKEN}\" with BACKUP_TOKEN from `openssl rand -hex 16`: a config file \
                 is often committed or shared, and whoever has the token can check in",
            ));
        }
        toml::Value::String(text) => {
            let mut filled_in = Vec::new();
            match substitute(text, with.env, &mut filled_in) {
                Ok(Some(filled)) => *text = filled,
                Ok(None) => {}
                Err(message) => with.problems.push(problem(&display_path(path), message)),
            }
            if !is_public(path) {
                for (name, value) in filled_in {
                    with.secrets.add_variable(&name, &value);
                }
            }
        }
        toml::Value::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                // As parse places the entry's other problems: by name, or by number when it
                // has none (an empty one), so that an unset variable is reported once.
                let name = match item.get("name").and_then(toml::Value::as_str) {
                    Some(name)
                        if !name.is_empty()
                            && path.len() == 1
                            && (path[0] == "target" || path[0] == "location") =>
                    {
                        format!("{name:?}")
                    }
                    _ => format!("#{}", index + 1),
                };
                path.push(name);
                substitute_value(item, path, with);
                path.pop();
            }
        }
        toml::Value::Table(table) => substitute_table(table, path, with),
        _ => {}
    }
}

/// `[[target]] name`.
fn is_target_name(path: &[String]) -> bool {
    matches!(path, [section, _, key] if section == "target" && key == "name")
}

/// `[[target]] token`: a push target's secret, which only the environment may hold.
fn is_push_token(path: &[String]) -> bool {
    matches!(path, [section, _, key] if section == "target" && key == "token")
}

/// Uptime Kuma's slug rule (`^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$`, checked after it lower-cases
/// the slug): lower-case here, since Kuma lower-cases every slug it is asked for.
fn is_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.split('-').all(|run| {
            !run.is_empty() && run.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9'))
        })
}

/// The keys whose values are public by design (the page's title and address, a group's
/// heading): a `${NAME}` there is shown like the rest of the value.
fn is_public(path: &[String]) -> bool {
    match path {
        [section, key] if section == "monitor" => key == "title" || key == "public_url",
        [section, _, key] if section == "target" => key == "group",
        _ => false,
    }
}

/// `["target", "\"api\"", "headers", "X"]` → `target "api": headers.X`: the place parse gives
/// the entry's other problems.
fn display_path(path: &[String]) -> String {
    match path {
        [section, entry, keys @ ..]
            if section == "target"
                || section == "alert"
                || section == "location"
                || section == "maintenance" =>
        {
            format!("{section} {entry}: {}", keys.join("."))
        }
        [section, keys @ ..] if section == "monitor" => format!("[monitor] {}", keys.join(".")),
        _ => path.join("."),
    }
}

/// `text` with each `${NAME}` replaced; `None` when it has none. Each `(NAME, value)` used is
/// added to `filled_in`.
fn substitute(
    text: &str,
    env: &impl Fn(&str) -> Option<String>,
    filled_in: &mut Vec<(String, String)>,
) -> Result<Option<String>, String> {
    if !text.contains("${") {
        return Ok(None);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err("has \"${\" without a closing \"}\"; expected ${NAME}".to_owned());
        };
        let name = &after[..end];
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "${{{name}}} is not a variable reference; expected ${{NAME}} with letters, digits and _"
            ));
        }
        match env(name) {
            Some(value) => {
                out.push_str(&value);
                filled_in.push((name.to_owned(), value));
            }
            None => return Err(format!("environment variable {name} is not set")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(Some(out))
}

/// serde's message without toml's snippet of the file.
fn serde_message(err: &toml::de::Error) -> String {
    err.message().trim().replace('\n', " ")
}

/// `line 3, column 7` for a byte span of `text`.
fn location(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(span) = span else {
        return String::new();
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("line {line}, column {column}")
}

fn problem(place: &str, message: impl Into<String>) -> Problem {
    Problem {
        place: place.to_owned(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOOK" => Some("https://hooks.example.org/T0/B1".to_owned()),
            "TOKEN" => Some("123:abc".to_owned()),
            "SHORT_TOKEN" => Some("0123456789abcdef".to_owned()),
            "JOB_TOKEN" => Some("Zm9vYmFyYmF6cXV4cXV1eHo".to_owned()),
            "ODD_TOKEN" => Some("not/a/url/safe/token/at/all".to_owned()),
            "TITLE" => Some("Acme status".to_owned()),
            "SITE" => Some("https://status.acme.example/".to_owned()),
            "GROUP" => Some("Edge".to_owned()),
            "RETENTION" => Some("365d".to_owned()),
            _ => None,
        }
    }

    /// The problems `text` has, as `--check` prints them.
    fn problems(text: &str) -> Vec<String> {
        parse(text, env)
            .expect_err("the file has problems")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_minimal_file_gets_the_documented_defaults() {
        let config = parse(
            "[[target]]\nname = \"api\"\nurl = \"https://a.example/health\"",
            env,
        )
        .unwrap();
        assert_eq!(config.title, "Status");
        assert_eq!(config.retention, Duration::from_secs(90 * 86_400));
        assert_eq!(config.public_url, None);
        let target = &config.targets[0];
        assert_eq!(target.method, ProbeMethod::Get);
        assert_eq!(target.interval, Duration::from_secs(60));
        assert_eq!(target.timeout, Duration::from_secs(10));
        assert_eq!((target.failure_threshold, target.success_threshold), (3, 2));
        assert!(!target.follow_redirects);
        assert!(target.conditions.is_empty() && target.headers.is_empty());
        assert!(config.alerts.is_empty());
    }

    #[test]
    fn variables_are_filled_from_the_environment() {
        let config = parse(
            r#"
            [[target]]
            name = "api"
            url = "https://a.example/health"
            headers = { Authorization = "Bearer ${TOKEN}" }
            [[alert]]
            kind = "slack"
            url = "${HOOK}"
            [[alert]]
            kind = "telegram"
            bot_token = "${TOKEN}"
            chat_id = "-100"
            "#,
            env,
        )
        .unwrap();
        assert_eq!(config.targets[0].headers[0].1, "Bearer 123:abc");
        assert_eq!(
            config.alerts[0].kind,
            AlertKind::Slack {
                url: Secret::new(Url::parse("https://hooks.example.org/T0/B1").unwrap())
            }
        );
        let AlertKind::Telegram { bot_token, api, .. } = &config.alerts[1].kind else {
            panic!("telegram");
        };
        assert_eq!(bot_token.expose(), "123:abc");
        assert_eq!(api.expose().as_str(), "https://api.telegram.org/");
        assert!(
            config.alerts[1].covers("api"),
            "no targets means every target"
        );
    }

    #[test]
    fn max_store_size_takes_si_and_binary_units_and_is_unset_by_default() {
        let size = |text: &str| {
            parse(
                &format!("[monitor]\nmax_store_size = \"{text}\"\n[[target]]\nname = \"a\"\nurl = \"http://a/\""),
                |_| None,
            )
            .map(|c| c.max_store_size)
        };
        assert_eq!(size("500MB").unwrap(), Some(500_000_000));
        assert_eq!(size("2GiB").unwrap(), Some(2 * 1024 * 1024 * 1024));
        assert_eq!(size("4 MiB").unwrap(), Some(4 * 1024 * 1024));
        assert!(size("4MB").is_err(), "below 4MiB");
        assert!(size("-1").is_err());
        let default = parse("[[target]]\nname = \"a\"\nurl = \"http://a/\"", |_| None).unwrap();
        assert_eq!(default.max_store_size, None);
    }

    #[test]
    fn an_unset_variable_is_one_problem_naming_the_target_and_key() {
        assert_eq!(
            problems("[[target]]\nname = \"api\"\nurl = \"${API_URL}\""),
            ["target \"api\": url: environment variable API_URL is not set"]
        );
        assert_eq!(
            problems("[[target]]\nname = \"a\"\nurl = \"http://a/${oops\""),
            ["target \"a\": url: has \"${\" without a closing \"}\"; expected ${NAME}"]
        );
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_place() {
        let found = problems(
            r#"
            [monitor]
            retention = "soon"
            max_store_size = "lots"
            colour = "blue"
            [[target]]
            name = "Bad Name"
            url = "ftp://x"
            interval = "0s"
            timeout = "2m"
            failure_threshold = 0
            [[target]]
            name = "dup"
            url = "http://a/"
            method = "HEAD"
            conditions = ["[BODY].status == UP"]
            [[target]]
            name = "dup"
            url = "http://b/"
            interval = "10s"
            timeout = "20s"
            [[alert]]
            kind = "pager"
            [[alert]]
            kind = "webhook"
            targets = ["nobody"]
            chat_id = "1"
            "#,
        );
        let expected = [
            "alert #1: unknown variant `pager`, expected one of `webhook`, `slack`, `discord`, `telegram`, `ntfy`, `pagerduty`, `teams`, `gotify`, `pushover`, `matrix`, `email`",
            "alert #2: chat_id: applies to telegram alerts only",
            "alert #2: url: missing; expected the URL to POST to",
            "alert #2: targets: \"nobody\" is not the name of a [[target]]",
            "[monitor] colour: unknown key; expected one of: title, public_url, retention, max_store_size, quorum, heartbeat_url, heartbeat_interval, certificate_warning, status_page_slug",
            "[monitor] max_store_size: \"lots\" is not a size of at least 4MiB such as 500MB or 2GiB",
            "[monitor] retention: \"soon\" is not a duration of at least 1day such as 30s, 5m, 1h or 90d",
            "target \"Bad Name\": name: \"Bad Name\" is not 1 to 63 characters of a-z, 0-9 and -",
            "target \"Bad Name\": url: \"ftp://x\" is not an http:// or https:// URL with a host, tcp://host:port, tls://host:port or dns://server[:port]",
            "target \"Bad Name\": interval: \"0s\" is not a duration of at least 1s such as 30s, 5m, 1h or 90d",
            "target \"Bad Name\": failure_threshold: is 0; expected 1 or more",
            "target \"dup\": conditions: \"[BODY].status == UP\" reads the body, but HEAD responses have none; use method = \"GET\"",
            "target \"dup\": timeout: 20s is longer than the interval 10s; expected at most the interval",
            "target \"dup\": name: another target has this name; names must be unique",
        ];
        for line in expected {
            assert!(
                found.iter().any(|f| f == line),
                "missing {line:?} in {found:#?}"
            );
        }
        assert_eq!(found.len(), expected.len(), "{found:#?}");
    }

    #[test]
    fn bad_toml_names_the_line_and_column() {
        let found = problems("[[target]]\nname = \"a\"\nurl = ");
        assert_eq!(found.len(), 1);
        assert!(
            found[0].starts_with("line 3, column 7: not valid TOML"),
            "{found:?}"
        );
    }

    #[test]
    fn the_status_page_slug_follows_kumas_rule() {
        let target = "[[target]]\nname = \"a\"\nurl = \"http://127.0.0.1:1/\"\n";
        let parsed = parse(target, |_| None).unwrap();
        assert_eq!(parsed.status_page_slug, "default");
        for good in ["my-status", "a", "2026", "a-b-c"] {
            let toml = format!("[monitor]\nstatus_page_slug = \"{good}\"\n{target}");
            assert_eq!(parse(&toml, |_| None).unwrap().status_page_slug, good);
        }
        for bad in [
            "",
            "My-Status",
            "a--b",
            "-a",
            "a-",
            "a_b",
            "a b",
            "\u{e9}t\u{e9}",
        ] {
            let toml = format!("[monitor]\nstatus_page_slug = \"{bad}\"\n{target}");
            assert_eq!(
                problems(&toml),
                [format!(
                    "[monitor] status_page_slug: {bad:?} is not a slug: lower-case letters and \
                     digits, runs joined by single hyphens, such as default or my-status"
                )]
            );
        }
    }

    #[test]
    fn a_monitor_needs_a_target() {
        assert_eq!(
            problems("[monitor]\ntitle = \"x\""),
            ["[[target]]: none defined; a monitor needs at least one target"]
        );
    }

    /// One target of `url` with the `extra` lines.
    fn target(url: &str, extra: &str) -> Target {
        let text = format!("[[target]]\nname = \"a\"\nurl = \"{url}\"\n{extra}");
        parse(&text, env).unwrap().targets.remove(0)
    }

    #[test]
    fn locations_quorum_and_heartbeat_are_checked() {
        const TARGET: &str = "[[target]]\nname = \"a\"\nurl = \"http://a/\"\n";
        const TOKEN: &str = "0123456789abcdef0123456789abcdef";
        let location = |name: &str| {
            format!(
                "[[location]]\nname = \"{name}\"\nurl = \"http://{name}.internal:8080\"\ntoken = \"{TOKEN}\"\n"
            )
        };
        let config = parse(
            &format!("{TARGET}{}{}", location("ams"), location("iad")),
            env,
        )
        .unwrap();
        assert_eq!(config.quorum, 2, "a majority of three");
        assert!(config.heartbeat.is_none());
        let names: Vec<&str> = config.location_names().collect();
        assert_eq!(names, ["local", "ams", "iad"]);
        assert_eq!(parse(TARGET, env).unwrap().quorum, 1, "alone");
        let four = format!(
            "{TARGET}{}{}{}",
            location("a"),
            location("b"),
            location("c")
        );
        assert_eq!(parse(&four, env).unwrap().quorum, 3, "a majority of four");

        let found = problems(&format!(
            "[monitor]\nquorum = 4\nheartbeat_url = \"https://hc.example/ping/x\"\nheartbeat_interval = \"0s\"\n\
             {TARGET}{}{}[[location]]\nname = \"iad\"\nurl = \"ftp://x\"\ntoken = \"short\"\n",
            location("ams"),
            location("ams")
        ));
        assert_eq!(
            found,
            [
                "location \"ams\": name: another location has this name; names must be unique",
                "location \"iad\": url: \"ftp://x\" is not an http:// or https:// URL with a host",
                "location \"iad\": token: is 5 characters; expected the agent's AGENT_TOKEN, at least 32",
                "[monitor] quorum: is 4; expected 1 to 3 (the [[location]]s plus this monitor's own)",
                "[monitor] heartbeat_interval: \"0s\" is not a duration of at least 1s such as 30s, 5m, 1h or 90d",
            ]
        );

        let config = parse(&format!("{TARGET}{}", location("ams")), env).unwrap();
        let own = config.clone().located("ams").unwrap_err();
        assert_eq!(
            own[0].to_string(),
            "location \"ams\": name: is this monitor's own location (--location / MONITOR_LOCATION / FLY_REGION); a [[location]] names an agent elsewhere"
        );
        assert_eq!(config.located("nrt").unwrap().location, "nrt");
    }

    #[test]
    fn the_url_is_shown_only_with_show_url_and_without_credentials() {
        let url = "https://u:secret@a.example/h?token=${TOKEN}#x";
        assert_eq!(target(url, "").public_url(), None);
        let shown = target(url, "show_url = true");
        assert_eq!(shown.public_url().as_deref(), Some("https://a.example/h"));
        assert_eq!(shown.alert_url(), "https://a.example/h?token=redacted");
    }

    #[test]
    fn variable_values_are_shown_by_name_and_cut_out_of_reasons() {
        let target = target(
            "https://a.example/hooks/${HOOK}",
            "show_url = true\nheaders = { Authorization = \"Bearer t0ps3cret\" }",
        );
        // The variable's value is a URL itself, so it lands percent-encoded in the path.
        assert_eq!(
            target.public_url().as_deref(),
            Some("https://a.example/hooks/${HOOK}")
        );
        assert_eq!(
            target.scrub("echoed Bearer t0ps3cret and https://hooks.example.org/T0/B1"),
            "echoed redacted and ${HOOK}"
        );
        assert_eq!(target.scrub("token t0ps3cret"), "token redacted");
    }

    #[test]
    fn debug_of_the_config_prints_no_credential() {
        let config = parse(
            r#"
            [[target]]
            name = "api"
            url = "https://user:pa55word@a.example/h?key=k3yvalue"
            headers = { Authorization = "Bearer ${TOKEN}" }
            [[alert]]
            kind = "telegram"
            bot_token = "${TOKEN}"
            chat_id = "-100"
            [[alert]]
            kind = "slack"
            url = "${HOOK}"
            "#,
            env,
        )
        .unwrap();
        let debug = format!("{config:?}");
        for secret in ["pa55word", "k3yvalue", "123:abc", "T0/B1", "user"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
    }

    #[test]
    fn a_problem_quoting_a_value_names_its_variable_instead() {
        assert_eq!(
            problems("[[target]]\nname = \"a\"\nurl = \"ftp://${TOKEN}@a.example/\""),
            [
                "target \"a\": url: \"ftp://${TOKEN}@a.example/\" is not an http:// or https:// URL with a host, tcp://host:port, tls://host:port or dns://server[:port]"
            ]
        );
        assert_eq!(
            problems("[[target]]\nname = \"${TOKEN}\"\nurl = \"https://a.example/\""),
            [
                "target \"${TOKEN}\": name: ${NAME} is not accepted in a name: names are shown on \
              the page, in the API and in logs, and key the store; write the name itself"
            ]
        );
    }

    #[test]
    fn a_push_target_needs_a_period_and_a_strong_token_and_no_probing_keys() {
        let found = problems(
            r#"
            [[target]]
            name = "short"
            kind = "push"
            period = "1d"
            token = "${SHORT_TOKEN}"
            [[target]]
            name = "probing"
            kind = "push"
            url = "https://a.example/"
            conditions = ["[STATUS] == 200"]
            token = "${JOB_TOKEN}"
            [[target]]
            name = "odd"
            kind = "push"
            period = "5m"
            token = "${ODD_TOKEN}"
            [[target]]
            name = "http"
            url = "https://a.example/"
            period = "5m"
            [[target]]
            name = "literal"
            kind = "push"
            period = "5m"
            token = "Zm9vYmFyYmF6cXV4cXV1eHo"
            "#,
        );
        assert_eq!(
            found,
            [
                "target \"literal\": token: written in the file; expected it from the environment, such as token = \"${BACKUP_TOKEN}\" with BACKUP_TOKEN from `openssl rand -hex 16`: a config file is often committed or shared, and whoever has the token can check in",
                "target \"short\": token: is 16 characters, about 64 bits; expected at least 128 bits: 32 hex digits or 22 base64url characters (`openssl rand -hex 16`)",
                "target \"probing\": url: means nothing for kind = \"push\": it is not probed, it checks in",
                "target \"probing\": conditions: means nothing for kind = \"push\": it is not probed, it checks in",
                "target \"probing\": period: missing; expected how often the job checks in, such as 5m or 1d",
                "target \"odd\": token: has characters other than A-Z, a-z, 0-9, - and _; it is part of a URL",
                "target \"http\": period: applies to kind = \"push\" targets only",
            ]
        );
        // 22 base64url characters are enough, and thresholds default to 1.
        let config = parse(
            "[[target]]\nname = \"job\"\nkind = \"push\"\nperiod = \"5m\"\n\
             token = \"${JOB_TOKEN}\"",
            env,
        )
        .unwrap();
        let target = &config.targets[0];
        let push = target.push().unwrap();
        assert_eq!(
            (push.period, push.grace),
            (Duration::from_secs(300), DEFAULT_GRACE)
        );
        assert_eq!((target.failure_threshold, target.success_threshold), (1, 1));
        assert_eq!(target.public_url(), None);
        assert_eq!(
            target.scrub("token Zm9vYmFyYmF6cXV4cXV1eHo"),
            "token ${JOB_TOKEN}"
        );
        assert!(!format!("{config:?}").contains("Zm9vYmFyYmF6cXV4cXV1eHo"));
    }

    #[test]
    fn each_notifier_names_the_keys_it_lacks_and_refuses_those_of_others() {
        let found = problems(
            r#"
            [[target]]
            name = "a"
            url = "https://a.example/"
            [[alert]]
            kind = "ntfy"
            url = "https://ntfy.sh/"
            [[alert]]
            kind = "pagerduty"
            [[alert]]
            kind = "gotify"
            url = "https://gotify.example.org"
            priority = 11
            [[alert]]
            kind = "pushover"
            token = "app"
            [[alert]]
            kind = "matrix"
            homeserver = "https://matrix.org"
            room_id = "general"
            access_token = "syt"
            [[alert]]
            kind = "teams"
            url = "https://example.org/workflow"
            routing_key = "r"
            "#,
        );
        assert_eq!(
            found,
            [
                "alert #1: url: has no topic; expected the topic's URL, such as https://ntfy.sh/my-alerts",
                "alert #2: routing_key: missing; pagerduty needs the integration's routing key",
                "alert #3: token: missing; gotify needs an application token",
                "alert #3: priority: 11 is out of range; gotify takes 0 to 10",
                "alert #4: user: missing; pushover needs the user or group key",
                "alert #5: room_id: \"general\" is not a room id; expected one such as !abc:matrix.org (Room settings, Advanced)",
                "alert #6: routing_key: applies to pagerduty alerts only",
            ]
        );
        let found = problems(
            r#"
            [[target]]
            name = "a"
            url = "https://a.example/"
            [[alert]]
            kind = "gotify"
            url = "https://gotify.example.org"
            token = "app"
            priority = 11
            [[alert]]
            kind = "ntfy"
            url = "https://ntfy.sh/alerts"
            priority = 0
            user = "u"
            "#,
        );
        assert_eq!(
            found,
            [
                "alert #1: priority: 11 is out of range; gotify takes 0 to 10",
                "alert #2: user: applies to pushover alerts only",
                "alert #2: priority: 0 is out of range; ntfy takes 1 to 5",
            ]
        );
        // The defaults, and secrets kept out of Debug.
        let config = parse(
            r#"
            [[target]]
            name = "a"
            url = "https://a.example/"
            [[alert]]
            kind = "pagerduty"
            routing_key = "R0UT1NGKEY"
            [[alert]]
            kind = "pushover"
            token = "APPTOKEN"
            user = "USERKEY"
            "#,
            env,
        )
        .unwrap();
        let AlertKind::Pagerduty { url, .. } = &config.alerts[0].kind else {
            panic!("not pagerduty: {:?}", config.alerts[0].kind);
        };
        assert_eq!(url.expose().as_str(), PAGERDUTY_API);
        let AlertKind::Pushover { url, .. } = &config.alerts[1].kind else {
            panic!("not pushover: {:?}", config.alerts[1].kind);
        };
        assert_eq!(url.expose().as_str(), PUSHOVER_API);
        let debug = format!("{config:?}");
        for secret in ["R0UT1NGKEY", "APPTOKEN", "USERKEY"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
    }

    #[test]
    fn email_names_each_bad_key_and_what_it_accepts() {
        let found = problems(
            r#"
            [[target]]
            name = "a"
            url = "https://a.example/"
            [[alert]]
            kind = "email"
            [[alert]]
            kind = "email"
            host = "smtp.example.org"
            tls = "ssl"
            port = 70000
            username = "me"
            from = "status"
            to = []
            [[alert]]
            kind = "email"
            host = "smtp.example.org"
            tls = "none"
            password = "p"
            from = "status@example.org"
            to = ["ops@example.org", "ops at example.org"]
            url = "https://example.org/"
            [[alert]]
            kind = "email"
            host = "smtp example"
            from = "status@example.org"
            to = ["ops@example.org"]
            "#,
        );
        assert_eq!(
            found,
            [
                "alert #1: host: missing; email needs the SMTP server's host name, such as smtp.gmail.com",
                "alert #1: from: missing; email needs the sender's address, such as \"Status <status@example.org>\"",
                "alert #1: to: missing; email needs the recipients, such as [\"ops@example.org\"]",
                "alert #2: tls: \"ssl\" is not starttls, implicit or none",
                "alert #2: port: 70000 is not a port number from 1 to 65535",
                "alert #2: password: missing; a username needs its password, such as password = \"${SMTP_PASSWORD}\"",
                "alert #2: from: \"status\" is not an e-mail address; expected one such as ops@example.org or \"Ops <ops@example.org>\"",
                "alert #2: to: is empty; expected at least one address, such as [\"ops@example.org\"]",
                "alert #3: url: applies to webhook, slack, discord, telegram, ntfy, pagerduty, teams, gotify, pushover alerts only",
                "alert #3: tls: \"none\" to \"smtp.example.org\": without TLS the messages (and any password) cross the network in clear, so none is accepted only for a relay on this host (localhost, 127.0.0.1 or ::1); use starttls or implicit",
                "alert #3: username: missing; a password needs the username it logs in with",
                "alert #3: to: \"ops at example.org\" is not an e-mail address; expected one such as ops@example.org or \"Ops <ops@example.org>\"",
                "alert #4: host: \"smtp example\" is not a host name or IP address such as smtp.gmail.com",
            ]
        );
    }

    #[test]
    fn email_ports_default_to_the_ones_for_their_tls_and_a_local_relay_needs_none() {
        let config = parse(
            r#"
            [[target]]
            name = "a"
            url = "https://a.example/"
            [[alert]]
            kind = "email"
            host = "smtp.gmail.com"
            from = "status@example.org"
            to = ["ops@example.org"]
            [[alert]]
            kind = "email"
            host = "smtp.fastmail.com"
            tls = "implicit"
            from = "status@example.org"
            to = ["ops@example.org"]
            [[alert]]
            kind = "email"
            host = "localhost"
            tls = "none"
            from = "status@example.org"
            to = ["ops@example.org"]
            [[alert]]
            kind = "email"
            host = "::1"
            tls = "none"
            port = 2525
            from = "status@example.org"
            to = ["ops@example.org"]
            "#,
            env,
        )
        .unwrap();
        let servers: Vec<(&str, u16, SmtpTls)> = config
            .alerts
            .iter()
            .map(|alert| match &alert.kind {
                AlertKind::Email { server, .. } => (server.host.as_str(), server.port, server.tls),
                other => panic!("not email: {other:?}"),
            })
            .collect();
        assert_eq!(
            servers,
            [
                ("smtp.gmail.com", 587, SmtpTls::Starttls),
                ("smtp.fastmail.com", 465, SmtpTls::Implicit),
                ("localhost", 25, SmtpTls::None),
                ("::1", 2525, SmtpTls::None),
            ]
        );
    }

    #[test]
    fn check_warns_once_per_shown_url_with_user_info_or_query() {
        let config = parse(
            r#"
            [[target]]
            name = "hidden"
            url = "https://u:p@a.example/h?k=v"
            [[target]]
            name = "plain"
            url = "https://a.example/h"
            show_url = true
            [[target]]
            name = "both"
            url = "https://u:p@a.example/h?k=v"
            show_url = true
            [[target]]
            name = "query"
            url = "https://a.example/h?k=v"
            show_url = true
            [[target]]
            name = "user"
            url = "https://u@a.example/h"
            show_url = true
            [[target]]
            name = "password"
            url = "https://:p@a.example/h"
            show_url = true
            "#,
            env,
        )
        .unwrap();
        // A user name alone, or a password alone, is user info too.
        assert_eq!(
            config.warnings(),
            [
                "target \"both\": show_url: the URL's user info and query are never shown; the page and API show https://a.example/h",
                "target \"query\": show_url: the URL's query is never shown; the page and API show https://a.example/h",
                "target \"user\": show_url: the URL's user info is never shown; the page and API show https://a.example/h",
                "target \"password\": show_url: the URL's user info is never shown; the page and API show https://a.example/h",
            ]
        );
    }

    #[test]
    fn a_condition_on_what_a_kind_does_not_record_names_the_kind() {
        let problems = parse(
            "[[target]]\nname = \"a\"\nurl = \"tcp://db.internal:5432\"\n\
             conditions = [\"[BODY] == x\"]",
            env,
        )
        .unwrap_err();
        let messages: Vec<_> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "target \"a\": conditions[0]: \"[BODY] == x\" reads [BODY], which means nothing \
                 for a tcp:// target; it records [CONNECTED] [RESPONSE_TIME]"
            ]
        );
    }

    #[test]
    fn a_timeout_may_be_the_whole_interval_and_a_push_targets_interval_is_its_period() {
        let config = parse(
            "[[target]]\nname = \"a\"\nurl = \"http://a.example/\"\n\
             interval = \"10s\"\ntimeout = \"10s\"\n\
             [[target]]\nname = \"job\"\nkind = \"push\"\nperiod = \"5m\"\n\
             token = \"${JOB_TOKEN}\"",
            env,
        )
        .unwrap();
        let a = &config.targets[0];
        assert_eq!(
            (a.interval, a.timeout),
            (Duration::from_secs(10), Duration::from_secs(10))
        );
        assert_eq!(config.targets[1].interval, Duration::from_secs(300));
    }

    #[test]
    fn a_tcp_url_needs_a_port() {
        let problems =
            parse("[[target]]\nname = \"a\"\nurl = \"tcp://db.internal\"", env).unwrap_err();
        let messages: Vec<_> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "target \"a\": url: \"tcp://db.internal\" is not an http:// or https:// URL \
                 with a host, tcp://host:port, tls://host:port or dns://server[:port]"
            ]
        );
    }

    #[test]
    fn an_ntfy_alert_without_a_url_is_told_what_url_it_needs() {
        let problems = parse(
            "[[target]]\nname = \"a\"\nurl = \"http://a.example/\"\n\
             [[alert]]\nkind = \"ntfy\"",
            env,
        )
        .unwrap_err();
        let messages: Vec<_> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            ["alert #1: url: missing; expected the topic's URL, such as https://ntfy.sh/my-alerts"]
        );
    }

    #[test]
    fn a_push_token_may_use_base64urls_hyphen_and_underscore_and_nothing_else() {
        // `openssl rand -base64 16 | tr +/ -_` gives such tokens.
        for token in ["Zm9vYmFy-mF6cXV4cXV1eHo", "Zm9vYmFy_mF6cXV4cXV1eHo"] {
            assert_eq!(token_problem(token), None, "{token}");
        }
        assert_eq!(
            token_problem("Zm9vYmFy.mF6cXV4cXV1eHo").as_deref(),
            Some("has characters other than A-Z, a-z, 0-9, - and _; it is part of a URL")
        );
    }

    #[test]
    fn debug_of_a_location_shows_its_name_and_url_and_never_its_token() {
        let config = parse(
            "[[target]]\nname = \"a\"\nurl = \"http://a/\"\n[[location]]\nname = \"ams\"\n\
             url = \"http://ams.internal:8080\"\ntoken = \"0123456789abcdef0123456789abcdef\"",
            env,
        )
        .unwrap();
        assert_eq!(
            format!("{:?}", config.locations[0]),
            "Location { name: \"ams\", url: \"http://ams.internal:8080/\", .. }"
        );
    }

    #[test]
    fn a_location_name_is_1_to_32_of_a_z_0_9_and_hyphens() {
        let location = |name: &str| {
            format!(
                "[[target]]\nname = \"a\"\nurl = \"http://a/\"\n[[location]]\nname = \"{name}\"\n\
                 url = \"http://agent.internal:8080\"\ntoken = \"0123456789abcdef0123456789abcdef\""
            )
        };
        // An empty name is placed by its number, as a target's is.
        assert_eq!(
            problems(&location("")),
            ["location #1: name: \"\" is not 1 to 32 characters of a-z, 0-9 and -"]
        );
        assert_eq!(
            problems(&location("Ams")),
            ["location \"Ams\": name: \"Ams\" is not 1 to 32 characters of a-z, 0-9 and -"]
        );
        let long = "a".repeat(33);
        assert_eq!(
            problems(&location(&long)),
            [format!(
                "location \"{long}\": name: \"{long}\" is not 1 to 32 characters of a-z, 0-9 and -"
            )]
        );
        for name in ["eu-west-1", &"a".repeat(32)] {
            let config = parse(&location(name), env).unwrap();
            assert_eq!(config.locations[0].name, name);
        }
    }

    #[test]
    fn the_url_scheme_chooses_the_probe_kind() {
        let kind = |url: &str| target(url, "").kind;
        assert!(matches!(kind("tls://a.example:443"), TargetKind::Tls));
        assert!(matches!(kind("tcp://a.example:5432"), TargetKind::Tcp));
        assert!(matches!(kind("https://a.example/"), TargetKind::Http));
        // A host and a port are not enough: the scheme must be one of these.
        assert_eq!(
            problems("[[target]]\nname = \"a\"\nurl = \"ftp://a.example:2121/\""),
            [
                "target \"a\": url: \"ftp://a.example:2121/\" is not an http:// or https:// URL \
                 with a host, tcp://host:port, tls://host:port or dns://server[:port]"
            ]
        );
    }

    #[test]
    fn an_email_port_is_1_to_65535() {
        let email = |port: u32| {
            format!(
                "[[target]]\nname = \"a\"\nurl = \"http://a/\"\n[[alert]]\nkind = \"email\"\n\
                 host = \"smtp.example.org\"\nport = {port}\nfrom = \"status@example.org\"\n\
                 to = [\"ops@example.org\"]"
            )
        };
        assert_eq!(
            problems(&email(0)),
            ["alert #1: port: 0 is not a port number from 1 to 65535"]
        );
        let config = parse(&email(1), env).unwrap();
        let AlertKind::Email { server, .. } = &config.alerts[0].kind else {
            panic!("not email: {:?}", config.alerts[0].kind);
        };
        assert_eq!(server.port, 1);
    }

    #[test]
    fn two_push_targets_with_one_token_are_told_even_when_one_has_another_problem() {
        let found = problems(
            r#"
            [[target]]
            name = "backup"
            kind = "push"
            period = "1d"
            token = "${JOB_TOKEN}"
            group = " "
            [[target]]
            name = "report"
            kind = "push"
            period = "1d"
            token = "${JOB_TOKEN}"
            "#,
        );
        assert_eq!(
            found,
            [
                "target \"backup\": group: is empty; leave it out instead",
                "target \"report\": token: another push target has this token; each needs its own",
            ]
        );
    }

    #[test]
    fn variables_in_the_title_public_url_and_groups_are_public_and_elsewhere_secret() {
        let config = parse(
            r#"
            [monitor]
            title = "${TITLE}"
            public_url = "${SITE}"
            retention = "${RETENTION}"
            [[target]]
            name = "api"
            url = "https://a.example/"
            group = "${GROUP}"
            "#,
            env,
        )
        .unwrap();
        assert_eq!(config.title, "Acme status");
        let target = &config.targets[0];
        assert_eq!(target.group.as_deref(), Some("Edge"));
        assert_eq!(
            target.scrub("Acme status at https://status.acme.example/: Edge, kept 365d"),
            "Acme status at https://status.acme.example/: Edge, kept ${RETENTION}"
        );
    }

    #[test]
    fn an_unset_variable_is_placed_as_the_sections_other_problems_are() {
        let found = problems(
            r#"
            [monitor]
            title = "${UNSET_TITLE}"
            [[target]]
            name = ""
            url = "${API_URL}"
            [[maintenance]]
            from = "${UNSET_FROM}"
            until = "2026-12-08T00:00:00Z"
            [[location]]
            name = "ams"
            url = "http://ams.internal:8080"
            token = "${UNSET_AGENT_TOKEN}"
            [extra]
            key = "${UNSET_EXTRA}"
            "#,
        );
        assert_eq!(
            found,
            [
                "extra.key: environment variable UNSET_EXTRA is not set",
                "location \"ams\": token: environment variable UNSET_AGENT_TOKEN is not set",
                "maintenance #1: from: environment variable UNSET_FROM is not set",
                "[monitor] title: environment variable UNSET_TITLE is not set",
                "target #1: url: environment variable API_URL is not set",
                "extra: unknown top-level key; expected [monitor], [[target]], [[alert]], [[location]] \
                 or [[maintenance]]",
                "target #1: name: \"\" is not 1 to 63 characters of a-z, 0-9 and -",
            ]
        );
    }

    #[test]
    fn a_variable_name_starts_with_a_letter_or_underscore() {
        let url = |url: &str| problems(&format!("[[target]]\nname = \"a\"\nurl = \"{url}\""));
        assert_eq!(
            url("http://a/${_UNSET}"),
            ["target \"a\": url: environment variable _UNSET is not set"]
        );
        assert_eq!(
            url("http://a/${1X}"),
            [
                "target \"a\": url: ${1X} is not a variable reference; expected ${NAME} with \
                 letters, digits and _"
            ]
        );
    }

    #[test]
    fn a_matrix_room_id_starts_with_an_exclamation_mark_and_names_its_server() {
        let matrix = |room: &str| {
            format!(
                "[[target]]\nname = \"a\"\nurl = \"http://a/\"\n[[alert]]\nkind = \"matrix\"\n\
                 homeserver = \"https://matrix.org\"\nroom_id = \"{room}\"\naccess_token = \"syt\""
            )
        };
        for bad in ["!abc", "abc:matrix.org"] {
            assert_eq!(
                problems(&matrix(bad)),
                [format!(
                    "alert #1: room_id: {bad:?} is not a room id; expected one such as \
                     !abc:matrix.org (Room settings, Advanced)"
                )]
            );
        }
        assert!(parse(&matrix("!abc:matrix.org"), env).is_ok());
    }
}
