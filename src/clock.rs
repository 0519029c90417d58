//! RFC 3339 timestamps for responses and log lines, cheap enough to write on every request.
//!
//! Formatting a date with chrono or humantime costs more than the rest of a log line. The date
//! and time to the second change once a second, so each thread formats them once per second
//! (with chrono) and writes only the fraction per call.

use std::cell::Cell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};

/// Digits after the decimal point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fraction {
    /// `.429Z`
    Millis,
    /// `.429012Z`
    Micros,
}

/// Time since the Unix epoch as this module writes it: times before 1970 do not occur on a running
/// server, and are written as the epoch.
#[must_use]
pub fn since_epoch(time: SystemTime) -> Duration {
    time.duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// Appends `time` in RFC 3339, UTC: `2026-11-28T04:37:31.429Z` or `2026-11-28T04:37:31.429012Z`.
pub fn write_rfc3339(out: &mut Vec<u8>, time: SystemTime, fraction: Fraction) {
    thread_local! {
        /// The last second formatted, and its `YYYY-MM-DDTHH:MM:SS`.
        static SECOND: Cell<Option<(u64, [u8; 19])>> = const { Cell::new(None) };
    }
    let since_epoch = since_epoch(time);
    let seconds = since_epoch.as_secs();
    let prefix = SECOND.with(|cached| match cached.get() {
        Some((second, prefix)) if second == seconds => prefix,
        _ => {
            let whole = DateTime::<Utc>::from(UNIX_EPOCH + Duration::from_secs(seconds));
            let text = whole.format("%Y-%m-%dT%H:%M:%S").to_string();
            let mut prefix = [0; 19];
            // Years past 9999 would be longer; they are cut rather than overflowing.
            let len = text.len().min(prefix.len());
            prefix[..len].copy_from_slice(&text.as_bytes()[..len]);
            cached.set(Some((seconds, prefix)));
            prefix
        }
    });
    out.extend_from_slice(&prefix);
    let (mut value, digits) = match fraction {
        Fraction::Millis => (since_epoch.subsec_millis(), 3),
        Fraction::Micros => (since_epoch.subsec_micros(), 6),
    };
    let mut tail = *b".000000Z";
    for digit in tail[1..=digits].iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
    tail[digits + 1] = b'Z';
    out.extend_from_slice(&tail[..digits + 2]);
}

/// `time` in RFC 3339, UTC, with milliseconds: `2026-11-28T04:37:31.429Z`.
#[must_use]
pub fn rfc3339_millis(time: SystemTime) -> String {
    let mut out = Vec::with_capacity(24);
    write_rfc3339(&mut out, time, Fraction::Millis);
    // Only ASCII digits and punctuation were written.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use chrono::SecondsFormat;

    use super::*;

    #[test]
    fn matches_chrono_within_and_across_seconds_days_and_years() {
        let base = UNIX_EPOCH + Duration::from_secs(1_795_840_651);
        for offset in [
            0,
            429_012,
            999_999,
            1_000_000,
            1_000_001,
            86_399_999_999,
            3_000_000_000_000,
        ] {
            let time = base + Duration::from_micros(offset);
            let chrono = DateTime::<Utc>::from(time);
            let mut micros = Vec::new();
            write_rfc3339(&mut micros, time, Fraction::Micros);
            assert_eq!(
                String::from_utf8(micros).unwrap(),
                chrono.to_rfc3339_opts(SecondsFormat::Micros, true)
            );
            assert_eq!(
                rfc3339_millis(time),
                chrono.to_rfc3339_opts(SecondsFormat::Millis, true)
            );
        }
    }
}
