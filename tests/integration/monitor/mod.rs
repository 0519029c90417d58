//! Monitor mode against local targets that fail on command and a local webhook receiver.
//!
//! - `probe`: each condition kind, HEAD, timeouts, oversized bodies, TLS, reasons.
//! - `alerts`: thresholds, flapping, reminders, retries, through the running monitor.
//! - `email`: e-mail alerts through the real binary to a local SMTP server (STARTTLS, implicit
//!   TLS, AUTH, a retried 4xx).
//! - `restart`: SIGKILL and restart of the real binary mid-incident.
//! - `cli`: `monitor --check` and start-up errors.
//! - `api`: `/api/v1/*` and the spec.
//! - `certificate`: a certificate near its expiry warns once and the target stays up.
//! - `push`: push targets checking in through the real binary, and their silence.
//! - `kinds`: tcp://, tls:// and dns:// probes, and what --check refuses for each.
//! - `maintenance`: windows silence failures; the API and page say so.
//! - `status`: the status page, badges and the Atom feed.
//! - `kuma`: Uptime Kuma's status-page API.
//! - `secrets`: no credential on a public surface, in an alert or in a log.
//! - `store`: a full disk under the real binary, and `max_store_size`.
//! - `locations`: a monitor and two agents (real binaries): quorum, warnings, auth, heartbeat.
//! - `migrate`: a store written by the format-1 code, opened by this one.

mod alerts;
mod api;
mod certificate;
mod cli;
mod email;
mod gatus;
mod kinds;
mod kuma;
mod locations;
mod maintenance;
mod migrate;
mod probe;
mod push;
mod restart;
mod secrets;
mod status;
mod store;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use health_service::monitor::Monitor;
use health_service::monitor::config::{self, MonitorConfig};
use health_service::monitor::probe::Prober;
use poem::http::StatusCode;
use poem::{Body, Request, Response};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::helpers::{PATIENCE, TestApp, spawn_app_with};

/// How a [`TargetServer`] answers, changed by the test while it runs.
#[derive(Debug, Clone)]
pub struct Behaviour {
    pub status: u16,
    pub body: Vec<u8>,
    pub content_type: &'static str,
    /// Waited before answering.
    pub delay: Duration,
    /// When not empty, the n-th request gets the n-th status, round and round (over `status`).
    pub cycle: Vec<u16>,
}

impl Behaviour {
    /// 200 with this service's own `/health` shape.
    pub fn healthy() -> Self {
        Self {
            status: 200,
            body: br#"{"status":"UP","version":"0.1.0","checks":[{"name":"db","ok":true}]}"#
                .to_vec(),
            content_type: "application/json",
            delay: Duration::ZERO,
            cycle: Vec::new(),
        }
    }

    /// 503 with `status: DOWN`.
    pub fn failing() -> Self {
        Self {
            status: 503,
            body: br#"{"status":"DOWN"}"#.to_vec(),
            ..Self::healthy()
        }
    }
}

/// A local HTTP target whose answers the test controls, recording each request's method and
/// `User-Agent`.
pub struct TargetServer {
    pub addr: SocketAddr,
    behaviour: Arc<Mutex<Behaviour>>,
    methods: Arc<Mutex<Vec<String>>>,
    /// Each request's `User-Agent`.
    agents: Arc<Mutex<Vec<String>>>,
    /// Requests whose `User-Agent` names one of these locations get 503, whatever `behaviour`.
    failing_from: Arc<Mutex<Vec<String>>>,
    stop: CancellationToken,
}

