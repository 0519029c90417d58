//! Planned work: `[[maintenance]]` windows, during which failures open no incident and send
//! nothing, and results stay out of the uptime figures.
//!
//! Recurring windows take Gatus's keys (`start` as "hh:mm", `duration` up to 24 hours,
//! `timezone` as an IANA name, `every` as weekday names, none meaning every day); one-off
//! windows have `from` and `until` (RFC 3339). A recurring window's start is local time in its
//! zone, with the zone's own rules (jiff and the IANA database compiled into the binary, since
//! the image has no zoneinfo), so "02:00 Europe/Berlin" follows daylight saving; its length is
//! elapsed time, so a window across a clock change lasts what it says.

use std::time::Duration;

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::Deserialize;

use super::config::Problem;

/// Longest recurring window, as Gatus allows.
const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);
/// Gatus's day names, Sunday first as Go's `time.Weekday`.
const DAY_NAMES: [(&str, Weekday); 7] = [
    ("Sunday", Weekday::Sunday),
    ("Monday", Weekday::Monday),
    ("Tuesday", Weekday::Tuesday),
    ("Wednesday", Weekday::Wednesday),
    ("Thursday", Weekday::Thursday),
    ("Friday", Weekday::Friday),
    ("Saturday", Weekday::Saturday),
];
/// The keys of `[[maintenance]]`.
pub const KEYS: &[&str] = &[
    "start", "duration", "timezone", "every", "from", "until", "targets", "enabled",
];

/// Every window of the config.
#[derive(Debug, Clone, Default)]
pub struct Maintenance {
    /// In the file's order; disabled ones are left out.
    pub windows: Vec<Window>,
}

/// One `[[maintenance]]` entry.
#[derive(Debug, Clone)]
pub struct Window {
    /// When it applies.
    pub when: When,
    /// The targets it silences; `None` means every target.
    pub targets: Option<Vec<String>>,
}

/// A recurring or one-off period.
#[derive(Debug, Clone)]
pub enum When {
    /// From `start` local time, for `duration`, on the listed weekdays (all when empty).
    Recurring {
        /// Local time of day at which it starts.
        start: Time,
        /// How long it lasts (elapsed time).
        duration: Duration,
        /// The zone `start` and `every` are read in.
        timezone: TimeZone,
        /// The weekdays it starts on; empty is every day.
        every: Vec<Weekday>,
    },
    /// Once, from `from` until `until`.
    Once {
        /// Start, inclusive.
        from: Timestamp,
        /// End, exclusive.
        until: Timestamp,
    },
}

/// A period from `start_ms` (inclusive) to `end_ms` (exclusive), ms since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// When it starts.
    pub start_ms: u64,
    /// When it ends.
    pub end_ms: u64,
}

impl Period {
    /// Whether `at_ms` is inside it.
    #[must_use]
    pub fn contains(&self, at_ms: u64) -> bool {
        self.start_ms <= at_ms && at_ms < self.end_ms
    }
}

impl Window {
    /// Whether this window is about `target`.
    #[must_use]
    pub fn covers(&self, target: &str) -> bool {
        self.targets
            .as_ref()
            .is_none_or(|targets| targets.iter().any(|t| t == target))
    }

    /// The first occurrence that has not ended at `at_ms`: the one under way, else the next;
    /// `None` when there is no other (a one-off window in the past).
    #[must_use]
    pub fn occurrence(&self, at_ms: u64) -> Option<Period> {
        match &self.when {
            When::Once { from, until } => {
                let period = Period {
                    start_ms: ms(*from),
                    end_ms: ms(*until),
                };
                (period.end_ms > at_ms).then_some(period)
            }
            When::Recurring {
                start,
                duration,
                timezone,
                every,
            } => {
                let at = Timestamp::from_millisecond(i64::try_from(at_ms).ok()?).ok()?;
                let today = at.to_zoned(timezone.clone()).date();
                let length = u64::try_from(duration.as_millis()).ok()?;
                // Yesterday's may still be under way (at most 24 h long); a week ahead holds
                // the next one of any weekday.
                (-1..=7).find_map(|offset: i64| {
                    let day = today.checked_add(offset.days()).ok()?;
                    if !every.is_empty() && !every.contains(&day.weekday()) {
                        return None;
                    }
                    // A start in a gap (spring forward) moves later, one in a fold (fall back)
                    // is the first of the two: jiff's "compatible", as Go and Gatus do.
                    let begins = day.to_datetime(*start).to_zoned(timezone.clone()).ok()?;
                    let start_ms = ms(begins.timestamp());
                    let period = Period {
                        start_ms,
                        end_ms: start_ms + length,
                    };
                    (period.end_ms > at_ms).then_some(period)
                })
            }
        }
    }
}

