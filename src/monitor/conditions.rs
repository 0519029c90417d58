//! Conditions that judge a probe, in Gatus's syntax and with Gatus's verdicts.
//!
//! A condition is `LEFT OPERATOR RIGHT` with a space on each side of the operator, e.g.
//! `[STATUS] == 200`, `[BODY].data[0].id != 0` or `len([BODY].items) > 0`. It goes through
//! three steps:
//!
//! 1. **Parse** ([`Condition::parse`], once, at load): split at the operator and read each side as
//!    a placeholder (`[STATUS]`, `[RESPONSE_TIME]`, `[BODY]`, `[BODY].a.b[0]`,
//!    `[CERTIFICATE_EXPIRATION]`, `[CONNECTED]`), a function of one (`len(...)`, `has(...)`), a
//!    pattern (`pat(...)`), a list (`any(a, b)`) or literal text.
//! 2. **Resolve** ([`Condition::evaluate`], per probe): turn each side into the text Gatus would
//!    compare, e.g. `[STATUS]` → `503`, `[BODY].status` → `UP`, or note a missing path.
//! 3. **Compare**: `==` and `!=` compare as integers when both sides read as Go integers (`200`,
//!    `0x1F`), else as text, with `pat` and `any` matching instead; `<` `<=` `>` `>=` compare
//!    integers, durations counting in milliseconds (`1s` is 1000) and anything else as 0.
//!
//! The rules are Gatus v5's (`config/endpoint/condition.go` and `placeholder.go`, `jsonpath/`,
//! `pattern/`), quirks included, so a condition copied from a Gatus config gives the same verdict.
//! Some quirks worth knowing, all Gatus's: a missing path compares as 0 in `<` `<=` `>` `>=`, and
//! `!=` holds for it; a JSON path stops at an array, number or boolean and ignores what follows;
//! an array reads as Go prints it (`[a b c]`), an object as minified JSON with sorted keys.
//!
//! Where we deliberately differ from Gatus:
//! - `--check` rejects what Gatus silently accepts but can never mean anything: no operator or one
//!   used twice, an empty side, an unknown `[PLACEHOLDER]` or `function()`, unbalanced brackets or
//!   parentheses, a malformed JSON path, `len()`/`has()` of something that is no placeholder, two
//!   literals compared, `pat()`/`any()`/`has()` with `<`-like operators, `has()` against anything
//!   but `true`/`false`, and a literal that is neither a number nor a duration in `<`-like
//!   comparisons (Gatus reads `30d` as 0, so `[CERTIFICATE_EXPIRATION] > 30d` would always hold).
//! - `[IP]`, `[DOMAIN_EXPIRATION]` and `[CONTEXT]` are rejected: no probe here records them.
//!   `[DNS_RCODE]` is read by `dns://` probes only (the config refuses it elsewhere, as it
//!   refuses every placeholder a target's kind does not record: [`Condition::placeholders`]).
//!   `[CONNECTED]` is `true` for an HTTP probe, since its conditions only judge a probe that got
//!   a response; `tcp://`, `tls://` and `dns://` probes judge a failed connection too.
//! - A `[BODY]` JSON path on a body that is not JSON fails the condition whatever the operator,
//!   with the reason `PATH: body is not JSON` (issue 12). Gatus would compare the text
//!   `PATH (INVALID)` instead, so `!=`, `<` and `has(...) == false` could hold.
//! - A missing path matches no `pat()` and no `any()`, and equals nothing, not even itself. Gatus
//!   matches the pattern against the text `PATH (INVALID)`, so `[BODY].name == pat(*a*)` holds
//!   when `name` is missing.
//! - A JSON number with an integral value reads as an integer (`1000000`). Gatus decodes every
//!   number into a Go float64 and prints `1e+06`, so its `[BODY].n == 1000000` fails for
//!   `{"n": 1000000}`; other numbers read as Go prints them (`1.2345675e+06`).
//! - `pat()` supports `*` and `?` (what Gatus's own tests and docs use); Go's `[...]` classes and
//!   `\` escapes are rejected at load rather than matched differently.
//! - Reasons stay on one line: control characters are escaped and a seen value longer than 100
//!   characters is cut (Gatus cuts only against a pattern, at 25). In reasons only, a missing path
//!   shows `(INVALID)` also in `<`-like comparisons, where Gatus shows the `(0)` it compared;
//!   durations read `10s`, where Gatus's formatter prints `1`; a duration literal is not restated
//!   (Gatus: `90m (1h30m)`, `1.5s (1s)`).

use std::borrow::Cow;
use std::cell::OnceCell;
use std::time::Duration;

use serde_json::Value;
use wildmatch::WildMatch;

/// The placeholders this monitor supports, for error messages.
const SUPPORTED: &str =
    "[STATUS] [RESPONSE_TIME] [BODY] [CERTIFICATE_EXPIRATION] [CONNECTED] [DNS_RCODE]";
/// Gatus placeholders that no probe here records.
const UNSUPPORTED: [&str; 3] = ["IP", "DOMAIN_EXPIRATION", "CONTEXT"];
/// How many characters of a seen value a reason shows.
const SHOWN_CHARACTERS: usize = 100;
/// Gatus's shorter cut for a value compared with a pattern, which is often a whole page.
const SHOWN_AGAINST_PATTERN: usize = 25;

/// One parsed condition, e.g. `[BODY].status == UP`.
#[derive(Debug, Clone)]
pub struct Condition {
    /// The condition as written: reasons and errors quote it.
    text: String,
    /// What is left of the operator.
    left: Side,
    /// How the two sides compare.
    operator: Operator,
    /// What is right of the operator.
    right: Side,
}

impl Condition {
    /// Parses Gatus syntax.
    ///
    /// # Errors
    /// One line saying what is wrong and what is accepted, e.g.
    /// `condition "[STATUS] = 200": no operator; expected one of == != <= >= < > with a space on
    /// each side`.
    pub fn parse(text: &str) -> Result<Condition, String> {
        Self::parse_parts(text).map_err(|problem| format!("condition {text:?}: {problem}"))
    }

    /// The condition as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The placeholders it reads, as written in Gatus's syntax (`[BODY]` for a JSON path too):
    /// what `--check` holds against the target's kind.
    #[must_use]
    pub fn placeholders(&self) -> Vec<&'static str> {
        [&self.left, &self.right]
            .into_iter()
            .filter_map(|side| side.operand())
            .map(|operand| match operand {
                Operand::Placeholder(p) | Operand::Len(p) | Operand::Has(p) => p.name(),
            })
            .collect()
    }

    /// Judges one probe.
    ///
    /// # Errors
    /// A one-line reason naming the condition and the value seen, Gatus-style, e.g.
    /// `[STATUS] (503) == 200` or `[BODY].status (DOWN) == UP`, or
    /// `[BODY].status: body is not JSON` when a JSON path meets a body that is not JSON.
    pub fn evaluate(&self, probe: &Observed<'_>) -> Result<(), String> {
        let left = self.left.resolve(probe)?;
        let right = self.right.resolve(probe)?;
        let holds = match self.operator {
            Operator::Equal => self.equal(&left, &right),
            Operator::NotEqual => !self.equal(&left, &right),
            Operator::Less => left.number() < right.number(),
            Operator::LessOrEqual => left.number() <= right.number(),
            Operator::Greater => left.number() > right.number(),
            Operator::GreaterOrEqual => left.number() >= right.number(),
        };
        if holds {
            Ok(())
        } else {
            Err(self.reason(&left, &right))
        }
    }

    fn parse_parts(text: &str) -> Result<Condition, String> {
        let (operator, left, right) = Operator::split(text)?;
        let side = |text: &str, where_: &str| {
            let text = text.trim();
            if text.is_empty() {
                return Err(format!("nothing on the {where_} of {}", operator.symbol()));
            }
            Side::parse(text)
        };
        let condition = Condition {
            text: text.to_owned(),
            left: side(left, "left")?,
            operator,
            right: side(right, "right")?,
        };
        condition.check()?;
        Ok(condition)
    }

    /// Rejects combinations that parse but can never say anything about a probe.
    fn check(&self) -> Result<(), String> {
        let sides = [(&self.left, &self.right), (&self.right, &self.left)];
        if !sides.iter().any(|(side, _)| side.operand().is_some()) {
            return Err(format!(
                "neither side is a placeholder; expected one of {SUPPORTED}, alone or in len() or has()"
            ));
        }
        for (side, other) in sides {
            match (&side.kind, self.operator.is_ordering()) {
                (SideKind::Pattern(_) | SideKind::AnyOf(_), true) => {
                    let function = &side.text[..3];
                    return Err(format!("{function}() only works with == and !="));
                }
                (SideKind::Value(operand), true) if operand.is_boolean() => {
                    return Err(format!(
                        "{} is true or false; compare it with == or !=",
                        side.text
                    ));
                }
                (SideKind::Literal, true) if !is_number_or_duration(&side.text) => {
                    return Err(format!(
                        "{:?} is not a number or a duration (such as 500, 1.5, 1s or 48h); {} compares numbers",
                        side.text,
                        self.operator.symbol()
                    ));
                }
                (SideKind::Value(operand), false)
                    if operand.is_boolean()
                        && matches!(&other.kind, SideKind::Literal)
                        && !matches!(other.text.as_str(), "true" | "false") =>
                {
                    return Err(format!(
                        "{} is true or false, so {:?} never matches; use true or false",
                        side.text, other.text
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// `==`: a pattern or a list on either side matches the other; otherwise Gatus's `isEqual`.
    fn equal(&self, left: &Seen<'_>, right: &Seen<'_>) -> bool {
        match (&self.left.kind, &self.right.kind) {
            (SideKind::Pattern(pattern), _) => right.matches(pattern),
            (_, SideKind::Pattern(pattern)) => left.matches(pattern),
            (SideKind::AnyOf(options), _) => right.is_any_of(options),
            (_, SideKind::AnyOf(options)) => left.is_any_of(options),
            _ => match (left, right) {
                (Seen::Value(left), Seen::Value(right)) => go_equal(left, right),
                // A missing path equals nothing (see the module doc).
                _ => false,
            },
        }
    }

    /// The condition with the values seen in parentheses, as Gatus shows a failed condition.
    fn reason(&self, left: &Seen<'_>, right: &Seen<'_>) -> String {
        let (left, right) = if self.operator.is_ordering() {
            (self.left.show_number(left), self.right.show_number(right))
        } else {
            (
                self.left.show(left, self.right.is_pattern()),
                self.right.show(right, self.left.is_pattern()),
            )
        };
        format!("{left} {} {right}", self.operator.symbol())
    }
}

/// What a probe observed, for the conditions to judge. The body is parsed as JSON at most once
/// per probe, lazily, however many conditions read it.
#[derive(Debug)]
pub struct Observed<'a> {
    /// The response's status code: `[STATUS]`.
    status: u16,
    /// From sending the request to reading the body: `[RESPONSE_TIME]`, in milliseconds.
    response_time: Duration,
    /// The body as read (already capped by the probe): `[BODY]` and its JSON paths.
    body: &'a [u8],
    /// Time left on the server's certificate: `[CERTIFICATE_EXPIRATION]`; `None` without TLS.
    certificate_expiration: Option<Duration>,
    /// Whether the connection was made: `[CONNECTED]`.
    connected: bool,
    /// The DNS response code (`NOERROR`, `NXDOMAIN`, ...): `[DNS_RCODE]`.
    dns_rcode: Option<String>,
    /// The body parsed as JSON on first use; `None` inside when the body is not JSON.
    json: OnceCell<Option<Value>>,
}

impl<'a> Observed<'a> {
    /// What a probe saw. `certificate_expiration` is `None` without TLS, and then reads as 0, as in
    /// Gatus.
    pub fn new(
        status: u16,
        response_time: Duration,
        body: &'a [u8],
        certificate_expiration: Option<Duration>,
    ) -> Self {
        Observed {
            status,
            response_time,
            body,
            certificate_expiration,
            connected: true,
            dns_rcode: None,
            json: OnceCell::new(),
        }
    }

    /// The same, for a probe whose connection was made or not.
    #[must_use]
    pub fn connected(mut self, connected: bool) -> Self {
        self.connected = connected;
        self
    }

    /// The same, with a DNS answer's response code.
    #[must_use]
    pub fn dns_rcode(mut self, rcode: String) -> Self {
        self.dns_rcode = Some(rcode);
        self
    }

    /// The body as JSON, parsed on first use.
    fn json(&self) -> Result<&Value, NotJson> {
        self.json
            .get_or_init(|| serde_json::from_slice(self.body).ok())
            .as_ref()
            .ok_or(NotJson)
    }

    /// `[BODY]`: the body as text without surrounding whitespace, as Gatus compares it.
    fn body_text(&self) -> Cow<'a, str> {
        match String::from_utf8_lossy(self.body) {
            Cow::Borrowed(text) => Cow::Borrowed(text.trim()),
            Cow::Owned(text) => Cow::Owned(text.trim().to_owned()),
        }
    }

    /// `len([BODY])`: Gatus counts the elements of a body that is a JSON array (with no whitespace
    /// around it), and otherwise the bytes of the body as received, whitespace included.
    fn body_length(&self) -> usize {
        let bracketed = self.body.first() == Some(&b'[') && self.body.last() == Some(&b']');
        match bracketed.then(|| self.json()) {
            Some(Ok(Value::Array(items))) => items.len(),
            _ => self.body.len(),
        }
    }

    /// What a placeholder reads on this probe; `None` for a JSON path that leads nowhere.
    fn read(&self, placeholder: &Placeholder) -> Result<Option<Found<'_>>, NotJson> {
        let millis = |duration: Duration| i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        let text = match placeholder {
            Placeholder::BodyPath(path) => return Ok(walk(path, self.json()?).map(Found::Json)),
            Placeholder::Body => self.body_text(),
            Placeholder::Status => self.status.to_string().into(),
            Placeholder::ResponseTime => millis(self.response_time).to_string().into(),
            Placeholder::CertificateExpiration => {
                millis(self.certificate_expiration.unwrap_or_default())
                    .to_string()
                    .into()
            }
            Placeholder::Connected => self.connected.to_string().into(),
            Placeholder::DnsRcode => self.dns_rcode.clone().unwrap_or_default().into(),
        };
        Ok(Some(Found::Text(text)))
    }
}

/// One condition's verdict on one probe, what Gatus keeps as a result's `conditionResults`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The condition as written in the config.
    pub condition: String,
    /// Why it failed (its [`Condition::evaluate`] reason, e.g. `[STATUS] (503) == 200`);
    /// `None` when it held.
    pub failure: Option<String>,
}

impl Verdict {
    /// What Gatus shows for it by default: a held condition as written, a failed one with the
    /// values it saw (Gatus resolves failed conditions only, unless told otherwise).
    #[must_use]
    pub fn shown(&self) -> &str {
        self.failure.as_deref().unwrap_or(&self.condition)
    }
}

/// Every condition's verdict on a probe, in the config's order: unlike [`judge`], which stops
/// at the first failure, Gatus evaluates them all and keeps each one's result.
#[must_use]
pub fn verdicts(conditions: &[Condition], probe: &Observed<'_>) -> Vec<Verdict> {
    conditions
        .iter()
        .map(|condition| Verdict {
            condition: condition.text().to_owned(),
            failure: condition.evaluate(probe).err(),
        })
        .collect()
}

/// Judges a probe against all conditions of a target: with none, status 200..=399 is a success.
///
/// # Errors
/// The first failing condition's reason, or `status 503 is not 200..399`.
pub fn judge(conditions: &[Condition], probe: &Observed<'_>) -> Result<(), String> {
    if conditions.is_empty() {
        return if (200..=399).contains(&probe.status) {
            Ok(())
        } else {
            Err(format!("status {} is not 200..399", probe.status))
        };
    }
    conditions
        .iter()
        .try_for_each(|condition| condition.evaluate(probe))
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// How the two sides compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Equal,
    NotEqual,
    LessOrEqual,
    GreaterOrEqual,
    Greater,
    Less,
}

impl Operator {
    /// In the order Gatus looks for them: the first one present splits the condition.
    const ALL: [Operator; 6] = [
        Operator::Equal,
        Operator::NotEqual,
        Operator::LessOrEqual,
        Operator::GreaterOrEqual,
        Operator::Greater,
        Operator::Less,
    ];

    fn symbol(self) -> &'static str {
        match self {
            Operator::Equal => "==",
            Operator::NotEqual => "!=",
            Operator::LessOrEqual => "<=",
            Operator::GreaterOrEqual => ">=",
            Operator::Greater => ">",
            Operator::Less => "<",
        }
    }

    fn is_ordering(self) -> bool {
        !matches!(self, Operator::Equal | Operator::NotEqual)
    }

    /// Splits `text` at the first operator Gatus would find, spaces around it required.
    fn split(text: &str) -> Result<(Operator, &str, &str), String> {
        for operator in Operator::ALL {
            let separator = format!(" {} ", operator.symbol());
            if let Some((left, right)) = text.split_once(&separator) {
                // Gatus would silently drop everything after a second one.
                if right.contains(&separator) {
                    return Err(format!(
                        "{:?} appears more than once; a condition compares two sides",
                        operator.symbol()
                    ));
                }
                return Ok((operator, left, right));
            }
        }
        Err("no operator; expected one of == != <= >= < > with a space on each side".to_owned())
    }
}

