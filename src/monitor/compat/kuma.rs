//! Uptime Kuma's status-page API, as Homepage's `uptimekuma` widget (and anything else written
//! against Kuma) reads it: `GET /api/status-page/{slug}` and
//! `GET /api/status-page/heartbeat/{slug}`, in Kuma's shapes (its `server/routers/
//! status-page-router.js` and the models' `toPublicJSON`).
//!
//! The configured targets are the one status page's monitors. Kuma numbers monitors; ours have
//! names, so each target gets an id from the store ([`Store::monitor_ids`]) on first sight,
//! kept across restarts and never reused: a dashboard keyed by id keeps its target when others
//! are added, removed or reordered. This module translates and owns no state.

use std::collections::BTreeMap;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use crate::api::ApiTags;
use crate::monitor::api::Monitoring;
use crate::monitor::config::{Target, TargetKind};
use crate::monitor::store::{self, Incident, ResultRecord, Store, StoreError};

/// Heartbeats per monitor, as Kuma 2 sends (Kuma 1 sent 50).
pub const HEARTBEATS: usize = 100;
/// Kuma's status of a failed heartbeat.
pub const DOWN: u8 = 0;
/// Kuma's status of a successful heartbeat.
pub const UP: u8 = 1;
/// Kuma's status of a heartbeat during maintenance.
pub const MAINTENANCE: u8 = 3;
/// The status page's id in Kuma's numbering: there is one.
const STATUS_PAGE_ID: u64 = 1;
/// Kuma's name for the group a new status page starts with; ours holds the ungrouped targets.
const UNGROUPED: &str = "Services";
/// How often the status page reloads itself, in seconds, as `GET /status` does.
const AUTO_REFRESH_SECONDS: u32 = 60;
/// The body Kuma sends for a slug that is no status page.
const NOT_FOUND: &str = "Status Page Not Found";

/// Kuma's error body.
#[derive(Object, Debug, Clone, PartialEq)]
#[oai(rename = "KumaError")]
pub struct KumaError {
    /// Always `fail`.
    pub status: String,
    /// What went wrong. Example: `Status Page Not Found`.
    pub msg: String,
}

/// `GET /api/status-page/{slug}`: the page, its pinned incidents, groups and maintenance.
#[derive(Object, Debug, Clone, PartialEq)]
#[oai(rename = "KumaStatusPage")]
pub struct StatusPage {
    /// The page's settings.
    pub config: PageConfig,
    /// Kuma 1's field, read by Homepage: the newest ongoing incident (a target down), or null.
    #[oai(nullable)]
    pub incident: Option<KumaIncident>,
    /// Kuma 2's field: every ongoing incident, newest first.
    pub incidents: Vec<KumaIncident>,
    /// The targets by group: ungrouped ones first (as `Services`), then each group in order
    /// of first appearance.
    #[oai(rename = "publicGroupList")]
    pub public_group_list: Vec<Group>,
    /// Always empty: maintenance shows in the heartbeats, as status 3.
    #[oai(rename = "maintenanceList")]
    pub maintenance_list: Vec<serde_json::Value>,
}

/// A status page's settings, as Kuma's `StatusPage.toPublicJSON` has them.
#[derive(Object, Debug, Clone, PartialEq)]
#[oai(rename = "KumaStatusPageConfig")]
pub struct PageConfig {
    /// `[monitor] status_page_slug`. Example: `default`.
    pub slug: String,
    /// `[monitor] title`.
    pub title: String,
    /// Always null.
    #[oai(nullable)]
    pub description: Option<String>,
    /// Kuma's default, `/icon.svg`.
    pub icon: String,
    /// How often `/status` reloads itself, in seconds: `60`.
    #[oai(rename = "autoRefreshInterval")]
    pub auto_refresh_interval: u32,
    /// `auto`: the page follows the system's light or dark scheme.
    pub theme: String,
    /// Always true.
    pub published: bool,
    /// Always false.
    #[oai(rename = "showTags")]
    pub show_tags: bool,
    /// Always null.
    #[oai(rename = "customCSS", nullable)]
    pub custom_css: Option<String>,
    /// Always null.
    #[oai(rename = "footerText", nullable)]
    pub footer_text: Option<String>,
    /// Always false.
    #[oai(rename = "showPoweredBy")]
    pub show_powered_by: bool,
    /// Always null: the page has no analytics.
    #[oai(rename = "analyticsId", nullable)]
    pub analytics_id: Option<String>,
    /// Always null.
    #[oai(rename = "analyticsScriptUrl", nullable)]
    pub analytics_script_url: Option<String>,
    /// Always null.
    #[oai(rename = "analyticsType", nullable)]
    pub analytics_type: Option<String>,
    /// Always false.
    #[oai(rename = "showCertificateExpiry")]
    pub show_certificate_expiry: bool,
    /// Always false.
    #[oai(rename = "showOnlyLastHeartbeat")]
    pub show_only_last_heartbeat: bool,
    /// Always null.
    #[oai(rename = "rssTitle", nullable)]
    pub rss_title: Option<String>,
}

