//! `kind = "email"` through the real binary, against a local SMTP server (written here) that
//! requires what real ones do: TLS before AUTH (STARTTLS, or implicit TLS), the right login by
//! AUTH PLAIN or LOGIN, MAIL FROM and RCPT TO before DATA. Its certificate is trusted only
//! through `SSL_CERT_FILE`.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::{Behaviour, TargetServer, eventually, localhost_certificate, target, tls_acceptor};
use crate::helpers::spawn_binary_with;

const USERNAME: &str = "status@example.org";
/// Distinct, so the logs can be searched for it.
const PASSWORD: &str = "sMtPpAsSwOrD-app-password";

/// How the server wants TLS.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Port 587's way: plain text until STARTTLS; offers AUTH PLAIN and LOGIN once encrypted.
    Starttls,
    /// Port 465's way: TLS from the first byte; offers AUTH LOGIN only.
    Implicit,
}

/// One message's DATA, as the server got it.
#[derive(Debug, Clone)]
struct Attempt {
    /// The connection's commands up to DATA, with AUTH payloads shown as `<credentials>`.
    commands: Vec<String>,
    /// The envelope.
    mail_from: String,
    rcpt_to: Vec<String>,
    /// The message, dot-unstuffed, lines joined with CRLF.
    data: String,
    /// What DATA was answered.
    answer: u16,
}

#[derive(Default)]
struct Received {
    attempts: Vec<Attempt>,
    /// Codes for the next DATA answers, then 250.
    script: VecDeque<u16>,
}

/// A local SMTP server that takes mail for anyone from [`USERNAME`] logged in with
/// [`PASSWORD`].
struct SmtpServer {
    port: u16,
    received: Arc<Mutex<Received>>,
}

impl SmtpServer {
    /// Listens on 127.0.0.1; the first DATA answers are `script`'s codes, then 250.
    async fn start(mode: Mode, script: &[u16]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Received {
            script: script.iter().copied().collect(),
            ..Received::default()
        }));
        let (chain, key) = localhost_certificate();
        let acceptor = tls_acceptor(chain, key);
        let shared = received.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, mode, acceptor.clone(), shared.clone()));
            }
        });
        Self { port, received }
    }

    fn attempts(&self) -> Vec<Attempt> {
        self.received.lock().unwrap().attempts.clone()
    }

    /// Waits until `count` messages were taken (answered 250); returns every attempt.
    async fn wait_for_delivered(&self, count: usize) -> Vec<Attempt> {
        eventually(&format!("{count} e-mail delivered"), || async {
            self.attempts().iter().filter(|a| a.answer == 250).count() >= count
        })
        .await;
        self.attempts()
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls")
}

/// What one connection has said so far.
#[derive(Default)]
struct Conversation {
    commands: Vec<String>,
    authenticated: bool,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
}

/// How a stretch of conversation ended.
enum Ended {
    /// The client asked for STARTTLS and was told to go ahead.
    StartTls,
    /// QUIT, or the connection closed.
    Closed,
}

async fn session(
    stream: TcpStream,
    mode: Mode,
    acceptor: tokio_rustls::TlsAcceptor,
    received: Arc<Mutex<Received>>,
) {
    let mut conversation = Conversation::default();
    if mode == Mode::Implicit {
        let Ok(tls) = acceptor.accept(stream).await else {
            return;
        };
        let mut tls = BufReader::new(tls);
        if reply(&mut tls, "220 localhost ESMTP test").await {
            converse(&mut tls, mode, true, &mut conversation, &received).await;
        }
        return;
    }
    let mut plain = BufReader::new(stream);
    if !reply(&mut plain, "220 localhost ESMTP test").await {
        return;
    }
    if let Ended::StartTls = converse(&mut plain, mode, false, &mut conversation, &received).await {
        // The client waits for our 220 before its handshake, so nothing is buffered.
        let Ok(tls) = acceptor.accept(plain.into_inner()).await else {
            return;
        };
        // RFC 3207: everything said before TLS is forgotten, the login first of all.
        conversation.authenticated = false;
        conversation.mail_from = None;
        conversation.rcpt_to.clear();
        converse(
            &mut BufReader::new(tls),
            mode,
            true,
            &mut conversation,
            &received,
        )
        .await;
    }
}

/// Writes one reply line; false once the connection is gone.
async fn reply<S: AsyncRead + AsyncWrite + Unpin>(io: &mut BufReader<S>, line: &str) -> bool {
    io.get_mut()
        .write_all(format!("{line}\r\n").as_bytes())
        .await
        .is_ok()
        && io.get_mut().flush().await.is_ok()
}

