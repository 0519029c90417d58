//! The one HTTP client of monitor mode: TLS, timeouts, the body limit, and one-line reasons.
//!
//! TLS is rustls with graviola's cryptography, which is Rust and assembly and needs no C
//! compiler (ring and aws-lc-rs compile C, which the static musl build cannot), and trusts the
//! Mozilla roots compiled into the binary, because the image has no CA bundle. Certificates in
//! the PEM file named by `SSL_CERT_FILE`, when set, are trusted too (a private CA).

mod dns;
pub mod push;
mod tcp;
mod tls;

use std::error::Error as _;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderName, HeaderValue, USER_AGENT};
use reqwest::{Client, Url, redirect};

use super::conditions::{self, Observed, Verdict};
use super::config::{DnsQuery, ProbeMethod, Target, TargetKind};

/// Bodies are read up to this size; a larger one fails the probe and is never buffered whole.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Redirects followed at most, when a target follows them.
const MAX_REDIRECTS: usize = 10;
/// Idle connections are kept this long, so probes every few minutes reuse them.
const POOL_IDLE: Duration = Duration::from_secs(300);

/// What one probe observed and how it was judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// When the probe started.
    pub at: SystemTime,
    /// Whether every condition held.
    pub ok: bool,
    /// The response's status, if one arrived.
    pub status_code: Option<u16>,
    /// Time to the response head (as Gatus measures `[RESPONSE_TIME]`), or to the failure.
    pub response_time: Duration,
    /// Time until the whole probe ended, body included (blackbox's `probe_duration_seconds`).
    pub duration: Duration,
    /// Why the probe failed, in one line; `None` when it succeeded.
    pub error: Option<String>,
    /// When the server's certificate expires, for HTTPS targets.
    pub certificate_expiry: Option<SystemTime>,
    /// The server certificate's subject (`CN=...`), with its expiry.
    pub certificate_subject: Option<String>,
    /// Each of the target's conditions' verdict, in the config's order (none without
    /// conditions); scrubbed of the target's secrets like `error`.
    pub conditions: Vec<Verdict>,
}

/// What to request: everything of a target but its conditions, which is all a remote agent is
/// told (conditions are judged by the decider, so agents need no config). The URL's scheme says
/// the kind: `http`/`https`, `tcp`, `tls` or `dns`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSpec {
    /// What to request.
    pub url: Url,
    /// The query of a `dns://` probe; `None` for other kinds.
    pub dns: Option<DnsQuery>,
    /// `GET` or `HEAD`.
    pub method: ProbeMethod,
    /// Sent with the request.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Longest the probe may take, body included.
    pub timeout: Duration,
    /// Whether redirects are followed.
    pub follow_redirects: bool,
    /// Bodies are read up to this many bytes; a larger one fails the probe.
    pub body_limit: usize,
    /// Whether the body must come back (a condition reads it); it is read either way.
    pub keep_body: bool,
}

impl ProbeSpec {
    /// The request `target` describes.
    #[must_use]
    pub fn of(target: &Target) -> Self {
        Self {
            // A push target has no URL and is never probed (the schedule skips it).
            url: target.url.as_ref().map_or_else(
                || Url::parse("about:blank").expect("a constant URL"),
                |url| url.expose().clone(),
            ),
            dns: match &target.kind {
                TargetKind::Dns(query) => Some(query.clone()),
                _ => None,
            },
            method: target.method,
            headers: target.headers.clone(),
            timeout: target.timeout,
            follow_redirects: target.follow_redirects,
            body_limit: MAX_BODY_BYTES,
            keep_body: target
                .conditions
                .iter()
                .any(|c| c.text().contains("[BODY]")),
        }
    }
}

/// What one request observed, not yet judged: the same whether the decider or an agent made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// When the probe started.
    pub at: SystemTime,
    /// The response's status, if one arrived.
    pub status_code: Option<u16>,
    /// Time to the response head, or to the failure.
    pub response_time: Duration,
    /// Time until the whole probe ended, body included.
    pub duration: Duration,
    /// The body, when [`ProbeSpec::keep_body`] asked for it (empty otherwise).
    pub body: Vec<u8>,
    /// When the server's certificate expires, for HTTPS targets.
    pub certificate_expiry: Option<SystemTime>,
    /// The server certificate's subject, with its expiry.
    pub certificate_subject: Option<String>,
    /// Why the request failed (no answer, timeout, oversized body), in one line.
    pub error: Option<String>,
    /// Whether the connection was made (`tcp`, `tls`) or an answer came (`dns`); `None` for
    /// HTTP, which says so with its status.
    pub connected: Option<bool>,
    /// The DNS response code's name (`NOERROR`, `NXDOMAIN`, ...), for `dns`.
    pub dns_rcode: Option<String>,
}

