//! What of a configured secret may leave the process, decided in one place for every surface.
//!
//! A target's URL can carry credentials (user info, a token in the query), its headers often do
//! (`Authorization`), and any value filled in from `${NAME}` came from the environment because it
//! is secret. The monitor faces the internet, so:
//! - public surfaces (page, API, badges, feed) show a target's URL only when its config says
//!   `show_url = true`, and then as [`public_url`]: no user info, no query, no fragment;
//! - alerts carry it as [`alert_url`]: no user info, no fragment, each query value `redacted`;
//! - free text that leaves the process (a probe's reason, which the API, page, feed and alerts
//!   show, and the log) goes through [`Secrets::scrub`];
//! - values held for requests are [`Secret`]s or sensitive header values, whose `Debug` prints
//!   nothing of them, so no `{:?}` of the config can log them.

use std::borrow::Cow;
use std::fmt;

use reqwest::Url;

/// What replaces a secret in text and query values.
pub const REDACTED: &str = "redacted";
/// Strings shorter than this are not cut out of free text: too short to be a credential, and
/// common enough that cutting them out would garble the text (a header `X-Version: 2`).
pub const MIN_SCRUBBED_LEN: usize = 4;

/// A value used for requests but never shown: `Debug` prints `Secret(redacted)`.
///
/// The `secrecy` crate's types need `Zeroize`, which `Url` lacks; this is the part of them the
/// monitor needs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps `value`.
    pub const fn new(value: T) -> Self {
        Self(value)
    }

    /// The value, for the request that needs it and nothing else.
    pub const fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

/// `url` as public surfaces show it: scheme, host, port and path only.
#[must_use]
pub fn public_url(url: &Url) -> String {
    let mut shown = without_user_info(url);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// `url` as alerts carry it: no user info or fragment, and each query value replaced by
/// `redacted`, so the keys still tell which query it was (`?token=redacted&region=redacted`).
/// A query part without `=` may itself be a token, and is replaced whole.
#[must_use]
pub fn alert_url(url: &Url) -> String {
    let mut shown = without_user_info(url);
    shown.set_fragment(None);
    if let Some(query) = url.query() {
        let parts: Vec<String> = query
            .split('&')
            .filter(|part| !part.is_empty())
            .map(|part| match part.split_once('=') {
                Some((key, _)) => format!("{key}={REDACTED}"),
                None => REDACTED.to_owned(),
            })
            .collect();
        shown.set_query((!parts.is_empty()).then(|| parts.join("&")).as_deref());
    }
    shown.to_string()
}

/// [`alert_url`] of a URL kept as text (a stored notification's), or nothing when it is not a
/// URL: text that cannot be parsed cannot be shown to be free of credentials.
#[must_use]
pub fn alert_url_text(text: &str) -> String {
    Url::parse(text)
        .map(|url| alert_url(&url))
        .unwrap_or_default()
}

fn without_user_info(url: &Url) -> Url {
    let mut shown = url.clone();
    // Both fail only for URLs without a host, which the config refuses.
    let _ = shown.set_password(None);
    let _ = shown.set_username("");
    shown
}

/// The strings a target must never show, each with what is shown instead.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// `(secret, shown instead)`, longest secret first, so one inside another is cut out whole.
    values: Vec<(String, String)>,
}

impl Secrets {
    /// Adds `value`, to be shown as `shown_as`; values shorter than [`MIN_SCRUBBED_LEN`] are not
    /// kept (see there).
    pub fn add(&mut self, value: &str, shown_as: &str) {
        if value.chars().count() < MIN_SCRUBBED_LEN || self.values.iter().any(|(v, _)| v == value) {
            return;
        }
        let at = self
            .values
            .iter()
            .position(|(v, _)| v.len() < value.len())
            .unwrap_or(self.values.len());
        self.values
            .insert(at, (value.to_owned(), shown_as.to_owned()));
    }

    /// Adds a value filled in from `${name}`, shown as `${name}`, both as written and as a URL's
    /// path would hold it (percent-encoded).
    pub fn add_variable(&mut self, name: &str, value: &str) {
        let shown_as = format!("${{{name}}}");
        self.add(value, &shown_as);
        if let Ok(mut url) = Url::parse("http://host/") {
            url.set_path(value);
            self.add(url.path().trim_start_matches('/'), &shown_as);
        }
    }

    /// Adds every secret of `other`.
    pub fn extend(&mut self, other: &Self) {
        for (value, shown_as) in &other.values {
            self.add(value, shown_as);
        }
    }

    /// `text` with every secret replaced by what is shown instead.
    #[must_use]
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut text = Cow::Borrowed(text);
        for (value, shown_as) in &self.values {
            if text.contains(value.as_str()) {
                text = Cow::Owned(text.replace(value.as_str(), shown_as));
            }
        }
        text
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} {REDACTED})", self.values.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn the_public_url_has_no_user_info_query_or_fragment() {
        assert_eq!(
            public_url(&url(
                "https://user:pass@api.example.org:8443/v1/health?token=t#top"
            )),
            "https://api.example.org:8443/v1/health"
        );
        assert_eq!(
            public_url(&url("http://only-user@a.example/")),
            "http://a.example/"
        );
    }

    #[test]
    fn the_alert_url_keeps_query_keys_with_redacted_values() {
        assert_eq!(
            alert_url(&url(
                "https://user:pass@api.example.org/health?token=t0k3n&region=eu&flag#frag"
            )),
            "https://api.example.org/health?token=redacted&region=redacted&redacted"
        );
        assert_eq!(
            alert_url(&url("https://api.example.org/health")),
            "https://api.example.org/health"
        );
        assert_eq!(
            alert_url_text("https://u@a.example/h?k=v"),
            "https://a.example/h?k=redacted"
        );
        assert_eq!(alert_url_text("not a url"), "");
    }

    #[test]
    fn scrub_replaces_each_secret_longest_first() {
        let mut secrets = Secrets::default();
        secrets.add("abcd", REDACTED);
        secrets.add("abcdefgh", "${LONG}");
        secrets.add("xyz", REDACTED);
        assert_eq!(
            secrets.scrub("abcdefgh then abcd then xyz"),
            "${LONG} then redacted then xyz"
        );
        assert!(matches!(secrets.scrub("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn extend_adds_every_secret_of_the_other_longest_first() {
        let mut target = Secrets::default();
        target.add("pass", REDACTED);
        let mut variables = Secrets::default();
        variables.add_variable("TOKEN", "password1");
        target.extend(&variables);
        assert_eq!(target.scrub("password1 and pass"), "${TOKEN} and redacted");
    }

    #[test]
    fn a_variable_is_found_as_written_and_percent_encoded() {
        let mut secrets = Secrets::default();
        secrets.add_variable("TOKEN", "s3cret value");
        assert_eq!(
            secrets.scrub("https://a.example/s3cret%20value/x and s3cret value"),
            "https://a.example/${TOKEN}/x and ${TOKEN}"
        );
    }

    #[test]
    fn debug_prints_no_secret() {
        let mut secrets = Secrets::default();
        secrets.add("hunter22", REDACTED);
        assert_eq!(format!("{secrets:?}"), "Secrets(1 redacted)");
        let secret = Secret::new("hunter22".to_owned());
        assert_eq!(format!("{secret:?}"), "Secret(redacted)");
        assert_eq!(secret.expose(), "hunter22");
    }
}