impl Maintenance {
    /// Whether `target` is under maintenance at `at_ms`.
    #[must_use]
    pub fn active(&self, target: &str, at_ms: u64) -> bool {
        self.ongoing(target, at_ms).is_some()
    }

    /// The window under way for `target` at `at_ms`, the one ending last if several are.
    #[must_use]
    pub fn ongoing(&self, target: &str, at_ms: u64) -> Option<Period> {
        self.occurrences(target, at_ms)
            .filter(|p| p.contains(at_ms))
            .max_by_key(|p| p.end_ms)
    }

    /// The next window for `target` that starts after `at_ms`.
    #[must_use]
    pub fn next(&self, target: &str, at_ms: u64) -> Option<Period> {
        self.windows
            .iter()
            .filter(|w| w.covers(target))
            .filter_map(|w| {
                // Past the ongoing one, if this window is under way.
                let first = w.occurrence(at_ms)?;
                if first.start_ms > at_ms {
                    Some(first)
                } else {
                    w.occurrence(first.end_ms)
                        .filter(|next| next.start_ms > at_ms)
                }
            })
            .min_by_key(|p| p.start_ms)
    }

    fn occurrences<'a>(&'a self, target: &'a str, at_ms: u64) -> impl Iterator<Item = Period> + 'a {
        self.windows
            .iter()
            .filter(move |w| w.covers(target))
            .filter_map(move |w| w.occurrence(at_ms))
    }
}

/// `[[maintenance]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    start: Option<String>,
    duration: Option<String>,
    timezone: Option<String>,
    #[serde(default)]
    every: Vec<String>,
    from: Option<String>,
    until: Option<String>,
    targets: Option<Vec<String>>,
    enabled: Option<bool>,
}

/// Checks one `[[maintenance]]` entry at `place` against the target `names`; `None` when it
/// has a problem (each one added to `problems`) or is disabled.
pub fn check(
    place: &str,
    raw: RawWindow,
    names: &std::collections::HashSet<String>,
    problems: &mut Vec<Problem>,
) -> Option<Window> {
    let before = problems.len();
    let mut report = |key: &str, message: String| {
        problems.push(Problem {
            place: format!("{place}: {key}"),
            message,
        });
    };
    if let Some(targets) = &raw.targets {
        if targets.is_empty() {
            report(
                "targets",
                "is empty; leave it out to cover every target".to_owned(),
            );
        }
        for name in targets.iter().filter(|name| !names.contains(*name)) {
            report(
                "targets",
                format!("{name:?} is not the name of a [[target]]"),
            );
        }
    }
    let recurring = raw.start.is_some()
        || raw.duration.is_some()
        || raw.timezone.is_some()
        || !raw.every.is_empty();
    let once = raw.from.is_some() || raw.until.is_some();
    let when = match (recurring, once) {
        (true, true) => {
            report(
                "from",
                "a window is either recurring (start, duration, timezone, every) or one-off \
                 (from, until), not both"
                    .to_owned(),
            );
            None
        }
        (false, false) => {
            report(
                "start",
                "missing; expected start and duration (recurring), or from and until (one-off)"
                    .to_owned(),
            );
            None
        }
        (true, false) => check_recurring(&raw, &mut report),
        (false, true) => check_once(&raw, &mut report),
    };
    if problems.len() > before || raw.enabled == Some(false) {
        return None;
    }
    Some(Window {
        when: when?,
        targets: raw.targets,
    })
}