impl Observation {
    /// `target`'s conditions applied to what was observed.
    #[must_use]
    pub fn judge(self, target: &Target) -> Outcome {
        let verdicts = self.verdicts(target);
        let error = match self.connected {
            Some(_) => self.reach_error(target, &verdicts),
            None => self.http_error(target, &verdicts),
        };
        // The reason is published (API, page, feed, alerts) and logged: nothing of the
        // target's credentials or `${NAME}` values may be in it, whatever the server echoed.
        let scrub = |text: &str| target.scrub(text).into_owned();
        let error = error.map(|reason| scrub(&reason));
        let conditions = verdicts
            .into_iter()
            .map(|verdict| Verdict {
                condition: scrub(&verdict.condition),
                failure: verdict.failure.as_deref().map(scrub),
            })
            .collect();
        Outcome {
            at: self.at,
            ok: error.is_none(),
            status_code: self.status_code,
            response_time: self.response_time,
            duration: self.duration,
            error,
            certificate_expiry: self.certificate_expiry,
            certificate_subject: self.certificate_subject,
            conditions,
        }
    }

    /// Every condition of `target` judged on what was observed, as Gatus judges them: also
    /// when no response came (status 0, no body), so each has a verdict.
    fn verdicts(&self, target: &Target) -> Vec<Verdict> {
        if target.conditions.is_empty() {
            return Vec::new();
        }
        let mut observed = Observed::new(
            self.status_code.unwrap_or(0),
            self.response_time,
            &self.body,
            self.expires_in(),
        );
        // HTTP tells a connection by its status: without one, as in Gatus, there was none.
        observed = observed.connected(self.connected.unwrap_or(self.status_code.is_some()));
        if let Some(rcode) = &self.dns_rcode {
            observed = observed.dns_rcode(rcode.clone());
        }
        conditions::verdicts(&target.conditions, &observed)
    }

    /// Time left on the certificate when the probe started.
    fn expires_in(&self) -> Option<Duration> {
        self.certificate_expiry
            .map(|expiry| expiry.duration_since(self.at).unwrap_or(Duration::ZERO))
    }

    /// An HTTP probe's failure: its error, or the first condition that does not hold
    /// (`verdicts`, of [`Observation::verdicts`]).
    fn http_error(&self, target: &Target, verdicts: &[Verdict]) -> Option<String> {
        match (&self.error, self.status_code) {
            (Some(error), _) => Some(error.clone()),
            (None, Some(status)) if target.conditions.is_empty() => {
                let observed =
                    Observed::new(status, self.response_time, &self.body, self.expires_in());
                conditions::judge(&target.conditions, &observed).err()
            }
            (None, Some(_)) => first_failure(verdicts),
            (None, None) => Some("no response".to_owned()),
        }
    }

    /// A `tcp://`, `tls://` or `dns://` probe's failure: with no conditions, a connection (and
    /// for dns, `NOERROR`) succeeds; with conditions, they decide, `[CONNECTED] == false`
    /// included, and a failed connection's reason follows theirs.
    fn reach_error(&self, target: &Target, verdicts: &[Verdict]) -> Option<String> {
        if target.conditions.is_empty() {
            return self.error.clone().or_else(|| {
                self.dns_rcode
                    .as_ref()
                    .filter(|rcode| *rcode != "NOERROR")
                    .map(|rcode| format!("[DNS_RCODE] ({rcode}) == NOERROR"))
            });
        }
        first_failure(verdicts).map(|reason| match &self.error {
            Some(why) => format!("{reason} ({why})"),
            None => reason,
        })
    }
}

/// The first failing verdict's reason: what [`conditions::judge`] gives for the same probe.
fn first_failure(verdicts: &[Verdict]) -> Option<String> {
    verdicts.iter().find_map(|verdict| verdict.failure.clone())
}

/// The `User-Agent` of every probe: the version, the location it is sent from (so a target's
/// operator can tell the vantage points apart in the access log) and where the monitor's status
/// page is, if public.
#[must_use]
pub fn user_agent(location: &str, public_url: Option<&str>) -> String {
    let version = env!("CARGO_PKG_VERSION");
    match public_url {
        Some(url) => format!("health-service-monitor/{version} (location={location}; +{url})"),
        None => format!("health-service-monitor/{version} (location={location})"),
    }
}

/// Something that probes a target: the real [`Prober`], or a stand-in in tests.
pub trait Probe: Send + Sync + 'static {
    /// Probes `target` once; never fails, a failure is an [`Outcome`] with `ok: false`.
    fn probe(&self, target: &Target) -> impl Future<Output = Outcome> + Send;
}

impl<P: Probe> Probe for Arc<P> {
    fn probe(&self, target: &Target) -> impl Future<Output = Outcome> + Send {
        P::probe(self, target)
    }
}

