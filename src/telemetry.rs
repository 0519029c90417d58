//! Logging: a tracing subscriber writing to stdout, as JSON lines or for a terminal.
//!
//! JSON lines come from [`JsonLines`], a layer that writes each event straight into a shared
//! buffer, except the access log's, which [`access`] writes there itself; access-log lines are
//! written out in batches: see [`LineBuffer`]. Every request
//! logs a line, so both matter: tracing-subscriber's `json()` formatter and one `write` per line
//! were together a third of the CPU time of `GET /health`.

use std::fmt::{self, Write as _};
use std::io::{self, IsTerminal, Write};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, Registry};

use crate::config::LogFormat;

/// The target of the per-request access-log events; only these are batched.
pub const ACCESS_TARGET: &str = "health_service::access";

/// Buffered lines are written out once they reach this size, even if no worker goes idle.
const FLUSH_BYTES: usize = 32 * 1024;

/// The JSON lines bound for stdout.
static STDOUT_LINES: LineBuffer<StdoutWriter> = LineBuffer::new(StdoutWriter);

/// Where [`access`] writes its lines itself: set by [`init`] in JSON mode.
static ACCESS_LINES: OnceLock<&'static LineBuffer<StdoutWriter>> = OnceLock::new();

/// Installs the global subscriber.
///
/// In JSON mode, access-log lines wait in a buffer until [`flush`] runs, which the runtime does
/// whenever a worker thread goes idle, or until the buffer holds 32 KiB; any other event writes
/// them out with itself, so lines stay in order.
///
/// # Errors
/// When the filter does not parse or a subscriber is already installed.
pub fn init(
    format: LogFormat,
    filter: &str,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let filter = EnvFilter::builder().parse(filter)?;
    match format {
        LogFormat::Json => {
            Registry::default()
                .with(filter)
                .with(JsonLines::new(&STDOUT_LINES))
                .try_init()?;
            let _ = ACCESS_LINES.set(&STDOUT_LINES);
        }
        LogFormat::Pretty => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(io::stdout)
            .compact()
            .with_ansi(io::stdout().is_terminal())
            .try_init()?,
    }
    Ok(())
}

/// Writes out the access-log lines waiting in the buffer. Cheap when there are none.
pub fn flush() {
    STDOUT_LINES.flush();
}

/// One request's access-log line, as `middleware::Observe` logs it for every request.
pub struct Access<'a> {
    pub method: &'a str,
    /// The route matched, or `middleware::UNMATCHED_ROUTE`.
    pub route: &'a str,
    pub status: u16,
    pub latency: Duration,
    pub request_id: &'a str,
}

/// Logs `line` at INFO under [`ACCESS_TARGET`], if the filter lets that through.
///
/// In JSON mode the line is written straight into the line buffer: the bytes [`JsonLines`]
/// writes for the same tracing event (`Access::event`), without tracing's dispatch and its call
/// per field, which cost 0.11 µs of user time a `GET /health` (README, "Performance").
/// Otherwise it is that event.
pub fn access(line: &Access<'_>) {
    if !tracing::enabled!(target: ACCESS_TARGET, tracing::Level::INFO) {
        return;
    }
    match ACCESS_LINES.get() {
        Some(lines) => lines.push(true, |out| line.write_json(out, SystemTime::now())),
        None => line.event(),
    }
}

