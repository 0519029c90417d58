//! `GET /incidents.atom`: the incident history as an Atom feed (RFC 4287), written with the
//! atom_syndication crate, so people can subscribe without an account.
//!
//! One entry per incident; its `updated` moves when the incident resolves, which is what makes
//! feed readers show it again. Ids and links sit under `[monitor] public_url` when it is set, else
//! under the address the request came to, and point at the incident's row on the status page.

use atom_syndication::{Entry, Feed, FixedDateTime, Link, Person, Text};

use crate::monitor::store::Incident;

/// The feed of `incidents` (newest first) for a monitor titled `title`, served at `base`
/// (`https://status.example.org`, no trailing slash); `now_ms` dates an empty feed and the
/// duration of open incidents.
#[must_use]
pub fn render(title: &str, base: &str, incidents: &[Incident], now_ms: u64) -> String {
    let entries: Vec<Entry> = incidents
        .iter()
        .map(|incident| entry(base, incident, now_ms))
        .collect();
    let updated = entries
        .iter()
        .map(|entry| entry.updated)
        .max()
        .unwrap_or_else(|| datetime(now_ms));
    let mut feed = Feed::default();
    feed.set_title(Text::plain(format!("{title}: incidents")));
    feed.set_id(format!("{base}/incidents.atom"));
    feed.set_updated(updated);
    feed.set_authors(vec![author(title)]);
    feed.set_links(vec![
        link(
            &format!("{base}/incidents.atom"),
            "self",
            "application/atom+xml",
        ),
        link(&format!("{base}/status"), "alternate", "text/html"),
    ]);
    feed.set_entries(entries);
    feed.to_string()
}

fn entry(base: &str, incident: &Incident, now_ms: u64) -> Entry {
    let started = crate::monitor::alerts::rfc3339(incident.started_ms);
    let duration = humantime::format_duration(std::time::Duration::from_secs(
        incident.duration_seconds(now_ms),
    ));
    let (title, summary) = match incident.resolved_ms {
        None => (
            format!("{} is down", incident.target),
            format!(
                "{} has been down since {started} ({duration} so far). Cause: {}",
                incident.target, incident.cause
            ),
        ),
        Some(resolved) => (
            format!("{} was down for {duration}", incident.target),
            format!(
                "{} was down from {started} to {}. Cause: {}",
                incident.target,
                crate::monitor::alerts::rfc3339(resolved),
                incident.cause
            ),
        ),
    };
    let page = format!("{base}/status#incident-{}", incident.id);
    let mut entry = Entry::default();
    entry.set_id(page.clone());
    entry.set_title(Text::plain(title));
    entry.set_published(Some(datetime(incident.started_ms)));
    entry.set_updated(datetime(
        incident.resolved_ms.unwrap_or(incident.started_ms),
    ));
    entry.set_summary(Some(Text::plain(summary)));
    entry.set_links(vec![link(&page, "alternate", "text/html")]);
    entry
}

fn link(href: &str, rel: &str, mime_type: &str) -> Link {
    let mut link = Link::default();
    link.set_href(href);
    link.set_rel(rel);
    link.set_mime_type(Some(mime_type.to_owned()));
    link
}

fn author(name: &str) -> Person {
    Person {
        name: name.to_owned(),
        ..Person::default()
    }
}

fn datetime(ms: u64) -> FixedDateTime {
    chrono::DateTime::from_timestamp_millis(i64::try_from(ms).unwrap_or(i64::MAX))
        .unwrap_or_default()
        .fixed_offset()
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    /// 2026-12-06 18:30:00 UTC.
    const AT: u64 = 1_796_581_800_000;

    fn incident(id: u64, target: &str, started_ms: u64, resolved_ms: Option<u64>) -> Incident {
        Incident {
            id,
            target: target.to_owned(),
            started_ms,
            resolved_ms,
            cause: "connection refused".to_owned(),
            reminders: Vec::new(),
        }
    }

    #[test]
    fn each_incident_is_an_entry_updated_when_it_resolves() {
        let incidents = [
            incident(2, "db", AT, None),
            incident(1, "api", AT - 7_200_000, Some(AT - 6_900_000)),
        ];
        let now = AT + 600_000;
        let text = render(
            "Status of things",
            "https://status.example.org",
            &incidents,
            now,
        );
        let feed = Feed::from_str(&text).unwrap();
        assert_eq!(feed.title().as_str(), "Status of things: incidents");
        assert_eq!(feed.id(), "https://status.example.org/incidents.atom");
        assert_eq!(feed.updated(), &datetime(AT));
        assert_eq!(feed.authors()[0].name(), "Status of things");
        let links: Vec<_> = feed
            .links()
            .iter()
            .map(|l| (l.href(), l.rel(), l.mime_type()))
            .collect();
        assert_eq!(
            links,
            [
                (
                    "https://status.example.org/incidents.atom",
                    "self",
                    Some("application/atom+xml")
                ),
                (
                    "https://status.example.org/status",
                    "alternate",
                    Some("text/html")
                ),
            ]
        );
        let entries: Vec<_> = feed
            .entries()
            .iter()
            .map(|e| {
                (
                    e.id(),
                    e.title().as_str(),
                    e.summary().map(Text::as_str),
                    e.published().copied(),
                    *e.updated(),
                    e.links()[0].href(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            [
                (
                    "https://status.example.org/status#incident-2",
                    "db is down",
                    Some(
                        "db has been down since 2026-12-06T18:30:00.000Z (10m so far). \
                         Cause: connection refused"
                    ),
                    Some(datetime(AT)),
                    datetime(AT),
                    "https://status.example.org/status#incident-2",
                ),
                (
                    "https://status.example.org/status#incident-1",
                    "api was down for 5m",
                    Some(
                        "api was down from 2026-12-06T16:30:00.000Z to \
                         2026-12-06T16:35:00.000Z. Cause: connection refused"
                    ),
                    Some(datetime(AT - 7_200_000)),
                    datetime(AT - 6_900_000),
                    "https://status.example.org/status#incident-1",
                ),
            ]
        );
    }

    #[test]
    fn a_feed_without_incidents_is_dated_now() {
        let text = render("Status", "http://localhost", &[], AT);
        let feed = Feed::from_str(&text).unwrap();
        assert!(feed.entries().is_empty());
        assert_eq!(feed.updated().to_rfc3339(), "2026-12-06T18:30:00+00:00");
    }
}