/// Probes over HTTP/1.1 and HTTPS, keeping connections alive between probes.
#[derive(Clone)]
pub struct Prober {
    /// For targets that follow redirects.
    following: Client,
    /// For targets that judge the 3xx itself.
    not_following: Client,
    /// Sent with this process's own probes: names its location.
    user_agent: HeaderValue,
    /// For `tls://` targets: the same roots and protocol versions as HTTPS.
    tls: Arc<rustls::ClientConfig>,
    /// The usable certificates of `SSL_CERT_FILE`, for e-mail's TLS (which lettre sets up).
    extra_roots: Arc<[rustls::pki_types::CertificateDer<'static>]>,
}

/// Why the probe client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ProberError {
    /// graviola needs these CPU features and would stop the process on its first handshake.
    #[error(
        "this CPU lacks features the TLS library needs ({0}); monitor mode needs an x86_64 CPU \
         with aes, pclmulqdq, bmi1, bmi2, adx, avx and avx2, or an aarch64 CPU with aes, sha2 and \
         pmull"
    )]
    Cpu(&'static str),
    /// `SSL_CERT_FILE` names a file that is not a PEM bundle.
    #[error("SSL_CERT_FILE {path}: {reason}; expected a PEM file of CA certificates")]
    ExtraRoots {
        /// The path given.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// TLS or the client refused the configuration.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl Prober {
    /// The client, trusting the Mozilla roots plus those in `SSL_CERT_FILE` if it is set.
    ///
    /// # Errors
    /// See [`ProberError`].
    pub fn from_env() -> Result<Self, ProberError> {
        let extra = match std::env::var_os("SSL_CERT_FILE") {
            Some(path) => read_roots(&path.to_string_lossy())?,
            None => Vec::new(),
        };
        Self::new(extra)
    }

    /// This prober with its probes' `User-Agent` (see [`user_agent`]).
    ///
    /// # Errors
    /// [`ProberError::Client`] when `user_agent` is not a valid header value.
    pub fn with_user_agent(mut self, user_agent: &str) -> Result<Self, ProberError> {
        self.user_agent = HeaderValue::try_from(user_agent)
            .map_err(|_| ProberError::Client(format!("invalid User-Agent {user_agent:?}")))?;
        Ok(self)
    }

    /// Probes `spec` once, of the kind its URL's scheme says (HTTP requests send
    /// `user_agent`); never fails, a failure is an [`Observation`] with an `error`. The decider
    /// and its agents both probe through here.
    pub async fn observe(&self, spec: &ProbeSpec, user_agent: &HeaderValue) -> Observation {
        match spec.url.scheme() {
            "tcp" => reach(spec, tcp::probe(spec)).await,
            "tls" => reach(spec, tls::probe(self.tls.clone(), spec)).await,
            "dns" => reach(spec, dns::probe(spec)).await,
            _ => self.request(spec, user_agent).await,
        }
    }

    /// Requests `spec`'s HTTP or HTTPS URL once, sending `user_agent`.
    async fn request(&self, spec: &ProbeSpec, user_agent: &HeaderValue) -> Observation {
        let at = SystemTime::now();
        let started = Instant::now();
        let client = if spec.follow_redirects {
            &self.following
        } else {
            &self.not_following
        };
        let exchange = exchange(client, spec, user_agent, started);
        let (answer, error) = match tokio::time::timeout(spec.timeout, exchange).await {
            Ok(Ok(answer)) => (Some(answer), None),
            Ok(Err((answer, reason))) => (answer, Some(reason)),
            Err(_) => (
                None,
                Some(format!(
                    "timeout: no complete answer within {}",
                    humantime::format_duration(spec.timeout)
                )),
            ),
        };
        let duration = started.elapsed();
        Observation {
            at,
            status_code: answer.as_ref().map(|a| a.status),
            response_time: answer.as_ref().map_or(duration, |a| a.response_time),
            duration,
            certificate_expiry: answer
                .as_ref()
                .and_then(|a| a.certificate.as_ref())
                .map(|c| c.0),
            certificate_subject: answer
                .as_ref()
                .and_then(|a| a.certificate.as_ref())
                .map(|c| c.1.clone()),
            body: match answer {
                Some(answer) if spec.keep_body => answer.body,
                _ => Vec::new(),
            },
            error,
            connected: None,
            dns_rcode: None,
        }
    }

    /// The client, trusting the Mozilla roots plus `extra_roots`.
    ///
    /// # Errors
    /// See [`ProberError`].
    pub fn new(
        extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    ) -> Result<Self, ProberError> {
        check_cpu()?;
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        // A system bundle (SSL_CERT_FILE often names one) can hold certificates webpki cannot
        // use as trust anchors; skip those rather than refuse to start.
        let (usable, skipped): (Vec<_>, Vec<_>) = extra_roots
            .into_iter()
            .partition(|root| roots.add(root.clone()).is_ok());
        let skipped = skipped.len();
        if skipped > 0 {
            tracing::warn!(
                skipped,
                "some extra CA certificates are not usable and were skipped"
            );
        }
        let provider = Arc::new(rustls_graviola::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|err| ProberError::Client(err.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = |policy: redirect::Policy| {
            Client::builder()
                .tls_backend_preconfigured(tls.clone())
                .tls_info(true)
                .redirect(policy)
                .pool_idle_timeout(POOL_IDLE)
                // Notifications and requests to agents; each probe sends its own, naming its
                // location.
                .user_agent(concat!(
                    "health-service-monitor/",
                    env!("CARGO_PKG_VERSION")
                ))
                .build()
                .map_err(|err| ProberError::Client(err.to_string()))
        };
        Ok(Self {
            following: client(redirect::Policy::limited(MAX_REDIRECTS))?,
            not_following: client(redirect::Policy::none())?,
            user_agent: HeaderValue::try_from(user_agent("local", None))
                .map_err(|err| ProberError::Client(err.to_string()))?,
            tls: Arc::new(tls),
            extra_roots: usable.into(),
        })
    }
}

impl Prober {
    /// The client notifications are sent with: the same TLS, no redirects (a webhook that
    /// redirects is misconfigured, and following could leak the body elsewhere).
    #[must_use]
    pub fn alert_client(&self) -> Client {
        self.not_following.clone()
    }

    /// What notifications are sent with: [`Prober::alert_client`], and for e-mail the same
    /// extra roots.
    #[must_use]
    pub fn notifier(&self) -> super::alerts::Notifier {
        super::alerts::Notifier::new(self.alert_client(), self.extra_roots.clone())
    }
}

impl Probe for Prober {
    async fn probe(&self, target: &Target) -> Outcome {
        self.observe(&ProbeSpec::of(target), &self.user_agent)
            .await
            .judge(target)
    }
}

/// What a `tcp://`, `tls://` or `dns://` probe saw, for the conditions to judge.
struct Reach {
    /// Time to the connection (tcp), the handshake (tls) or the answer (dns).
    response_time: Duration,
    /// Whether the connection was made (for dns: whether an answer came).
    connected: bool,
    /// Why it was not, in one line.
    error: Option<String>,
    /// The leaf certificate's expiry and subject (tls).
    certificate: Option<(SystemTime, String)>,
    /// `[BODY]` (dns: the answers' data).
    body: Vec<u8>,
    /// `[DNS_RCODE]` (dns).
    dns_rcode: Option<String>,
}

impl Reach {
    fn connected(response_time: Duration) -> Self {
        Self {
            response_time,
            connected: true,
            error: None,
            certificate: None,
            body: Vec::new(),
            dns_rcode: None,
        }
    }

    fn failed(response_time: Duration, reason: String) -> Self {
        Self {
            connected: false,
            error: Some(reason),
            ..Self::connected(response_time)
        }
    }
}

/// Runs a `tcp://`, `tls://` or `dns://` probe within the spec's timeout; what it saw, not
/// judged.
async fn reach(spec: &ProbeSpec, probe: impl Future<Output = Reach>) -> Observation {
    let at = SystemTime::now();
    let started = Instant::now();
    let reach = tokio::time::timeout(spec.timeout, probe)
        .await
        .unwrap_or_else(|_| {
            Reach::failed(
                started.elapsed(),
                format!(
                    "timeout: no answer within {}",
                    humantime::format_duration(spec.timeout)
                ),
            )
        });
    let (certificate_expiry, certificate_subject) = reach.certificate.unzip();
    Observation {
        at,
        status_code: None,
        response_time: reach.response_time,
        duration: started.elapsed(),
        body: reach.body,
        certificate_expiry,
        certificate_subject,
        error: reach.error,
        connected: Some(reach.connected),
        dns_rcode: reach.dns_rcode,
    }
}

/// The host and port of a `tcp://`, `tls://` or `dns://` URL (dns defaults to 53).
fn host_and_port(url: &Url) -> (String, u16) {
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = url.port().unwrap_or(53);
    (host, port)
}

/// A socket error as one line.
fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        std::io::ErrorKind::ConnectionReset => "connection reset by the server".to_owned(),
        _ => format!("cannot connect: {err}").replace(['\n', '\r'], " "),
    }
}

/// What came back from a target.
struct Answer {
    status: u16,
    response_time: Duration,
    body: Vec<u8>,
    /// The leaf certificate's expiry and subject.
    certificate: Option<(SystemTime, String)>,
}

/// Sends the request and reads the answer, up to the spec's body limit. On an oversized
/// body the answer so far comes back with the reason.
async fn exchange(
    client: &Client,
    spec: &ProbeSpec,
    user_agent: &HeaderValue,
    started: Instant,
) -> Result<Answer, (Option<Answer>, String)> {
    let method = match spec.method {
        ProbeMethod::Get => reqwest::Method::GET,
        ProbeMethod::Head => reqwest::Method::HEAD,
    };
    let mut request = client
        .request(method, spec.url.clone())
        .header(USER_AGENT, user_agent.clone());
    for (name, value) in &spec.headers {
        request = request.header(name, value);
    }
    // Without the URL, which may hold credentials.
    let mut response = request
        .send()
        .await
        .map_err(|err| (None, describe(&err.without_url())))?;
    let mut answer = Answer {
        status: response.status().as_u16(),
        response_time: started.elapsed(),
        body: Vec::new(),
        certificate: response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(reqwest::tls::TlsInfo::peer_certificate)
            .and_then(certificate),
    };
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if answer.body.len() + chunk.len() > spec.body_limit => {
                let reason = format!(
                    "body larger than {} KiB; bodies are read up to {} KiB",
                    spec.body_limit / 1024,
                    spec.body_limit / 1024
                );
                return Err((Some(answer), reason));
            }
            Ok(Some(chunk)) => answer.body.extend_from_slice(&chunk),
            Ok(None) => return Ok(answer),
            Err(err) => {
                let reason = format!("reading the body: {}", describe(&err.without_url()));
                return Err((Some(answer), reason));
            }
        }
    }
}