impl TargetServer {
    pub async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let behaviour = Arc::new(Mutex::new(behaviour));
        let methods = Arc::new(Mutex::new(Vec::new()));
        let agents = Arc::new(Mutex::new(Vec::new()));
        let failing_from = Arc::new(Mutex::new(Vec::<String>::new()));
        let (b, m) = (behaviour.clone(), methods.clone());
        let (a, f) = (agents.clone(), failing_from.clone());
        let endpoint = poem::endpoint::make(move |req: Request| {
            let (behaviour, methods) = (b.clone(), m.clone());
            let (agents, failing_from) = (a.clone(), f.clone());
            async move {
                let count = {
                    let mut methods = methods.lock().unwrap();
                    methods.push(req.method().to_string());
                    methods.len()
                };
                let agent = req
                    .headers()
                    .get("user-agent")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let failing = failing_from.lock().unwrap().iter().any(|l| {
                    agent.contains(&format!("location={l};"))
                        || agent.contains(&format!("location={l})"))
                });
                agents.lock().unwrap().push(agent);
                let mut now = behaviour.lock().unwrap().clone();
                if failing {
                    now = Behaviour::failing();
                }
                tokio::time::sleep(now.delay).await;
                let status = match now.cycle.len() {
                    0 => now.status,
                    n => now.cycle[(count - 1) % n],
                };
                Response::builder()
                    .status(StatusCode::from_u16(status).unwrap())
                    .content_type(now.content_type)
                    .body(Body::from(now.body))
            }
        });
        let stop = serve(listener, endpoint);
        Self {
            addr,
            behaviour,
            methods,
            agents,
            failing_from,
            stop,
        }
    }

    /// Every request's `User-Agent` so far.
    pub fn user_agents(&self) -> Vec<String> {
        self.agents.lock().unwrap().clone()
    }

    /// From now on, requests from these locations (by `User-Agent`) fail with 503.
    pub fn fail_from(&self, locations: &[&str]) {
        *self.failing_from.lock().unwrap() = locations.iter().map(|l| (*l).to_owned()).collect();
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    pub fn methods(&self) -> Vec<String> {
        self.methods.lock().unwrap().clone()
    }
}

impl Drop for TargetServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// What a [`Receiver`] was sent.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub idempotency_key: Option<String>,
    /// The credential headers notifiers send: `authorization` and `x-gotify-key`.
    pub credentials: Vec<(String, String)>,
    pub body: serde_json::Value,
}

/// A local webhook receiver: answers each POST with the next status of its script (200 once the
/// script is used up) and records what it was sent, failed attempts included.
pub struct Receiver {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<(u16, Received)>>>,
    stop: CancellationToken,
}

impl Receiver {
    pub async fn start(script: &[u16]) -> Self {
        Self::start_on(TcpListener::bind("127.0.0.1:0").await.unwrap(), script)
    }