/// One side of a condition.
#[derive(Debug, Clone)]
struct Side {
    /// The side as written, trimmed: reasons show it.
    text: String,
    /// What it is.
    kind: SideKind,
}

#[derive(Debug, Clone)]
enum SideKind {
    /// Reads the probe: a placeholder, or `len()`/`has()` of one.
    Value(Operand),
    /// `pat(...)`: a glob that the other side must match.
    Pattern(WildMatch),
    /// `any(a, b)`: texts one of which the other side must equal.
    AnyOf(Vec<String>),
    /// Anything else is compared as written, quotes included (Gatus has no quoting).
    Literal,
}

#[derive(Debug, Clone)]
enum Operand {
    Placeholder(Placeholder),
    /// `len(...)`: see [`length`] and [`Observed::body_length`].
    Len(Placeholder),
    /// `has(...)`: `true` when the placeholder reads something non-empty or the path exists.
    Has(Placeholder),
}

#[derive(Debug, Clone)]
enum Placeholder {
    Status,
    ResponseTime,
    CertificateExpiration,
    Connected,
    DnsRcode,
    /// `[BODY]` alone: the raw body.
    Body,
    /// `[BODY].a.b[0]` or `[BODY][0].id`.
    BodyPath(Vec<PathKey>),
}

impl Placeholder {
    fn name(&self) -> &'static str {
        match self {
            Self::Status => "[STATUS]",
            Self::ResponseTime => "[RESPONSE_TIME]",
            Self::CertificateExpiration => "[CERTIFICATE_EXPIRATION]",
            Self::Connected => "[CONNECTED]",
            Self::DnsRcode => "[DNS_RCODE]",
            Self::Body | Self::BodyPath(_) => "[BODY]",
        }
    }
}

/// One dot-separated key of a JSON path, as Gatus splits it: `name`, `name[1][2]` or `[0]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PathKey {
    /// The object member; empty for a key that only indexes, like `[0]`.
    name: String,
    /// Array indices applied after the member, in order.
    indices: Vec<usize>,
}

impl Side {
    fn parse(text: &str) -> Result<Side, String> {
        let kind = if let Some((function, inside)) = function_call(text)? {
            match function {
                "len" => SideKind::Value(Operand::Len(placeholder_argument(function, inside)?)),
                "has" => SideKind::Value(Operand::Has(placeholder_argument(function, inside)?)),
                "pat" => SideKind::Pattern(pattern(text, inside)?),
                // "any", the last name function_call lets through.
                _ => SideKind::AnyOf(inside.split(',').map(|o| o.trim().to_owned()).collect()),
            }
        } else if let Some(placeholder) = placeholder(text)? {
            SideKind::Value(Operand::Placeholder(placeholder))
        } else {
            SideKind::Literal
        };
        Ok(Side {
            text: text.to_owned(),
            kind,
        })
    }

    fn operand(&self) -> Option<&Operand> {
        match &self.kind {
            SideKind::Value(operand) => Some(operand),
            _ => None,
        }
    }

    fn is_pattern(&self) -> bool {
        matches!(self.kind, SideKind::Pattern(_))
    }

    fn resolve<'s>(&'s self, probe: &'s Observed<'_>) -> Result<Seen<'s>, String> {
        match &self.kind {
            SideKind::Value(operand) => operand
                .resolve(probe)
                .map_err(|NotJson| format!("{}: body is not JSON", self.text)),
            _ => Ok(Seen::Value(Cow::Borrowed(&self.text))),
        }
    }

    /// For `==` and `!=`: a side that reads the probe shows what it read, unless that is its text.
    fn show(&self, seen: &Seen<'_>, against_pattern: bool) -> String {
        match (&self.kind, seen) {
            (SideKind::Value(_), Seen::Missing) => format!("{} (INVALID)", self.text),
            (SideKind::Value(_), Seen::Value(value)) if *value != self.text => {
                let limit = if against_pattern {
                    SHOWN_AGAINST_PATTERN
                } else {
                    SHOWN_CHARACTERS
                };
                format!("{} ({})", self.text, one_line(value, limit))
            }
            _ => self.text.clone(),
        }
    }

    /// For `<`-like operators: the number compared, as a duration for the certificate; for a
    /// literal only when it reads otherwise than written (`1.5 (1)`, `0x10 (16)`), and never for a
    /// duration such as `90m`, which says what it means.
    fn show_number(&self, seen: &Seen<'_>) -> String {
        let shown = match (&self.kind, seen) {
            (SideKind::Value(_), Seen::Missing) => "INVALID".to_owned(),
            (SideKind::Value(Operand::Placeholder(Placeholder::CertificateExpiration)), _) => {
                format_duration(seen.number())
            }
            (SideKind::Value(_), _) => seen.number().to_string(),
            _ => {
                let canonical = seen.number().to_string();
                if canonical == self.text || go_parse_duration(&self.text).is_some() {
                    return self.text.clone();
                }
                canonical
            }
        };
        format!("{} ({shown})", self.text)
    }
}

/// `name(...)` for the four functions: `Some((name, inside))`. Text that does not start like a
/// call is no call (`None`); an unknown name or a missing `)` is an error.
fn function_call(text: &str) -> Result<Option<(&str, &str)>, String> {
    let Some((name, rest)) = text.split_once('(') else {
        return Ok(None);
    };
    let is_identifier = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !is_identifier {
        return Ok(None);
    }
    let known = matches!(name, "len" | "has" | "pat" | "any");
    match (rest.strip_suffix(')'), known) {
        (Some(inside), true) => Ok(Some((name, inside))),
        (Some(_), false) => Err(format!(
            "unknown function {name}(); expected len() has() pat() any()"
        )),
        (None, true) => Err(format!("{name}( has no closing )")),
        (None, false) => Ok(None),
    }
}

fn placeholder_argument(function: &str, inside: &str) -> Result<Placeholder, String> {
    placeholder(inside)?.ok_or_else(|| {
        format!("{function}() takes a placeholder such as [BODY].items, not {inside:?}")
    })
}

/// `pat(...)`. Gatus removes `/` from both the pattern and the value before Go's
/// `filepath.Match`, so `*` crosses `/`; with no `/` left, Go's `*` and `?` are exactly
/// wildmatch's (any run of characters, any one character, whole value, case-sensitive).
fn pattern(text: &str, inside: &str) -> Result<WildMatch, String> {
    if inside.contains(['[', '\\']) {
        return Err(format!(
            "{text}: [ and \\ are not supported in patterns (Go's character classes and escapes); use * and ?"
        ));
    }
    Ok(WildMatch::new(&inside.replace('/', "")))
}

/// `[NAME]` and, for `[BODY]`, a JSON path after it. `Ok(None)`: the text is no placeholder.
fn placeholder(text: &str) -> Result<Option<Placeholder>, String> {
    let Some(rest) = text.strip_prefix('[') else {
        return Ok(None);
    };
    let name_length = rest
        .find(|c: char| !(c.is_ascii_alphabetic() || c == '_'))
        .unwrap_or(rest.len());
    let (name, after) = rest.split_at(name_length);
    // Placeholder names are case-insensitive in Gatus; a JSON path keeps its case.
    let upper = name.to_ascii_uppercase();
    let known = match upper.as_str() {
        "STATUS" => Some(Placeholder::Status),
        "RESPONSE_TIME" => Some(Placeholder::ResponseTime),
        "CERTIFICATE_EXPIRATION" => Some(Placeholder::CertificateExpiration),
        "CONNECTED" => Some(Placeholder::Connected),
        "DNS_RCODE" => Some(Placeholder::DnsRcode),
        "BODY" => Some(Placeholder::Body),
        _ => None,
    };
    let unsupported = UNSUPPORTED.contains(&upper.as_str());
    let after_bracket = after.strip_prefix(']');
    if known.is_none() && !unsupported {
        // `[FOO]` in capitals is a mistyped placeholder; `[1 2]` or `[ok]` is text.
        return if !name.is_empty() && name == upper && after_bracket.is_some() {
            Err(format!(
                "unknown placeholder [{name}]; expected one of {SUPPORTED}"
            ))
        } else {
            Ok(None)
        };
    }
    let Some(after) = after_bracket else {
        return Err(format!("[{name} has no closing ]"));
    };
    if unsupported {
        return Err(format!(
            "[{name}] is not recorded by this monitor's probes; expected one of {SUPPORTED}"
        ));
    }
    match known {
        Some(Placeholder::Body) if after.starts_with(['.', '[']) => {
            json_path(text, after).map(|path| Some(Placeholder::BodyPath(path)))
        }
        Some(placeholder) if after.is_empty() => Ok(Some(placeholder)),
        _ => Err(format!("unexpected {after:?} after [{name}]")),
    }
}