/// The leaf certificate's `notAfter` and subject.
pub(super) fn certificate(der: &[u8]) -> Option<(SystemTime, String)> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
    let seconds = certificate.validity().not_after.timestamp();
    let seconds = u64::try_from(seconds).ok()?;
    let subject = certificate.subject().to_string();
    Some((
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds),
        subject,
    ))
}

/// A request error as one line: what kind of failure, and the innermost cause.
pub(super) fn describe(err: &reqwest::Error) -> String {
    let mut causes = Vec::new();
    let mut source = err.source();
    while let Some(cause) = source {
        causes.push(cause);
        source = cause.source();
    }
    let innermost = causes
        .last()
        .map_or_else(|| err.to_string(), ToString::to_string);
    let is_io = |kind: std::io::ErrorKind| {
        causes.iter().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == kind)
        })
    };
    let tls = causes.iter().find_map(|c| rustls_error(*c));
    let text = if let Some(tls) = tls {
        format!("TLS: {tls}")
    } else if is_io(std::io::ErrorKind::ConnectionRefused) {
        "connection refused".to_owned()
    } else if is_io(std::io::ErrorKind::ConnectionReset) {
        "connection reset by the server".to_owned()
    } else if causes.iter().any(|c| c.to_string().contains("dns error")) {
        format!("DNS: {innermost}")
    } else if err.is_redirect() {
        format!("redirects: {innermost}")
    } else if err.is_connect() {
        format!("cannot connect: {innermost}")
    } else {
        format!("request failed: {innermost}")
    };
    text.replace(['\n', '\r'], " ")
}