/// An ongoing incident as Kuma's `Incident.toPublicJSON` has it.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct KumaIncident {
    /// The incident's id, as in `/api/v1/incidents`. Example: `3`.
    pub id: u64,
    /// Always `danger`: a target is down.
    pub style: String,
    /// `{target} is down`. Example: `api is down`.
    pub title: String,
    /// Its cause, in one line. Example: `status 503 is not 200..399`.
    pub content: String,
    /// Always true.
    pub pin: bool,
    /// Always true: only ongoing incidents are listed.
    pub active: bool,
    /// When it started, `YYYY-MM-DD HH:mm:ss` UTC. Example: `2026-12-06 18:30:00`.
    #[oai(rename = "createdDate")]
    pub created_date: String,
    /// Always null.
    #[oai(rename = "lastUpdatedDate", nullable)]
    pub last_updated_date: Option<String>,
    /// Always `1`.
    pub status_page_id: u64,
}

/// A group of monitors, as Kuma's `Group.toPublicJSON` has it.
#[derive(Object, Debug, Clone, PartialEq)]
#[oai(rename = "KumaGroup")]
pub struct Group {
    /// Its position on the page, from 1.
    pub id: u64,
    /// The group's name; `Services` for targets without one.
    pub name: String,
    /// Its position on the page, from 1.
    pub weight: u64,
    /// Its targets, in the configuration's order.
    #[oai(rename = "monitorList")]
    pub monitor_list: Vec<KumaMonitor>,
}

/// A target, as Kuma's `Monitor.toPublicJSON` has it.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct KumaMonitor {
    /// Given to the target's name when the monitor first saw it; never changes. Example: `1`.
    pub id: u64,
    /// The target's name. Example: `api`.
    pub name: String,
    /// `1` when the target has `show_url = true`, else `0`.
    #[oai(rename = "sendUrl")]
    pub send_url: u8,
    /// Kuma's monitor type: `http`, `port` (tcp:// and tls://), `dns` or `push`.
    #[oai(rename = "type")]
    pub kind: String,
    /// What is probed, as the status page shows it; only when `sendUrl` is 1.
    #[oai(skip_serializing_if_is_none)]
    pub url: Option<String>,
}

/// `GET /api/status-page/heartbeat/{slug}`.
#[derive(Object, Debug, Clone, PartialEq)]
#[oai(rename = "KumaHeartbeats")]
pub struct Heartbeats {
    /// Per monitor id, its last 100 results, oldest first.
    #[oai(rename = "heartbeatList")]
    pub heartbeat_list: BTreeMap<String, Vec<Heartbeat>>,
    /// Per `{id}_24`, the fraction of successful probes over the last 24 hours (0 without
    /// any, as Kuma has it).
    #[oai(rename = "uptimeList")]
    pub uptime_list: BTreeMap<String, f64>,
}

/// One result, as Kuma's `Heartbeat.toPublicJSON` has it.
#[derive(Object, Debug, Clone, PartialEq)]
#[oai(rename = "KumaHeartbeat")]
pub struct Heartbeat {
    /// `0` down, `1` up, `3` under maintenance.
    pub status: u8,
    /// When the probe started, `YYYY-MM-DD HH:mm:ss.SSS` UTC. Example: `2026-12-06 18:30:00.125`.
    pub time: String,
    /// Always empty: Kuma hides it from the public.
    pub msg: String,
    /// Response time in ms; null when the probe failed without a response.
    #[oai(nullable)]
    pub ping: Option<u64>,
}

