//! `GET /status`: the public status page, rendered on the server with maud.
//!
//! It reads saved states, hourly and daily aggregates and the incident list, never raw
//! results, so it costs the same with 90 days of history as with one. Everything it needs is in
//! the page and `/status.css`: no script, no font, no image from elsewhere.

use std::time::SystemTime;

use maud::{DOCTYPE, Markup, html};

use super::percent;
use crate::monitor::api::{Monitoring, Overall, TargetState};
use crate::monitor::config::Target;
use crate::monitor::health::Stale;
use crate::monitor::maintenance::Period;
use crate::monitor::store::{
    Aggregate, DAY_MS, History, Incident, LocationState, State, StoreError,
    TargetState as SavedState, millis,
};

/// Incidents shown: those of the last 30 days.
const INCIDENT_DAYS: u64 = 30;
/// Seconds between the page's own reloads.
pub const REFRESH_SECONDS: u32 = 60;

/// Everything the page shows, read at one moment.
#[derive(Debug, Clone)]
pub struct Page {
    /// `[monitor] title`.
    pub title: String,
    /// Per target, in the config's order.
    pub targets: Vec<TargetView>,
    /// The last 30 days' incidents, newest first, open ones included.
    pub incidents: Vec<Incident>,
    /// When it was read, ms since the epoch.
    pub now_ms: u64,
    /// Set while the store cannot commit: what is shown is as of then.
    pub stale: Option<Stale>,
    /// Whether the store could be read at all (not while it is being re-opened).
    pub readable: bool,
    /// Whether the config has maintenance windows (the page then says uptime leaves them out).
    pub has_maintenance: bool,
}

/// One target on the page.
#[derive(Debug, Clone)]
pub struct TargetView {
    /// The target's name.
    pub name: String,
    /// Its heading, if any.
    pub group: Option<String>,
    /// Up, down or unknown.
    pub state: State,
    /// When the latest probe started, ms since the epoch.
    pub last_check_ms: Option<u64>,
    /// Hourly and daily aggregates.
    pub history: History,
    /// Each location's last vote, the monitor's own first (shown when there are several).
    pub locations: Vec<LocationState>,
    /// The maintenance window under way, if one is.
    pub maintenance: Option<Period>,
    /// The next maintenance window.
    pub next_maintenance: Option<Period>,
    /// When its certificate expires (ms since the epoch), if that is within its
    /// `certificate_warning`.
    pub certificate_expires_ms: Option<u64>,
}

impl TargetView {
    /// `target`'s view at `now` from its saved `state` and `monitoring`'s store.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub fn read(
        monitoring: &Monitoring,
        target: &Target,
        state: Option<&SavedState>,
        now: SystemTime,
    ) -> Result<Self, StoreError> {
        let store = &monitoring.store;
        let maintenance = &monitoring.config.maintenance;
        let now_ms = millis(now);
        Ok(TargetView {
            name: target.name.clone(),
            group: target.group.clone(),
            state: state.map_or(State::Unknown, |s| s.state),
            last_check_ms: state.and_then(|s| s.last.as_ref()).map(|r| r.at_ms),
            history: store.history(&target.name, now)?,
            locations: state.map(|s| s.locations.clone()).unwrap_or_default(),
            maintenance: maintenance.ongoing(&target.name, now_ms),
            next_maintenance: maintenance.next(&target.name, now_ms),
            certificate_expires_ms: state
                .and_then(|s| s.certificate_expiry_s)
                .map(|s| s.saturating_mul(1000))
                .filter(|expires| {
                    let warning = target.certificate_warning.as_millis();
                    warning > 0 && u128::from(expires.saturating_sub(now_ms)) <= warning
                }),
        })
    }

    /// The state as the API gives it: maintenance while a window is under way.
    fn api_state(&self) -> TargetState {
        if self.maintenance.is_some() {
            TargetState::Maintenance
        } else {
            self.state.into()
        }
    }
}

