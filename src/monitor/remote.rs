//! Probing from other places: what the decider (`monitor`) and an agent (`agent`) say to each
//! other over `POST /api/v1/probe`, and the decider's side of it.
//!
//! The decider describes one probe ([`ProbeRequest`]: everything of a target but its
//! conditions) and the agent answers what it observed ([`ProbeObservation`]); the decider judges
//! the conditions, so agents need no config to stay in sync with it. Both carry
//! [`PROTOCOL_VERSION`]: a decider and an agent of different versions refuse each other with an
//! error that says so, rather than misreading each other into a wrong verdict.
//!
//! The types are poem-openapi objects: the agent's spec documents them, and both sides read and
//! write them through the same `ToJSON`/`ParseFromJSON` code.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use poem_openapi::types::{Base64, ParseFromJSON, ToJSON};
use poem_openapi::{Enum, Object};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Client, Url};

use super::config::{DNS_TYPES, DnsQuery, Location, ProbeMethod};
use super::probe::{MAX_BODY_BYTES, Observation, ProbeSpec};
use super::store::{from_millis, millis};

/// The version of [`ProbeRequest`] and [`ProbeObservation`]; both sides must speak the same.
/// 2: tcp://, tls:// and dns:// probes too (`dns`, `connected`, `dns_rcode`).
pub const PROTOCOL_VERSION: u32 = 2;
/// Where an agent takes probe requests.
pub const PROBE_PATH: &str = "/api/v1/probe";
/// Largest probe request an agent reads; a target's request is far smaller.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// Longest probe timeout an agent accepts.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(300);
/// How long past the target's timeout the decider waits for an agent's answer before counting
/// that location as unreachable: the agent's own round trip and queueing.
pub const ANSWER_MARGIN: Duration = Duration::from_secs(2);

/// The request method of a probe, on the wire.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireMethod {
    /// Status, headers and body.
    #[oai(rename = "GET")]
    Get,
    /// Status and headers only.
    #[oai(rename = "HEAD")]
    Head,
}

/// The query of a `dns://` probe.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct WireDnsQuery {
    /// The name asked about. Example: `example.org`.
    pub name: String,
    /// The record type.
    #[oai(rename = "type", validator(pattern = "^(A|AAAA|CNAME|MX|NS|PTR|SRV)$"))]
    pub record_type: String,
}

/// One probe to run, as a monitor describes it to an agent.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct ProbeRequest {
    /// The protocol version the monitor speaks; an agent of another version refuses with 409.
    /// Example: `2`.
    pub version: u32,
    /// What to probe; the scheme says the kind: `http://` or `https://` (a request),
    /// `tcp://host:port` (a connection), `tls://host:port` (a connection and a TLS handshake)
    /// or `dns://server[:port]` (one query, `dns`). Example: `https://health-service-5054231013.fly.dev/health`.
    pub url: String,
    /// The query of a `dns://` probe; absent or null for the other kinds.
    #[oai(nullable)]
    pub dns: Option<WireDnsQuery>,
    /// `GET` or `HEAD` (HTTP only).
    pub method: WireMethod,
    /// Sent with the request, besides the agent's own `User-Agent`.
    pub headers: BTreeMap<String, String>,
    /// Longest the probe may take, body included, ms (1 to 300000). Example: `10000`.
    pub timeout_ms: u64,
    /// Whether redirects are followed (else a 3xx is the answer).
    pub follow_redirects: bool,
    /// Bodies are read up to this many bytes; a larger one fails the probe. Example: `1048576`.
    pub body_limit: u64,
    /// Whether the answer must include the body (a condition reads it).
    pub keep_body: bool,
    /// The monitor's public status page, named in the probe's `User-Agent`.
    #[oai(nullable)]
    pub public_url: Option<String>,
}