/// Outcome of `GET /api/status-page/{slug}`.
#[derive(ApiResponse)]
pub enum StatusPageResponse {
    /// The status page.
    #[oai(status = 200)]
    Ok(Json<Box<StatusPage>>),
    /// Not the configured slug: `{"status":"fail","msg":"Status Page Not Found"}`.
    #[oai(status = 404)]
    NotFound(Json<KumaError>),
    /// The store could not be read.
    #[oai(status = 500)]
    Failed(Json<KumaError>),
}

/// Outcome of `GET /api/status-page/heartbeat/{slug}`.
#[derive(ApiResponse)]
pub enum HeartbeatResponse {
    /// Every target's recent heartbeats and 24-hour uptime.
    #[oai(status = 200)]
    Ok(Json<Heartbeats>),
    /// Not the configured slug: `{"status":"fail","msg":"Status Page Not Found"}`.
    #[oai(status = 404)]
    NotFound(Json<KumaError>),
    /// The store could not be read.
    #[oai(status = 500)]
    Failed(Json<KumaError>),
}

/// The Uptime Kuma-compatible routes.
#[derive(Clone)]
pub struct KumaApi {
    /// Config and store.
    pub monitoring: Monitoring,
}

#[OpenApi(tag = "ApiTags::UptimeKuma")]
impl KumaApi {
    /// Status page (Uptime Kuma)
    ///
    /// Kuma's status page: its config, the ongoing incidents (`incident`, Kuma 1's field, and
    /// `incidents`, Kuma 2's) and the targets by group with their stable ids. The slug is
    /// `[monitor] status_page_slug` (default `default`), in any case; another is 404.
    #[oai(
        path = "/api/status-page/:slug",
        method = "get",
        operation_id = "getKumaStatusPage"
    )]
    async fn status_page(
        &self,
        /// The status page's slug.
        slug: Path<String>,
    ) -> StatusPageResponse {
        if !self.is_page(&slug.0) {
            return StatusPageResponse::NotFound(fail(NOT_FOUND));
        }
        let monitoring = self.monitoring.clone();
        match store::blocking(move || status_page(&monitoring)).await {
            Ok(page) => StatusPageResponse::Ok(Json(Box::new(page))),
            Err(err) => StatusPageResponse::Failed(failure(&err)),
        }
    }

    /// Heartbeats (Uptime Kuma)
    ///
    /// Per monitor id, the last 100 results oldest first (status 0 down, 1 up, 3 maintenance),
    /// and per `{id}_24` the 24-hour uptime as a fraction. Another slug is 404.
    #[oai(
        path = "/api/status-page/heartbeat/:slug",
        method = "get",
        operation_id = "getKumaHeartbeats"
    )]
    async fn heartbeats(
        &self,
        /// The status page's slug.
        slug: Path<String>,
    ) -> HeartbeatResponse {
        if !self.is_page(&slug.0) {
            return HeartbeatResponse::NotFound(fail(NOT_FOUND));
        }
        let monitoring = self.monitoring.clone();
        let read = move || heartbeats(&monitoring, SystemTime::now());
        match store::blocking(read).await {
            Ok(beats) => HeartbeatResponse::Ok(Json(beats)),
            Err(err) => HeartbeatResponse::Failed(failure(&err)),
        }
    }
}

impl KumaApi {
    /// Whether `slug` names the status page: Kuma lower-cases the slug it is asked for.
    fn is_page(&self, slug: &str) -> bool {
        slug.to_lowercase() == self.monitoring.config.status_page_slug
    }
}

/// The ids of every configured target, in the configuration's order.
fn monitor_ids(monitoring: &Monitoring) -> Result<Vec<u64>, StoreError> {
    let names: Vec<&str> = (monitoring.config.targets.iter())
        .map(|t| t.name.as_str())
        .collect();
    monitoring.store.monitor_ids(&names)
}

