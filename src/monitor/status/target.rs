//! `GET /status/{name}`: one target's page, rendered on the server with maud like `/status`
//! and under the same CSP: its state per location, 90 days as a larger chart, response times
//! over 24 hours and 30 days, its last 100 results with their reasons, every incident of it, and
//! its badges with Markdown to copy.

use std::time::SystemTime;

use maud::{DOCTYPE, Markup, html};

use super::page::{self, Span, TargetView};
use crate::monitor::api::Monitoring;
use crate::monitor::config::Target;
use crate::monitor::store::{Incident, ResultRecord, StoreError, millis};

/// Results listed on the page.
pub const RESULTS: usize = 100;
/// Days of the response-time line.
const MONTH_DAYS: usize = 30;

/// Everything one target's page shows, read at one moment.
#[derive(Debug, Clone)]
pub struct TargetPage {
    /// `[monitor] title`.
    pub title: String,
    /// The target as `/status` shows it.
    pub view: TargetView,
    /// Its last [`RESULTS`] results, newest first.
    pub results: Vec<ResultRecord>,
    /// Every incident of the target in the store, newest first.
    pub incidents: Vec<Incident>,
    /// Where the monitor is reached, for the badges' Markdown.
    pub base: String,
    /// When it was read, ms since the epoch.
    pub now_ms: u64,
}

impl TargetPage {
    /// Reads `target`'s page from `monitoring`'s store at `now`.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub fn read(
        monitoring: &Monitoring,
        target: &Target,
        base: String,
        now: SystemTime,
    ) -> Result<Self, StoreError> {
        let store = &monitoring.store;
        let state = store.state(&target.name)?;
        let view = TargetView::read(monitoring, target, state.as_ref(), now)?;
        let results = store.results(&target.name, None, RESULTS)?;
        let incidents = store
            .incidents(usize::MAX)?
            .into_iter()
            .filter(|i| i.target == target.name)
            .collect();
        Ok(Self {
            title: monitoring.config.title.clone(),
            view,
            results,
            incidents,
            base,
            now_ms: millis(now),
        })
    }

    /// The page as HTML.
    #[must_use]
    pub fn render(&self) -> String {
        let name = &self.view.name;
        let days = &self.view.history.days;
        let month = &days[days.len().saturating_sub(MONTH_DAYS)..];
        let badges = [
            ("status", format!("{}/badges/{name}/status.svg", self.base)),
            (
                "uptime",
                format!("{}/badges/{name}/uptime.svg?window=30d", self.base),
            ),
            (
                "response time",
                format!("{}/badges/{name}/response-time.svg", self.base),
            ),
        ];
        let content = html! {
            p { a href="/status" { "\u{2190} " (self.title) } }
            h1 { (name) }
            div class="detail" { (page::target_card(&self.view, self.now_ms)) }
            h2 { "Each location" }
            (locations(&self.view, self.now_ms))
            h2 { "Response time" }
            p class="foot" { (page::sparkline(&self.view.history.hours, Span::Day)) }
            p class="foot" { (page::sparkline(month, Span::Month)) }
            h2 { "Last " (RESULTS) " results" }
            (results(&self.results))
            h2 { "Incidents" }
            @if self.incidents.is_empty() {
                p class="none" { "No incidents." }
            } @else {
                (page::incident_table(&self.incidents, self.now_ms))
            }
            h2 { "Badges" }
            @for (label, url) in &badges {
                p class="badge" {
                    img alt={ (name) " " (label) } src=(url.strip_prefix(&self.base).unwrap_or(url));
                    code { "![" (name) " " (label) "](" (url) ")" }
                }
            }
        };
        document(&format!("{name} \u{b7} {}", self.title), &content)
    }
}

/// The page for a name that is no target, in the status page's look.
#[must_use]
pub fn not_found(title: &str, name: &str) -> String {
    let content = html! {
        p { a href="/status" { "\u{2190} " (title) } }
        h1 { "No such target" }
        p class="none" { "No target is named \u{201c}" (name) "\u{201d}. The status page lists every one." }
    };
    document(&format!("Not found \u{b7} {title}"), &content)
}

/// A whole document around `content`, with the status page's head and stylesheet.
fn document(title: &str, content: &Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="refresh" content=(page::REFRESH_SECONDS);
                title { (title) }
                link rel="stylesheet" href="/status.css";
            }
            body { main { (content) } }
        }
    }
    .into_string()
}