/// What one probe observed, as an agent answers it; not judged.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct ProbeObservation {
    /// The protocol version the agent speaks. Example: `2`.
    pub version: u32,
    /// Where the agent probed from (its `--location`). Example: `ams`.
    pub location: String,
    /// When the probe started, ms since the Unix epoch.
    pub started_at_ms: u64,
    /// The response's status; null when none arrived, and for tcp, tls and dns. Example: `200`.
    #[oai(nullable)]
    pub status_code: Option<u16>,
    /// Time to the response head (HTTP), the connection (tcp), the handshake (tls) or the
    /// answer (dns), or to the failure, ms. Example: `42`.
    pub response_time_ms: u64,
    /// Time until the probe ended, body included, ms. Example: `45`.
    pub duration_ms: u64,
    /// The body (base64), when `keep_body` asked for it; for dns, the answers' data as `[BODY]`
    /// reads it.
    #[oai(nullable)]
    pub body: Option<Base64<Vec<u8>>>,
    /// When the server's certificate expires, seconds since the Unix epoch (https and tls).
    #[oai(nullable)]
    pub certificate_expiry: Option<u64>,
    /// The certificate's subject, with its expiry. Example: `CN=api.example.org`.
    #[oai(nullable)]
    pub certificate_subject: Option<String>,
    /// Why the request failed (no answer, timeout, oversized body), in one line.
    #[oai(nullable)]
    pub error: Option<String>,
    /// Whether the connection was made (tcp, tls) or an answer came (dns); null for HTTP.
    #[oai(nullable)]
    pub connected: Option<bool>,
    /// The DNS response code's name (dns only). Example: `NOERROR`.
    #[oai(nullable)]
    pub dns_rcode: Option<String>,
}

impl ProbeRequest {
    /// The request for `spec`.
    #[must_use]
    pub fn new(spec: &ProbeSpec, public_url: Option<&str>) -> Self {
        Self {
            version: PROTOCOL_VERSION,
            url: spec.url.to_string(),
            dns: spec.dns.as_ref().map(|query| WireDnsQuery {
                name: query.name.clone(),
                record_type: query.record_type.clone(),
            }),
            method: match spec.method {
                ProbeMethod::Get => WireMethod::Get,
                ProbeMethod::Head => WireMethod::Head,
            },
            headers: spec
                .headers
                .iter()
                .filter_map(|(name, value)| {
                    Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
                })
                .collect(),
            timeout_ms: u64::try_from(spec.timeout.as_millis()).unwrap_or(u64::MAX),
            follow_redirects: spec.follow_redirects,
            body_limit: spec.body_limit as u64,
            keep_body: spec.keep_body,
            public_url: public_url.map(str::to_owned),
        }
    }

    /// The probe this describes, checked.
    ///
    /// # Errors
    /// One line saying which field is wrong and what is accepted.
    pub fn spec(&self) -> Result<ProbeSpec, String> {
        let url = Url::parse(&self.url)
            .ok()
            .filter(|url| {
                matches!(url.scheme(), "http" | "https" | "tcp" | "tls" | "dns") && url.has_host()
            })
            .ok_or_else(|| {
                format!(
                    "url {:?} is not an http://, https://, tcp://, tls:// or dns:// URL with a host",
                    self.url
                )
            })?;
        if matches!(url.scheme(), "tcp" | "tls") && url.port().is_none() {
            return Err(format!(
                "url {:?} has no port; a {}:// probe needs host:port",
                self.url,
                url.scheme()
            ));
        }
        let dns = match (url.scheme(), &self.dns) {
            ("dns", Some(query)) => Some(wire_query(query)?),
            ("dns", None) => {
                return Err("dns: missing; a dns:// probe needs { name, type }".to_owned());
            }
            (_, Some(_)) => {
                return Err(format!(
                    "dns: only a dns:// probe has a query, not {}://",
                    url.scheme()
                ));
            }
            (_, None) => None,
        };
        let mut headers = Vec::with_capacity(self.headers.len());
        for (name, value) in &self.headers {
            let name = HeaderName::try_from(name.as_str())
                .map_err(|_| format!("headers: {name:?} is not a valid header name"))?;
            let value = HeaderValue::try_from(value.as_str())
                .map_err(|_| format!("headers.{name}: not a valid header value"))?;
            headers.push((name, value));
        }
        let timeout = Duration::from_millis(self.timeout_ms);
        if timeout.is_zero() || timeout > MAX_TIMEOUT {
            return Err(format!(
                "timeout_ms {} is not from 1 to {}",
                self.timeout_ms,
                MAX_TIMEOUT.as_millis()
            ));
        }
        let body_limit = usize::try_from(self.body_limit)
            .ok()
            .filter(|limit| (1..=MAX_BODY_BYTES).contains(limit))
            .ok_or_else(|| {
                format!(
                    "body_limit {} is not from 1 to {MAX_BODY_BYTES}",
                    self.body_limit
                )
            })?;
        Ok(ProbeSpec {
            url,
            dns,
            method: match self.method {
                WireMethod::Get => ProbeMethod::Get,
                WireMethod::Head => ProbeMethod::Head,
            },
            headers,
            timeout,
            follow_redirects: self.follow_redirects,
            body_limit,
            keep_body: self.keep_body,
        })
    }
}