impl Page {
    /// Reads the page's data from `monitoring`'s store at `now`.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub fn read(monitoring: &Monitoring, now: SystemTime) -> Result<Self, StoreError> {
        let store = &monitoring.store;
        let states = store.states()?;
        let mut targets = Vec::with_capacity(monitoring.config.targets.len());
        let maintenance = &monitoring.config.maintenance;
        let now_ms = millis(now);
        for target in &monitoring.config.targets {
            targets.push(TargetView::read(
                monitoring,
                target,
                states.get(&target.name),
                now,
            )?);
        }
        let since = now_ms.saturating_sub(INCIDENT_DAYS * DAY_MS);
        let incidents = store
            .incidents(1000)?
            .into_iter()
            .filter(|i| i.resolved_ms.is_none_or(|at| at >= since))
            .collect();
        Ok(Self {
            title: monitoring.config.title.clone(),
            targets,
            incidents,
            now_ms,
            stale: monitoring.health.stale(),
            readable: true,
            has_maintenance: !maintenance.windows.is_empty(),
        })
    }

    /// The page while the store cannot be read and the data is `stale`: the title and the
    /// banner that says so, nothing else.
    #[must_use]
    pub fn unreadable(monitoring: &Monitoring, now: SystemTime, stale: Stale) -> Self {
        Self {
            title: monitoring.config.title.clone(),
            targets: Vec::new(),
            incidents: Vec::new(),
            now_ms: millis(now),
            stale: Some(stale),
            readable: false,
            has_maintenance: false,
        }
    }

    /// The page as HTML.
    #[must_use]
    pub fn render(&self) -> String {
        let (banner_class, banner) = self.banner();
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta http-equiv="refresh" content=(REFRESH_SECONDS);
                    title { (self.title) }
                    link rel="stylesheet" href="/status.css";
                    link rel="alternate" type="application/atom+xml" title="Incidents" href="/incidents.atom";
                }
                body {
                    main {
                        h1 { (self.title) }
                        @if let Some(stale) = &self.stale {
                            p class="banner stale" role="alert" {
                                "Data stale since " (time(stale.since_ms)) ": the monitor cannot write its store ("
                                (stale.cause) "). What is shown is as of then; alerts are still sent."
                            }
                        }
                        @if !self.readable {
                            p class="none" { "The monitor's history cannot be read until its store works again." }
                        } @else {
                            p class={ "banner " (banner_class) } role="status" { (banner) }
                            @for (group, targets) in self.groups() {
                                @if let Some(group) = group {
                                    h2 { (group) }
                                }
                                @for target in targets {
                                    (target_card(target, self.now_ms))
                                }
                            }
                            h2 { "Incidents, last " (INCIDENT_DAYS) " days" }
                            (incident_table(&self.incidents, self.now_ms))
                        }
                        footer {
                            "Updated " (time(self.now_ms)) "; this page reloads every "
                            (REFRESH_SECONDS) " seconds. "
                            @if self.has_maintenance {
                                "Uptime figures leave maintenance windows out. "
                            }
                            a href="/incidents.atom" { "Incident feed (Atom)" } " · "
                            a href="/api/v1/status" { "JSON" } " · "
                            a href="/docs" { "API" }
                        }
                    }
                }
            }
        }
        .into_string()
    }

    /// The banner's class and words: all up, partial outage, major outage.
    fn banner(&self) -> (&'static str, &'static str) {
        if self.targets.iter().all(|t| t.state == State::Unknown) {
            return ("unknown", "Waiting for the first checks");
        }
        match Overall::of(self.targets.iter().map(TargetView::api_state)) {
            Overall::Up => ("up", "All systems operational"),
            Overall::Degraded => ("degraded", "Partial outage"),
            Overall::Down => ("down", "Major outage"),
        }
    }

    /// Targets under their group headings, groups in order of first appearance; ungrouped
    /// targets first, without a heading.
    fn groups(&self) -> Vec<(Option<&str>, Vec<&TargetView>)> {
        let mut groups: Vec<(Option<&str>, Vec<&TargetView>)> = Vec::new();
        for target in &self.targets {
            let group = target.group.as_deref();
            match groups.iter_mut().find(|(g, _)| *g == group) {
                Some((_, members)) => members.push(target),
                None => groups.push((group, vec![target])),
            }
        }
        groups.sort_by_key(|(group, _)| group.is_some());
        groups
    }
}