/// The rustls error inside `err`: tokio-rustls wraps it in io::Errors (two deep), whose
/// `source()` skips the wrapped error, so the chain alone never reaches it.
fn rustls_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current = err;
    loop {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        current = current.downcast_ref::<std::io::Error>()?.get_ref()?;
    }
}

fn read_roots(path: &str) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, ProberError> {
    use rustls::pki_types::pem::PemObject;
    let error = |reason: String| ProberError::ExtraRoots {
        path: path.to_owned(),
        reason,
    };
    let roots = rustls::pki_types::CertificateDer::pem_file_iter(path)
        .map_err(|err| error(err.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| error(err.to_string()))?;
    if roots.is_empty() {
        return Err(error("no certificate in it".to_owned()));
    }
    Ok(roots)
}

/// graviola asserts its CPU features on first use, which would panic in a probe; check them at
/// start-up instead, with an error that says what is missing.
fn check_cpu() -> Result<(), ProberError> {
    #[cfg(target_arch = "x86_64")]
    {
        let missing = [
            ("aes", std::arch::is_x86_feature_detected!("aes")),
            (
                "pclmulqdq",
                std::arch::is_x86_feature_detected!("pclmulqdq"),
            ),
            ("bmi1", std::arch::is_x86_feature_detected!("bmi1")),
            ("bmi2", std::arch::is_x86_feature_detected!("bmi2")),
            ("adx", std::arch::is_x86_feature_detected!("adx")),
            ("avx", std::arch::is_x86_feature_detected!("avx")),
            ("avx2", std::arch::is_x86_feature_detected!("avx2")),
        ]
        .into_iter()
        .find(|(_, present)| !present);
        if let Some((name, _)) = missing {
            return Err(ProberError::Cpu(name));
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        let missing = [
            ("aes", std::arch::is_aarch64_feature_detected!("aes")),
            ("sha2", std::arch::is_aarch64_feature_detected!("sha2")),
            ("pmull", std::arch::is_aarch64_feature_detected!("pmull")),
            ("neon", std::arch::is_aarch64_feature_detected!("neon")),
        ]
        .into_iter()
        .find(|(_, present)| !present);
        if let Some((name, _)) = missing {
            return Err(ProberError::Cpu(name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one target of `lines` (a `[[target]]` body).
    fn target(lines: &str) -> Target {
        let text = format!("[[target]]\nname = \"a\"\n{lines}");
        crate::monitor::config::parse(&text, |_| None)
            .unwrap()
            .targets
            .remove(0)
    }

    const AT: u64 = 1_796_581_800; // 2026-12-06 18:30:00 UTC

    /// An HTTP observation of `status`, 42 ms, at [`AT`].
    fn http(status: Option<u16>, error: Option<&str>) -> Observation {
        Observation {
            at: SystemTime::UNIX_EPOCH + Duration::from_secs(AT),
            status_code: status,
            response_time: Duration::from_millis(42),
            duration: Duration::from_millis(50),
            body: Vec::new(),
            certificate_expiry: None,
            certificate_subject: None,
            error: error.map(str::to_owned),
            connected: None,
            dns_rcode: None,
        }
    }

    /// A `tcp://`, `tls://` or `dns://` observation.
    fn reached(connected: bool, error: Option<&str>, rcode: Option<&str>) -> Observation {
        Observation {
            connected: Some(connected),
            dns_rcode: rcode.map(str::to_owned),
            ..http(None, error)
        }
    }

    fn verdict(condition: &str, failure: Option<&str>) -> Verdict {
        Verdict {
            condition: condition.to_owned(),
            failure: failure.map(str::to_owned),
        }
    }

    #[test]
    fn an_http_target_without_conditions_wants_a_status_from_200_to_399() {
        let plain = target("url = \"http://127.0.0.1:1/\"");
        let ok = http(Some(399), None).judge(&plain);
        assert_eq!((ok.ok, ok.error, ok.conditions), (true, None, Vec::new()));
        let failed = http(Some(503), None).judge(&plain);
        assert_eq!(
            (failed.ok, failed.error.as_deref()),
            (false, Some("status 503 is not 200..399"))
        );
        assert_eq!(failed.status_code, Some(503));
        assert_eq!(failed.response_time, Duration::from_millis(42));
        let unreachable = http(None, Some("connection refused")).judge(&plain);
        assert_eq!(unreachable.error.as_deref(), Some("connection refused"));
        let silent = http(None, None).judge(&plain);
        assert_eq!(silent.error.as_deref(), Some("no response"));
    }

    #[test]
    fn an_http_targets_conditions_each_get_a_verdict_and_the_first_failure_is_the_reason() {
        let checked = target(
            "url = \"https://127.0.0.1:1/\"\n\
             conditions = [\"[STATUS] == 200\", \"[CERTIFICATE_EXPIRATION] > 48h\", \
             \"[RESPONSE_TIME] < 40\"]",
        );
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(AT);
        let expiring = |hours: u64| Observation {
            certificate_expiry: Some(at + Duration::from_secs(hours * 3600)),
            ..http(Some(200), None)
        };
        let outcome = expiring(72).judge(&checked);
        assert_eq!(outcome.error.as_deref(), Some("[RESPONSE_TIME] (42) < 40"));
        assert_eq!(
            outcome.conditions,
            [
                verdict("[STATUS] == 200", None),
                verdict("[CERTIFICATE_EXPIRATION] > 48h", None),
                verdict("[RESPONSE_TIME] < 40", Some("[RESPONSE_TIME] (42) < 40")),
            ]
        );
        // 24 hours left, then none (expired before the probe).
        let soon = expiring(24).judge(&checked);
        assert_eq!(
            soon.error.as_deref(),
            Some("[CERTIFICATE_EXPIRATION] (24h) > 48h")
        );
        let expired = Observation {
            certificate_expiry: Some(at - Duration::from_secs(60)),
            ..http(Some(200), None)
        };
        assert_eq!(
            expired.judge(&checked).error.as_deref(),
            Some("[CERTIFICATE_EXPIRATION] (0s) > 48h")
        );
        // No response: every condition still judged, on status 0.
        let none = http(None, Some("timeout: no complete answer within 10s")).judge(&checked);
        assert_eq!(
            none.error.as_deref(),
            Some("timeout: no complete answer within 10s")
        );
        assert_eq!(
            none.conditions[0],
            verdict("[STATUS] == 200", Some("[STATUS] (0) == 200"))
        );
    }

    #[test]
    fn a_reach_target_without_conditions_wants_a_connection_and_dns_noerror() {
        let tcp = target("url = \"tcp://127.0.0.1:1\"");
        assert_eq!(reached(true, None, None).judge(&tcp).error, None);
        let refused = reached(false, Some("connection refused"), None).judge(&tcp);
        assert_eq!(
            (refused.ok, refused.error.as_deref()),
            (false, Some("connection refused"))
        );
        let dns = target(
            "url = \"dns://127.0.0.1\"\ndns = { query_name = \"example.org\", query_type = \"A\" }",
        );
        assert_eq!(reached(true, None, Some("NOERROR")).judge(&dns).error, None);
        assert_eq!(
            reached(true, None, Some("NXDOMAIN"))
                .judge(&dns)
                .error
                .as_deref(),
            Some("[DNS_RCODE] (NXDOMAIN) == NOERROR")
        );
    }

    #[test]
    fn a_reach_targets_conditions_decide_and_a_failed_connection_says_why_after_them() {
        let tcp = target("url = \"tcp://127.0.0.1:1\"\nconditions = [\"[CONNECTED] == true\"]");
        let refused = reached(false, Some("connection refused"), None).judge(&tcp);
        assert_eq!(
            refused.error.as_deref(),
            Some("[CONNECTED] (false) == true (connection refused)")
        );
        assert_eq!(
            refused.conditions,
            [verdict(
                "[CONNECTED] == true",
                Some("[CONNECTED] (false) == true")
            )]
        );
        assert_eq!(reached(true, None, None).judge(&tcp).error, None);
        // Expecting no connection: a refusal passes.
        let closed = target("url = \"tcp://127.0.0.1:1\"\nconditions = [\"[CONNECTED] == false\"]");
        let outcome = reached(false, Some("connection refused"), None).judge(&closed);
        assert_eq!((outcome.ok, outcome.error), (true, None));
        let dns = target(
            "url = \"dns://127.0.0.1\"\ndns = { query_name = \"example.org\", query_type = \"A\" }\n\
             conditions = [\"[DNS_RCODE] == NXDOMAIN\"]",
        );
        assert_eq!(
            reached(true, None, Some("NXDOMAIN")).judge(&dns).error,
            None
        );
        assert_eq!(
            reached(true, None, Some("NOERROR"))
                .judge(&dns)
                .error
                .as_deref(),
            Some("[DNS_RCODE] (NOERROR) == NXDOMAIN")
        );
    }

    #[test]
    fn a_spec_carries_the_dns_query_and_keeps_the_body_only_for_a_body_condition() {
        let dns = target(
            "url = \"dns://127.0.0.1\"\ndns = { query_name = \"example.org\", query_type = \"A\" }",
        );
        let spec = ProbeSpec::of(&dns);
        assert_eq!(
            spec.dns.as_ref().map(|q| q.name.as_str()),
            Some("example.org")
        );
        assert!(!spec.keep_body);
        let http = target(
            "url = \"http://127.0.0.1:1/\"\nconditions = [\"[STATUS] == 200\", \"[BODY].ok == true\"]",
        );
        let spec = ProbeSpec::of(&http);
        assert_eq!(spec.dns, None);
        assert!(spec.keep_body);
        assert_eq!(spec.body_limit, MAX_BODY_BYTES);
        assert!(!ProbeSpec::of(&target("url = \"http://127.0.0.1:1/\"")).keep_body);
    }

    #[test]
    fn the_user_agent_names_the_version_location_and_status_page() {
        let version = env!("CARGO_PKG_VERSION");
        assert_eq!(
            user_agent("ams", None),
            format!("health-service-monitor/{version} (location=ams)")
        );
        assert_eq!(
            user_agent("ams", Some("https://status.example.org/")),
            format!(
                "health-service-monitor/{version} (location=ams; +https://status.example.org/)"
            )
        );
    }

    #[test]
    fn reach_urls_give_host_and_port_and_socket_errors_one_line() {
        let url = |text: &str| Url::parse(text).unwrap();
        assert_eq!(host_and_port(&url("dns://[::1]")), ("::1".to_owned(), 53));
        assert_eq!(
            host_and_port(&url("tcp://db.internal:5432")),
            ("db.internal".to_owned(), 5432)
        );
        let io = |kind| std::io::Error::from(kind);
        assert_eq!(
            io_reason(&io(std::io::ErrorKind::ConnectionRefused)),
            "connection refused"
        );
        assert_eq!(
            io_reason(&io(std::io::ErrorKind::ConnectionReset)),
            "connection reset by the server"
        );
        assert_eq!(
            io_reason(&std::io::Error::other("no\nroute")),
            "cannot connect: no route"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_reach_probe_that_does_not_end_in_time_fails_with_the_timeout() {
        let mut spec = ProbeSpec::of(&target("url = \"tcp://127.0.0.1:1\""));
        spec.timeout = Duration::from_millis(1500);
        let observed = reach(&spec, std::future::pending()).await;
        assert_eq!(observed.connected, Some(false));
        assert_eq!(
            observed.error.as_deref(),
            Some("timeout: no answer within 1s 500ms")
        );
        let failed = reach(&spec, async {
            Reach::failed(Duration::from_millis(3), "connection refused".to_owned())
        })
        .await;
        assert_eq!(
            (
                failed.connected,
                failed.error.as_deref(),
                failed.status_code
            ),
            (Some(false), Some("connection refused"), None)
        );
    }

    /// A server on loopback that answers one request with `body` and says what it was sent.
    async fn serve_once(body: &'static [u8]) -> (Url, tokio::task::JoinHandle<String>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/health", listener.local_addr().unwrap())).unwrap();
        let served = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buffer = [0; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let read = socket.read(&mut buffer).await.unwrap();
                assert!(read > 0, "the request ended early");
                request.extend_from_slice(&buffer[..read]);
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            socket.write_all(head.as_bytes()).await.unwrap();
            socket.write_all(body).await.unwrap();
            String::from_utf8_lossy(&request).into_owned()
        });
        (url, served)
    }

    #[tokio::test]
    async fn an_http_probe_reads_the_body_up_to_its_limit_and_sends_the_user_agent() {
        let prober = Prober::new(Vec::new()).unwrap();
        let agent = HeaderValue::from_static("health-service-monitor/test (location=ams)");
        let mut spec = ProbeSpec::of(&target(
            "url = \"http://127.0.0.1:1/\"\nconditions = [\"[BODY] == 0123456789\"]",
        ));
        spec.body_limit = 10;

        let (url, served) = serve_once(b"0123456789").await;
        spec.url = url;
        let observed = prober.observe(&spec, &agent).await;
        assert_eq!(
            (
                observed.status_code,
                observed.error.as_deref(),
                observed.connected
            ),
            (Some(200), None, None)
        );
        assert_eq!(observed.body, b"0123456789");
        let request = served.await.unwrap().to_ascii_lowercase();
        assert!(request.starts_with("get /health http/1.1\r\n"), "{request}");
        assert!(
            request.contains("\r\nuser-agent: health-service-monitor/test (location=ams)\r\n"),
            "{request}"
        );

        // One byte over: the answer so far, and why it failed.
        let (url, _served) = serve_once(b"0123456789a").await;
        spec.url = url;
        let observed = prober.observe(&spec, &agent).await;
        assert_eq!(observed.status_code, Some(200));
        assert_eq!(
            observed.error.as_deref(),
            Some("body larger than 0 KiB; bodies are read up to 0 KiB")
        );

        // Without a body condition the body is read but not kept.
        spec.keep_body = false;
        let (url, _served) = serve_once(b"0123456789").await;
        spec.url = url;
        let observed = prober.observe(&spec, &agent).await;
        assert_eq!((observed.error, observed.body), (None, Vec::new()));
    }

    /// A loopback port nothing listens on (bound, then let go).
    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn each_scheme_is_probed_its_own_way_and_a_refusal_is_said_plainly() {
        let prober = Prober::new(Vec::new()).unwrap();
        let agent = HeaderValue::from_static("health-service-monitor/test");
        let port = closed_port();
        for scheme in ["tcp", "tls"] {
            let spec = ProbeSpec::of(&target(&format!("url = \"{scheme}://127.0.0.1:{port}\"")));
            let observed = prober.observe(&spec, &agent).await;
            assert_eq!(
                (observed.connected, observed.error.as_deref()),
                (Some(false), Some("connection refused")),
                "{scheme}"
            );
        }
        // DNS over UDP: the closed port's ICMP answer refuses the connected socket's read.
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let udp_port = udp.local_addr().unwrap().port();
        drop(udp);
        let dns = target(&format!(
            "url = \"dns://127.0.0.1:{udp_port}\"\n\
             dns = {{ query_name = \"example.org\", query_type = \"A\" }}"
        ));
        let observed = prober.observe(&ProbeSpec::of(&dns), &agent).await;
        assert_eq!(
            (observed.connected, observed.error.as_deref()),
            (Some(false), Some("connection refused"))
        );
        let spec = ProbeSpec::of(&target(&format!("url = \"http://127.0.0.1:{port}/\"")));
        let observed = prober.observe(&spec, &agent).await;
        assert_eq!(
            (
                observed.connected,
                observed.status_code,
                observed.error.as_deref()
            ),
            (None, None, Some("connection refused"))
        );
    }

    #[test]
    fn extra_roots_are_read_from_a_pem_file_and_anything_else_is_refused() {
        let roots = read_roots(&tls_fixture("ca.pem").to_string_lossy()).unwrap();
        assert_eq!(roots.len(), 1);
        let empty = tempfile::NamedTempFile::new().unwrap();
        let path = empty.path().to_string_lossy().into_owned();
        let err = read_roots(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "SSL_CERT_FILE {path}: no certificate in it; expected a PEM file of CA certificates"
            )
        );
    }

    /// tests/fixtures/tls's `file`: the test CA (`ca.pem`) and its certificate and key for
    /// localhost (`localhost.pem`, `localhost.key`).
    pub(super) fn tls_fixture(file: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tls")
            .join(file)
    }

    /// What the tests' TLS servers (here and in `tls.rs`) accept with: the fixture
    /// certificate for `localhost`.
    pub(super) fn fixture_acceptor() -> tokio_rustls::TlsAcceptor {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let chain: Vec<_> = CertificateDer::pem_file_iter(tls_fixture("localhost.pem"))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(tls_fixture("localhost.key")).unwrap();
        let server = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls_graviola::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
        tokio_rustls::TlsAcceptor::from(Arc::new(server))
    }

    /// An HTTPS server on loopback with the fixture certificate for `localhost`, answering each
    /// request 200; its port.
    async fn serve_tls() -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let acceptor = fixture_acceptor();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that does not trust the certificate ends the handshake.
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let mut request = Vec::new();
                    let mut buffer = [0; 4096];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        let Ok(read @ 1..) = tls.read(&mut buffer).await else {
                            return;
                        };
                        request.extend_from_slice(&buffer[..read]);
                    }
                    let answer =
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
                    let _ = tls.write_all(answer).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        port
    }

    #[tokio::test]
    async fn an_https_probe_keeps_the_certificate_and_says_why_one_is_not_trusted() {
        let agent = HeaderValue::from_static("health-service-monitor/test");
        let port = serve_tls().await;
        let spec = ProbeSpec::of(&target(&format!("url = \"https://localhost:{port}/\"")));
        let untrusting = Prober::new(Vec::new()).unwrap();
        let refused = untrusting.observe(&spec, &agent).await;
        assert_eq!(
            (refused.status_code, refused.error.as_deref()),
            (None, Some("TLS: invalid peer certificate: UnknownIssuer"))
        );
        let trusting =
            Prober::new(read_roots(&tls_fixture("ca.pem").to_string_lossy()).unwrap()).unwrap();
        let observed = trusting.observe(&spec, &agent).await;
        assert_eq!((observed.status_code, observed.error), (Some(200), None));
        // The fixture's notAfter: 2035-02-15T06:02:48Z.
        assert_eq!(
            observed.certificate_expiry,
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(2_055_132_168))
        );
        assert_eq!(
            observed.certificate_subject.as_deref(),
            Some("CN=localhost")
        );
    }
}