/// `query` checked: a name and a record type a `dns://` target may ask for.
fn wire_query(query: &WireDnsQuery) -> Result<DnsQuery, String> {
    if !DNS_TYPES.contains(&query.record_type.as_str()) {
        return Err(format!(
            "dns.type {:?} is not one of {}",
            query.record_type,
            DNS_TYPES.join(", ")
        ));
    }
    if query.name.trim().is_empty() {
        return Err("dns.name is empty; expected a domain name".to_owned());
    }
    Ok(DnsQuery {
        name: query.name.clone(),
        record_type: query.record_type.clone(),
    })
}

impl ProbeObservation {
    /// `observation` as an agent at `location` answers it.
    #[must_use]
    pub fn new(location: &str, observation: Observation) -> Self {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Self {
            version: PROTOCOL_VERSION,
            location: location.to_owned(),
            started_at_ms: millis(observation.at),
            status_code: observation.status_code,
            response_time_ms: ms(observation.response_time),
            duration_ms: ms(observation.duration),
            body: (!observation.body.is_empty()).then_some(Base64(observation.body)),
            certificate_expiry: observation.certificate_expiry.map(|at| millis(at) / 1000),
            certificate_subject: observation.certificate_subject,
            error: observation.error,
            connected: observation.connected,
            dns_rcode: observation.dns_rcode,
        }
    }

    /// What was observed, for the decider to judge.
    #[must_use]
    pub fn observation(self) -> Observation {
        Observation {
            at: from_millis(self.started_at_ms),
            status_code: self.status_code,
            response_time: Duration::from_millis(self.response_time_ms),
            duration: Duration::from_millis(self.duration_ms),
            body: self.body.map(|b| b.0).unwrap_or_default(),
            certificate_expiry: self
                .certificate_expiry
                .map(|s| from_millis(s.saturating_mul(1000))),
            certificate_subject: self.certificate_subject,
            error: self.error,
            connected: self.connected,
            dns_rcode: self.dns_rcode,
        }
    }
}

/// The decider's client for its agents.
#[derive(Clone)]
pub struct Agents {
    /// Plain HTTP or HTTPS to the agents (Fly's private network is plain HTTP over WireGuard);
    /// no redirects, so the token is never sent anywhere but to an agent's own URL.
    client: Client,
    /// `[monitor] public_url`, named in the agents' `User-Agent`.
    public_url: Option<String>,
}

impl Agents {
    /// A client for the agents, sharing `client`'s TLS and connection pool.
    #[must_use]
    pub fn new(client: Client, public_url: Option<String>) -> Self {
        Self { client, public_url }
    }