pub(super) fn target_card(target: &TargetView, now_ms: u64) -> Markup {
    let (state_class, state) = match target.api_state() {
        TargetState::Up => ("up", "Up"),
        TargetState::Down => ("down", "Down"),
        TargetState::Unknown => ("unknown", "Unknown"),
        TargetState::Maintenance => ("maintenance", "Maintenance"),
    };
    let windows = target.history.windows();
    html! {
        section class="target" aria-label=(target.name) {
            div class="head" {
                a class="name" href={ "/status/" (target.name) } { (target.name) }
                span class={ "state " (state_class) } { (state) }
                span class="uptime" {
                    @for (label, window) in ["24 h", "7 d", "30 d", "90 d"].iter().zip(windows) {
                        span { (label) " " b { (percent(window.uptime()).unwrap_or("\u{2013}".to_owned())) } } " "
                    }
                }
            }
            (day_bars(&target.history, &windows[3]))
            div class="axis" aria-hidden="true" { span { "90 days ago" } span { "today" } }
            @if let Some(window) = target.maintenance {
                p class="maintenance" { "Maintenance under way until " (time(window.end_ms)) "." }
            } @else if let Some(window) = target.next_maintenance {
                p class="maintenance" {
                    "Next maintenance: " (time(window.start_ms)) " to " (time(window.end_ms)) "."
                }
            }
            @if let Some(expires) = target.certificate_expires_ms {
                p class="certificate" {
                    "Certificate expires in " (crate::monitor::alerts::days_left(expires, now_ms))
                    " days, at " (time(expires)) "."
                }
            }
            div class="foot" {
                span { "Last check: " (target.last_check_ms.map_or("none yet".to_owned(), |at| ago(at, now_ms))) }
                (sparkline(&target.history.hours, Span::Day))
            }
            (locations(&target.locations))
        }
    }
}

/// Each location's last result and response time, and its warning, when the target is probed
/// from more than one place.
pub(super) fn locations(locations: &[LocationState]) -> Markup {
    if locations.len() < 2 {
        return html! {};
    }
    html! {
        ul class="locations" aria-label="Last result per location" {
            @for location in locations {
                @let vote = &location.vote;
                @let (class, text) = match vote.ok {
                    Some(true) => ("up", format!("up, {} ms", vote.response_time_ms)),
                    Some(false) => ("down", vote.error.clone().unwrap_or_else(|| "failed".to_owned())),
                    None => ("unknown", "no answer".to_owned()),
                };
                li class=(class) title=(vote.error.as_deref().unwrap_or("")) {
                    b { (vote.location) } " " (text)
                }
            }
        }
        @for location in locations.iter().filter(|l| l.warning) {
            p class="warning" role="note" {
                "Location warning: " b { (location.vote.location) } " has failed "
                (location.failures) " checks in a row ("
                (location.vote.error.as_deref().unwrap_or("failed"))
                "), while too few other locations agree to call it down."
            }
        }
    }
}

/// One bar per day for 90 days, coloured by that day's uptime; each bar's `<title>` gives the
/// date and the figure (shown on hover, read by screen readers), and the whole has a summary.
pub(super) fn day_bars(history: &History, total: &Aggregate) -> Markup {
    const WIDTH: u64 = 8;
    const STEP: u64 = 10;
    let below = history
        .days
        .iter()
        .filter(|(_, a)| a.uptime().is_some_and(|u| u < 0.99))
        .count();
    let summary = format!(
        "Uptime per day over 90 days: {} in all; {} days below 99%",
        percent(total.uptime()).unwrap_or("no data".to_owned()),
        below
    );
    let width = STEP * history.days.len() as u64;
    html! {
        svg class="bars" role="img" aria-label=(summary) viewBox={ "0 0 " (width) " 34" }
            preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg" {
            @for (index, (day, aggregate)) in history.days.iter().enumerate() {
                rect x=(index as u64 * STEP) width=(WIDTH) height="34" rx="1.5" class=(day_class(aggregate)) {
                    title { (date(*day * DAY_MS)) ": " (day_text(aggregate)) }
                }
            }
        }
    }
}

fn day_class(aggregate: &Aggregate) -> &'static str {
    match aggregate.uptime() {
        None => "none",
        Some(u) if u >= 0.999 => "ok",
        Some(u) if u >= 0.99 => "minor",
        Some(u) if u >= 0.95 => "major",
        Some(_) => "bad",
    }
}