impl Access<'_> {
    /// The line as a tracing event.
    fn event(&self) {
        // `message` as a plain string field rather than a format string, which tracing would
        // hand to the layer as `fmt::Arguments` to format on every request.
        tracing::info!(
            target: ACCESS_TARGET,
            message = "request",
            method = self.method,
            route = self.route,
            status = self.status,
            latency_ms = self.latency.as_secs_f64() * 1000.0,
            request_id = self.request_id,
        );
    }

    /// The line as [`JsonLines`] writes [`Access::event`] at `now`.
    fn write_json(&self, out: &mut Vec<u8>, now: SystemTime) {
        out.extend_from_slice(b"{\"timestamp\":\"");
        crate::clock::write_rfc3339(out, now, crate::clock::Fraction::Micros);
        out.extend_from_slice(b"\",\"level\":\"INFO\",\"message\":\"request\",\"method\":");
        write_json_str(out, self.method);
        out.extend_from_slice(b",\"route\":");
        write_json_str(out, self.route);
        out.extend_from_slice(b",\"status\":");
        let _ = serde_json::to_writer(&mut *out, &self.status);
        out.extend_from_slice(b",\"latency_ms\":");
        let _ = serde_json::to_writer(&mut *out, &(self.latency.as_secs_f64() * 1000.0));
        out.extend_from_slice(b",\"request_id\":");
        write_json_str(out, self.request_id);
        out.extend_from_slice(b",\"target\":\"");
        out.extend_from_slice(ACCESS_TARGET.as_bytes());
        out.extend_from_slice(b"\"}\n");
    }
}

/// Log lines waiting to be written to `W`.
///
/// Access-log lines are batched because on a busy server one `write` per line costs as much CPU as
/// the rest of the line; nginx offers the same with `access_log ... buffer=`. Lines still in the
/// buffer are lost if the process is killed outright, so the runtime writes them out whenever a
/// worker goes idle and `main` does once more before it exits.
pub struct LineBuffer<W> {
    state: Mutex<Lines<W>>,
}

struct Lines<W> {
    /// Complete lines, each ending in `\n`, not yet written.
    pending: Vec<u8>,
    out: W,
}

impl<W: Write> LineBuffer<W> {
    /// An empty buffer in front of `out`.
    pub const fn new(out: W) -> Self {
        Self {
            state: Mutex::new(Lines {
                pending: Vec::new(),
                out,
            }),
        }
    }

    /// Appends one line written by `line`, then writes out everything pending unless the line
    /// may wait (`batch`) and the buffer is still small.
    fn push(&self, batch: bool, line: impl FnOnce(&mut Vec<u8>)) {
        let mut lines = self.lock();
        line(&mut lines.pending);
        if !batch || lines.pending.len() >= FLUSH_BYTES {
            lines.write_out();
        }
    }

    /// Writes out every pending line.
    pub fn flush(&self) {
        let mut lines = self.lock();
        if !lines.pending.is_empty() {
            lines.write_out();
        }
    }

    /// The lines, usable again after a panic while they were locked: a value's `Debug` that
    /// panicked mid-line leaves that partial line behind, which is dropped so that every line
    /// written stays whole JSON.
    fn lock(&self) -> MutexGuard<'_, Lines<W>> {
        self.state.lock().unwrap_or_else(|poisoned| {
            self.state.clear_poison();
            let mut lines = poisoned.into_inner();
            let whole = lines
                .pending
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            lines.pending.truncate(whole);
            lines
        })
    }

    /// The writer, for tests that inspect what was written.
    #[cfg(test)]
    fn with_out<T>(&self, f: impl FnOnce(&W) -> T) -> T {
        f(&self.lock().out)
    }
}

impl<W: Write> Lines<W> {
    fn write_out(&mut self) {
        // A closed or full stdout has nowhere to report to; the lines are dropped rather than
        // kept, so memory stays bounded.
        let _ = self.out.write_all(&self.pending);
        let _ = self.out.flush();
        self.pending.clear();
    }
}

/// `std::io::stdout()`, constructible in a `static`.
struct StdoutWriter;

impl Write for StdoutWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        io::stdout().write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        io::stdout().write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().flush()
    }
}

/// One flat JSON object per event: `timestamp`, `level`, the fields (`message` first), `target`.
///
/// The same object tracing-subscriber's JSON formatter writes with flattened events and no spans.
pub struct JsonLines<W: 'static> {
    lines: &'static LineBuffer<W>,
}

impl<W> JsonLines<W> {
    /// A layer writing to `lines`.
    pub fn new(lines: &'static LineBuffer<W>) -> Self {
        Self { lines }
    }
}