fn check_recurring(raw: &RawWindow, report: &mut impl FnMut(&str, String)) -> Option<When> {
    let start = match raw.start.as_deref() {
        Some(text) => {
            let parsed = parse_hhmm(text);
            if parsed.is_none() {
                report(
                    "start",
                    format!("{text:?} is not a time of day hh:mm from 00:00 to 23:59"),
                );
            }
            parsed
        }
        None => {
            report(
                "start",
                "missing; a recurring window needs start (hh:mm)".to_owned(),
            );
            None
        }
    };
    let duration = match raw.duration.as_deref() {
        Some(text) => match humantime::parse_duration(text) {
            Ok(d) if !d.is_zero() && d <= MAX_DURATION => Some(d),
            _ => {
                report(
                    "duration",
                    format!(
                        "{text:?} is not a duration above 0s and at most 24h, such as 30m or 2h"
                    ),
                );
                None
            }
        },
        None => {
            report(
                "duration",
                "missing; a recurring window needs a duration such as 2h".to_owned(),
            );
            None
        }
    };
    let timezone = match raw.timezone.as_deref() {
        None | Some("") => Some(TimeZone::UTC),
        Some(name) => {
            let zone = TimeZone::get(name).ok();
            if zone.is_none() {
                report(
                    "timezone",
                    format!("{name:?} is not an IANA time zone name such as Europe/Berlin or UTC"),
                );
            }
            zone
        }
    };
    let mut every = Vec::new();
    for name in &raw.every {
        match DAY_NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some((_, day)) => every.push(*day),
            None => report(
                "every",
                format!(
                    "{name:?} is not a weekday; expected {}",
                    DAY_NAMES.map(|(n, _)| n).join(", ")
                ),
            ),
        }
    }
    Some(When::Recurring {
        start: start?,
        duration: duration?,
        timezone: timezone?,
        every,
    })
}

fn check_once(raw: &RawWindow, report: &mut impl FnMut(&str, String)) -> Option<When> {
    let mut time = |key: &str, value: Option<&str>| match value {
        Some(text) => {
            let parsed = text.parse::<Timestamp>().ok();
            if parsed.is_none() {
                report(
                    key,
                    format!("{text:?} is not an RFC 3339 time such as 2026-12-24T22:00:00Z"),
                );
            }
            parsed
        }
        None => {
            report(
                key,
                "missing; a one-off window needs from and until (RFC 3339)".to_owned(),
            );
            None
        }
    };
    let from = time("from", raw.from.as_deref());
    let until = time("until", raw.until.as_deref());
    if let (Some(from), Some(until)) = (from, until)
        && until <= from
    {
        report("until", format!("{until} is not after from ({from})"));
        return None;
    }
    Some(When::Once {
        from: from?,
        until: until?,
    })
}

/// "hh:mm", 00:00 to 23:59, two digits each.
fn parse_hhmm(text: &str) -> Option<Time> {
    let (hours, minutes) = text.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let hours: i8 = hours.parse().ok()?;
    let minutes: i8 = minutes.parse().ok()?;
    Time::new(hours, minutes, 0, 0).ok()
}