/// Reads one line without its CRLF; `None` once the connection is gone.
async fn read_line<S: AsyncRead + Unpin>(io: &mut BufReader<S>) -> Option<String> {
    let mut line = String::new();
    match io.read_line(&mut line).await {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_owned()),
    }
}

/// Whether `encoded` is base64 for `expected`.
fn decodes_to(encoded: &str, expected: &[u8]) -> bool {
    STANDARD.decode(encoded.trim()).is_ok_and(|d| d == expected)
}

/// `encoded`'s base64 as text (lossy), or empty when it is not base64.
fn decoded(encoded: &str) -> String {
    String::from_utf8_lossy(&STANDARD.decode(encoded.trim()).unwrap_or_default()).into_owned()
}

async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
    mode: Mode,
    tls: bool,
    conversation: &mut Conversation,
    received: &Mutex<Received>,
) -> Ended {
    while let Some(line) = read_line(io).await {
        let upper = line.to_ascii_uppercase();
        let shown = if upper.starts_with("AUTH PLAIN ") {
            "AUTH PLAIN <credentials>".to_owned()
        } else {
            line.clone()
        };
        conversation.commands.push(shown);
        let answer = if upper.starts_with("EHLO ") {
            let mut lines = vec!["250-localhost".to_owned()];
            if mode == Mode::Starttls && !tls {
                lines.push("250-STARTTLS".to_owned());
            }
            if tls {
                let mechanisms = match mode {
                    Mode::Starttls => "PLAIN LOGIN",
                    Mode::Implicit => "LOGIN",
                };
                lines.push(format!("250-AUTH {mechanisms}"));
            }
            lines.push("250 HELP".to_owned());
            lines.join("\r\n")
        } else if upper == "STARTTLS" {
            if tls || mode != Mode::Starttls {
                "503 5.5.1 TLS already active".to_owned()
            } else {
                reply(io, "220 2.0.0 Ready to start TLS").await;
                return Ended::StartTls;
            }
        } else if upper.starts_with("AUTH ") && !tls {
            "538 5.7.11 Encryption required for requested authentication mechanism".to_owned()
        } else if upper.starts_with("AUTH PLAIN") {
            let payload = match line.split_whitespace().nth(2) {
                Some(payload) => payload.to_owned(),
                None => {
                    reply(io, "334 ").await;
                    let Some(payload) = read_line(io).await else {
                        break;
                    };
                    conversation.commands.push("<credentials>".to_owned());
                    payload
                }
            };
            login(
                conversation,
                decodes_to(&payload, format!("\0{USERNAME}\0{PASSWORD}").as_bytes()),
                decoded(&payload).rsplit('\0').next().unwrap_or_default(),
            )
        } else if upper == "AUTH LOGIN" {
            reply(io, "334 VXNlcm5hbWU6").await;
            let Some(user) = read_line(io).await else {
                break;
            };
            conversation.commands.push("<credentials>".to_owned());
            reply(io, "334 UGFzc3dvcmQ6").await;
            let Some(password) = read_line(io).await else {
                break;
            };
            conversation.commands.push("<credentials>".to_owned());
            login(
                conversation,
                decodes_to(&user, USERNAME.as_bytes())
                    && decodes_to(&password, PASSWORD.as_bytes()),
                &decoded(&password),
            )
        } else if upper.starts_with("MAIL FROM:") {
            if conversation.authenticated {
                conversation.mail_from = Some(line[10..].to_owned());
                "250 2.1.0 OK".to_owned()
            } else {
                "530 5.7.0 Authentication required".to_owned()
            }
        } else if upper.starts_with("RCPT TO:") {
            if conversation.mail_from.is_some() {
                conversation.rcpt_to.push(line[8..].to_owned());
                "250 2.1.5 OK".to_owned()
            } else {
                "503 5.5.1 MAIL first".to_owned()
            }
        } else if upper == "DATA" {
            if conversation.rcpt_to.is_empty() {
                "503 5.5.1 RCPT first".to_owned()
            } else {
                reply(io, "354 Go ahead").await;
                let mut lines = Vec::new();
                loop {
                    let Some(line) = read_line(io).await else {
                        return Ended::Closed;
                    };
                    if line == "." {
                        break;
                    }
                    lines.push(line.strip_prefix('.').map_or(line.clone(), str::to_owned));
                }
                let answer = {
                    let mut received = received.lock().unwrap();
                    let answer = received.script.pop_front().unwrap_or(250);
                    received.attempts.push(Attempt {
                        commands: conversation.commands.clone(),
                        mail_from: conversation.mail_from.take().unwrap_or_default(),
                        rcpt_to: std::mem::take(&mut conversation.rcpt_to),
                        data: lines.join("\r\n"),
                        answer,
                    });
                    answer
                };
                match answer {
                    250 => "250 2.0.0 OK queued".to_owned(),
                    code => format!("{code} 4.3.0 Try again later"),
                }
            }
        } else if upper == "RSET" {
            conversation.mail_from = None;
            conversation.rcpt_to.clear();
            "250 2.0.0 OK".to_owned()
        } else if upper == "NOOP" {
            "250 2.0.0 OK".to_owned()
        } else if upper == "QUIT" {
            reply(io, "221 2.0.0 Bye").await;
            return Ended::Closed;
        } else {
            "502 5.5.2 Command not recognised".to_owned()
        };
        if !reply(io, &answer).await {
            break;
        }
    }
    Ended::Closed
}