impl<S: Subscriber, W: Write + Send + 'static> Layer<S> for JsonLines<W> {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        self.lines.push(meta.target() == ACCESS_TARGET, |out| {
            out.extend_from_slice(b"{\"timestamp\":\"");
            crate::clock::write_rfc3339(out, SystemTime::now(), crate::clock::Fraction::Micros);
            out.extend_from_slice(b"\",\"level\":\"");
            out.extend_from_slice(meta.level().as_str().as_bytes());
            out.push(b'"');
            event.record(&mut JsonFields(out));
            out.extend_from_slice(b",\"target\":");
            write_json_str(out, meta.target());
            out.extend_from_slice(b"}\n");
        });
    }
}

/// Writes each field as `,"name":value`.
struct JsonFields<'a>(&'a mut Vec<u8>);

impl JsonFields<'_> {
    fn name(&mut self, field: &Field) {
        self.0.extend_from_slice(b",\"");
        let _ = JsonEscape(self.0).write_str(field.name());
        self.0.extend_from_slice(b"\":");
    }

    fn value(&mut self, field: &Field, value: impl Serialize) {
        self.name(field);
        // serde_json writes numbers as JSON numbers, and NaN and infinities as null.
        let _ = serde_json::to_writer(&mut *self.0, &value);
    }
}

impl Visit for JsonFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.name(field);
        write_json_str(self.0, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.value(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.value(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.value(field, value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.value(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.name(field);
        self.0.push(b'"');
        let _ = write!(JsonEscape(self.0), "{value:?}");
        self.0.push(b'"');
    }
}

fn write_json_str(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    let _ = JsonEscape(out).write_str(value);
    out.push(b'"');
}

/// Escapes what passes through it for the inside of a JSON string (RFC 8259, section 7).
struct JsonEscape<'a>(&'a mut Vec<u8>);

impl fmt::Write for JsonEscape<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let bytes = text.as_bytes();
        if !needs_escape(bytes) {
            self.0.extend_from_slice(bytes);
            return Ok(());
        }
        let mut clean = 0;
        for (i, &byte) in bytes.iter().enumerate() {
            let escaped: &[u8] = match byte {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0..=0x1f => b"",
                _ => continue,
            };
            self.0.extend_from_slice(&bytes[clean..i]);
            if escaped.is_empty() {
                let _ = write!(self.0, "\\u{byte:04x}");
            } else {
                self.0.extend_from_slice(escaped);
            }
            clean = i + 1;
        }
        self.0.extend_from_slice(&bytes[clean..]);
        Ok(())
    }
}

/// Whether `bytes` hold a byte that a JSON string must escape: a control character, `"` or `\`.
///
/// Most names and values need no escaping, and are 3 to 36 bytes long: mostly too short for the
/// vectorised loop the compiler makes of a byte-by-byte check, whose scalar remainder took some 10
/// instructions a byte (1,345 per access-log line). So this checks eight bytes at a time, and
/// shorter strings as one word padded with spaces: 602 instructions fewer per `GET /livez`.
fn needs_escape(bytes: &[u8]) -> bool {
    let len = bytes.len();
    let marked = if len >= 8 {
        // The last eight bytes as well, overlapping the last whole chunk, cover the remainder.
        bytes
            .chunks_exact(8)
            .fold(escape_marks(word(&bytes[len - 8..])), |marked, chunk| {
                marked | escape_marks(word(chunk))
            })
    } else if len >= 4 {
        // The first four and the last four bytes, overlapping when fewer than eight.
        let mut both = [0; 8];
        both[..4].copy_from_slice(&bytes[..4]);
        both[4..].copy_from_slice(&bytes[len - 4..]);
        escape_marks(u64::from_le_bytes(both))
    } else if len > 0 {
        let (first, middle, last) = (bytes[0], bytes[len / 2], bytes[len - 1]);
        escape_marks(u64::from_le_bytes([
            first, middle, last, b' ', b' ', b' ', b' ', b' ',
        ]))
    } else {
        0
    };
    marked != 0
}