/// The status page from the config and the store's open incidents.
///
/// # Errors
/// When the store cannot be read.
pub fn status_page(monitoring: &Monitoring) -> Result<StatusPage, StoreError> {
    let config = &monitoring.config;
    let ids = monitor_ids(monitoring)?;
    let mut groups: Vec<(Option<&str>, Vec<KumaMonitor>)> = Vec::new();
    for (target, id) in config.targets.iter().zip(ids) {
        let group = target.group.as_deref();
        let monitor = monitor(target, id);
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, list)) => list.push(monitor),
            None => groups.push((group, vec![monitor])),
        }
    }
    // As on `/status`: the ungrouped targets first.
    groups.sort_by_key(|(group, _)| group.is_some());
    let public_group_list = (1..)
        .zip(groups)
        .map(|(position, (name, monitor_list))| Group {
            id: position,
            name: name.unwrap_or(UNGROUPED).to_owned(),
            weight: position,
            monitor_list,
        })
        .collect();
    let incidents = open_incidents(&monitoring.store, &config.targets)?;
    Ok(StatusPage {
        config: PageConfig {
            slug: config.status_page_slug.clone(),
            title: config.title.clone(),
            description: None,
            icon: "/icon.svg".to_owned(),
            auto_refresh_interval: AUTO_REFRESH_SECONDS,
            theme: "auto".to_owned(),
            published: true,
            show_tags: false,
            custom_css: None,
            footer_text: None,
            show_powered_by: false,
            analytics_id: None,
            analytics_script_url: None,
            analytics_type: None,
            show_certificate_expiry: false,
            show_only_last_heartbeat: false,
            rss_title: None,
        },
        incident: incidents.first().cloned(),
        incidents,
        public_group_list,
        maintenance_list: Vec::new(),
    })
}

/// `target` as a Kuma monitor with `id`.
fn monitor(target: &Target, id: u64) -> KumaMonitor {
    let url = target.public_url();
    KumaMonitor {
        id,
        name: target.name.clone(),
        send_url: u8::from(url.is_some()),
        kind: match target.kind {
            TargetKind::Http => "http",
            TargetKind::Tcp | TargetKind::Tls => "port",
            TargetKind::Dns(_) => "dns",
            TargetKind::Push(_) => "push",
        }
        .to_owned(),
        url,
    }
}

/// Every ongoing incident (a configured target down), newest first.
fn open_incidents(store: &Store, targets: &[Target]) -> Result<Vec<KumaIncident>, StoreError> {
    let states = store.states()?;
    let mut open: Vec<Incident> = Vec::new();
    for target in targets {
        if let Some(state) = states.get(&target.name)
            && let Some(id) = state.open_incident
            && let Some(incident) = store.incident(id)?
            && incident.resolved_ms.is_none()
        {
            open.push(incident);
        }
    }
    open.sort_by_key(|incident| std::cmp::Reverse(incident.id));
    Ok(open
        .into_iter()
        .map(|incident| KumaIncident {
            id: incident.id,
            style: "danger".to_owned(),
            title: format!("{} is down", incident.target),
            content: incident.cause,
            pin: true,
            active: true,
            created_date: format_time(incident.started_ms, "%Y-%m-%d %H:%M:%S"),
            last_updated_date: None,
            status_page_id: STATUS_PAGE_ID,
        })
        .collect())
}

/// Each target's last [`HEARTBEATS`] results and 24-hour uptime at `now`, by id.
///
/// # Errors
/// When the store cannot be read.
pub fn heartbeats(monitoring: &Monitoring, now: SystemTime) -> Result<Heartbeats, StoreError> {
    let config = &monitoring.config;
    let store = &monitoring.store;
    let ids = monitor_ids(monitoring)?;
    let mut heartbeat_list = BTreeMap::new();
    let mut uptime_list = BTreeMap::new();
    for (target, id) in config.targets.iter().zip(ids) {
        let mut results = store.results(&target.name, None, HEARTBEATS)?;
        results.reverse();
        let beats = results
            .iter()
            .map(|result| {
                let maintenance = config.maintenance.active(&target.name, result.at_ms);
                heartbeat(result, maintenance)
            })
            .collect();
        heartbeat_list.insert(id.to_string(), beats);
        let day = store.history(&target.name, now)?.windows()[0];
        uptime_list.insert(format!("{id}_24"), day.uptime().unwrap_or(0.0));
    }
    Ok(Heartbeats {
        heartbeat_list,
        uptime_list,
    })
}