/// Each location's last vote, even when there is one.
fn locations(view: &TargetView, now_ms: u64) -> Markup {
    html! {
        @if view.locations.is_empty() {
            p class="none" { "No result yet." }
        } @else {
            table {
                thead { tr { th { "Location" } th { "State" } th { "Status" } th { "Response time" } th { "When" } th { "Reason" } } }
                tbody {
                    @for location in &view.locations {
                        @let vote = &location.vote;
                        tr {
                            td data-label="Location" { (vote.location) }
                            td data-label="State" { (verdict(vote.ok)) }
                            td data-label="Status" { (vote.status_code.map_or("\u{2013}".to_owned(), |c| c.to_string())) }
                            td data-label="Response time" { (vote.response_time_ms) " ms" }
                            td data-label="When" { (page::ago(location.at_ms, now_ms)) }
                            td data-label="Reason" class="cause" { (vote.error.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    }
}

/// The results, newest first: the round's verdict, its status and time, and why it failed.
fn results(results: &[ResultRecord]) -> Markup {
    html! {
        @if results.is_empty() {
            p class="none" { "No result yet." }
        } @else {
            table {
                thead { tr { th { "Time" } th { "Result" } th { "Status" } th { "Response time" } th { "Reason" } } }
                tbody {
                    @for result in results {
                        tr {
                            td data-label="Time" { (seconds(result.at_ms)) }
                            td data-label="Result" { (verdict(Some(result.ok))) }
                            td data-label="Status" { (result.status_code.map_or("\u{2013}".to_owned(), |c| c.to_string())) }
                            td data-label="Response time" { (result.response_time_ms) " ms" }
                            td data-label="Reason" class="cause" { (result.error.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    }
}

/// `2026-11-29 06:19:07 UTC`: results come seconds apart.
fn seconds(ms: u64) -> String {
    let text = crate::clock::rfc3339_millis(crate::monitor::store::from_millis(ms));
    format!("{} {} UTC", &text[..10], &text[11..19])
}

fn verdict(ok: Option<bool>) -> Markup {
    html! {
        @match ok {
            Some(true) => span class="state up" { "Up" },
            Some(false) => span class="state down" { "Down" },
            None => span class="state unknown" { "No answer" },
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::monitor::store::{
        Batch, LocationState, State, Store, TargetState, Vote, from_millis,
    };

    /// 2026-12-06 18:30:00.125 UTC.
    const AT: u64 = 1_796_581_800_125;

    /// `api`'s page, read a minute after its two results (200 in 40 ms, then a 503), with two
    /// locations (one that voted down, one that cast no vote) and one incident; `web` has an
    /// incident of its own.
    fn page() -> TargetPage {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::monitor::config::parse(
            "[monitor]\ntitle = \"Status of things\"\n\
             [[target]]\nname = \"api\"\nurl = \"http://127.0.0.1:1/\"\n\
             [[target]]\nname = \"web\"\nurl = \"http://127.0.0.1:2/\"\n",
            |_| None,
        )
        .unwrap();
        let result = |at_ms, status: u16, error: Option<&str>| ResultRecord {
            at_ms,
            ok: error.is_none(),
            status_code: Some(status),
            response_time_ms: 40,
            error: error.map(str::to_owned),
            votes: Vec::new(),
        };
        let vote = |location: &str, ok, error: &str| LocationState {
            at_ms: AT + 1_000,
            vote: Vote {
                location: location.to_owned(),
                ok,
                status_code: ok.map(|_| 503),
                response_time_ms: 61,
                error: Some(error.to_owned()),
            },
            failures: 1,
            warning: false,
        };
        let incident = |id, target: &str, cause: &str| Incident {
            id,
            target: target.to_owned(),
            started_ms: AT + 1_000,
            resolved_ms: None,
            cause: cause.to_owned(),
            reminders: Vec::new(),
        };
        let state = TargetState {
            state: State::Down,
            locations: vec![
                vote("here", Some(false), "status 503 here"),
                vote("eu", None, "the agent did not answer"),
            ],
            ..TargetState::default()
        };
        let store = Store::open(dir.path()).unwrap();
        store
            .commit(&Batch {
                results: vec![
                    ("api".to_owned(), result(AT, 200, None)),
                    (
                        "api".to_owned(),
                        result(AT + 1_000, 503, Some("status 503 is not 200..399")),
                    ),
                ],
                states: [("api".to_owned(), state)].into(),
                incidents: vec![
                    incident(1, "api", "cause of api"),
                    incident(2, "web", "cause of web"),
                ],
                ..Batch::default()
            })
            .unwrap();
        let monitoring = Monitoring::with(config, store);
        let target = monitoring.config.targets[0].clone();
        let base = "https://status.example.org".to_owned();
        TargetPage::read(&monitoring, &target, base, from_millis(AT + 61_000)).unwrap()
    }

    #[test]
    fn the_page_shows_the_targets_results_locations_and_incidents_only() {
        let page = page();
        let ids: Vec<u64> = page.incidents.iter().map(|i| i.id).collect();
        assert_eq!(ids, [1], "web's incident is not api's");
        let html = page.render();
        for part in [
            "<title>api \u{b7} Status of things</title>",
            "<link rel=\"stylesheet\" href=\"/status.css\">",
            "<h1>api</h1>",
            // Newest first, each with its verdict, status, time and reason.
            "<tr><td data-label=\"Time\">2026-12-06 18:30:01 UTC</td>\
             <td data-label=\"Result\"><span class=\"state down\">Down</span></td>\
             <td data-label=\"Status\">503</td><td data-label=\"Response time\">40 ms</td>\
             <td data-label=\"Reason\" class=\"cause\">status 503 is not 200..399</td></tr>\
             <tr><td data-label=\"Time\">2026-12-06 18:30:00 UTC</td>\
             <td data-label=\"Result\"><span class=\"state up\">Up</span></td>",
            "<td data-label=\"Location\">here</td>\
             <td data-label=\"State\"><span class=\"state down\">Down</span></td>\
             <td data-label=\"Status\">503</td><td data-label=\"Response time\">61 ms</td>\
             <td data-label=\"When\">1 min ago</td>",
            "<td data-label=\"Location\">eu</td>\
             <td data-label=\"State\"><span class=\"state unknown\">No answer</span></td>\
             <td data-label=\"Status\">\u{2013}</td>",
            "cause of api",
            "<code>![api status](https://status.example.org/badges/api/status.svg)</code>",
            "src=\"/badges/api/uptime.svg?window=30d\"",
        ] {
            assert!(html.contains(part), "{part}\nnot in\n{html}");
        }
        assert!(!html.contains("cause of web"), "{html}");
    }

    #[test]
    fn a_name_that_is_no_target_gets_a_page_that_says_so() {
        let html = not_found("Status of things", "ghost");
        for part in [
            "<!DOCTYPE html>",
            "<title>Not found \u{b7} Status of things</title>",
            "<h1>No such target</h1>",
            "No target is named \u{201c}ghost\u{201d}.",
        ] {
            assert!(html.contains(part), "{part}\nnot in\n{html}");
        }
    }
}