    pub fn start_on(listener: TcpListener, script: &[u16]) -> Self {
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script.to_vec()));
        let log = received.clone();
        let endpoint = poem::endpoint::make(move |req: Request| {
            let (log, script) = (log.clone(), script.clone());
            async move {
                let method = req.method().to_string();
                let path = req.uri().path().to_owned();
                let credentials = ["authorization", "x-gotify-key"]
                    .into_iter()
                    .filter_map(|name| {
                        let value = req.headers().get(name)?.to_str().ok()?;
                        Some((name.to_owned(), value.to_owned()))
                    })
                    .collect();
                let idempotency_key = req
                    .headers()
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let bytes = req.into_body().into_bytes().await.unwrap_or_default();
                let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
                let status = {
                    let mut script = script.lock().unwrap();
                    if script.is_empty() {
                        200
                    } else {
                        script.remove(0)
                    }
                };
                log.lock().unwrap().push((
                    status,
                    Received {
                        method,
                        path,
                        idempotency_key,
                        credentials,
                        body,
                    },
                ));
                Response::builder()
                    .status(StatusCode::from_u16(status).unwrap())
                    .finish()
            }
        });
        let stop = serve(listener, endpoint);
        Self {
            addr,
            received,
            stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request so far with the status it got.
    pub fn all(&self) -> Vec<(u16, Received)> {
        self.received.lock().unwrap().clone()
    }

    /// The requests answered 2xx: the notifications delivered.
    pub fn delivered(&self) -> Vec<Received> {
        self.all()
            .into_iter()
            .filter(|(status, _)| (200..300).contains(status))
            .map(|(_, r)| r)
            .collect()
    }

    /// The `event` of each delivered webhook body, in order.
    pub fn events(&self) -> Vec<String> {
        self.delivered()
            .iter()
            .map(|r| r.body["event"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Waits until `count` notifications were delivered.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        wait_until(|| self.delivered().len() >= count).await;
        self.delivered()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Serves `endpoint` on `listener` with the service's own connection loop until the token is
/// cancelled.
fn serve(listener: TcpListener, endpoint: impl poem::Endpoint + 'static) -> CancellationToken {
    let stop = CancellationToken::new();
    tokio::spawn(health_service::server::serve(
        listener,
        Arc::new(endpoint),
        Duration::from_secs(5),
        stop.clone(),
        TaskTracker::new(),
    ));
    stop
}

/// Polls `done` every 20 ms until it holds; panics after a generous bound (a hang guard).
pub async fn wait_until(mut done: impl FnMut() -> bool) {
    eventually("condition", || std::future::ready(done())).await;
}

/// [`wait_until`] for a check that awaits (an API call, say); `what` names it in the panic.
pub async fn eventually<F: Future<Output = bool>>(what: &str, mut done: impl FnMut() -> F) {
    let give_up = tokio::time::Instant::now() + PATIENCE * 3;
    while !done().await {
        assert!(
            tokio::time::Instant::now() < give_up,
            "{what}: not met in time"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What `${PUSH_TOKEN}` holds in the configs of [`parse`]: push tokens come only from the
/// environment, and tests cannot safely set the process's.
pub const PUSH_TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// The config of `toml`, which must be valid; `${PUSH_TOKEN}` is [`PUSH_TOKEN`].
pub fn parse(toml: &str) -> MonitorConfig {
    let env = |name: &str| match name {
        "PUSH_TOKEN" => Some(PUSH_TOKEN.to_owned()),
        _ => std::env::var(name).ok(),
    };
    config::parse(toml, env).unwrap_or_else(|problems| {
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        panic!("test config has problems: {lines:#?}")
    })
}

/// The test CA (tests/fixtures/tls), which signed the certificate of [`tls_target`].
pub fn test_ca() -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls/ca.pem");
    rustls::pki_types::CertificateDer::pem_file_iter(path)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// A TLS server with the test certificate for localhost and 127.0.0.1, answering 200 "ok".
pub async fn tls_target() -> std::net::SocketAddr {
    let (chain, key) = localhost_certificate();
    serve_tls(chain, key).await
}

/// The fixture certificate for localhost and 127.0.0.1 (signed by [`test_ca`]) and its key.
pub fn localhost_certificate() -> (
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
    let chain = CertificateDer::pem_file_iter(dir.join("localhost.pem"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("localhost.key")).unwrap();
    (chain, key)
}

/// A P-256 key of graviola's, which rcgen signs certificates with (rcgen's own backends, ring
/// and aws-lc, compile C).
struct TestKey {
    key: graviola::signing::ecdsa::SigningKey<graviola::signing::ecdsa::P256>,
    /// The public key as an uncompressed point, as rcgen puts it in the certificate.
    point: Vec<u8>,
}

impl TestKey {
    fn generate() -> Self {
        let key = graviola::signing::ecdsa::SigningKey::generate().unwrap();
        let mut spki = [0u8; 128];
        let spki = key.to_spki_der(&mut spki).unwrap();
        // A P-256 SubjectPublicKeyInfo ends with the 65-byte point.
        let point = spki[spki.len() - 65..].to_vec();
        Self { key, point }
    }

    fn pkcs8(&self) -> rustls::pki_types::PrivateKeyDer<'static> {
        let mut der = [0u8; 256];
        let der = self.key.to_pkcs8_der(&mut der).unwrap();
        rustls::pki_types::PrivateKeyDer::Pkcs8(der.to_vec().into())
    }
}

impl rcgen::PublicKeyData for TestKey {
    fn der_bytes(&self) -> &[u8] {
        &self.point
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl rcgen::SigningKey for TestKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let mut signature = [0u8; 80];
        self.key
            .sign_asn1::<graviola::hashing::Sha256>(&[message], &mut signature)
            .map(<[u8]>::to_vec)
            .map_err(|_| rcgen::Error::RemoteKeyError)
    }
}

/// A certificate for localhost and 127.0.0.1 made for one test, by a CA made with it.
pub struct TestCertificate {
    /// The CA, for the monitor to trust.
    pub ca: rustls::pki_types::CertificateDer<'static>,
    /// The leaf, then the CA.
    pub chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    /// The leaf's key.
    pub key: rustls::pki_types::PrivateKeyDer<'static>,
    /// The leaf's notAfter, whole seconds.
    pub not_after: std::time::SystemTime,
}

impl TestCertificate {
    /// A new CA and a leaf, `CN=localhost`, that expires `valid_for` from now.
    pub fn expiring_in(valid_for: Duration) -> Self {
        use rcgen::{CertificateParams, DnType, IsCa, Issuer, SanType};
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        let not_after = Duration::from_secs((now + valid_for).as_secs());
        let epoch = rcgen::date_time_ymd(1970, 1, 1);

        let ca_key = TestKey::generate();
        let mut ca = CertificateParams::default();
        ca.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "health-service test CA");
        ca.serial_number = Some(1.into());
        ca.not_before = epoch + (now - Duration::from_secs(3600));
        ca.not_after = epoch + (now + Duration::from_secs(365 * 86_400));
        let ca_der = ca.self_signed(&ca_key).unwrap().der().clone();

        let key = TestKey::generate();
        let mut leaf = CertificateParams::default();
        leaf.distinguished_name
            .push(DnType::CommonName, "localhost");
        leaf.subject_alt_names = vec![
            SanType::DnsName("localhost".try_into().unwrap()),
            SanType::IpAddress([127, 0, 0, 1].into()),
        ];
        leaf.serial_number = Some(2.into());
        leaf.not_before = epoch + (now - Duration::from_secs(3600));
        leaf.not_after = epoch + not_after;
        let issuer = Issuer::new(ca, ca_key);
        let leaf_der = leaf.signed_by(&key, &issuer).unwrap().der().clone();
        Self {
            ca: ca_der.clone(),
            chain: vec![leaf_der, ca_der],
            key: key.pkcs8(),
            not_after: std::time::UNIX_EPOCH + not_after,
        }
    }
}

/// A TLS server presenting `chain`, answering every request 200 "ok"; it runs until the test
/// ends.
pub async fn serve_tls(
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> SocketAddr {
    use hyper_util::rt::TokioIo;
    let acceptor = tls_acceptor(chain, key);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let service = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(
                        http_body_util::Full::new(hyper::body::Bytes::from_static(b"ok")),
                    ))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    addr
}

/// TLS server side with graviola, presenting `chain`.
pub fn tls_acceptor(
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> tokio_rustls::TlsAcceptor {
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls_graviola::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// A monitor running in-process on free ports, with its store in a temporary directory.
pub struct TestMonitor {
    pub addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    pub data: tempfile::TempDir,
    app: TestApp,
}

impl TestMonitor {
    pub async fn start(toml: &str) -> Self {
        Self::start_in(toml, tempfile::tempdir().unwrap()).await
    }

    /// [`TestMonitor::start`] on a store that may already hold history.
    pub async fn start_in(toml: &str, data: tempfile::TempDir) -> Self {
        Self::start_trusting(toml, data, test_ca()).await
    }

    /// [`TestMonitor::start_in`] trusting `roots` (besides the Mozilla ones).
    pub async fn start_trusting(
        toml: &str,
        data: tempfile::TempDir,
        roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    ) -> Self {
        let monitor =
            Monitor::open_with(parse(toml), data.path(), Prober::new(roots).unwrap()).unwrap();
        let app = spawn_app_with(&[], |app| app.with_monitor(monitor).unwrap()).await;
        Self {
            addr: app.addr,
            metrics_addr: app.metrics_addr,
            data,
            app,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `GET path` as JSON.
    pub async fn get(&self, path: &str) -> serde_json::Value {
        crate::helpers::json(
            crate::helpers::client()
                .get(self.url(path))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// The results of `target` in the store, as the API shows them, newest first.
    pub async fn results(&self, target: &str) -> Vec<serde_json::Value> {
        let path = format!("/api/v1/targets/{target}/results?limit=1000");
        self.get(&path).await["results"]
            .as_array()
            .expect("results is an array")
            .clone()
    }

    /// Waits until the store holds at least `count` results of `target`; returns them.
    pub async fn wait_for_results(&self, target: &str, count: usize) -> Vec<serde_json::Value> {
        eventually(&format!("{count} results of {target}"), || async {
            self.results(target).await.len() >= count
        })
        .await;
        self.results(target).await
    }

    /// Waits until the store holds `states`, one per target in config order.
    pub async fn wait_for_states(&self, states: &[&str]) {
        eventually(&format!("states {states:?}"), || async {
            let status = self.get("/api/v1/status").await;
            let targets = status["targets"].as_array().expect("targets is an array");
            targets.len() == states.len()
                && targets.iter().zip(states).all(|(t, s)| t["state"] == *s)
        })
        .await;
    }

    /// Shuts down (as SIGTERM would) and waits until every result is committed.
    pub async fn stop(mut self) -> tempfile::TempDir {
        self.app.signal_shutdown();
        tokio::time::timeout(PATIENCE * 2, &mut self.app.stopped)
            .await
            .expect("the monitor stops")
            .unwrap();
        self.data
    }
}

/// Fills a new store with one result a minute for `days` days up to now for each of `targets`;
/// `ok(target index, minute)` decides each result. Written through the library, as the ledger
/// would, one day per commit.
pub fn fill_history(
    targets: usize,
    days: u64,
    ok: impl Fn(usize, u64) -> bool,
) -> tempfile::TempDir {
    use health_service::monitor::store::{Batch, ResultRecord, Store, Vote, millis};
    let data = tempfile::tempdir().unwrap();
    let store = Store::open(data.path()).unwrap();
    let now = millis(std::time::SystemTime::now());
    let minutes = days * 24 * 60;
    for day in 0..days {
        let mut batch = Batch::default();
        for minute in day * 1440..(day + 1) * 1440 {
            let at_ms = now - (minutes - minute) * 60_000;
            for target in 0..targets {
                let ok = ok(target, minute);
                let status_code = Some(if ok { 200 } else { 503 });
                // Slower some hours than others, so the sparkline has a shape.
                let response_time_ms =
                    25 + ((minute / 60) * 37 + target as u64 * 11) % 50 + minute % 7;
                let error = (!ok).then(|| "[STATUS] (503) == 200".to_owned());
                batch.results.push((
                    format!("t{target}"),
                    ResultRecord {
                        at_ms,
                        ok,
                        status_code,
                        response_time_ms,
                        error: error.clone(),
                        votes: vec![Vote {
                            location: "local".to_owned(),
                            ok: Some(ok),
                            status_code,
                            response_time_ms,
                            error,
                        }],
                    },
                ));
            }
        }
        store.commit(&batch).unwrap();
    }
    data
}

/// A target section for `url` probed every second with the given extra lines.
pub fn target(name: &str, url: &str, extra: &str) -> String {
    format!(
        "[[target]]\nname = \"{name}\"\nurl = \"{url}\"\ninterval = \"1s\"\ntimeout = \"900ms\"\n{extra}\n"
    )
}