/// Answers a login; a refusal echoes the password it was given, as a careless server might,
/// so the tests see that the monitor's error and log never carry it.
fn login(conversation: &mut Conversation, right: bool, password: &str) -> String {
    conversation.authenticated = right;
    if right {
        "235 2.7.0 Authentication successful".to_owned()
    } else {
        format!("535 5.7.8 Authentication credentials invalid (password {password})")
    }
}

/// The header `name`'s value in `data`, unfolded.
fn header(data: &str, name: &str) -> Option<String> {
    let (headers, _) = data.split_once("\r\n\r\n")?;
    let unfolded = headers.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.split("\r\n").find_map(|line| {
        let (key, value) = line.split_once(": ")?;
        key.eq_ignore_ascii_case(name).then(|| value.to_owned())
    })
}

/// The real binary, alerting by e-mail, and its log lines so far.
struct Running {
    _child: tokio::process::Child,
    lines: Arc<Mutex<Vec<String>>>,
    /// The failing target, and the config and store: kept while the binary runs.
    _down: TargetServer,
    _dir: tempfile::TempDir,
}

impl Running {
    fn log(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Waits until `count` log lines contain `what`.
    async fn wait_for_log(&self, what: &str, count: usize) {
        eventually(&format!("{count} log lines with {what}"), || async {
            let logged = self.lines.lock().unwrap();
            logged.iter().filter(|line| line.contains(what)).count() >= count
        })
        .await;
    }
}

/// Runs the real binary with an e-mail alert to `smtp` for a target that is down, its CA
/// trusted through `SSL_CERT_FILE` and `password` from `${SMTP_PASSWORD}`.
async fn start_alerting(smtp: &SmtpServer, tls: &str, password: &str) -> Running {
    let down = TargetServer::start(Behaviour::failing()).await;
    let toml = format!(
        "{}[[alert]]\nkind = \"email\"\nhost = \"localhost\"\nport = {}\ntls = \"{tls}\"\n\
         username = \"{USERNAME}\"\npassword = \"${{SMTP_PASSWORD}}\"\n\
         from = \"Status <status@example.org>\"\nto = [\"ops@example.org\", \"On call <oncall@example.org>\"]\n",
        target("api", &down.url("/health"), "failure_threshold = 1"),
        smtp.port,
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("monitor.toml");
    std::fs::write(&config, toml).unwrap();
    let data = dir.path().join("data");
    let ca = fixtures().join("ca.pem");
    let binary = spawn_binary_with(
        &[
            ("MONITOR_DATA_DIR", data.to_str().unwrap()),
            ("SSL_CERT_FILE", ca.to_str().unwrap()),
            ("SMTP_PASSWORD", password),
        ],
        &["monitor", "--config", config.to_str().unwrap()],
    )
    .await;
    // Read the log as it comes: a full pipe would stop the binary.
    let lines = Arc::new(Mutex::new(binary.started.clone()));
    let collected = lines.clone();
    let mut logs = binary.logs;
    tokio::spawn(async move {
        while let Ok(Some(line)) = logs.next_line().await {
            collected.lock().unwrap().push(line);
        }
    });
    Running {
        _child: binary.child,
        lines,
        _down: down,
        _dir: dir,
    }
}

/// [`start_alerting`] with the right password, until `delivered` messages were delivered and
/// logged so; returns every attempt and the log.
async fn alert_by_email(smtp: &SmtpServer, tls: &str, delivered: usize) -> (Vec<Attempt>, String) {
    let running = start_alerting(smtp, tls, PASSWORD).await;
    let attempts = smtp.wait_for_delivered(delivered).await;
    // The server has the message before the binary has its 250 and logs it.
    running
        .wait_for_log("\"notification delivered\"", delivered)
        .await;
    (attempts, running.log())
}

/// The commands of `attempt`'s connection, EHLO's argument (the client's name) left out.
fn commands(attempt: &Attempt) -> Vec<&str> {
    attempt
        .commands
        .iter()
        .map(|c| if c.starts_with("EHLO ") { "EHLO" } else { c })
        .collect()
}

/// What every delivered message holds, whatever the TLS.
fn assert_is_the_down_message(attempt: &Attempt) {
    assert_eq!(attempt.mail_from, "<status@example.org>");
    assert_eq!(
        attempt.rcpt_to,
        ["<ops@example.org>", "<oncall@example.org>"],
        "one message, every recipient in its envelope"
    );
    let data = &attempt.data;
    assert_eq!(
        header(data, "From").as_deref(),
        Some("Status <status@example.org>")
    );
    assert_eq!(
        header(data, "To").as_deref(),
        Some("ops@example.org, \"On call\" <oncall@example.org>")
    );
    let subject = header(data, "Subject").unwrap();
    assert!(subject.starts_with("[DOWN] api: "), "{subject}");
    assert_eq!(
        header(data, "Message-ID").as_deref(),
        Some("<health-service-1@example.org>"),
        "made from the first notification's id"
    );
    assert!(header(data, "Date").is_some(), "{data}");
    let content_type = header(data, "Content-Type").unwrap();
    assert!(
        content_type.starts_with("multipart/alternative;"),
        "{content_type}"
    );
    let plain = data
        .find("Content-Type: text/plain; charset=utf-8")
        .unwrap();
    let html = data.find("Content-Type: text/html; charset=utf-8").unwrap();
    assert!(plain < html, "{data}");
    let decoded = quoted_printable(data);
    assert!(decoded.contains("\r\n\r\napi is DOWN: "), "{decoded}");
    assert!(decoded.contains("<strong>api is DOWN: "), "{decoded}");
}

/// `text` with quoted-printable's soft line breaks and `=XX` escapes undone (the HTML part's
/// lines are longer than SMTP's, so it travels quoted-printable).
fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "");
    let mut bytes = Vec::new();
    let mut rest = joined.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        let escaped = (first == b'=')
            .then(|| tail.get(..2))
            .flatten()
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match escaped {
            Some(byte) => {
                bytes.push(byte);
                rest = &tail[2..];
            }
            None => {
                bytes.push(first);
                rest = tail;
            }
        }
    }
    String::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn email_goes_through_starttls_and_auth_to_every_recipient_and_a_4xx_is_retried() {
    // The first DATA is answered 451: the same message is sent again, after the backoff.
    let smtp = SmtpServer::start(Mode::Starttls, &[451]).await;
    let (attempts, log) = alert_by_email(&smtp, "starttls", 1).await;
    assert_eq!(
        attempts.iter().map(|a| a.answer).collect::<Vec<_>>(),
        [451, 250]
    );
    for attempt in &attempts {
        assert_eq!(
            commands(attempt),
            [
                "EHLO",
                "STARTTLS",
                "EHLO",
                "AUTH PLAIN <credentials>",
                "MAIL FROM:<status@example.org>",
                "RCPT TO:<ops@example.org>",
                "RCPT TO:<oncall@example.org>",
                "DATA",
            ]
        );
        assert_is_the_down_message(attempt);
    }
    assert!(
        log.contains("notification not delivered") && log.contains("451"),
        "{log}"
    );
    assert!(log.contains("notification delivered"), "{log}");
    assert!(!log.contains(PASSWORD), "the password is never logged");
}