fn day_text(aggregate: &Aggregate) -> String {
    match aggregate.uptime() {
        None => "no data".to_owned(),
        Some(uptime) => format!(
            "{} up, {} of {} checks failed",
            percent(Some(uptime)).unwrap_or_default(),
            aggregate.failures,
            aggregate.checks
        ),
    }
}

/// What a response-time line spans.
#[derive(Debug, Clone, Copy)]
pub(super) enum Span {
    /// 24 hourly means.
    Day,
    /// Daily means (the last 30 days).
    Month,
}

impl Span {
    /// The label, the span in words, and what one bucket is.
    fn words(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Day => ("24 h", "24 hours", "hour"),
            Self::Month => ("30 d", "30 days", "day"),
        }
    }
}

/// The mean response time per bucket (hour or day) as a line; buckets without probes leave a
/// gap. The summary (mean and worst bucket) is its text alternative.
pub(super) fn sparkline(hours: &[(u64, Aggregate)], span: Span) -> Markup {
    let (label, over, bucket) = span.words();
    let width = hours.len().saturating_sub(1) * 10;
    let means: Vec<Option<u64>> = hours
        .iter()
        .map(|(_, a)| a.mean_response_time_ms())
        .collect();
    let Some(max) = means.iter().flatten().copied().max() else {
        return html! { span { "Response time: no data in " (label) } };
    };
    let total = hours.iter().fold(Aggregate::default(), |mut t, (_, a)| {
        t.checks += a.checks;
        t.response_time_ms += a.response_time_ms;
        t
    });
    let mean = total.mean_response_time_ms().unwrap_or(0);
    let summary =
        format!("Response time over {over}: mean {mean} ms, slowest {bucket} {max} ms on average");
    // Runs of consecutive hours with data, each drawn as its own line.
    let mut runs: Vec<Vec<(usize, u64)>> = Vec::new();
    for (index, mean) in means.iter().enumerate() {
        match (mean, runs.last_mut()) {
            (Some(ms), Some(run)) if run.last().is_some_and(|(i, _)| *i + 1 == index) => {
                run.push((index, *ms));
            }
            (Some(ms), _) => runs.push(vec![(index, *ms)]),
            (None, _) => {}
        }
    }
    let scale = max.max(1) as f64;
    html! {
        span { (label) " response time, mean " (mean) " ms" }
        svg class="spark" role="img" aria-label=(summary) viewBox={ "0 0 " (width) " 40" } preserveAspectRatio="none"
            xmlns="http://www.w3.org/2000/svg" {
            @for run in &runs {
                @let points = run.iter().map(|(i, ms)| format!("{},{:.1}", i * 10, 38.0 - 36.0 * *ms as f64 / scale)).collect::<Vec<_>>().join(" ");
                @if let [(index, ms)] = run.as_slice() {
                    // A lone hour: a short dash, so it shows.
                    @let y = format!("{:.1}", 38.0 - 36.0 * *ms as f64 / scale);
                    polyline points={ ((index * 10).saturating_sub(3)) "," (y) " " ((index * 10 + 3).min(width)) "," (y) } {}
                } @else {
                    polyline points=(points) {}
                }
            }
        }
    }
}

pub(super) fn incident_table(incidents: &[Incident], now_ms: u64) -> Markup {
    html! {
        @if incidents.is_empty() {
            p class="none" { "No incidents in the last " (INCIDENT_DAYS) " days." }
        } @else {
            table {
                thead { tr { th { "Target" } th { "Started" } th { "Ended" } th { "Duration" } th { "Cause" } } }
                tbody {
                    @for incident in incidents {
                        tr id={ "incident-" (incident.id) } {
                            td data-label="Target" { (incident.target) }
                            td data-label="Started" { (time(incident.started_ms)) }
                            td data-label="Ended" {
                                @match incident.resolved_ms {
                                    Some(at) => (time(at)),
                                    None => span class="ongoing" { "ongoing" },
                                }
                            }
                            td data-label="Duration" { (duration(incident.duration_seconds(now_ms))) }
                            td data-label="Cause" class="cause" { (incident.cause) }
                        }
                    }
                }
            }
        }
    }
}