/// The keys of a JSON path such as `.a.b[0].c` or `[0].id`, split at the dots outside brackets
/// as Gatus does, and each checked to be `name`, `name[i]...` or `[i]...`.
fn json_path(text: &str, after: &str) -> Result<Vec<PathKey>, String> {
    let path = after.strip_prefix('.').unwrap_or(after);
    if path.is_empty() {
        return Err(format!("{text}: empty JSON path"));
    }
    let mut keys = Vec::new();
    let (mut start, mut depth) = (0, 0_i32);
    for (at, c) in path.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '.' if depth == 0 => {
                keys.push(path_key(text, &path[start..at])?);
                start = at + 1;
            }
            _ => {}
        }
    }
    keys.push(path_key(text, &path[start..])?);
    Ok(keys)
}

fn path_key(text: &str, key: &str) -> Result<PathKey, String> {
    let (name, mut rest) = key.split_at(key.find('[').unwrap_or(key.len()));
    if name.contains(']') {
        return Err(format!("{text}: ] without ["));
    }
    if name.is_empty() && rest.is_empty() {
        return Err(format!("{text}: empty key in the JSON path"));
    }
    let mut indices = Vec::new();
    while !rest.is_empty() {
        let Some(inside) = rest.strip_prefix('[') else {
            return Err(format!("{text}: unexpected {rest:?} after an array index"));
        };
        let Some((index, after)) = inside.split_once(']') else {
            return Err(format!("{text}: [ has no closing ]"));
        };
        let index = index
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| index.parse::<usize>().ok())
            .flatten()
            .ok_or_else(|| format!("{text}: array index {index:?} is not a whole number"))?;
        indices.push(index);
        rest = after;
    }
    Ok(PathKey {
        name: name.to_owned(),
        indices,
    })
}

// ---------------------------------------------------------------------------------------------
// Resolving
// ---------------------------------------------------------------------------------------------

/// A JSON path met a body that is not JSON.
#[derive(Debug)]
struct NotJson;

/// What a placeholder read: text, or the JSON value where a path stopped.
enum Found<'p> {
    Text(Cow<'p, str>),
    Json(&'p Value),
}

/// A side resolved for comparison.
#[derive(Debug)]
enum Seen<'s> {
    /// The text Gatus would compare.
    Value(Cow<'s, str>),
    /// A JSON path that leads nowhere: Gatus's `(INVALID)`.
    Missing,
}

impl Operand {
    fn is_boolean(&self) -> bool {
        matches!(
            self,
            Operand::Has(_) | Operand::Placeholder(Placeholder::Connected)
        )
    }

    fn resolve<'s>(&self, probe: &'s Observed<'_>) -> Result<Seen<'s>, NotJson> {
        let text = |value: String| Seen::Value(Cow::Owned(value));
        Ok(match self {
            Operand::Placeholder(placeholder) => match probe.read(placeholder)? {
                Some(Found::Text(value)) => Seen::Value(value),
                Some(Found::Json(value)) => text(render(value)),
                None => Seen::Missing,
            },
            Operand::Len(Placeholder::Body) => text(probe.body_length().to_string()),
            Operand::Len(placeholder) => match probe.read(placeholder)? {
                Some(Found::Text(value)) => text(value.len().to_string()),
                Some(Found::Json(value)) => text(length(value).to_string()),
                None => Seen::Missing,
            },
            Operand::Has(placeholder) => text(
                match probe.read(placeholder)? {
                    Some(Found::Text(value)) => !value.is_empty(),
                    Some(Found::Json(_)) => true,
                    None => false,
                }
                .to_string(),
            ),
        })
    }
}

impl Seen<'_> {
    /// The number `<`-like operators compare: Gatus reads a duration in milliseconds, then an
    /// integer, then a float cut to an integer, and anything else, a missing path too, as 0.
    fn number(&self) -> i64 {
        match self {
            Seen::Value(value) => go_number(value).unwrap_or(0),
            Seen::Missing => 0,
        }
    }

    fn matches(&self, pattern: &WildMatch) -> bool {
        match self {
            Seen::Value(value) => pattern.matches(&value.replace('/', "")),
            Seen::Missing => false,
        }
    }

    /// `any(...)` compares texts exactly, without reading numbers.
    fn is_any_of(&self, options: &[String]) -> bool {
        match self {
            Seen::Value(value) => options.iter().any(|option| option == value),
            Seen::Missing => false,
        }
    }
}

/// Follows a JSON path the way Gatus's `jsonpath.Eval` walks: it descends through objects, stops
/// at an array, a number or a boolean (ignoring the rest of the path), fails on a string with
/// keys left, on `null` and on a missing member or index.
fn walk<'v>(keys: &[PathKey], value: &'v Value) -> Option<&'v Value> {
    let (key, rest) = keys.split_first()?;
    let found = step(key, value)?;
    match found {
        Value::Object(_) if !rest.is_empty() => walk(rest, found),
        Value::String(_) if !rest.is_empty() => None,
        Value::Null => None,
        _ => Some(found),
    }
}

/// One key of the walk (Gatus's `extractValue`).
fn step<'v>(key: &PathKey, value: &'v Value) -> Option<&'v Value> {
    if key.indices.is_empty() {
        return match value {
            Value::Object(members) => members.get(&key.name),
            // Gatus hands back an array or a scalar whatever the key: `[BODY].x` of `[1, 2]`
            // reads the array.
            other => Some(other),
        };
    }
    let mut current = if key.name.is_empty() {
        value
    } else {
        // Gatus panics when this is not an object; we read it as missing.
        value.as_object()?.get(&key.name)?
    };
    for &index in &key.indices {
        current = current.as_array()?.get(index)?;
    }
    Some(current)
}

/// The text Gatus compares for a JSON value where a path stopped.
fn render(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Object(_) => go_json(value),
        other => go_print(other),
    }
}

/// `len(...)` of a JSON value: elements of an array, bytes of everything else as rendered.
fn length(value: &Value) -> usize {
    match value {
        Value::Array(items) => items.len(),
        other => render(other).len(),
    }
}

// ---------------------------------------------------------------------------------------------
// Go's formats, which Gatus's verdicts depend on
// ---------------------------------------------------------------------------------------------

/// Go's `fmt.Sprintf("%v", v)` of a decoded JSON value: `[a b]`, `map[k:v]` with sorted keys,
/// `<nil>`; numbers as in [`go_print_number`].
fn go_print(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_owned(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => go_print_number(number),
        Value::String(text) => text.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(go_print).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(members) => {
            let mut members: Vec<_> = members.iter().collect();
            members.sort_by_key(|(key, _)| *key);
            let members: Vec<String> = members
                .into_iter()
                .map(|(key, value)| format!("{key}:{}", go_print(value)))
                .collect();
            format!("map[{}]", members.join(" "))
        }
    }
}

/// An integral value as an integer (see the module doc); any other number as Go's `%v` of a
/// float64: shortest digits, with an exponent below 1e-4 and from 1e6 on (`1.2345675e+06`).
fn go_print_number(number: &serde_json::Number) -> String {
    if let Some(integer) = integral(number) {
        return integer;
    }
    let float = number.as_f64().unwrap_or_default();
    let (mantissa, exponent) = shortest_scientific(float);
    if (-4..6).contains(&exponent) {
        format!("{float}")
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
    }
}

/// Go's `json.Marshal`, which Gatus uses for an object where a path stops: minified, keys sorted,
/// `<`, `>`, `&`, U+2028 and U+2029 escaped, floats without exponent from 1e-6 up to 1e21.
fn go_json(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => integral(number).unwrap_or_else(|| {
            let float = number.as_f64().unwrap_or_default();
            let magnitude = float.abs();
            if magnitude != 0.0 && !(1e-6..1e21).contains(&magnitude) {
                let (mantissa, exponent) = shortest_scientific(float);
                let sign = if exponent < 0 { "" } else { "+" };
                format!("{mantissa}e{sign}{exponent}")
            } else {
                format!("{float}")
            }
        }),
        Value::String(text) => go_json_string(text),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(go_json).collect();
            format!("[{}]", items.join(","))
        }
        Value::Object(members) => {
            let mut members: Vec<_> = members.iter().collect();
            members.sort_by_key(|(key, _)| *key);
            let members: Vec<String> = members
                .into_iter()
                .map(|(key, value)| format!("{}:{}", go_json_string(key), go_json(value)))
                .collect();
            format!("{{{}}}", members.join(","))
        }
    }
}

/// serde_json escapes as Go does for quotes, backslashes and control characters; Go's encoder
/// also escapes what is unsafe in HTML and JavaScript.
fn go_json_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned())
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// A JSON number with an integral value that fits an i64 or u64, as digits.
fn integral(number: &serde_json::Number) -> Option<String> {
    if let Some(integer) = number.as_i64() {
        return Some(integer.to_string());
    }
    if let Some(integer) = number.as_u64() {
        return Some(integer.to_string());
    }
    let float = number.as_f64()?;
    // Below 2^63 (written out: 9.223372036854775e18 would be the float below it) the cast
    // is exact for an integral float.
    (float.fract() == 0.0 && float.abs() < 9_223_372_036_854_775_808.0)
        .then(|| (float as i64).to_string())
}

/// The shortest digits that read back as `float`, as a mantissa (`1.2345675`) and exponent (6).
fn shortest_scientific(float: f64) -> (String, i32) {
    let scientific = format!("{float:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("{:e} always writes an exponent");
    let exponent = exponent.parse().expect("{:e} writes an integer exponent");
    (mantissa.to_owned(), exponent)
}

/// Gatus's `isEqual` without the functions: as integers when both sides read as Go integers
/// (`0x1` equals `1`), else as text.
fn go_equal(left: &str, right: &str) -> bool {
    match (go_parse_int(left), go_parse_int(right)) {
        (Some(left), Some(right)) => left == right,
        _ => left == right,
    }
}

/// The number Gatus compares with `<`-like operators (`sanitizeAndResolveNumerical`): a non-zero
/// Go duration in milliseconds, else a Go integer, else a float cut toward zero.
fn go_number(text: &str) -> Option<i64> {
    if let Some(nanos) = go_parse_duration(text).filter(|&nanos| nanos != 0) {
        return Some(nanos / 1_000_000);
    }
    if let Some(integer) = go_parse_int(text) {
        return Some(integer);
    }
    go_parse_float(text).map(|float| float as i64)
}

/// Whether a literal means a number to `<`-like operators; `0s` counts, though Gatus reaches
/// its 0 by falling through every reading.
fn is_number_or_duration(text: &str) -> bool {
    go_number(text).is_some() || go_parse_duration(text).is_some()
}

/// Go's `strconv.ParseInt(text, 0, 64)`: optional sign, then decimal, `0x`/`0o`/`0b`, or a
/// leading `0` for octal, with `_` allowed between digits.
fn go_parse_int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let prefix = digits.as_bytes().get(1).map(u8::to_ascii_lowercase);
    let (base, body) = match (digits.as_bytes()[0], prefix) {
        (b'0', Some(b'b')) if digits.len() >= 3 => (2, &digits[2..]),
        (b'0', Some(b'o')) if digits.len() >= 3 => (8, &digits[2..]),
        (b'0', Some(b'x')) if digits.len() >= 3 => (16, &digits[2..]),
        (b'0', _) => (8, &digits[1..]),
        _ => (10, digits),
    };
    let mut magnitude: u64 = 0;
    for byte in body.bytes() {
        if byte == b'_' {
            continue;
        }
        let digit = char::from(byte).to_digit(base)?;
        magnitude = magnitude
            .checked_mul(u64::from(base))?
            .checked_add(u64::from(digit))?;
    }
    if body.contains('_') && !underscores_ok(digits) {
        return None;
    }
    if negative {
        0_i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go's `strconv.ParseFloat(text, 64)` for decimal text; non-finite results do not count
/// (Go reports out-of-range values as errors).
fn go_parse_float(text: &str) -> Option<f64> {
    let text: Cow<'_, str> = if text.contains('_') {
        if !underscores_ok(text) {
            return None;
        }
        text.replace('_', "").into()
    } else {
        text.into()
    };
    text.parse::<f64>().ok().filter(|float| float.is_finite())
}

/// Go's rule for `_` in number literals: only between digits, or after a base prefix.
fn underscores_ok(text: &str) -> bool {
    let text = text.strip_prefix(['+', '-']).unwrap_or(text);
    let bytes = text.as_bytes();
    // What came last: '^' the start, '0' a digit or base prefix, '_' an underscore, '!' other.
    let (mut saw, mut start, mut hex) = ('^', 0, false);
    if bytes.len() >= 2 && bytes[0] == b'0' && matches!(bytes[1] | 0x20, b'b' | b'o' | b'x') {
        (saw, start, hex) = ('0', 2, bytes[1] | 0x20 == b'x');
    }
    for &byte in &bytes[start..] {
        if byte.is_ascii_digit() || hex && byte.is_ascii_hexdigit() {
            saw = '0';
        } else if byte == b'_' {
            if saw != '0' {
                return false;
            }
            saw = '_';
        } else {
            if saw == '_' {
                return false;
            }
            saw = '!';
        }
    }
    saw != '_'
}

/// Go's `time.ParseDuration`, in nanoseconds: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+` with units
/// `ns us µs μs ms s m h`, or a bare `0`.
fn go_parse_duration(text: &str) -> Option<i64> {
    const LIMIT: u64 = 1 << 63;
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let mut whole: u64 = 0;
        for byte in rest[..digits].bytes() {
            if whole > LIMIT / 10 {
                return None;
            }
            whole = whole * 10 + u64::from(byte - b'0');
            if whole > LIMIT {
                return None;
            }
        }
        rest = &rest[digits..];
        // The fraction keeps the digits that fit and skips the rest, as Go does.
        let (mut fraction, mut scale, mut fraction_digits) = (0_u64, 1_f64, 0);
        if let Some(after_dot) = rest.strip_prefix('.') {
            fraction_digits = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            let mut overflow = false;
            for byte in after_dot[..fraction_digits].bytes() {
                if overflow || fraction > (LIMIT - 1) / 10 {
                    overflow = true;
                    continue;
                }
                let next = fraction * 10 + u64::from(byte - b'0');
                if next > LIMIT {
                    overflow = true;
                    continue;
                }
                (fraction, scale) = (next, scale * 10.0);
            }
            rest = &after_dot[fraction_digits..];
        }
        if digits == 0 && fraction_digits == 0 {
            return None;
        }
        let unit_length = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit: u64 = match &rest[..unit_length] {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        rest = &rest[unit_length..];
        if whole > LIMIT / unit {
            return None;
        }
        let mut value = whole * unit;
        if fraction > 0 {
            value += (fraction as f64 * (unit as f64 / scale)) as u64;
            if value > LIMIT {
                return None;
            }
        }
        // Each term is at most 2^63, so two of them can reach 2^64: Go's uint64 wraps that to
        // 0 and reads a valid duration; here it is too long, as it is.
        total = total.checked_add(value).filter(|&total| total <= LIMIT)?;
    }
    if negative {
        0_i64.checked_sub_unsigned(total)
    } else {
        i64::try_from(total).ok()
    }
}

/// A duration in milliseconds as Gatus means to show it: whole seconds, zero units dropped from
/// the end (`336h`, `1h30m`, `1h0m15s`, `10s`, `0s`).
fn format_duration(millis: i64) -> String {
    let seconds = millis.unsigned_abs() / 1000;
    if seconds == 0 {
        return "0s".to_owned();
    }
    let sign = if millis < 0 { "-" } else { "" };
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let shown = match (hours, minutes, seconds) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, 0) => format!("{h}h{m}m"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    };
    format!("{sign}{shown}")
}