/// `result` as a heartbeat; `maintenance` when a window covered it.
fn heartbeat(result: &ResultRecord, maintenance: bool) -> Heartbeat {
    let status = match (maintenance, result.ok) {
        (true, _) => MAINTENANCE,
        (false, true) => UP,
        (false, false) => DOWN,
    };
    // Kuma has no ping for a probe that got no answer.
    let answered = result.ok || result.status_code.is_some();
    Heartbeat {
        status,
        time: format_time(result.at_ms, "%Y-%m-%d %H:%M:%S%.3f"),
        msg: String::new(),
        ping: answered.then_some(result.response_time_ms),
    }
}

/// `ms` since the epoch in UTC, in `format`.
fn format_time(ms: u64, format: &str) -> String {
    let at = DateTime::<Utc>::from_timestamp_millis(i64::try_from(ms).unwrap_or(i64::MAX))
        .unwrap_or_default();
    at.format(format).to_string()
}

/// Kuma's error body with `msg`.
fn fail(msg: &str) -> Json<KumaError> {
    Json(KumaError {
        status: "fail".to_owned(),
        msg: msg.to_owned(),
    })
}

/// The 500 body for a failed store read, which is logged (the body does not leak it).
fn failure(err: &StoreError) -> Json<KumaError> {
    tracing::error!(error = %err, "Uptime Kuma API: store read failed");
    fail("the monitor's store could not be read; see the log")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(at_ms: u64, ok: bool, status_code: Option<u16>) -> ResultRecord {
        ResultRecord {
            at_ms,
            ok,
            status_code,
            response_time_ms: 42,
            error: None,
            votes: Vec::new(),
        }
    }

    #[test]
    fn a_heartbeat_has_kumas_status_time_and_ping() {
        let at = 1_796_581_800_125; // 2026-12-06 18:30:00.125 UTC
        let up = heartbeat(&result(at, true, Some(200)), false);
        assert_eq!(
            up,
            Heartbeat {
                status: 1,
                time: "2026-12-06 18:30:00.125".to_owned(),
                msg: String::new(),
                ping: Some(42),
            }
        );
        let answered = heartbeat(&result(at, false, Some(503)), false);
        assert_eq!((answered.status, answered.ping), (0, Some(42)));
        let unanswered = heartbeat(&result(at, false, None), false);
        assert_eq!((unanswered.status, unanswered.ping), (0, None));
        let maintenance = heartbeat(&result(at, false, None), true);
        assert_eq!(maintenance.status, 3);
    }

    /// Slug `home`; `api` (group `production`, URL shown), `db` (down, incident 1 open) and
    /// `cache` (tcp://, group `production`); `api` and `db` with one result each.
    fn api() -> (KumaApi, tempfile::TempDir, u64) {
        use crate::monitor::store::{Batch, State, TargetState};
        let dir = tempfile::tempdir().unwrap();
        let config = crate::monitor::config::parse(
            "[monitor]\ntitle = \"Status of things\"\nstatus_page_slug = \"home\"\n\
             [[target]]\nname = \"api\"\ngroup = \"production\"\n\
             url = \"https://api.example.org/health\"\nshow_url = true\n\
             [[target]]\nname = \"db\"\nurl = \"http://127.0.0.1:2/\"\n\
             [[target]]\nname = \"cache\"\ngroup = \"production\"\nurl = \"tcp://127.0.0.1:3\"\n",
            |_| None,
        )
        .unwrap();
        let at = crate::monitor::store::millis(SystemTime::now()) - 60_000;
        let store = Store::open(dir.path()).unwrap();
        let down = TargetState {
            state: State::Down,
            open_incident: Some(1),
            ..TargetState::default()
        };
        store
            .commit(&Batch {
                results: vec![
                    ("api".to_owned(), result(at, true, Some(200))),
                    ("db".to_owned(), result(at, false, Some(503))),
                ],
                states: [("db".to_owned(), down)].into(),
                incidents: vec![Incident {
                    id: 1,
                    target: "db".to_owned(),
                    started_ms: 1_796_581_800_125,
                    resolved_ms: None,
                    cause: "status 503 is not 200..399".to_owned(),
                    reminders: Vec::new(),
                }],
                ..Batch::default()
            })
            .unwrap();
        let monitoring = Monitoring::with(config, store);
        (KumaApi { monitoring }, dir, at)
    }

    fn slug(text: &str) -> Path<String> {
        Path(text.to_owned())
    }

    fn not_found() -> KumaError {
        KumaError {
            status: "fail".to_owned(),
            msg: "Status Page Not Found".to_owned(),
        }
    }

    #[tokio::test]
    async fn the_page_of_its_slug_in_any_case_lists_targets_by_group_with_their_ids() {
        let (api, _dir, _) = api();
        let monitor = |id, name: &str, kind: &str, url: Option<&str>| KumaMonitor {
            id,
            name: name.to_owned(),
            send_url: u8::from(url.is_some()),
            kind: kind.to_owned(),
            url: url.map(str::to_owned),
        };
        for asked in ["home", "HOME"] {
            let StatusPageResponse::Ok(page) = api.status_page(slug(asked)).await else {
                panic!("{asked}: not the page");
            };
            let groups: Vec<_> = page
                .0
                .public_group_list
                .iter()
                .map(|g| (g.id, g.name.as_str(), g.weight, g.monitor_list.clone()))
                .collect();
            assert_eq!(
                groups,
                [
                    (1, "Services", 1, vec![monitor(2, "db", "http", None)]),
                    (
                        2,
                        "production",
                        2,
                        vec![
                            monitor(1, "api", "http", Some("https://api.example.org/health")),
                            monitor(3, "cache", "port", None),
                        ]
                    ),
                ],
                "{asked}"
            );
            let incident = KumaIncident {
                id: 1,
                style: "danger".to_owned(),
                title: "db is down".to_owned(),
                content: "status 503 is not 200..399".to_owned(),
                pin: true,
                active: true,
                created_date: "2026-12-06 18:30:00".to_owned(),
                last_updated_date: None,
                status_page_id: 1,
            };
            assert_eq!(page.0.incident, Some(incident.clone()));
            assert_eq!(page.0.incidents, [incident]);
            assert_eq!(
                (page.0.config.slug.as_str(), page.0.config.title.as_str()),
                ("home", "Status of things")
            );
        }
        let StatusPageResponse::NotFound(body) = api.status_page(slug("default")).await else {
            panic!("another slug is a page");
        };
        assert_eq!(body.0, not_found());
    }

    #[tokio::test]
    async fn heartbeats_are_keyed_by_each_targets_id() {
        let (api, _dir, at) = api();
        let HeartbeatResponse::Ok(beats) = api.heartbeats(slug("Home")).await else {
            panic!("not the heartbeats");
        };
        let time = format_time(at, "%Y-%m-%d %H:%M:%S%.3f");
        let beat = |status, ping| Heartbeat {
            status,
            time: time.clone(),
            msg: String::new(),
            ping,
        };
        assert_eq!(
            beats.0.heartbeat_list,
            BTreeMap::from([
                ("1".to_owned(), vec![beat(UP, Some(42))]),
                ("2".to_owned(), vec![beat(DOWN, Some(42))]),
                ("3".to_owned(), Vec::new()),
            ])
        );
        assert_eq!(
            beats.0.uptime_list,
            BTreeMap::from([
                ("1_24".to_owned(), 1.0),
                ("2_24".to_owned(), 0.0),
                ("3_24".to_owned(), 0.0),
            ])
        );
        let HeartbeatResponse::NotFound(body) = api.heartbeats(slug("hom")).await else {
            panic!("another slug has heartbeats");
        };
        assert_eq!(body.0, not_found());
    }

    #[tokio::test]
    async fn a_store_that_cannot_be_read_is_a_500_that_says_so() {
        let (api, _dir, _) = api();
        api.monitoring.store.close();
        let StatusPageResponse::Failed(body) = api.status_page(slug("home")).await else {
            panic!("not a failure");
        };
        assert_eq!(
            body.0,
            KumaError {
                status: "fail".to_owned(),
                msg: "the monitor's store could not be read; see the log".to_owned(),
            }
        );
    }
}