/// The first eight bytes of `bytes` as one word.
fn word(bytes: &[u8]) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(word)
}

/// Non-zero when one of the eight bytes of `word` is a control character, `"` or `\`.
fn escape_marks(word: u64) -> u64 {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    // `(x - n) & !x` sets the high bit of the lowest byte of `x` below `n` (n at most 128), and
    // of no byte when there is none: Bit Twiddling Hacks' `hasless`. A borrow from the lowest
    // may mark bytes above it too, which does not matter here.
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x;
    let control = below(word, 0x20);
    let quote = below(word ^ (ONES * u64::from(b'"')), 1);
    let backslash = below(word ^ (ONES * u64::from(b'\\')), 1);
    (control | quote | backslash) & (ONES * 0x80)
}

/// A buffer to a Vec, and a subscriber that logs into it while `f` runs (on this thread): the
/// JSON lines logged, for tests that pin what is logged and how often.
#[cfg(test)]
pub(crate) fn logged(f: impl FnOnce(&'static LineBuffer<Vec<u8>>)) -> Vec<serde_json::Value> {
    logged_lines(f)
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The lines [`logged`] parses, as they were written.
#[cfg(test)]
pub(crate) fn logged_lines(f: impl FnOnce(&'static LineBuffer<Vec<u8>>)) -> Vec<String> {
    // tracing caches each callsite's interest and the highest level enabled across all
    // subscribers. Tests run on many threads, so a callsite first reached (or a subscriber
    // dropped) on another thread while this one was being set up could leave this subscriber
    // out: a line not logged, and a test failing under load. A global subscriber that wants
    // every event keeps both caches open, and the rebuild recomputes them with this one in.
    static WANTS_ALL: std::sync::Once = std::sync::Once::new();
    WANTS_ALL.call_once(|| {
        let _ = tracing::subscriber::set_global_default(Registry::default());
    });
    let lines: &'static LineBuffer<Vec<u8>> = Box::leak(Box::new(LineBuffer::new(Vec::new())));
    let subscriber = Registry::default().with(JsonLines::new(lines));
    tracing::subscriber::with_default(subscriber, || {
        tracing::callsite::rebuild_interest_cache();
        f(lines);
    });
    lines.with_out(|out| {
        out.split(|&b| b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| String::from_utf8(line.to_vec()).unwrap())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_quotes_backslashes_and_control_characters() {
        let mut out = Vec::new();
        write_json_str(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            r#""a\"b\\c\nd\u0001é""#
        );
        let parsed: String = serde_json::from_slice(&out).unwrap();
        assert_eq!(parsed, "a\"b\\c\nd\u{1}é");
    }

    #[test]
    fn finds_every_byte_to_escape_at_every_length_and_position() {
        // Backgrounds around the byte tested: ASCII, the bytes next to those escaped, and bytes
        // with the high bit set, which the word-at-a-time check must not mistake.
        for background in [b'a', b' ', b'!', b'#', b'[', b']', 0x7f, 0x80, 0xff] {
            for len in 0..=24 {
                let clean = vec![background; len];
                assert!(!needs_escape(&clean), "{background:#x} x {len}");
                for at in 0..len {
                    for byte in 0..=u8::MAX {
                        let mut bytes = clean.clone();
                        bytes[at] = byte;
                        let expected = byte < 0x20 || byte == b'"' || byte == b'\\';
                        assert_eq!(
                            needs_escape(&bytes),
                            expected,
                            "{byte:#x} at {at} of {len} in {background:#x}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn each_event_is_one_flat_json_object_with_typed_fields() {
        let lines = logged(|_| {
            tracing::warn!(
                count = 3u64,
                delta = -2i64,
                ratio = 0.5,
                nan = f64::NAN,
                ok = true,
                text = "x\"y",
                shown = %"a\tb",
                "something {}",
                "happened"
            );
        });
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["message"], "something happened");
        assert_eq!(line["count"], 3);
        assert_eq!(line["delta"], -2);
        assert_eq!(line["ratio"], 0.5);
        assert!(line["nan"].is_null());
        assert_eq!(line["ok"], true);
        assert_eq!(line["text"], "x\"y");
        assert_eq!(line["shown"], "a\tb");
        assert_eq!(line["target"], module_path!());
        let timestamp = line["timestamp"].as_str().unwrap();
        assert!(humantime::parse_rfc3339(timestamp).is_ok(), "{timestamp}");
    }

    #[test]
    fn an_access_line_written_directly_is_the_line_of_its_tracing_event() {
        let line = Access {
            method: "PROPFIND",
            route: "/health",
            status: 503,
            latency: Duration::from_nanos(1_234_567),
            request_id: "id \"quoted\" \\ and\ttabbed",
        };
        let event = logged_lines(|lines| {
            line.event();
            lines.flush();
        });
        assert_eq!(event.len(), 1);
        let mut direct = Vec::new();
        line.write_json(&mut direct, SystemTime::now());
        let direct = String::from_utf8(direct).unwrap();
        // The same bytes after the timestamp, which is its own `SystemTime::now()` in each.
        let stamp = r#"{"timestamp":"2026-12-08T03:32:50.224120Z""#.len();
        assert_eq!(direct[stamp..], format!("{}\n", &event[0][stamp..]));
        let parsed: serde_json::Value = serde_json::from_str(&direct).unwrap();
        assert_eq!(parsed["request_id"], line.request_id);
        assert_eq!(parsed["latency_ms"], 1.234567);
        assert_eq!(parsed["status"], 503);
        let timestamp = parsed["timestamp"].as_str().unwrap();
        assert!(humantime::parse_rfc3339(timestamp).is_ok(), "{timestamp}");
    }

    #[test]
    fn access_lines_wait_for_a_flush_and_other_events_take_them_along_in_order() {
        let lines = logged(|lines| {
            tracing::info!(target: ACCESS_TARGET, n = 1u64, "request");
            tracing::info!(target: ACCESS_TARGET, n = 2u64, "request");
            assert!(lines.with_out(Vec::is_empty), "access lines are batched");
            tracing::info!(n = 3u64, "other");
            assert!(
                !lines.with_out(Vec::is_empty),
                "other events are written at once"
            );
            tracing::info!(target: ACCESS_TARGET, n = 4u64, "request");
            lines.flush();
        });
        let order: Vec<u64> = lines.iter().map(|l| l["n"].as_u64().unwrap()).collect();
        assert_eq!(order, [1, 2, 3, 4]);
    }

    #[test]
    fn a_value_that_panics_mid_line_leaves_no_partial_line() {
        struct Panics;
        impl fmt::Debug for Panics {
            fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
                panic!("this Debug panics");
            }
        }
        let lines = logged(|_| {
            tracing::info!(target: ACCESS_TARGET, n = 1u64, "request");
            let panicked = std::panic::catch_unwind(|| {
                tracing::info!(target: ACCESS_TARGET, bad = ?Panics, "request");
            });
            assert!(panicked.is_err());
            tracing::info!(n = 2u64, "after");
        });
        let order: Vec<u64> = lines.iter().map(|l| l["n"].as_u64().unwrap()).collect();
        assert_eq!(order, [1, 2]);
    }

    #[test]
    fn a_full_buffer_is_written_out_without_a_flush() {
        let lines = logged(|lines| {
            let filler = "x".repeat(1024);
            for _ in 0..FLUSH_BYTES / filler.len() {
                tracing::info!(target: ACCESS_TARGET, filler, "request");
            }
            assert!(!lines.with_out(Vec::is_empty));
            lines.flush();
        });
        assert_eq!(lines.len(), FLUSH_BYTES / 1024);
    }
}