#[tokio::test]
async fn email_goes_through_implicit_tls_with_auth_login() {
    let smtp = SmtpServer::start(Mode::Implicit, &[]).await;
    let (attempts, log) = alert_by_email(&smtp, "implicit", 1).await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(
        commands(&attempts[0]),
        [
            "EHLO",
            "AUTH LOGIN",
            "<credentials>",
            "<credentials>",
            "MAIL FROM:<status@example.org>",
            "RCPT TO:<ops@example.org>",
            "RCPT TO:<oncall@example.org>",
            "DATA",
        ]
    );
    assert_is_the_down_message(&attempts[0]);
    assert!(!log.contains(PASSWORD), "the password is never logged");
}

#[tokio::test]
async fn a_refused_login_is_retried_and_its_error_names_the_server_but_not_the_password() {
    const WRONG: &str = "wRoNgPaSsWoRd-not-this-one";
    let smtp = SmtpServer::start(Mode::Starttls, &[]).await;
    let running = start_alerting(&smtp, "starttls", WRONG).await;
    running
        .wait_for_log("\"notification not delivered\"", 1)
        .await;
    let log = running.log();
    assert!(
        log.contains(&format!(
            "\"error\":\"localhost:{}: permanent error (535): 5.7.8 Authentication credentials invalid (password redacted)\"",
            smtp.port
        )),
        "{log}"
    );
    assert!(!log.contains(WRONG), "the password is never logged");
    assert!(smtp.attempts().is_empty(), "no DATA without a login");
}