/// A seen value fit for a one-line reason: control characters escaped, cut after `limit`
/// characters with Gatus's `...(truncated)`.
fn one_line(value: &str, limit: usize) -> String {
    let mut shown = String::new();
    for c in value.chars().take(limit) {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    if value.chars().nth(limit).is_some() {
        shown.push_str("...(truncated)");
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A probe for the tables; [`PROBE`] unless a case says otherwise.
    #[derive(Debug, Clone, Copy)]
    struct Probe {
        status: u16,
        millis: u64,
        body: &'static str,
        certificate: Option<Duration>,
    }

    /// 200 in 50 ms, empty body, no TLS.
    const PROBE: Probe = Probe {
        status: 200,
        millis: 50,
        body: "",
        certificate: None,
    };

    fn status(status: u16) -> Probe {
        Probe { status, ..PROBE }
    }

    fn millis(millis: u64) -> Probe {
        Probe { millis, ..PROBE }
    }

    fn body(body: &'static str) -> Probe {
        Probe { body, ..PROBE }
    }

    fn certificate(left: Duration) -> Probe {
        Probe {
            certificate: Some(left),
            ..PROBE
        }
    }

    const HOUR: Duration = Duration::from_secs(3600);
    const DAY: Duration = Duration::from_secs(24 * 3600);

    impl Probe {
        fn observed(&self) -> Observed<'static> {
            Observed::new(
                self.status,
                Duration::from_millis(self.millis),
                self.body.as_bytes(),
                self.certificate,
            )
        }
    }

    /// Runs a table of `(condition, probe, Ok(()) or Err(reason))` and reports every mismatch.
    fn check(cases: &[(&str, Probe, Result<(), &str>)]) {
        let mut mismatches = Vec::new();
        for (text, probe, expected) in cases {
            let condition = Condition::parse(text).unwrap_or_else(|error| panic!("{error}"));
            let verdict = condition.evaluate(&probe.observed());
            if verdict.as_ref().map(|_| ()).map_err(String::as_str) != *expected {
                mismatches.push(format!(
                    "{text:?} on {probe:?}: expected {expected:?}, got {verdict:?}"
                ));
            }
        }
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    }

    /// What one side reads on a probe: `None` for a missing path.
    fn resolved(side: &str, probe: Probe) -> Option<String> {
        let side = Side::parse(side).unwrap_or_else(|error| panic!("{error}"));
        match side.resolve(&probe.observed()).expect("JSON body") {
            Seen::Value(value) => Some(value.into_owned()),
            Seen::Missing => None,
        }
    }

    // Mirrors Gatus's TestCondition_evaluate: status, status-failure, status-using-less-than,
    // status-using-less-than-failure, response-time-using-* (all seven, with and without
    // duration), and response-time-using-less-than-invalid, which is a --check error here (see
    // `parse_rejects_what_cannot_mean_anything`).
    #[test]
    fn status_and_response_time_compare_as_numbers() {
        check(&[
            ("[STATUS] == 200", status(200), Ok(())),
            ("[STATUS] == 200", status(500), Err("[STATUS] (500) == 200")),
            ("[STATUS] < 300", status(201), Ok(())),
            ("[STATUS] < 300", status(404), Err("[STATUS] (404) < 300")),
            ("[RESPONSE_TIME] < 500", millis(50), Ok(())),
            ("[RESPONSE_TIME] < 1s", millis(50), Ok(())),
            ("[RESPONSE_TIME] > 500", millis(750), Ok(())),
            ("[RESPONSE_TIME] > 1s", millis(2000), Ok(())),
            ("[RESPONSE_TIME] >= 500", millis(500), Ok(())),
            (
                "[RESPONSE_TIME] >= 500",
                millis(499),
                Err("[RESPONSE_TIME] (499) >= 500"),
            ),
            ("[RESPONSE_TIME] <= 500", millis(500), Ok(())),
            ("[RESPONSE_TIME] <= 500", millis(25), Ok(())),
            (
                "[RESPONSE_TIME] <= 500",
                millis(750),
                Err("[RESPONSE_TIME] (750) <= 500"),
            ),
            // Ours: each operator both ways, and durations in other units.
            ("[STATUS] != 200", status(503), Ok(())),
            ("[STATUS] != 200", status(200), Err("[STATUS] (200) != 200")),
            ("[STATUS] > 199", status(200), Ok(())),
            ("[STATUS] > 199", status(199), Err("[STATUS] (199) > 199")),
            (
                "[RESPONSE_TIME] < 1s",
                millis(1000),
                Err("[RESPONSE_TIME] (1000) < 1s"),
            ),
            ("[RESPONSE_TIME] < 1.5s", millis(1499), Ok(())),
            (
                "[RESPONSE_TIME] < 1.5s",
                millis(1500),
                Err("[RESPONSE_TIME] (1500) < 1.5s"),
            ),
            ("[RESPONSE_TIME] <= 1m30s", millis(90_000), Ok(())),
            (
                "[RESPONSE_TIME] < 90s",
                millis(90_000),
                Err("[RESPONSE_TIME] (90000) < 90s"),
            ),
            ("[RESPONSE_TIME] < 1500ms", millis(1499), Ok(())),
            // `==` does not read durations: Gatus compares "1000" with "1s" as text.
            (
                "[RESPONSE_TIME] == 1s",
                millis(1000),
                Err("[RESPONSE_TIME] (1000) == 1s"),
            ),
            ("[RESPONSE_TIME] == 1000", millis(1000), Ok(())),
            // Sides can be swapped.
            ("200 == [STATUS]", status(200), Ok(())),
            ("300 > [STATUS]", status(404), Err("300 > [STATUS] (404)")),
            // Placeholder names are case-insensitive (Gatus's TestResolvePlaceholder, status-lowercase).
            ("[status] == 200", status(500), Err("[status] (500) == 200")),
        ]);
    }

    // Mirrors TestCondition_evaluate: body, body-numerical-equal, body-numerical-less-than,
    // body-numerical-greater-than, body-numerical-greater-than-failure.
    #[test]
    fn raw_body_compares_as_trimmed_text_or_number() {
        check(&[
            ("[BODY] == test", body("test"), Ok(())),
            ("[BODY] == 123", body("123"), Ok(())),
            ("[BODY] < 124", body("123"), Ok(())),
            ("[BODY] > 122", body("123"), Ok(())),
            ("[BODY] > 123", body("100"), Err("[BODY] (100) > 123")),
            // Ours: Gatus trims the body before comparing it.
            ("[BODY] == 123", body("  123\n"), Ok(())),
            (
                "[BODY] == test",
                body("tested"),
                Err("[BODY] (tested) == test"),
            ),
            ("[BODY] == OK", body(""), Err("[BODY] () == OK")),
            ("[BODY] != OK", body("KO"), Ok(())),
        ]);
    }

    // Mirrors TestCondition_evaluate: body-resolved-on-success (its verdict), body-jsonpath,
    // body-jsonpath-complex(-invalid), body-jsonpath-double-placeholder(-failure),
    // body-jsonpath-when-body-is-array, body-jsonpath-when-body-has-null-parameter,
    // body-jsonpath-when-body-has-array-with-null, body-jsonpath-when-body-is-null,
    // body-jsonpath-when-body-is-array-but-actual-body-is-not, body-jsonpath-complex-int,
    // body-jsonpath-complex-array-int, body-jsonpath-complex-int-using-{greater,less}-than(-failure).
    #[test]
    fn json_paths_read_members_and_indices() {
        check(&[
            ("[BODY].status == UP", body(r#"{"status":"UP"}"#), Ok(())),
            (
                "[BODY].data.name == john",
                body(r#"{"data": {"id": 1, "name": "john"}}"#),
                Ok(()),
            ),
            (
                "[BODY].data.name == john",
                body(r#"{"data": {"id": 1}}"#),
                Err("[BODY].data.name (INVALID) == john"),
            ),
            (
                "[BODY].user.firstName != [BODY].user.lastName",
                body(r#"{"user": {"firstName": "john", "lastName": "doe"}}"#),
                Ok(()),
            ),
            (
                "[BODY].user.firstName == [BODY].user.lastName",
                body(r#"{"user": {"firstName": "john", "lastName": "doe"}}"#),
                Err("[BODY].user.firstName (john) == [BODY].user.lastName (doe)"),
            ),
            (
                "[BODY][0].id == 1",
                body(r#"[{"id": 1}, {"id": 2}]"#),
                Ok(()),
            ),
            // Gatus's two null cases have a stray `"` after the JSON, so they test a body that is
            // not JSON; ours test both that and a real null.
            (
                "[BODY].data == OK",
                body(r#"{"data": null}"#),
                Err("[BODY].data (INVALID) == OK"),
            ),
            (
                "[BODY].data == OK",
                body(r#"{"data": null}""#),
                Err("[BODY].data: body is not JSON"),
            ),
            (
                "[BODY].items[0] == OK",
                body(r#"{"items": [null, null]}"#),
                Err("[BODY].items[0] (INVALID) == OK"),
            ),
            (
                "[BODY].data == OK",
                body("null"),
                Err("[BODY].data (INVALID) == OK"),
            ),
            (
                "[BODY][0].name == test",
                body(r#"{"statusCode": 500, "message": "Internal Server Error"}"#),
                Err("[BODY][0].name (INVALID) == test"),
            ),
            (
                "[BODY].data.id == 1",
                body(r#"{"data": {"id": 1}}"#),
                Ok(()),
            ),
            (
                "[BODY].data[1].id == 2",
                body(r#"{"data": [{"id": 1}, {"id": 2}, {"id": 3}]}"#),
                Ok(()),
            ),
            ("[BODY].data.id > 0", body(r#"{"data": {"id": 1}}"#), Ok(())),
            (
                "[BODY].data.id > 5",
                body(r#"{"data": {"id": 1}}"#),
                Err("[BODY].data.id (1) > 5"),
            ),
            ("[BODY].data.id < 5", body(r#"{"data": {"id": 2}}"#), Ok(())),
            (
                "[BODY].data.id < 5",
                body(r#"{"data": {"id": 10}}"#),
                Err("[BODY].data.id (10) < 5"),
            ),
            // Ours: deeper nesting, nested arrays, a path whose case matters, an out-of-range index.
            (
                "[BODY].a.b[0].c == deep",
                body(r#"{"a": {"b": [{"c": "deep"}]}}"#),
                Ok(()),
            ),
            (
                "[BODY].m[1][0] == 3",
                body(r#"{"m": [[1, 2], [3, 4]]}"#),
                Ok(()),
            ),
            (
                "[BODY].Status == UP",
                body(r#"{"status": "UP"}"#),
                Err("[BODY].Status (INVALID) == UP"),
            ),
            (
                "[body].status == UP",
                body(r#"{"status": "DOWN"}"#),
                Err("[body].status (DOWN) == UP"),
            ),
            (
                "[BODY][2].id == 1",
                body(r#"[{"id": 1}, {"id": 2}]"#),
                Err("[BODY][2].id (INVALID) == 1"),
            ),
            (
                "[STATUS] == [BODY].status",
                Probe {
                    status: 201,
                    ..body(r#"{"status": 201}"#)
                },
                Ok(()),
            ),
            (
                "[BODY].age == [BODY].id",
                body(r#"{"age": 7, "id": 8}"#),
                Err("[BODY].age (7) == [BODY].id (8)"),
            ),
        ]);
    }

    // Mirrors TestCondition_evaluate: body-jsonpath-hexadecimal-*, -octal-*, -binary-* and
    // body-jsonpath-float-using-greater-than-issue433 ("numbers in strings").
    #[test]
    fn numbers_in_strings_read_as_go_integers_and_floats() {
        check(&[
            ("[BODY].data > 0", body(r#"{"data": "0x1"}"#), Ok(())),
            ("[BODY].data == 1", body(r#"{"data": "0x1"}"#), Ok(())),
            ("[BODY].data == 0x1", body(r#"{"data": "0x1"}"#), Ok(())),
            ("[BODY].data == 2", body(r#"{"data": "0x2"}"#), Ok(())),
            ("[BODY].data == 15", body(r#"{"data": "0xF"}"#), Ok(())),
            (
                "[BODY].data == 12648243",
                body(r#"{"data": "0xC0ff33"}"#),
                Ok(()),
            ),
            ("len([BODY].data) == 3", body(r#"{"data": "0x1"}"#), Ok(())),
            ("[BODY].data >= 1", body(r#"{"data": "0x01"}"#), Ok(())),
            ("len([BODY].data) == 4", body(r#"{"data": "0x01"}"#), Ok(())),
            ("[BODY].data > 0", body(r#"{"data": "0o1"}"#), Ok(())),
            ("[BODY].data == 2", body(r#"{"data": "0o2"}"#), Ok(())),
            ("[BODY].data == 0o2", body(r#"{"data": "0o2"}"#), Ok(())),
            ("[BODY].data > 0", body(r#"{"data": "0b1"}"#), Ok(())),
            ("[BODY].data == 2", body(r#"{"data": "0b0010"}"#), Ok(())),
            ("[BODY].data == 0b10", body(r#"{"data": "0b0010"}"#), Ok(())),
            (
                "[BODY].balance > 100",
                body(r#"{"balance": "123.40000000000005"}"#),
                Ok(()),
            ),
            // Ours: a number and the same number in a string are equal; a leading 0 is octal and
            // `_` separates digits, as in Go; floats compare as text with `==` and are cut to
            // integers with `<`-like operators.
            ("[BODY].n == 42", body(r#"{"n": "42"}"#), Ok(())),
            (
                "[BODY].n == \"42\"",
                body(r#"{"n": "42"}"#),
                Err("[BODY].n (42) == \"42\""),
            ),
            ("[STATUS] == 0310", status(200), Ok(())),
            ("[BODY].n == 1_000", body(r#"{"n": 1000}"#), Ok(())),
            (
                "[BODY].n == 010",
                body(r#"{"n": 10}"#),
                Err("[BODY].n (10) == 010"),
            ),
            ("[BODY].n == -5", body(r#"{"n": -5}"#), Ok(())),
            ("[BODY].price == 1.5", body(r#"{"price": 1.5}"#), Ok(())),
            (
                "[BODY].price == 1.50",
                body(r#"{"price": 1.5}"#),
                Err("[BODY].price (1.5) == 1.50"),
            ),
            (
                "[BODY].price > 1",
                body(r#"{"price": 1.9}"#),
                Err("[BODY].price (1) > 1"),
            ),
            ("[BODY].price >= 1", body(r#"{"price": 1.9}"#), Ok(())),
            (
                "[BODY].ratio < 0.5",
                body(r#"{"ratio": 0.3}"#),
                Err("[BODY].ratio (0) < 0.5 (0)"),
            ),
            (
                "[BODY].n < 0x10",
                body(r#"{"n": 20}"#),
                Err("[BODY].n (20) < 0x10 (16)"),
            ),
            ("[BODY].temp < -1", body(r#"{"temp": -2.5}"#), Ok(())),
            // A string that is no number reads as 0 in `<`-like comparisons, as in Gatus.
            ("[BODY].name < 1", body(r#"{"name": "john"}"#), Ok(())),
            (
                "[BODY].name > 0",
                body(r#"{"name": "john"}"#),
                Err("[BODY].name (0) > 0"),
            ),
            // A duration in the body reads in milliseconds.
            ("[BODY].uptime > 1h", body(r#"{"uptime": "90m"}"#), Ok(())),
            (
                "[BODY].uptime > 2h",
                body(r#"{"uptime": "90m"}"#),
                Err("[BODY].uptime (5400000) > 2h"),
            ),
        ]);
    }

    // Mirrors TestCondition_evaluate: connected, certificate-expiration-not-set,
    // certificate-expiration-greater-than-numerical(-failure), certificate-expiration-greater-
    // than-duration (both). connected-failure cannot happen: conditions judge only probes that
    // got a response.
    #[test]
    fn connected_and_certificate_expiration() {
        check(&[
            ("[CONNECTED] == true", PROBE, Ok(())),
            (
                "[CONNECTED] == false",
                PROBE,
                Err("[CONNECTED] (true) == false"),
            ),
            ("[CONNECTED] != false", PROBE, Ok(())),
            ("[CERTIFICATE_EXPIRATION] == 0", PROBE, Ok(())),
            (
                "[CERTIFICATE_EXPIRATION] > 2419200000",
                certificate(DAY * 60),
                Ok(()),
            ),
            (
                "[CERTIFICATE_EXPIRATION] > 2419200000",
                certificate(DAY * 14),
                Err("[CERTIFICATE_EXPIRATION] (336h) > 2419200000"),
            ),
            ("[CERTIFICATE_EXPIRATION] > 12h", certificate(DAY), Ok(())),
            (
                "[CERTIFICATE_EXPIRATION] > 48h",
                certificate(DAY),
                Err("[CERTIFICATE_EXPIRATION] (24h) > 48h"),
            ),
            // Ours: no TLS reads as 0, as in Gatus; the issue's example; minutes and seconds.
            (
                "[CERTIFICATE_EXPIRATION] > 48h",
                PROBE,
                Err("[CERTIFICATE_EXPIRATION] (0s) > 48h"),
            ),
            (
                "[CERTIFICATE_EXPIRATION] > 240h",
                certificate(DAY * 30),
                Ok(()),
            ),
            (
                "[CERTIFICATE_EXPIRATION] > 240h",
                certificate(DAY * 5),
                Err("[CERTIFICATE_EXPIRATION] (120h) > 240h"),
            ),
            (
                "[CERTIFICATE_EXPIRATION] > 90m",
                certificate(HOUR),
                Err("[CERTIFICATE_EXPIRATION] (1h) > 90m"),
            ),
            (
                "[CERTIFICATE_EXPIRATION] >= 2h",
                certificate(HOUR + Duration::from_secs(15)),
                Err("[CERTIFICATE_EXPIRATION] (1h0m15s) >= 2h"),
            ),
            (
                "[certificate_expiration] < 1h",
                certificate(HOUR),
                Err("[certificate_expiration] (1h) < 1h"),
            ),
        ]);
    }

    // Mirrors TestCondition_evaluate: len-body-jsonpath-complex, len-body-array,
    // len-body-keyed-array, len-body-array-invalid, len-body-string, len-body-keyed-string,
    // len-body-keyed-int, len-body-keyed-bool, len-body-object-inside-array,
    // len-body-object-keyed-int-inside-array, len-body-keyed-bool-inside-array, len-body-object,
    // body-jsonpath-complex-len-invalid.
    #[test]
    fn len_counts_elements_or_bytes() {
        check(&[
            (
                "len([BODY].data.name) == 4",
                body(r#"{"data": {"name": "john"}}"#),
                Ok(()),
            ),
            (
                "len([BODY]) == 3",
                body(r#"[{"id": 1}, {"id": 2}, {"id": 3}]"#),
                Ok(()),
            ),
            (
                "len([BODY].data) == 3",
                body(r#"{"data": [{"id": 1}, {"id": 2}, {"id": 3}]}"#),
                Ok(()),
            ),
            (
                "len([BODY].data) == 8",
                body(r#"{"name": "john.doe"}"#),
                Err("len([BODY].data) (INVALID) == 8"),
            ),
            ("len([BODY]) == 8", body("john.doe"), Ok(())),
            (
                "len([BODY].name) == 8",
                body(r#"{"name": "john.doe"}"#),
                Ok(()),
            ),
            ("len([BODY].age) == 2", body(r#"{"age":18}"#), Ok(())),
            ("len([BODY].adult) == 4", body(r#"{"adult":true}"#), Ok(())),
            (
                "len([BODY][0]) == 23",
                body(r#"[{"age":18,"adult":true}]"#),
                Ok(()),
            ),
            (
                "len([BODY][0].age) == 2",
                body(r#"[{"age":18,"adult":true}]"#),
                Ok(()),
            ),
            (
                "len([BODY][0].adult) == 4",
                body(r#"[{"age":18,"adult":true}]"#),
                Ok(()),
            ),
            ("len([BODY]) == 20", body(r#"{"name": "john.doe"}"#), Ok(())),
            (
                "len([BODY].data.name) == john",
                body(r#"{"data": {"id": 1}}"#),
                Err("len([BODY].data.name) (INVALID) == john"),
            ),
            // Ours: ordering; bytes, not characters; an empty array; the raw body, whitespace
            // included unless it is a JSON array; an array with whitespace around it counts bytes;
            // len of a number placeholder counts its digits.
            (
                "len([BODY].items) > 0",
                body(r#"{"items": []}"#),
                Err("len([BODY].items) (0) > 0"),
            ),
            ("len([BODY].items) > 0", body(r#"{"items": [0]}"#), Ok(())),
            (
                "len([BODY].name) == 6",
                body(r#"{"name": "héllo"}"#),
                Ok(()),
            ),
            ("len([BODY]) == 4", body("123\n"), Ok(())),
            ("len([BODY]) == 2", body("[1, 2]"), Ok(())),
            (
                "len([BODY]) == 2",
                body("[1, 2]\n"),
                Err("len([BODY]) (7) == 2"),
            ),
            ("len([BODY]) == 0", body(""), Ok(())),
            ("len([STATUS]) == 3", status(503), Ok(())),
            (
                "len([BODY].data) == 9",
                body(r#"{"data": {"b": 1, "a": 2}}"#),
                Err("len([BODY].data) (13) == 9"),
            ),
        ]);
    }

    // Mirrors TestCondition_evaluate: pat-body-1, pat-body-2, pat-body-failure, pat-body-html,
    // pat-body-html-failure, pat-body-html-failure-alt, pat-body-in-array, pat-status(-failure).
    // pat-ip(-failure) need [IP], which the HTTP probe does not record.
    #[test]
    fn pat_matches_a_glob() {
        const PAGE: &str = r#"<!DOCTYPE html><html lang="en"><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8" /></head><body><div id="user">jane.doe</div></body></html>"#;
        check(&[
            (
                "[BODY] == pat(*john*)",
                body(r#"{"name": "john.doe"}"#),
                Ok(()),
            ),
            (
                "[BODY].name == pat(john*)",
                body(r#"{"name": "john.doe"}"#),
                Ok(()),
            ),
            (
                "[BODY].name == pat(bob*)",
                body(r#"{"name": "john.doe"}"#),
                Err("[BODY].name (john.doe) == pat(bob*)"),
            ),
            (
                r#"[BODY] == pat(*<div id="user">john.doe</div>*)"#,
                body(
                    r#"<!DOCTYPE html><html lang="en"><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8" /></head><body><div id="user">john.doe</div></body></html>"#,
                ),
                Ok(()),
            ),
            (
                r#"[BODY] == pat(*<div id="user">john.doe</div>*)"#,
                body(PAGE),
                Err(
                    r#"[BODY] (<!DOCTYPE html><html lang...(truncated)) == pat(*<div id="user">john.doe</div>*)"#,
                ),
            ),
            (
                r#"pat(*<div id="user">john.doe</div>*) == [BODY]"#,
                body(PAGE),
                Err(
                    r#"pat(*<div id="user">john.doe</div>*) == [BODY] (<!DOCTYPE html><html lang...(truncated))"#,
                ),
            ),
            (
                "[BODY].data == pat(*Whatever*)",
                body(r#"{"data": ["hello", "world", "Whatever"]}"#),
                Ok(()),
            ),
            ("[STATUS] == pat(4*)", status(404), Ok(())),
            (
                "[STATUS] == pat(4*)",
                status(200),
                Err("[STATUS] (200) == pat(4*)"),
            ),
            // Ours: `?` is one character; `*` crosses `/` because Gatus drops every `/` first;
            // matching is case-sensitive and whole-value; `!=` negates.
            ("[STATUS] == pat(2??)", status(204), Ok(())),
            (
                "[STATUS] == pat(2?)",
                status(204),
                Err("[STATUS] (204) == pat(2?)"),
            ),
            (
                "[BODY].url == pat(https:*/health)",
                body(r#"{"url": "https://a.example/v1/health"}"#),
                Ok(()),
            ),
            ("[BODY].path == pat(ab)", body(r#"{"path": "a/b"}"#), Ok(())),
            (
                "[BODY] == pat(UP)",
                body("up"),
                Err("[BODY] (up) == pat(UP)"),
            ),
            (
                "[BODY] == pat(UP)",
                body("UP!"),
                Err("[BODY] (UP!) == pat(UP)"),
            ),
            ("[BODY] != pat(*error*)", body("all good"), Ok(())),
            (
                "[BODY] != pat(*error*)",
                body("an error"),
                Err("[BODY] (an error) != pat(*error*)"),
            ),
            ("[BODY] == pat()", body(""), Ok(())),
        ]);
    }

    // Mirrors TestCondition_evaluate: any-body-1, any-body-2, any-body-failure, any-status-1,
    // any-status-2, any-status-reverse, any-status-failure.
    #[test]
    fn any_matches_one_of_a_list() {
        check(&[
            (
                "[BODY].name == any(john.doe, jane.doe)",
                body(r#"{"name": "john.doe"}"#),
                Ok(()),
            ),
            (
                "[BODY].name == any(john.doe, jane.doe)",
                body(r#"{"name": "jane.doe"}"#),
                Ok(()),
            ),
            (
                "[BODY].name == any(john.doe, jane.doe)",
                body(r#"{"name": "bob"}"#),
                Err("[BODY].name (bob) == any(john.doe, jane.doe)"),
            ),
            ("[STATUS] == any(200, 429)", status(200), Ok(())),
            ("[STATUS] == any(200, 429)", status(429), Ok(())),
            ("any(200, 429) == [STATUS]", status(429), Ok(())),
            (
                "[STATUS] == any(200, 429)",
                status(404),
                Err("[STATUS] (404) == any(200, 429)"),
            ),
            // Ours: options are trimmed and compared as text (no integer reading), `!=` negates.
            (
                "[STATUS] == any(0xC8, 201)",
                status(200),
                Err("[STATUS] (200) == any(0xC8, 201)"),
            ),
            (
                "[BODY].state == any( up ,ok)",
                body(r#"{"state": "up"}"#),
                Ok(()),
            ),
            (
                "[BODY].state == any(up, ok)",
                body(r#"{"state": " up"}"#),
                Err("[BODY].state ( up) == any(up, ok)"),
            ),
            ("[STATUS] != any(500, 502, 503)", status(200), Ok(())),
            (
                "[STATUS] != any(500, 502, 503)",
                status(502),
                Err("[STATUS] (502) != any(500, 502, 503)"),
            ),
        ]);
    }

    // Mirrors TestCondition_evaluate: has, has-key-of-map, has-failure.
    #[test]
    fn has_tells_whether_a_path_exists() {
        check(&[
            ("has([BODY].errors) == false", body("{}"), Ok(())),
            (
                "has([BODY].article) == true",
                body(
                    "{\n  \"article\": {\n    \"id\": 123,\n    \"title\": \"Hello, world!\",\n    \"author\": \"John Doe\",\n    \"tags\": [\"hello\", \"world\"],\n    \"content\": \"I really like Gatus!\"\n  }\n}",
                ),
                Ok(()),
            ),
            (
                "has([BODY].errors) == false",
                body(r#"{"errors": ["1"]}"#),
                Err("has([BODY].errors) (true) == false"),
            ),
            // Ours: an empty string exists, null does not; has of the raw body; `!=`.
            ("has([BODY].note) == true", body(r#"{"note": ""}"#), Ok(())),
            (
                "has([BODY].note) == true",
                body(r#"{"note": null}"#),
                Err("has([BODY].note) (false) == true"),
            ),
            (
                "has([BODY].users[0].name) == true",
                body(r#"{"users": [{"name": "a"}]}"#),
                Ok(()),
            ),
            (
                "has([BODY].users[1].name) == true",
                body(r#"{"users": [{"name": "a"}]}"#),
                Err("has([BODY].users[1].name) (false) == true"),
            ),
            (
                "has([BODY]) == true",
                body("  \n"),
                Err("has([BODY]) (false) == true"),
            ),
            ("has([BODY]) == true", body("x"), Ok(())),
            ("has([BODY].errors) != true", body("{}"), Ok(())),
        ]);
    }

    // Mirrors TestResolvePlaceholder and TestResolvePlaceholderWithoutContext (the placeholders
    // an HTTP probe records; [IP], [DNS_RCODE], [DOMAIN_EXPIRATION] and [CONTEXT] are --check
    // errors here, as are [UNKNOWN] and len([UNKNOWN])).
    #[test]
    fn placeholders_resolve_as_in_gatus() {
        let probe = Probe {
            status: 200,
            millis: 250,
            body: r#"{"status":"success","items":[1,2,3],"user":{"name":"john","id":123}}"#,
            certificate: Some(DAY * 30),
        };
        let cases = [
            ("[STATUS]", Some("200")),
            ("[RESPONSE_TIME]", Some("250")),
            ("[CONNECTED]", Some("true")),
            ("[CERTIFICATE_EXPIRATION]", Some("2592000000")),
            ("[BODY]", Some(probe.body)),
            ("[status]", Some("200")),
            ("len([STATUS])", Some("3")),
            ("has([STATUS])", Some("true")),
            ("[BODY].status", Some("success")),
            ("[BODY].user.name", Some("john")),
            ("[BODY].user.id", Some("123")),
            ("len([BODY].items)", Some("3")),
            ("[BODY].items[0]", Some("1")),
            ("has([BODY].status)", Some("true")),
            ("has([BODY].missing)", Some("false")),
            ("[BODY].invalid.path", None),
            ("literal", Some("literal")),
            ("123", Some("123")),
            // Ours: the rest of the values a path can stop at.
            ("[BODY].items", Some("[1 2 3]")),
            ("[BODY].user", Some(r#"{"id":123,"name":"john"}"#)),
            ("len([BODY].user)", Some("24")),
        ];
        for (side, expected) in cases {
            assert_eq!(resolved(side, probe).as_deref(), expected, "{side}");
        }
        assert_eq!(
            resolved("[CERTIFICATE_EXPIRATION]", PROBE).as_deref(),
            Some("0")
        );
        assert_eq!(resolved("[STATUS]", status(404)).as_deref(), Some("404"));
        assert_eq!(
            resolved("[BODY].error", body(r#"{"error":"not found"}"#)).as_deref(),
            Some("not found")
        );
    }

    /// `jsonpath.Eval(path, data)` as Gatus's tests call it: the value and its length, or `None`
    /// where Gatus returns an error.
    fn eval(path: &str, data: &'static str) -> Option<(String, usize)> {
        let separator = if path.starts_with('[') { "" } else { "." };
        let value = resolved(&format!("[BODY]{separator}{path}"), body(data))?;
        let length = resolved(&format!("len([BODY]{separator}{path})"), body(data))?;
        Some((value, length.parse().expect("a length")))
    }

    // Mirrors Gatus's jsonpath TestEval, every case but array-of-values-with-no-path (an empty
    // path, a --check error here; its length is `len([BODY])` above) and the negative indices
    // (--check errors too); simple-with-invalid-data is in `a_body_that_is_not_json_fails_paths`.
    #[test]
    fn json_path_walk_matches_gatus_jsonpath_eval() {
        let some = |value: &str, length: usize| Some((value.to_owned(), length));
        let cases = [
            ("key", r#"{"key": "value"}"#, some("value", 5)),
            ("key", "{}", None),
            (
                "long.simple.walk",
                r#"{"long": {"simple": {"walk": "value"}}}"#,
                some("value", 5),
            ),
            (
                "ids[1].id",
                r#"{"ids": [{"id": 1}, {"id": 2}]}"#,
                some("2", 1),
            ),
            ("ids[0]", r#"{"ids": [1, 2]}"#, some("1", 1)),
            ("[1]", "[1, 2]", some("2", 1)),
            ("[0]", r#"[{"id": 1}, {"id": 2}]"#, some(r#"{"id":1}"#, 8)),
            ("[0].id", r#"[{"id": 1}, {"id": 2}]"#, some("1", 1)),
            ("[5].id", r#"[{"id": 1}, {"id": 2}]"#, None),
            (
                "data.ids[0].id",
                r#"{"data": {"ids": [{"id": 1}, {"id": 2}, {"id": 3}]}}"#,
                some("1", 1),
            ),
            ("[3][2]", "[[1, 2], [3, 4], [], [5, 6, 7]]", some("7", 1)),
            (
                "data[1][1]",
                r#"{"data": [["a", "b", "c"], ["d", "eeeee", "f"]]}"#,
                some("eeeee", 5),
            ),
            (
                "data[0].apps[1].name",
                r#"{"data": [{"apps": [{"name":"app1"}, {"name":"app2"}, {"name":"app3"}]}]}"#,
                some("app2", 4),
            ),
            ("data[0].apps[1].name", r#"{"data": [{"apps": []}]}"#, None),
            ("data.name.invalid", r#"{"data": {"name": "john"}}"#, None),
            (
                "balance",
                r#"{"balance": "123.40000000000005"}"#,
                some("123.40000000000005", 18),
            ),
            (
                "balance",
                r#"{"balance": 123.40000000000005}"#,
                some("123.40000000000005", 18),
            ),
            // Ours, Gatus's walk as it is: an array, number or boolean ends the walk and the rest
            // of the path is ignored; a key on a root array reads the array; a key on a scalar
            // body reads the scalar; an index into a member that is no array is missing.
            (
                "data.name",
                r#"{"data": [{"name": "john"}]}"#,
                some("[map[name:john]]", 1),
            ),
            ("age.years", r#"{"age": 18}"#, some("18", 2)),
            ("ok.really", r#"{"ok": true}"#, some("true", 4)),
            ("anything", "[1, 2]", some("[1 2]", 2)),
            ("anything", "5", some("5", 1)),
            ("anything", r#""text""#, some("text", 4)),
            ("data[0]", r#"{"data": {"0": 1}}"#, None),
            ("data[0]", r#"{"data": "abc"}"#, None),
            ("data[0]", "[1]", None),
        ];
        for (path, data, expected) in cases {
            assert_eq!(eval(path, data), expected, "{path} of {data}");
        }
    }

    // How Gatus prints values where a path stops: Go's %v for arrays and numbers, Go's
    // json.Marshal for objects (checked against Gatus's own code, except where noted).
    #[test]
    fn values_read_as_go_prints_them() {
        let cases = [
            (
                r#"[1.5, "s", null, true, {"z": 1, "a": [2]}, []]"#,
                "[1.5 s <nil> true map[a:[2] z:1] []]",
            ),
            (
                "[0.0001, 0.00001, 123456.5, 1234567.5, -2.5e-7]",
                "[0.0001 1e-05 123456.5 1.2345675e+06 -2.5e-07]",
            ),
            ("[1e300, -1e-300]", "[1e+300 -1e-300]"),
            // Integral values read as integers, exactly (see the module doc); Gatus prints
            // [1e+06 1 2000 9.007199254740992e+15 1.2345678901234567e+19].
            (
                "[1000000, 1.0, 2e3, 9007199254740993, 12345678901234567890]",
                "[1000000 1 2000 9007199254740993 12345678901234567890]",
            ),
            // Integral floats too, where Go's %v would write an exponent (Gatus: [1e+06 -2.5e+07]).
            ("[1e6, -2.5e7]", "[1000000 -25000000]"),
            // The largest f64 below 2^63 fits an i64; 2^63 does not (Gatus:
            // [9.223372036854775e+18 9.223372036854776e+18]).
            (
                "[9223372036854774784.0, 9223372036854775808.0]",
                "[9223372036854774784 9.223372036854776e+18]",
            ),
        ];
        for (data, expected) in cases {
            let value: Value = serde_json::from_str(data).expect("JSON");
            assert_eq!(go_print(&value), expected, "{data}");
        }
        let object = r#"{"x": "<&>", "b": 1.0, "c": 1e21, "d": 1e-7, "e": 0.5, "a": [1, "\n"], "n": null, "t": false}"#;
        let value: Value = serde_json::from_str(object).expect("JSON");
        assert_eq!(
            go_json(&value),
            r#"{"a":[1,"\n"],"b":1,"c":1e+21,"d":1e-7,"e":0.5,"n":null,"t":false,"x":"\u003c\u0026\u003e"}"#
        );
    }

    // Issue 12: "A non-JSON body fails [BODY].x conditions with a reason". Mirrors jsonpath's
    // simple-with-invalid-data for `==`; for the others Gatus compares "PATH (INVALID)" and
    // would let `!=`, `<` and `has(...) == false` hold.
    #[test]
    fn a_body_that_is_not_json_fails_paths() {
        check(&[
            (
                "[BODY].key == value",
                body("invalid data"),
                Err("[BODY].key: body is not JSON"),
            ),
            (
                "[BODY].status != DOWN",
                body("<html>down</html>"),
                Err("[BODY].status: body is not JSON"),
            ),
            (
                "[BODY].latency < 100",
                body("<html></html>"),
                Err("[BODY].latency: body is not JSON"),
            ),
            (
                "has([BODY].errors) == false",
                body("<html></html>"),
                Err("has([BODY].errors): body is not JSON"),
            ),
            (
                "len([BODY].items) > 0",
                body(""),
                Err("len([BODY].items): body is not JSON"),
            ),
            (
                "[STATUS] == [BODY].code",
                body("nope"),
                Err("[BODY].code: body is not JSON"),
            ),
            // The raw body needs no JSON.
            ("[BODY] == OK", body("OK"), Ok(())),
            ("len([BODY]) == 5", body("[1, 2"), Ok(())),
        ]);
    }

    // Gatus's handling of missing paths, kept for the same verdicts: they equal nothing, `!=`
    // holds, and `<`-like operators read them as 0.
    #[test]
    fn missing_paths_behave_as_in_gatus() {
        check(&[
            ("[BODY].x == 0", body("{}"), Err("[BODY].x (INVALID) == 0")),
            ("[BODY].x != 0", body("{}"), Ok(())),
            ("[BODY].x < 5", body("{}"), Ok(())),
            ("[BODY].x > 5", body("{}"), Err("[BODY].x (INVALID) > 5")),
            ("[BODY].x >= 0", body("{}"), Ok(())),
            (
                "[BODY].data == null",
                body(r#"{"data": null}"#),
                Err("[BODY].data (INVALID) == null"),
            ),
            ("[BODY].ok == true", body(r#"{"ok": true}"#), Ok(())),
            (
                "[BODY].ok == True",
                body(r#"{"ok": true}"#),
                Err("[BODY].ok (true) == True"),
            ),
            ("[BODY].ok != false", body(r#"{"ok": true}"#), Ok(())),
            // Quotes are part of a literal: Gatus has no quoting.
            (
                "[BODY].status == \"UP\"",
                body(r#"{"status": "UP"}"#),
                Err("[BODY].status (UP) == \"UP\""),
            ),
        ]);
    }

    // Where our verdict differs from Gatus's on purpose (see the module doc); each comment gives
    // Gatus's verdict, checked against its code.
    #[test]
    fn deliberate_differences_from_gatus() {
        check(&[
            // Gatus: fails with "[BODY].n (1e+06) == 1000000".
            ("[BODY].n == 1000000", body(r#"{"n": 1000000}"#), Ok(())),
            (
                "[BODY].n != 1000000",
                body(r#"{"n": 1000000}"#),
                Err("[BODY].n (1000000) != 1000000"),
            ),
            ("[BODY].id == 12345678", body(r#"{"id": 12345678}"#), Ok(())),
            // Gatus: holds, matching "*a*" against "[BODY].name (INVALID)".
            (
                "[BODY].name == pat(*a*)",
                body("{}"),
                Err("[BODY].name (INVALID) == pat(*a*)"),
            ),
            (
                "[BODY].name == pat(*)",
                body("{}"),
                Err("[BODY].name (INVALID) == pat(*)"),
            ),
            (
                "[BODY].name == any(x)",
                body("{}"),
                Err("[BODY].name (INVALID) == any(x)"),
            ),
            // Gatus: holds, both sides being the text "[BODY].a (INVALID)".
            (
                "[BODY].a == [BODY].a",
                body("{}"),
                Err("[BODY].a (INVALID) == [BODY].a (INVALID)"),
            ),
            // Gatus: panics (an index applied to an array body's member).
            (
                "[BODY].d[0] == 1",
                body("[1]"),
                Err("[BODY].d[0] (INVALID) == 1"),
            ),
            // Gatus: same verdict, shown as "[CERTIFICATE_EXPIRATION] (1) > 10s (1)".
            (
                "[CERTIFICATE_EXPIRATION] > 10s",
                certificate(Duration::from_secs(10)),
                Err("[CERTIFICATE_EXPIRATION] (10s) > 10s"),
            ),
        ]);
    }

    #[test]
    fn a_value_that_reads_as_its_own_text_is_shown_once_as_gatus_does() {
        let reason = |body: &str| {
            let observed = Observed::new(200, Duration::ZERO, body.as_bytes(), None);
            Condition::parse("[BODY].name == x")
                .expect("parses")
                .evaluate(&observed)
        };
        assert_eq!(
            reason(r#"{"name": "y"}"#),
            Err("[BODY].name (y) == x".to_owned())
        );
        assert_eq!(
            reason(r#"{"name": "[BODY].name"}"#),
            Err("[BODY].name == x".to_owned())
        );
    }

    #[test]
    fn brackets_around_what_is_no_placeholder_in_capitals_are_text() {
        for text in ["[ok]", "[1 2]", "[Ok]"] {
            let condition = Condition::parse(&format!("[BODY] == {text}")).expect(text);
            let observed = Observed::new(200, Duration::ZERO, text.as_bytes(), None);
            assert_eq!(condition.evaluate(&observed), Ok(()), "{text}");
        }
    }

    #[test]
    fn reasons_stay_on_one_line() {
        check(&[
            (
                "[BODY] == OK",
                body("line one\nline two\tend"),
                Err(r"[BODY] (line one\nline two\tend) == OK"),
            ),
            (
                "[BODY].msg == OK",
                body(r#"{"msg": "a\r\nb"}"#),
                Err(r"[BODY].msg (a\r\nb) == OK"),
            ),
        ]);
        let long = "x".repeat(150);
        let json = format!(r#"{{"msg": "{long}"}}"#);
        let condition = Condition::parse("[BODY].msg == OK").expect("parses");
        let reason = condition
            .evaluate(&Observed::new(200, Duration::ZERO, json.as_bytes(), None))
            .expect_err("fails");
        assert_eq!(
            reason,
            format!("[BODY].msg ({}...(truncated)) == OK", "x".repeat(100))
        );
    }

    // Mirrors Gatus's pattern TestMatch, every case, through `[BODY] == pat(...)`.
    #[test]
    fn pat_matches_as_gatus_pattern_match() {
        let cases = [
            ("*", "livingroom_123", true),
            ("**", "livingroom_123", true),
            ("living*", "livingroom_123", true),
            ("*living*", "livingroom_123", true),
            ("*123", "livingroom_123", true),
            ("*_*", "livingroom_123", true),
            ("living*_*3", "livingroom_123", true),
            ("living*room_*3", "livingroom_123", true),
            ("*vin*om*2*", "livingroom_123", true),
            ("livingroom_123", "livingroom_123", true),
            ("*livingroom_123*", "livingroom_123", true),
            ("*test*", "\\test", true),
            ("livingroom", "livingroom_123", false),
            ("livingroom123", "livingroom_123", false),
            ("what", "livingroom_123", false),
            ("*what*", "livingroom_123", false),
            ("*.*", "livingroom_123", false),
            ("room*123", "livingroom_123", false),
        ];
        for (pattern, value, expected) in cases {
            let condition = Condition::parse(&format!("[BODY] == pat({pattern})")).expect("parses");
            let probe = Observed::new(200, Duration::ZERO, value.as_bytes(), None);
            assert_eq!(
                condition.evaluate(&probe).is_ok(),
                expected,
                "{pattern} on {value}"
            );
        }
    }

    // Mirrors Gatus's TestCondition_Validate: the valid conditions parse (except [IP],
    // [DOMAIN_EXPIRATION] and `raw == raw`, rejected below), and text() gives them back.
    #[test]
    fn parse_accepts_gatus_conditions_and_keeps_their_text() {
        let valid = [
            "[STATUS] == 200",
            "[STATUS] != 200",
            "[STATUS] <= 200",
            "[STATUS] >= 200",
            "[STATUS] < 200",
            "[STATUS] > 200",
            "[STATUS] == any(200, 201, 202, 203)",
            "[STATUS] == [BODY].status",
            "[CONNECTED] == true",
            "[RESPONSE_TIME] < 500",
            "[BODY] == 1",
            "[BODY].test == wat",
            "[BODY].test.wat == wat",
            "[BODY].age == [BODY].id",
            "[BODY].users[0].id == 1",
            "len([BODY].users) == 100",
            "len([BODY].data) < 5",
            "has([BODY].errors) == false",
            "has([BODY].users[0].name) == true",
            "[BODY].name == pat(john*)",
            "[CERTIFICATE_EXPIRATION] > 48h",
            // Ours.
            "  [STATUS]   ==   200  ",
            "[BODY].some key == some value",
            "[BODY].a == x < y",
            "[RESPONSE_TIME] < 0s",
            "[RESPONSE_TIME] < 1_000",
            "[BODY][0][1].x == 1",
            "[BODY].ver == v1 (beta)",
            "[BODY].list == [a b]",
        ];
        for text in valid {
            let condition = Condition::parse(text).unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(condition.text(), text);
        }
    }

    // Mirrors TestCondition_Validate's invalid conditions (Gatus: "invalid condition: ...") and
    // its FIXME `len([BODY].users == 100`; the rest are what --check rejects beyond Gatus.
    #[test]
    fn parse_rejects_what_cannot_mean_anything() {
        const OPERATORS: &str =
            "no operator; expected one of == != <= >= < > with a space on each side";
        const PLACEHOLDERS: &str =
            "[STATUS] [RESPONSE_TIME] [BODY] [CERTIFICATE_EXPIRATION] [CONNECTED] [DNS_RCODE]";
        let cases = [
            ("[STATUS] ? 201", OPERATORS.to_owned()),
            ("[STATUS]==201", OPERATORS.to_owned()),
            ("[STATUS] = = 201", OPERATORS.to_owned()),
            ("[STATUS] ==", OPERATORS.to_owned()),
            ("[STATUS]", OPERATORS.to_owned()),
            ("[STATUS] = 200", OPERATORS.to_owned()),
            ("len([BODY].users == 100", "len( has no closing )".to_owned()),
            ("[STATUS] == ", "nothing on the right of ==".to_owned()),
            (" <= 5", "nothing on the left of <=".to_owned()),
            ("[STATUS] == 200 == 200", r#""==" appears more than once; a condition compares two sides"#.to_owned()),
            ("[BODY] == pat(*a == b*)", r#""==" appears more than once; a condition compares two sides"#.to_owned()),
            ("[STATUSS] == 200", format!("unknown placeholder [STATUSS]; expected one of {PLACEHOLDERS}")),
            ("[UNKNOWN] == 1", format!("unknown placeholder [UNKNOWN]; expected one of {PLACEHOLDERS}")),
            ("len([UNKNOWN]) == 1", format!("unknown placeholder [UNKNOWN]; expected one of {PLACEHOLDERS}")),
            ("[IP] == 127.0.0.1", format!("[IP] is not recorded by this monitor's probes; expected one of {PLACEHOLDERS}")),
            ("[DOMAIN_EXPIRATION] > 720h", format!("[DOMAIN_EXPIRATION] is not recorded by this monitor's probes; expected one of {PLACEHOLDERS}")),
            ("[STATUS] == [CONTEXT].expected", format!("[CONTEXT] is not recorded by this monitor's probes; expected one of {PLACEHOLDERS}")),
            ("[STATUS == 200", "[STATUS has no closing ]".to_owned()),
            ("[BODY.status == UP", "[BODY has no closing ]".to_owned()),
            ("[STATUS]x == 200", r#"unexpected "x" after [STATUS]"#.to_owned()),
            ("[BODY]status == UP", r#"unexpected "status" after [BODY]"#.to_owned()),
            ("[BODY]. == UP", "[BODY].: empty JSON path".to_owned()),
            ("[BODY].a..b == UP", "[BODY].a..b: empty key in the JSON path".to_owned()),
            ("[BODY].a. == UP", "[BODY].a.: empty key in the JSON path".to_owned()),
            ("[BODY].a[x] == 1", r#"[BODY].a[x]: array index "x" is not a whole number"#.to_owned()),
            // A dot inside brackets does not split the path.
            ("[BODY].a[1.5] == 1", r#"[BODY].a[1.5]: array index "1.5" is not a whole number"#.to_owned()),
            // Mirrors jsonpath's negative-index-* cases (always an error in Gatus).
            ("[BODY].data[-1] == 1", r#"[BODY].data[-1]: array index "-1" is not a whole number"#.to_owned()),
            ("[BODY][-1] == 1", r#"[BODY][-1]: array index "-1" is not a whole number"#.to_owned()),
            ("[BODY].data[0][-1] == 1", r#"[BODY].data[0][-1]: array index "-1" is not a whole number"#.to_owned()),
            ("[BODY].a[0 == 1", "[BODY].a[0: [ has no closing ]".to_owned()),
            ("[BODY].a]0 == 1", "[BODY].a]0: ] without [".to_owned()),
            ("[BODY].a[0]b == 1", r#"[BODY].a[0]b: unexpected "b" after an array index"#.to_owned()),
            ("length([BODY]) == 1", "unknown function length(); expected len() has() pat() any()".to_owned()),
            ("LEN([BODY]) == 1", "unknown function LEN(); expected len() has() pat() any()".to_owned()),
            ("[STATUS] == one_of(200)", "unknown function one_of(); expected len() has() pat() any()".to_owned()),
            ("[STATUS] == pat(2*", "pat( has no closing )".to_owned()),
            ("len(foo) == 1", r#"len() takes a placeholder such as [BODY].items, not "foo""#.to_owned()),
            ("has() == false", r#"has() takes a placeholder such as [BODY].items, not """#.to_owned()),
            ("len( [BODY] ) == 1", r#"len() takes a placeholder such as [BODY].items, not " [BODY] ""#.to_owned()),
            ("[BODY] == pat(*[0-9]*)", r"pat(*[0-9]*): [ and \ are not supported in patterns (Go's character classes and escapes); use * and ?".to_owned()),
            ("[BODY] == pat(a\\*)", r"pat(a\*): [ and \ are not supported in patterns (Go's character classes and escapes); use * and ?".to_owned()),
            ("raw == raw", format!("neither side is a placeholder; expected one of {PLACEHOLDERS}, alone or in len() or has()")),
            ("1 == 2", format!("neither side is a placeholder; expected one of {PLACEHOLDERS}, alone or in len() or has()")),
            ("pat(a*) == any(a)", format!("neither side is a placeholder; expected one of {PLACEHOLDERS}, alone or in len() or has()")),
            ("[STATUS] < pat(3*)", "pat() only works with == and !=".to_owned()),
            ("any(1, 2) >= [STATUS]", "any() only works with == and !=".to_owned()),
            ("has([BODY].x) > 0", "has([BODY].x) is true or false; compare it with == or !=".to_owned()),
            ("[CONNECTED] >= 1", "[CONNECTED] is true or false; compare it with == or !=".to_owned()),
            ("has([BODY].x) == yes", r#"has([BODY].x) is true or false, so "yes" never matches; use true or false"#.to_owned()),
            ("[CONNECTED] == TRUE", r#"[CONNECTED] is true or false, so "TRUE" never matches; use true or false"#.to_owned()),
            // Mirrors response-time-using-less-than-invalid (Gatus reads "potato" as 0).
            ("[RESPONSE_TIME] < potato", r#""potato" is not a number or a duration (such as 500, 1.5, 1s or 48h); < compares numbers"#.to_owned()),
            ("[CERTIFICATE_EXPIRATION] > 30d", r#""30d" is not a number or a duration (such as 500, 1.5, 1s or 48h); > compares numbers"#.to_owned()),
            ("[RESPONSE_TIME] < 1 s", r#""1 s" is not a number or a duration (such as 500, 1.5, 1s or 48h); < compares numbers"#.to_owned()),
        ];
        let mut mismatches = Vec::new();
        for (text, problem) in cases {
            let expected = format!("condition {text:?}: {problem}");
            match Condition::parse(text) {
                Err(error) if error == expected => {}
                other => mismatches.push(format!("{text:?}: expected {expected:?}, got {other:?}")),
            }
        }
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    }

    #[test]
    fn the_issue_example_reads_as_the_brief_says() {
        assert_eq!(
            Condition::parse("[STATUS] = 200").expect_err("no operator"),
            r#"condition "[STATUS] = 200": no operator; expected one of == != <= >= < > with a space on each side"#
        );
    }

    #[test]
    fn judge_without_conditions_wants_200_to_399() {
        for (code, expected) in [
            (199, Err("status 199 is not 200..399".to_owned())),
            (200, Ok(())),
            (302, Ok(())),
            (399, Ok(())),
            (400, Err("status 400 is not 200..399".to_owned())),
            (503, Err("status 503 is not 200..399".to_owned())),
        ] {
            assert_eq!(judge(&[], &status(code).observed()), expected, "{code}");
        }
    }

    #[test]
    fn judge_reports_the_first_failing_condition() {
        let conditions: Vec<Condition> = [
            "[STATUS] == 200",
            "[BODY].status == UP",
            "[RESPONSE_TIME] < 1000",
        ]
        .into_iter()
        .map(|text| Condition::parse(text).expect("parses"))
        .collect();
        let up = Probe {
            millis: 20,
            ..body(r#"{"status": "UP"}"#)
        };
        assert_eq!(judge(&conditions, &up.observed()), Ok(()));
        let down = Probe {
            millis: 2000,
            ..body(r#"{"status": "DOWN"}"#)
        };
        assert_eq!(
            judge(&conditions, &down.observed()),
            Err("[BODY].status (DOWN) == UP".to_owned())
        );
        let slow = Probe { millis: 2000, ..up };
        assert_eq!(
            judge(&conditions, &slow.observed()),
            Err("[RESPONSE_TIME] (2000) < 1000".to_owned())
        );
        // With conditions, only they decide, as in Gatus.
        let expected_error = [Condition::parse("[STATUS] == 503").expect("parses")];
        assert_eq!(judge(&expected_error, &status(503).observed()), Ok(()));
    }

    #[test]
    fn the_body_is_parsed_once_and_only_for_json_paths() {
        let probe = body(r#"{"status": "UP", "n": 1}"#).observed();
        Condition::parse("[BODY] != x")
            .expect("parses")
            .evaluate(&probe)
            .expect("holds");
        assert!(probe.json.get().is_none(), "the raw body needs no parsing");
        Condition::parse("[BODY].status == UP")
            .expect("parses")
            .evaluate(&probe)
            .expect("holds");
        let parsed: *const Value = probe.json.get().expect("parsed").as_ref().expect("JSON");
        Condition::parse("[BODY].n == 1")
            .expect("parses")
            .evaluate(&probe)
            .expect("holds");
        let again: *const Value = probe.json.get().expect("parsed").as_ref().expect("JSON");
        assert_eq!(parsed, again, "the second path reuses the first parse");

        let page = body("<html></html>").observed();
        let length = Condition::parse("len([BODY]) == 13").expect("parses");
        length.evaluate(&page).expect("holds");
        assert!(
            page.json.get().is_none(),
            "only a bracketed body may be an array"
        );
    }

    // Go's strconv.ParseInt(s, 0, 64), checked against Go.
    #[test]
    fn go_parse_int_reads_go_integer_literals() {
        let cases = [
            ("0", Some(0)),
            ("42", Some(42)),
            ("+42", Some(42)),
            ("-42", Some(-42)),
            ("0x1F", Some(31)),
            ("0XfF", Some(255)),
            ("0o17", Some(15)),
            ("017", Some(15)),
            ("0b101", Some(5)),
            ("1_000", Some(1000)),
            ("0x_1F", Some(31)),
            ("0xf_f", Some(255)),
            ("0XF_F", Some(255)),
            ("0_17", Some(15)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("08", None),
            // A prefix with no digits after it is no number in any base.
            ("0x", None),
            ("0b", None),
            ("0o", None),
            ("0b2", None),
            ("1__0", None),
            ("_1", None),
            ("1_", None),
            ("", None),
            ("-", None),
            (" 1", None),
            ("1.0", None),
            ("1e3", None),
        ];
        for (text, expected) in cases {
            assert_eq!(go_parse_int(text), expected, "{text:?}");
        }
    }

    // Go's time.ParseDuration, checked against Go.
    #[test]
    fn go_parse_duration_reads_go_durations() {
        const SECOND: i64 = 1_000_000_000;
        let cases = [
            ("0", Some(0)),
            ("-0", Some(0)),
            ("0s", Some(0)),
            ("1s", Some(SECOND)),
            ("1.5s", Some(3 * SECOND / 2)),
            (".5s", Some(SECOND / 2)),
            ("1.s", Some(SECOND)),
            ("-1s", Some(-SECOND)),
            ("+2m", Some(120 * SECOND)),
            ("1h30m", Some(5400 * SECOND)),
            ("48h", Some(172_800 * SECOND)),
            ("1ms", Some(1_000_000)),
            ("1us", Some(1000)),
            ("1\u{b5}s", Some(1000)),
            ("1\u{3bc}s", Some(1000)),
            ("1ns", Some(1)),
            ("2562047h47m16.854775807s", Some(i64::MAX)),
            ("2562047h47m16.854775808s", None),
            // Once 19 fraction digits reach 2^63, the 20th is skipped, not multiplied in.
            (".92233720368547758080s", Some(922_337_203)),
            // A fraction past (2^63 - 1) / 10 after 19 digits skips the 20th: times 10 it would
            // not fit a u64.
            (".20000000000000000000s", Some(200_000_000)),
            ("1", None),
            ("1d", None),
            ("1 s", None),
            ("s", None),
            (".s", None),
            ("", None),
            ("-", None),
            ("1s2", None),
        ];
        for (text, expected) in cases {
            assert_eq!(go_parse_duration(text), expected, "{text:?}");
        }
    }

    /// A body is the target's to choose: a duration too long for any clock, in one term or
    /// summed from several, reads as no number (0, as Gatus reads any text that is none), so
    /// `> 1s` fails with that reason; it never panics the probing task.
    #[test]
    fn overflowing_durations_in_a_body_fail_the_condition() {
        let cases = [
            // Each term fits; the sum reaches 2^64 (Go's uint64 wraps it to 0).
            "9223372036854775808ns9223372036854775808ns",
            "2562047h47m16.854775807s2562047h47m16.854775807s",
            "2562047h47m16.854775808s",
            "9223372036854775808ns1ns",
            "99999999999999999999ns",
            "5124095576030432h",
            "1.99999999999999999999999h2562047h",
        ];
        for text in cases {
            assert_eq!(go_parse_duration(text), None, "{text:?}");
            let json = format!(r#"{{"d": "{text}"}}"#);
            let observed = Observed::new(200, Duration::ZERO, json.as_bytes(), None);
            let condition = Condition::parse("[BODY].d > 1s").expect("parses");
            assert_eq!(
                condition.evaluate(&observed),
                Err("[BODY].d (0) > 1s".to_owned()),
                "{text:?}"
            );
        }
        // The largest sums that fit still read.
        assert_eq!(go_parse_duration("9223372036854775807ns"), Some(i64::MAX));
        assert_eq!(go_parse_duration("-9223372036854775808ns"), Some(i64::MIN));
        assert_eq!(
            go_parse_duration("4611686018427387904ns4611686018427387903ns"),
            Some(i64::MAX)
        );
        // One term of exactly 2^63 with a fraction: Go reads the negative one as its shortest
        // duration; the positive one is too long.
        assert_eq!(go_parse_duration("-9223372036.854775808s"), Some(i64::MIN));
        assert_eq!(go_parse_duration("9223372036.854775808s"), None);
    }

    #[test]
    fn go_number_prefers_durations_then_integers_then_floats() {
        let cases = [
            ("1s", Some(1000)),
            ("1500us", Some(1)),
            ("200", Some(200)),
            ("0x10", Some(16)),
            ("1.9", Some(1)),
            ("-1.9", Some(-1)),
            ("1e3", Some(1000)),
            ("1_000.5", Some(1000)),
            // A hex letter is a digit only after 0x: `e` after `_` is not.
            ("1_e5", None),
            ("0s", None),
            ("potato", None),
            ("1e400", None),
            // Go turns infinity into a platform-defined integer; we read it as no number.
            ("inf", None),
        ];
        for (text, expected) in cases {
            assert_eq!(go_number(text), expected, "{text:?}");
        }
    }

    #[test]
    fn durations_show_without_trailing_zero_units() {
        let cases = [
            (0, "0s"),
            (999, "0s"),
            (10_000, "10s"),
            (60_000, "1m"),
            (600_000, "10m"),
            (90_000, "1m30s"),
            (3_600_000, "1h"),
            (3_615_000, "1h0m15s"),
            (5_400_000, "1h30m"),
            (1_209_600_000, "336h"),
            (-1_000, "-1s"),
        ];
        for (millis, expected) in cases {
            assert_eq!(format_duration(millis), expected, "{millis}");
        }
    }

    #[test]
    fn a_pattern_on_the_left_matches_as_on_the_right() {
        check(&[
            ("pat(*up*) == [BODY]", body("all up"), Ok(())),
            ("[BODY] == pat(*up*)", body("all up"), Ok(())),
            (
                "pat(*up*) == [BODY]",
                body("down"),
                Err("pat(*up*) == [BODY] (down)"),
            ),
        ]);
    }
}