/// `2026-11-29 06:19 UTC`.
pub(super) fn time(ms: u64) -> String {
    let text = crate::clock::rfc3339_millis(crate::monitor::store::from_millis(ms));
    format!("{} {} UTC", &text[..10], &text[11..16])
}

/// `2026-11-29`.
fn date(ms: u64) -> String {
    crate::clock::rfc3339_millis(crate::monitor::store::from_millis(ms))[..10].to_owned()
}

/// `12 s ago`, `5 min ago`, or the time for anything older than a day.
pub(super) fn ago(at_ms: u64, now_ms: u64) -> String {
    let seconds = now_ms.saturating_sub(at_ms) / 1000;
    match seconds {
        0..60 => format!("{seconds} s ago"),
        60..3600 => format!("{} min ago", seconds / 60),
        3600..86_400 => format!("{} h ago", seconds / 3600),
        _ => time(at_ms),
    }
}

/// `1h 2m 3s`.
pub(super) fn duration(seconds: u64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(seconds)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_coloured_by_uptime_and_grey_without_data() {
        let day = |checks, failures| Aggregate {
            checks,
            failures,
            response_time_ms: 0,
        };
        assert_eq!(day_class(&day(0, 0)), "none");
        assert_eq!(day_class(&day(1000, 0)), "ok");
        assert_eq!(day_class(&day(1000, 1)), "ok");
        assert_eq!(day_class(&day(1000, 2)), "minor");
        assert_eq!(day_class(&day(100, 5)), "major");
        assert_eq!(day_class(&day(100, 6)), "bad");
    }

    #[test]
    fn stale_data_has_a_banner_with_since_when_and_why() {
        let stale = Stale {
            since_ms: 1_800_000_000_000,
            cause: "store: I/O error: No space left on device (os error 28)".to_owned(),
        };
        let page = Page {
            title: "Status".to_owned(),
            targets: Vec::new(),
            incidents: Vec::new(),
            now_ms: 1_800_000_060_000,
            stale: Some(stale),
            readable: false,
            has_maintenance: false,
        };
        let html = page.render();
        assert!(
            html.contains(
                "<p class=\"banner stale\" role=\"alert\">Data stale since 2027-01-15 08:00 UTC: \
                 the monitor cannot write its store (store: I/O error: No space left on device \
                 (os error 28)). What is shown is as of then; alerts are still sent.</p>"
            ),
            "{html}"
        );
        assert!(
            html.contains("cannot be read until its store works again"),
            "{html}"
        );
        assert!(
            !html.contains("Incidents, last"),
            "nothing read, nothing shown: {html}"
        );

        let fresh = Page {
            stale: None,
            readable: true,
            ..page
        };
        let html = fresh.render();
        assert!(!html.contains("stale"), "{html}");
        assert!(html.contains("Incidents, last 30 days"), "{html}");
    }

    #[test]
    fn ages_are_short_until_a_day() {
        assert_eq!(ago(0, 12_000), "12 s ago");
        assert_eq!(ago(0, 300_000), "5 min ago");
        assert_eq!(ago(0, 7_200_000), "2 h ago");
        assert_eq!(ago(0, 90_000_000), "1970-01-01 00:00 UTC");
    }

    /// 2026-12-06 18:30:00 UTC.
    const NOW: u64 = 1_796_581_800_000;

    /// The page at [`NOW`] of `db` (down, one location), then in group `production` `api` (up,
    /// two locations, one warning; certificate expiring in 10 days) and `web` (up; certificate in
    /// 20 days), and in `staging` `cache` (no result yet) and `legacy` (up; certificate expiring
    /// now, but `certificate_warning = "0s"`); incidents of `db` ended 31 and 29 days
    /// ago, and one open.
    fn read_page() -> Page {
        use crate::monitor::store::{Batch, Store, Vote};
        let dir = tempfile::tempdir().unwrap();
        let config = crate::monitor::config::parse(
            "[monitor]\ntitle = \"Status of things\"\n\
             [[target]]\nname = \"api\"\ngroup = \"production\"\nurl = \"https://127.0.0.1:1/\"\n\
             [[target]]\nname = \"db\"\nurl = \"http://127.0.0.1:2/\"\n\
             [[target]]\nname = \"web\"\ngroup = \"production\"\nurl = \"https://127.0.0.1:3/\"\n\
             [[target]]\nname = \"cache\"\ngroup = \"staging\"\nurl = \"http://127.0.0.1:4/\"\n\
             [[target]]\nname = \"legacy\"\ngroup = \"staging\"\nurl = \"https://127.0.0.1:5/\"\n\
             certificate_warning = \"0s\"\n",
            |_| None,
        )
        .unwrap();
        let location = |name: &str, ok: bool, warning: bool| LocationState {
            at_ms: NOW - 60_000,
            vote: Vote {
                location: name.to_owned(),
                ok: Some(ok),
                status_code: Some(if ok { 200 } else { 503 }),
                response_time_ms: 42,
                error: (!ok).then(|| "[STATUS] (503) == 200".to_owned()),
            },
            failures: if ok { 0 } else { 3 },
            warning,
        };
        let state = |state, expires_in_days: Option<u64>, locations| SavedState {
            state,
            certificate_expiry_s: expires_in_days.map(|days| NOW / 1000 + days * 86_400),
            locations,
            ..SavedState::default()
        };
        let incident = |id, resolved_ms: Option<u64>| Incident {
            id,
            target: "db".to_owned(),
            started_ms: resolved_ms.unwrap_or(NOW) - 600_000,
            resolved_ms,
            cause: format!("cause {id}"),
            reminders: Vec::new(),
        };
        let store = Store::open(dir.path()).unwrap();
        store
            .commit(&Batch {
                states: [
                    (
                        "api".to_owned(),
                        state(
                            State::Up,
                            Some(10),
                            vec![location("local", true, false), location("ams", false, true)],
                        ),
                    ),
                    (
                        "db".to_owned(),
                        state(State::Down, None, vec![location("local", false, false)]),
                    ),
                    ("web".to_owned(), state(State::Up, Some(20), Vec::new())),
                    // Expiring now, but its warnings are off.
                    ("legacy".to_owned(), state(State::Up, Some(0), Vec::new())),
                ]
                .into(),
                incidents: vec![
                    incident(1, Some(NOW - 31 * DAY_MS)),
                    incident(2, Some(NOW - 29 * DAY_MS)),
                    incident(3, None),
                ],
                ..Batch::default()
            })
            .unwrap();
        let monitoring = Monitoring::with(config, store);
        let at = crate::monitor::store::from_millis(NOW);
        Page::read(&monitoring, at).unwrap()
    }

    #[test]
    fn the_page_groups_targets_and_shows_the_last_30_days_incidents_and_warnings() {
        let page = read_page();
        let ids: Vec<_> = page.incidents.iter().map(|i| i.id).collect();
        assert_eq!(ids, [3, 2]);
        let expiring: Vec<_> = page
            .targets
            .iter()
            .map(|t| (t.name.as_str(), t.certificate_expires_ms))
            .collect();
        assert_eq!(
            expiring,
            [
                ("api", Some(NOW + 10 * DAY_MS)),
                ("db", None),
                ("web", None),
                ("cache", None),
                ("legacy", None)
            ]
        );
        let html = page.render();
        assert!(
            html.contains("<p class=\"banner degraded\" role=\"status\">Partial outage</p>"),
            "{html}"
        );
        // Ungrouped first, then the groups in order of first appearance.
        let at = |text: &str| html.find(text).unwrap_or_else(|| panic!("{text}: {html}"));
        assert!(at("aria-label=\"db\"") < at("<h2>production</h2>"));
        assert!(at("<h2>production</h2>") < at("aria-label=\"api\""));
        assert!(at("aria-label=\"api\"") < at("aria-label=\"web\""));
        assert!(at("aria-label=\"web\"") < at("<h2>staging</h2>"));
        assert!(at("<h2>staging</h2>") < at("aria-label=\"cache\""));
        assert_eq!(html.matches("<h2>production</h2>").count(), 1);
        assert_eq!(html.matches("Certificate expires in").count(), 1);
        assert!(
            html.contains("Certificate expires in 10 days, at 2026-12-16 18:30 UTC."),
            "{html}"
        );
        // Only api has two locations: one list, one warning.
        assert_eq!(html.matches("<ul class=\"locations\"").count(), 1);
        assert!(
            html.contains("Location warning: <b>ams</b> has failed 3 checks in a row"),
            "{html}"
        );
        assert!(html.contains("id=\"incident-2\""), "{html}");
        // Incident 2 lasted ten minutes; incident 3 has been open for ten.
        assert_eq!(
            html.matches("<td data-label=\"Duration\">10m</td>").count(),
            2,
            "{html}"
        );
        assert!(!html.contains("id=\"incident-1\""), "{html}");
        assert!(!html.contains("leave maintenance windows out"), "{html}");
    }

    #[test]
    fn a_page_of_targets_not_yet_checked_waits_for_them_and_one_of_all_down_is_a_major_outage() {
        let mut page = read_page();
        page.targets.retain(|t| t.name == "cache");
        assert!(page.render().contains(
            "<p class=\"banner unknown\" role=\"status\">Waiting for the first checks</p>"
        ));
        let mut page = read_page();
        page.targets.retain(|t| t.name == "db");
        assert!(
            page.render()
                .contains("<p class=\"banner down\" role=\"status\">Major outage</p>")
        );
        let mut page = read_page();
        page.targets.retain(|t| t.name == "api");
        assert!(
            page.render()
                .contains("<p class=\"banner up\" role=\"status\">All systems operational</p>")
        );
    }

    fn aggregate(checks: u64, failures: u64, response_time_ms: u64) -> Aggregate {
        Aggregate {
            checks,
            failures,
            response_time_ms,
        }
    }

    #[test]
    fn day_bars_count_the_days_below_99_percent() {
        let history = History {
            hours: Vec::new(),
            days: vec![
                (20_000, aggregate(100, 0, 0)),
                (20_001, aggregate(100, 1, 0)),
                (20_002, aggregate(10, 5, 0)),
                (20_003, aggregate(0, 0, 0)),
                (20_004, aggregate(100, 2, 0)),
                (20_005, aggregate(100, 100, 0)),
            ],
        };
        // Below 99 %: 50 %, 98 % and 0 %; not the day at exactly 99 %, nor the one without data.
        // (Percentages are cut, not rounded: 302 of 410 is 73.658 %.)
        let bars = day_bars(&history, &aggregate(410, 108, 0)).into_string();
        assert!(
            bars.starts_with(
                "<svg class=\"bars\" role=\"img\" aria-label=\"Uptime per day over 90 days: \
                 73.65% in all; 3 days below 99%\" viewBox=\"0 0 60 34\""
            ),
            "{bars}"
        );
        assert!(
            bars.contains(
                "<rect x=\"20\" width=\"8\" height=\"34\" rx=\"1.5\" class=\"bad\">\
                 <title>2024-10-06: 50.00% up, 5 of 10 checks failed</title></rect>"
            ),
            "{bars}"
        );
    }

    #[test]
    fn the_sparkline_draws_runs_of_hours_and_a_lone_hour_as_a_dash() {
        let hours = [
            (0, aggregate(1, 0, 100)),
            (1, aggregate(1, 0, 300)),
            (2, aggregate(0, 0, 0)),
            (3, aggregate(1, 0, 200)),
        ];
        let line = sparkline(&hours, Span::Day).into_string();
        assert_eq!(
            line,
            "<span>24 h response time, mean 200 ms</span><svg class=\"spark\" role=\"img\" \
             aria-label=\"Response time over 24 hours: mean 200 ms, slowest hour 300 ms on \
             average\" viewBox=\"0 0 30 40\" preserveAspectRatio=\"none\" \
             xmlns=\"http://www.w3.org/2000/svg\"><polyline points=\"0,26.0 10,2.0\">\
             </polyline><polyline points=\"27,14.0 30,14.0\"></polyline></svg>"
        );
        let month = sparkline(&hours[..1], Span::Month).into_string();
        assert!(
            month.starts_with("<span>30 d response time, mean 100 ms</span>"),
            "{month}"
        );
        assert!(month.contains("slowest day 100 ms"), "{month}");
        assert_eq!(
            sparkline(&hours[2..3], Span::Day).into_string(),
            "<span>Response time: no data in 24 h</span>"
        );
    }
}