/// ms since the epoch (0 before it).
fn ms(at: Timestamp) -> u64 {
    u64::try_from(at.as_millisecond()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::config;

    /// The windows of `entries` (TOML `[[maintenance]]` tables) over targets a and b.
    fn maintenance(entries: &str) -> Maintenance {
        let text = format!(
            "[[target]]\nname = \"a\"\nurl = \"http://127.0.0.1/\"\n\
             [[target]]\nname = \"b\"\nurl = \"http://127.0.0.1/\"\n{entries}"
        );
        config::parse(&text, |_| None).unwrap().maintenance
    }

    fn at(rfc3339: &str) -> u64 {
        ms(rfc3339.parse().unwrap())
    }

    fn period(from: &str, until: &str) -> Period {
        Period {
            start_ms: at(from),
            end_ms: at(until),
        }
    }

    #[test]
    fn a_daily_utc_window_is_active_from_its_start_until_its_end() {
        let m = maintenance("[[maintenance]]\nstart = \"23:00\"\nduration = \"2h\"");
        assert!(!m.active("a", at("2026-12-06T22:59:59Z")));
        assert!(m.active("a", at("2026-12-06T23:00:00Z")));
        // Past midnight, in the window that began the day before.
        assert!(m.active("b", at("2026-12-07T00:59:59Z")));
        assert!(!m.active("a", at("2026-12-07T01:00:00Z")));
        assert_eq!(
            m.ongoing("a", at("2026-12-07T00:30:00Z")),
            Some(period("2026-12-06T23:00:00Z", "2026-12-07T01:00:00Z"))
        );
        assert_eq!(
            m.next("a", at("2026-12-07T00:30:00Z")),
            Some(period("2026-12-07T23:00:00Z", "2026-12-08T01:00:00Z"))
        );
        // At the very start of one, that one is under way, not next.
        assert_eq!(
            m.next("a", at("2026-12-06T23:00:00Z")),
            Some(period("2026-12-07T23:00:00Z", "2026-12-08T01:00:00Z"))
        );
        // At the very end of one, it is over and the next is tomorrow's.
        assert_eq!(m.ongoing("a", at("2026-12-07T01:00:00Z")), None);
        assert_eq!(
            m.next("a", at("2026-12-07T01:00:00Z")),
            Some(period("2026-12-07T23:00:00Z", "2026-12-08T01:00:00Z"))
        );
    }

    #[test]
    fn a_window_in_a_time_zone_follows_its_local_time_and_weekdays() {
        // 22:00 in New York on Fridays: 03:00 UTC on Saturday in winter (EST, -05:00), 02:00 UTC
        // in summer (EDT, -04:00).
        let m = maintenance(
            "[[maintenance]]\nstart = \"22:00\"\nduration = \"1h\"\n\
             timezone = \"America/New_York\"\nevery = [\"Friday\"]",
        );
        // 2026-12-04 is a Friday.
        assert_eq!(
            m.next("a", at("2026-12-01T00:00:00Z")),
            Some(period("2026-12-05T03:00:00Z", "2026-12-05T04:00:00Z"))
        );
        assert!(m.active("a", at("2026-12-05T03:30:00Z")));
        assert!(!m.active("a", at("2026-12-06T03:30:00Z")), "a Saturday");
        assert_eq!(
            m.next("a", at("2026-07-01T00:00:00Z")),
            Some(period("2026-07-04T02:00:00Z", "2026-07-04T03:00:00Z"))
        );
        // Tokyo has no daylight saving: 09:00 JST is 00:00 UTC all year.
        let tokyo = maintenance(
            "[[maintenance]]\nstart = \"09:00\"\nduration = \"30m\"\ntimezone = \"Asia/Tokyo\"",
        );
        assert!(tokyo.active("a", at("2026-07-01T00:29:59Z")));
        assert!(tokyo.active("a", at("2026-12-01T00:00:00Z")));
        assert!(!tokyo.active("a", at("2026-12-01T00:30:00Z")));
    }

    #[test]
    fn windows_across_a_daylight_saving_change_keep_local_starts_and_elapsed_lengths() {
        // Berlin springs forward on 2026-03-29 at 02:00 CET to 03:00 CEST.
        let m = maintenance(
            "[[maintenance]]\nstart = \"01:00\"\nduration = \"3h\"\ntimezone = \"Europe/Berlin\"",
        );
        // The day before: 01:00 CET is 00:00 UTC.
        assert_eq!(
            m.ongoing("a", at("2026-03-28T01:00:00Z")),
            Some(period("2026-03-28T00:00:00Z", "2026-03-28T03:00:00Z"))
        );
        // That day: still 01:00 CET, and three hours of elapsed time end at 05:00 CEST.
        assert_eq!(
            m.ongoing("a", at("2026-03-29T02:00:00Z")),
            Some(period("2026-03-29T00:00:00Z", "2026-03-29T03:00:00Z"))
        );
        // The day after: 01:00 CEST is 23:00 UTC the evening before.
        assert_eq!(
            m.next("a", at("2026-03-29T12:00:00Z")),
            Some(period("2026-03-29T23:00:00Z", "2026-03-30T02:00:00Z"))
        );
        // A start inside the skipped hour moves past it: 02:30 does not exist that day and
        // becomes 03:30 CEST (01:30 UTC).
        let gap = maintenance(
            "[[maintenance]]\nstart = \"02:30\"\nduration = \"1h\"\ntimezone = \"Europe/Berlin\"",
        );
        assert_eq!(
            gap.next("a", at("2026-03-29T00:00:00Z")),
            Some(period("2026-03-29T01:30:00Z", "2026-03-29T02:30:00Z"))
        );
        // Falling back on 2026-10-25, 02:30 happens twice; the window starts at the first.
        assert_eq!(
            gap.next("a", at("2026-10-25T00:00:00Z")),
            Some(period("2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"))
        );
    }

    #[test]
    fn one_off_windows_and_targets() {
        let m = maintenance(
            "[[maintenance]]\nfrom = \"2026-12-24T20:00:00+01:00\"\n\
             until = \"2026-12-24T23:00:00+01:00\"\ntargets = [\"b\"]",
        );
        assert!(
            !m.active("a", at("2026-12-24T20:00:00Z")),
            "a is not covered"
        );
        assert!(m.active("b", at("2026-12-24T19:00:00Z")));
        assert!(
            !m.active("b", at("2026-12-24T22:00:00Z")),
            "until is exclusive"
        );
        assert_eq!(
            m.next("b", at("2026-12-01T00:00:00Z")),
            Some(period("2026-12-24T19:00:00Z", "2026-12-24T22:00:00Z"))
        );
        assert_eq!(m.next("b", at("2026-12-24T20:00:00Z")), None, "no other");
        assert_eq!(m.ongoing("b", at("2027-01-01T00:00:00Z")), None);
    }

    #[test]
    fn next_skips_the_window_under_way() {
        let m = maintenance(
            "[[maintenance]]\nstart = \"10:00\"\nduration = \"1h\"\nevery = [\"monday\", \"Thursday\"]",
        );
        // Monday 2026-12-07, during the window: the next is Thursday's.
        assert_eq!(
            m.next("a", at("2026-12-07T10:30:00Z")),
            Some(period("2026-12-10T10:00:00Z", "2026-12-10T11:00:00Z"))
        );
    }

    #[test]
    fn check_names_each_bad_key_and_what_is_accepted() {
        let text = "[[target]]\nname = \"a\"\nurl = \"http://127.0.0.1/\"\n\
            [[maintenance]]\nstart = \"25:00\"\nduration = \"25h\"\ntimezone = \"Mars/Olympus\"\n\
            every = [\"Funday\"]\ntargets = [\"nobody\"]\n\
            [[maintenance]]\nfrom = \"tomorrow\"\nuntil = \"2026-01-01T00:00:00Z\"\n\
            [[maintenance]]\nfrom = \"2026-01-02T00:00:00Z\"\nuntil = \"2026-01-01T00:00:00Z\"\n\
            [[maintenance]]\nstart = \"10:00\"\nuntil = \"2026-01-01T00:00:00Z\"\n\
            [[maintenance]]\ntargets = [\"a\"]\n\
            [[maintenance]]\nduration = \"2h\"\n\
            [[maintenance]]\nevery = [\"Monday\"]\n\
            [[maintenance]]\nstart = \"7:30\"\nduration = \"1h\"\n";
        let found: Vec<String> = config::parse(text, |_| None)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            [
                "maintenance #1: targets: \"nobody\" is not the name of a [[target]]",
                "maintenance #1: start: \"25:00\" is not a time of day hh:mm from 00:00 to 23:59",
                "maintenance #1: duration: \"25h\" is not a duration above 0s and at most 24h, such as 30m or 2h",
                "maintenance #1: timezone: \"Mars/Olympus\" is not an IANA time zone name such as Europe/Berlin or UTC",
                "maintenance #1: every: \"Funday\" is not a weekday; expected Sunday, Monday, Tuesday, Wednesday, Thursday, Friday, Saturday",
                "maintenance #2: from: \"tomorrow\" is not an RFC 3339 time such as 2026-12-24T22:00:00Z",
                "maintenance #3: until: 2026-01-01T00:00:00Z is not after from (2026-01-02T00:00:00Z)",
                "maintenance #4: from: a window is either recurring (start, duration, timezone, every) or one-off (from, until), not both",
                "maintenance #5: start: missing; expected start and duration (recurring), or from and until (one-off)",
                // Any one key of a recurring window makes it one: what it lacks is named.
                "maintenance #6: start: missing; a recurring window needs start (hh:mm)",
                "maintenance #7: start: missing; a recurring window needs start (hh:mm)",
                "maintenance #7: duration: missing; a recurring window needs a duration such as 2h",
                "maintenance #8: start: \"7:30\" is not a time of day hh:mm from 00:00 to 23:59",
            ]
        );
    }

    #[test]
    fn a_disabled_window_silences_nothing() {
        let m =
            maintenance("[[maintenance]]\nstart = \"00:00\"\nduration = \"24h\"\nenabled = false");
        assert!(m.windows.is_empty());
    }
}