    /// Asks the agent at `location` to run `spec`; waits at most the spec's timeout plus
    /// [`ANSWER_MARGIN`].
    ///
    /// # Errors
    /// Why the agent cast no vote, in one line: no answer in time, refused, another protocol
    /// version, an answer that does not parse. None of these says anything about the target.
    pub async fn probe(
        &self,
        location: &Location,
        spec: &ProbeSpec,
    ) -> Result<Observation, String> {
        let started = Instant::now();
        let body = ProbeRequest::new(spec, self.public_url.as_deref())
            .to_json()
            .map(|json| json.to_string())
            .unwrap_or_default();
        let url = location
            .url
            .join(PROBE_PATH)
            .map_err(|err| err.to_string())?;
        let exchange = async {
            let response = self
                .client
                .post(url)
                .bearer_auth(&location.token)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await
                .map_err(|err| super::probe::describe(&err.without_url()))?;
            let status = response.status();
            let bytes = response
                .bytes()
                .await
                .map_err(|err| super::probe::describe(&err.without_url()))?;
            Ok::<_, String>((status, bytes))
        };
        let wait = spec.timeout + ANSWER_MARGIN;
        let (status, bytes) = tokio::time::timeout(wait, exchange).await.map_err(|_| {
            format!(
                "no answer within {}",
                humantime::format_duration(Duration::from_millis(
                    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
                ))
            )
        })??;
        let json: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
        if !status.is_success() {
            let message = json
                .as_ref()
                .and_then(|j| j.get("message"))
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            return Err(format!("agent answered {}: {message}", status.as_u16())
                .trim_end_matches([':', ' '])
                .to_owned());
        }
        let observation = ProbeObservation::parse_from_json(json)
            .map_err(|err| format!("agent's answer does not parse: {}", err.into_message()))?;
        if observation.version != PROTOCOL_VERSION {
            return Err(format!(
                "agent speaks protocol version {}, this monitor {PROTOCOL_VERSION}; deploy the same \
                 release to the monitor and its agents",
                observation.version
            ));
        }
        Ok(observation.observation())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ProbeSpec {
        ProbeSpec {
            url: Url::parse("https://a.example/health?x=1").unwrap(),
            dns: None,
            method: ProbeMethod::Head,
            headers: vec![(
                HeaderName::from_static("authorization"),
                HeaderValue::from_static("Bearer t"),
            )],
            timeout: Duration::from_millis(1500),
            follow_redirects: true,
            body_limit: MAX_BODY_BYTES,
            keep_body: true,
        }
    }

    #[test]
    fn a_request_carries_the_whole_spec_and_the_version() {
        let request = ProbeRequest::new(&spec(), Some("https://status.example/"));
        assert_eq!(request.version, PROTOCOL_VERSION);
        let json = request.to_json().unwrap();
        assert_eq!(json["method"], "HEAD");
        assert_eq!(json["timeout_ms"], 1500);
        assert_eq!(json["headers"]["authorization"], "Bearer t");
        let back = ProbeRequest::parse_from_json(Some(json)).unwrap();
        assert_eq!(back.spec().unwrap(), spec());
    }

    #[test]
    fn a_request_with_a_bad_field_names_it() {
        let mut request = ProbeRequest::new(&spec(), None);
        request.url = "ftp://x".to_owned();
        assert_eq!(
            request.spec().unwrap_err(),
            "url \"ftp://x\" is not an http://, https://, tcp://, tls:// or dns:// URL with a host"
        );
        let mut request = ProbeRequest::new(&spec(), None);
        request.timeout_ms = 0;
        assert_eq!(
            request.spec().unwrap_err(),
            "timeout_ms 0 is not from 1 to 300000"
        );
        let mut request = ProbeRequest::new(&spec(), None);
        request.body_limit = 2 * MAX_BODY_BYTES as u64;
        assert!(
            request
                .spec()
                .unwrap_err()
                .starts_with("body_limit 2097152 ")
        );
    }

    #[test]
    fn an_observation_survives_the_wire() {
        let observation = Observation {
            at: from_millis(1_800_000_000_123),
            status_code: Some(503),
            response_time: Duration::from_millis(42),
            duration: Duration::from_millis(45),
            body: b"{\"status\":\"DOWN\"}\xff".to_vec(),
            certificate_expiry: Some(from_millis(1_900_000_000_000)),
            certificate_subject: Some("CN=localhost".to_owned()),
            error: None,
            connected: None,
            dns_rcode: None,
        };
        let json = ProbeObservation::new("ams", observation.clone())
            .to_json()
            .unwrap();
        assert_eq!(json["location"], "ams");
        let back = ProbeObservation::parse_from_json(Some(json)).unwrap();
        assert_eq!(
            back.observation(),
            observation,
            "bytes that are not UTF-8 too"
        );
    }

    /// A tcp, tls or dns spec: no headers, 2 s, no body kept.
    fn reach_spec(url: &str, dns: Option<DnsQuery>) -> ProbeSpec {
        ProbeSpec {
            url: Url::parse(url).unwrap(),
            dns,
            method: ProbeMethod::Get,
            headers: Vec::new(),
            timeout: Duration::from_millis(2000),
            follow_redirects: false,
            body_limit: MAX_BODY_BYTES,
            keep_body: false,
        }
    }

    #[test]
    fn tcp_tls_and_dns_requests_survive_the_wire_exactly() {
        let query = DnsQuery {
            name: "example.org".to_owned(),
            record_type: "MX".to_owned(),
        };
        for (spec, dns) in [
            (
                reach_spec("tcp://db.example:5432", None),
                serde_json::Value::Null,
            ),
            (
                reach_spec("tls://a.example:443", None),
                serde_json::Value::Null,
            ),
            (
                reach_spec("dns://127.0.0.1:5353", Some(query)),
                serde_json::json!({ "name": "example.org", "type": "MX" }),
            ),
        ] {
            let json = ProbeRequest::new(&spec, None).to_json().unwrap();
            assert_eq!(
                json,
                serde_json::json!({
                    "version": 2,
                    "url": spec.url.as_str(),
                    "dns": dns,
                    "method": "GET",
                    "headers": {},
                    "timeout_ms": 2000,
                    "follow_redirects": false,
                    "body_limit": MAX_BODY_BYTES,
                    "keep_body": false,
                    "public_url": null,
                })
            );
            let back = ProbeRequest::parse_from_json(Some(json)).unwrap();
            assert_eq!(back.spec().unwrap(), spec);
        }
    }

    #[test]
    fn a_malformed_tcp_tls_or_dns_request_names_what_is_wrong() {
        let refused = |spec: ProbeSpec, edit: fn(&mut ProbeRequest)| {
            let mut request = ProbeRequest::new(&spec, None);
            edit(&mut request);
            request.spec().unwrap_err()
        };
        let query = || DnsQuery {
            name: "example.org".to_owned(),
            record_type: "A".to_owned(),
        };
        assert_eq!(
            refused(reach_spec("tcp://db.example:5432", None), |r| r.url =
                "tcp://db.example".to_owned()),
            "url \"tcp://db.example\" has no port; a tcp:// probe needs host:port"
        );
        assert_eq!(
            refused(reach_spec("dns://127.0.0.1", Some(query())), |r| r.dns =
                None),
            "dns: missing; a dns:// probe needs { name, type }"
        );
        assert_eq!(
            refused(reach_spec("dns://127.0.0.1", Some(query())), |r| {
                r.dns.as_mut().unwrap().record_type = "TXT".to_owned();
            }),
            "dns.type \"TXT\" is not one of A, AAAA, CNAME, MX, NS, PTR, SRV"
        );
        assert_eq!(
            refused(reach_spec("dns://127.0.0.1", Some(query())), |r| {
                r.dns.as_mut().unwrap().name = " ".to_owned();
            }),
            "dns.name is empty; expected a domain name"
        );
        assert_eq!(
            refused(reach_spec("tcp://db.example:5432", None), |r| {
                r.dns = Some(WireDnsQuery {
                    name: "example.org".to_owned(),
                    record_type: "A".to_owned(),
                });
            }),
            "dns: only a dns:// probe has a query, not tcp://"
        );
    }

    #[test]
    fn tcp_tls_and_dns_observations_survive_the_wire_exactly() {
        let base = Observation {
            at: from_millis(1_800_000_000_123),
            status_code: None,
            response_time: Duration::from_millis(3),
            duration: Duration::from_millis(4),
            body: Vec::new(),
            certificate_expiry: None,
            certificate_subject: None,
            error: None,
            connected: Some(true),
            dns_rcode: None,
        };
        let refused = Observation {
            connected: Some(false),
            error: Some("connection refused".to_owned()),
            ..base.clone()
        };
        let tls = Observation {
            certificate_expiry: Some(from_millis(1_900_000_000_000)),
            certificate_subject: Some("CN=localhost".to_owned()),
            ..base.clone()
        };
        let dns = Observation {
            body: b"192.0.2.1".to_vec(),
            dns_rcode: Some("NOERROR".to_owned()),
            ..base.clone()
        };
        let expected = |fields: serde_json::Value| {
            let mut json = serde_json::json!({
                "version": 2,
                "location": "ams",
                "started_at_ms": 1_800_000_000_123_u64,
                "status_code": null,
                "response_time_ms": 3,
                "duration_ms": 4,
                "body": null,
                "certificate_expiry": null,
                "certificate_subject": null,
                "error": null,
                "connected": true,
                "dns_rcode": null,
            });
            for (key, value) in fields.as_object().unwrap() {
                json[key] = value.clone();
            }
            json
        };
        for (observation, json) in [
            (base.clone(), expected(serde_json::json!({}))),
            (
                refused,
                expected(serde_json::json!({
                    "connected": false,
                    "error": "connection refused",
                })),
            ),
            (
                tls,
                expected(serde_json::json!({
                    "certificate_expiry": 1_900_000_000_u64,
                    "certificate_subject": "CN=localhost",
                })),
            ),
            (
                dns,
                expected(serde_json::json!({
                    "body": "MTkyLjAuMi4x",
                    "dns_rcode": "NOERROR",
                })),
            ),
        ] {
            let wire = ProbeObservation::new("ams", observation.clone())
                .to_json()
                .unwrap();
            assert_eq!(wire, json);
            let back = ProbeObservation::parse_from_json(Some(wire)).unwrap();
            assert_eq!(back.observation(), observation);
        }
    }

    #[test]
    fn an_agent_reads_a_request_with_a_few_kilobytes_of_headers() {
        // A bearer token of 2 KB (JWTs often are) and a few more headers: well within what an
        // agent reads, 64 KiB, so it never refuses a target's request as too large.
        let mut spec = spec();
        spec.headers = vec![
            (
                HeaderName::from_static("authorization"),
                HeaderValue::from_str(&format!("Bearer {}", "t".repeat(2048))).unwrap(),
            ),
            (
                HeaderName::from_static("x-request-source"),
                HeaderValue::from_static("health-service"),
            ),
        ];
        let request = ProbeRequest::new(&spec, Some("https://status.example/"));
        let bytes = request.to_json().unwrap().to_string().len();
        assert!((2048..4096).contains(&bytes), "{bytes}");
        assert!(bytes < MAX_REQUEST_BYTES);
    }

    #[test]
    fn a_timeout_of_up_to_five_minutes_is_accepted() {
        let mut request = ProbeRequest::new(&spec(), None);
        request.timeout_ms = 300_000;
        assert_eq!(request.spec().unwrap().timeout, MAX_TIMEOUT);
        request.timeout_ms = 300_001;
        assert_eq!(
            request.spec().unwrap_err(),
            "timeout_ms 300001 is not from 1 to 300000"
        );
    }

    /// An agent on loopback that answers one probe request with `status` and `body`.
    async fn agent_once(status: &'static str, body: String) -> Location {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buffer = [0; 4096];
            // The head, then as much body as it announces.
            let length = loop {
                let read = socket.read(&mut buffer).await.unwrap();
                assert!(read > 0, "the request ended early");
                request.extend_from_slice(&buffer[..read]);
                let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length: usize = text
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length: "))
                        .map_or(0, |n| n.trim().parse().unwrap());
                    break end + 4 + length;
                }
            };
            while request.len() < length {
                let read = socket.read(&mut buffer).await.unwrap();
                assert!(read > 0, "the body ended early");
                request.extend_from_slice(&buffer[..read]);
            }
            let head = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            socket.write_all(head.as_bytes()).await.unwrap();
            socket.write_all(body.as_bytes()).await.unwrap();
        });
        Location {
            name: "ams".to_owned(),
            url,
            token: "0123456789abcdef0123456789abcdef".to_owned(),
        }
    }

    #[tokio::test]
    async fn an_agents_answer_is_its_observation_and_a_refusal_is_its_message() {
        let agents = Agents::new(
            super::super::probe::Prober::new(Vec::new())
                .unwrap()
                .alert_client(),
            None,
        );
        let observation = Observation {
            at: from_millis(1_800_000_000_123),
            status_code: Some(200),
            response_time: Duration::from_millis(42),
            duration: Duration::from_millis(45),
            body: Vec::new(),
            certificate_expiry: None,
            certificate_subject: None,
            error: None,
            connected: None,
            dns_rcode: None,
        };
        let answer = ProbeObservation::new("ams", observation.clone())
            .to_json()
            .unwrap()
            .to_string();
        // A timeout at the margin: the wait is the timeout plus the margin, never less.
        let mut spec = spec();
        spec.timeout = ANSWER_MARGIN;
        let location = agent_once("200 OK", answer).await;
        assert_eq!(agents.probe(&location, &spec).await, Ok(observation));

        let refusal = serde_json::json!({ "message": "wrong token" }).to_string();
        let location = agent_once("401 Unauthorized", refusal).await;
        assert_eq!(
            agents.probe(&location, &spec).await,
            Err("agent answered 401: wrong token".to_owned())
        );
    }
}
