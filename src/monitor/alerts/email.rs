//! `kind = "email"`: one message to all of an alert's recipients, through an SMTP server with
//! STARTTLS or implicit TLS (lettre, on rustls with graviola and the roots HTTPS trusts).
//!
//! The message is multipart/alternative, plain text and HTML; its `Message-ID` is made from the
//! delivery key, so a retry of a message a server already took is recognisably the same one.
//! A 250 after DATA is success; any other reply, or none, is a failure the outbox retries.

use std::time::SystemTime;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use maud::{DOCTYPE, Markup, html};
use rustls::pki_types::CertificateDer;

use super::{
    Facts, MonitorEvent, MonitorFacts, SEND_TIMEOUT, Tone, days_left, monitor_text, rfc3339, text,
    truncate,
};
use crate::monitor::config::{SmtpServer, SmtpTls};
use crate::monitor::redact::REDACTED;
use crate::monitor::store::{Event, from_millis};

/// Subjects are cut to this many characters: a probe's error can be long, and the subject is
/// what a mail client's list shows.
const MAX_SUBJECT: usize = 200;

/// One e-mail, ready to send but for its `Message-ID` (made from the delivery key).
#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    /// Where it is sent from.
    pub server: SmtpServer,
    /// `From:` and the envelope's sender.
    pub from: Mailbox,
    /// `To:` and the envelope's recipients.
    pub to: Vec<Mailbox>,
    /// `[DOWN] api: ...`: the event and the target first, for a mail client's list.
    pub subject: String,
    /// The text/plain part: the same text as the chat messages.
    pub text: String,
    /// The text/html part: the summary and the facts as a table, every value escaped.
    pub html: String,
    /// `Date:`: when the event was recorded, so every attempt sends the same message.
    pub date: SystemTime,
}

/// The target's message.
pub(super) fn message(
    server: &SmtpServer,
    from: &Mailbox,
    to: &[Mailbox],
    facts: &Facts<'_>,
) -> Email {
    let incident = &facts.notification.incident;
    let subject = subject(facts);
    let mut rows = vec![
        ("Target", facts.target().to_owned()),
        ("Event", facts.event.name().to_owned()),
    ];
    match facts.event {
        Event::Certificate {
            expires_ms,
            subject,
        } => {
            rows.push(("Certificate", subject.clone()));
            rows.push(("Expires", rfc3339(*expires_ms)));
        }
        _ => {
            if incident.id != 0 {
                rows.push(("Incident", format!("#{}", incident.id)));
            }
            rows.push(("Cause", incident.cause.clone()));
            rows.push(("Since", rfc3339(incident.started_ms)));
            if let Some(resolved) = incident.resolved_ms {
                rows.push(("Resolved", rfc3339(resolved)));
            }
        }
    }
    rows.push(("URL", facts.url.clone()));
    let html = page(
        &subject,
        Tone::of(facts.event),
        &facts.summary(),
        &rows,
        facts.status_page_url.as_deref(),
    );
    Email {
        server: server.clone(),
        from: from.clone(),
        to: to.to_vec(),
        subject,
        text: text(facts),
        html: html.into_string(),
        date: from_millis(facts.notification.created_ms),
    }
}

/// The same about the monitor itself.
pub(super) fn monitor_message(
    server: &SmtpServer,
    from: &Mailbox,
    to: &[Mailbox],
    facts: &MonitorFacts,
) -> Email {
    let subject = match facts.event {
        MonitorEvent::Degraded => "[DEGRADED] health-service monitor: cannot write its store",
        MonitorEvent::Recovered => "[RECOVERED] health-service monitor: writes its store again",
    };
    let mut rows = vec![
        ("Event", facts.event.name().to_owned()),
        ("Stale since", rfc3339(facts.since_ms)),
    ];
    if let Some(at) = facts.recovered_ms {
        rows.push(("Recovered", rfc3339(at)));
    }
    rows.push(("Error", facts.cause.clone()));
    let html = page(
        subject,
        Tone::of_monitor(facts.event),
        &facts.summary(),
        &rows,
        facts.status_page_url.as_deref(),
    );
    Email {
        server: server.clone(),
        from: from.clone(),
        to: to.to_vec(),
        subject: subject.to_owned(),
        text: monitor_text(facts),
        html: html.into_string(),
        date: from_millis(facts.recovered_ms.unwrap_or(facts.since_ms)),
    }
}

/// `[EVENT] target: what happened`, on one line.
fn subject(facts: &Facts<'_>) -> String {
    let incident = &facts.notification.incident;
    let target = facts.target();
    let duration =
        humantime::format_duration(std::time::Duration::from_secs(facts.duration_seconds));
    let subject = match facts.event {
        Event::Down => format!("[DOWN] {target}: {}", incident.cause),
        Event::Reminder => format!(
            "[STILL DOWN] {target}: down for {duration}: {}",
            incident.cause
        ),
        Event::Resolved => format!("[RESOLVED] {target}: up again after {duration}"),
        Event::Warning => format!(
            "[WARNING] {target}: one location fails, too few agree: {}",
            incident.cause
        ),
        Event::Certificate {
            expires_ms,
            subject,
        } => format!(
            "[CERTIFICATE] {target}: {subject} expires in {} days",
            days_left(*expires_ms, facts.notification.created_ms)
        ),
    };
    // A cause can hold a line break (a server's error text); a header cannot.
    let one_line: String = subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    truncate(&one_line, MAX_SUBJECT)
}

/// The HTML part: the summary in the tone's colour, then the facts.
fn page(
    title: &str,
    tone: Tone,
    summary: &str,
    rows: &[(&str, String)],
    status_page: Option<&str>,
) -> Markup {
    // GitHub's red, green and amber: readable on white, in light and dark mail clients.
    let colour = match tone {
        Tone::Bad => "#cf222e",
        Tone::Good => "#1a7f37",
        Tone::Notice => "#9a6700",
    };
    html! {
        (DOCTYPE)
        html {
            head {
                meta charset="utf-8";
                title { (title) }
            }
            body style="font-family: sans-serif" {
                p style={ "border-left: 4px solid " (colour) "; padding-left: 8px" } {
                    strong { (summary) }
                }
                table {
                    @for (name, value) in rows {
                        tr {
                            th style="text-align: left; padding-right: 12px" { (name) }
                            td { (value) }
                        }
                    }
                }
                @if let Some(page) = status_page {
                    p { a href=(page) { "Status page" } }
                }
            }
        }
    }
}

impl Email {
    /// The message as sent, with `key` in its `Message-ID`.
    ///
    /// # Errors
    /// When lettre refuses to build it (it checks that the message has a sender and recipients,
    /// which the config guarantees).
    pub fn build(&self, key: &str) -> Result<lettre::Message, String> {
        let mut builder = lettre::Message::builder()
            .message_id(Some(format!("<{key}@{}>", self.from.email.domain())))
            .date(self.date)
            .from(self.from.clone())
            .subject(self.subject.clone());
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        let parts = MultiPart::alternative()
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(self.text.clone()),
            )
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(self.html.clone()),
            );
        builder
            .multipart(parts)
            .map_err(|err| format!("cannot build the message: {err}"))
    }
}

/// Sends `email` with `key` in its `Message-ID`, trusting webpki's roots and `extra_roots`.
///
/// # Errors
/// The server's refusal or the connection's failure, in one line naming the server, with no
/// password in it.
pub(super) async fn send(
    email: &Email,
    extra_roots: &[CertificateDer<'static>],
    key: &str,
) -> Result<(), String> {
    let server = &email.server;
    let message = email.build(key)?;
    let tls = match server.tls {
        SmtpTls::None => Tls::None,
        SmtpTls::Starttls => Tls::Required(tls_parameters(&server.host, extra_roots)?),
        SmtpTls::Implicit => Tls::Wrapper(tls_parameters(&server.host, extra_roots)?),
    };
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&server.host)
        .port(server.port)
        .tls(tls)
        .timeout(Some(SEND_TIMEOUT));
    if let Some((username, password)) = &server.credentials {
        transport = transport
            .credentials(Credentials::new(
                username.clone(),
                password.expose().clone(),
            ))
            .authentication(vec![Mechanism::Plain, Mechanism::Login]);
    }
    let sent = tokio::time::timeout(SEND_TIMEOUT, transport.build().send(message)).await;
    let place = format!("{}:{}", server.host, server.port);
    let reason = match sent {
        Ok(Ok(_)) => return Ok(()),
        Ok(Err(err)) => format!("{place}: {err}"),
        Err(_) => format!(
            "{place}: not sent within {}",
            humantime::format_duration(SEND_TIMEOUT)
        ),
    };
    // A server may echo what it was sent; the password never leaves in an error.
    Err(match &server.credentials {
        Some((_, password)) if !password.expose().is_empty() => {
            reason.replace(password.expose().as_str(), REDACTED)
        }
        _ => reason,
    })
}

/// TLS to `host`: graviola's cryptography, webpki's roots and `extra_roots`.
fn tls_parameters(
    host: &str,
    extra_roots: &[CertificateDer<'static>],
) -> Result<TlsParameters, String> {
    // lettre builds its rustls config from the process's default provider: make it graviola,
    // the only one compiled in (an error means it already is).
    let _ = rustls_graviola::default_provider().install_default();
    let mut builder =
        TlsParameters::builder(host.to_owned()).certificate_store(CertificateStore::WebpkiRoots);
    for root in extra_roots {
        let root = Certificate::from_der(root.to_vec())
            .map_err(|err| format!("{host}: a certificate of SSL_CERT_FILE: {err}"))?;
        builder = builder.add_root_certificate(root);
    }
    builder
        .build_rustls()
        .map_err(|err| format!("{host}: cannot set up TLS: {err}"))
}

#[cfg(test)]
mod tests {
    use super::super::{Direct, Message, direct_messages, facts};
    use super::*;
    use crate::monitor::config::{self, AlertKind, MonitorConfig};
    use crate::monitor::store::Notification;

    const CONFIG: &str = r#"
        [monitor]
        public_url = "https://status.example.org/"
        [[target]]
        name = "api"
        url = "https://api.example.org/health?token=t0k3n"
        [[alert]]
        kind = "email"
        host = "smtp.example.org"
        username = "status@example.org"
        password = "${SMTP_PASSWORD}"
        from = "Status <status@example.org>"
        to = ["ops@example.org", "On call <oncall@example.org>"]
    "#;

    fn config() -> MonitorConfig {
        config::parse(CONFIG, |name| {
            (name == "SMTP_PASSWORD").then(|| "app-password".to_owned())
        })
        .unwrap()
    }

    /// The alerts tests' notification, for the e-mail alert, with `cause`; warnings and
    /// certificates belong to no incident.
    fn notification(event: Event, cause: &str) -> Notification {
        let resolved = matches!(event, Event::Resolved);
        let mut notification = super::super::tests::notification(event, resolved);
        "email".clone_into(&mut notification.kind);
        cause.clone_into(&mut notification.incident.cause);
        notification.url = "https://api.example.org/health?token=t0k3n".to_owned();
        if matches!(
            notification.event,
            Event::Warning | Event::Certificate { .. }
        ) {
            notification.incident.id = 0;
        }
        notification
    }

    fn email(event: Event, cause: &str) -> Email {
        let config = config();
        let notification = notification(event, cause);
        match super::super::message(&config.alerts[0].kind, &facts(&config, &notification)) {
            Message::Email(email) => *email,
            Message::Http(request) => panic!("an HTTP request: {request:?}"),
        }
    }

    #[test]
    fn the_message_is_plain_text_and_html_to_every_recipient_with_a_message_id_from_the_key() {
        let email = email(Event::Down, "[STATUS] (503) == 200");
        let sent = email.build("health-service-9").unwrap();
        let recipients: Vec<String> = sent
            .envelope()
            .to()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(recipients, ["ops@example.org", "oncall@example.org"]);
        assert_eq!(
            sent.envelope().from().map(ToString::to_string).as_deref(),
            Some("status@example.org")
        );
        let formatted = String::from_utf8(sent.formatted()).unwrap();
        let (headers, body) = formatted.split_once("\r\n\r\n").unwrap();
        for header in [
            "From: Status <status@example.org>",
            "To: ops@example.org, \"On call\" <oncall@example.org>",
            "Subject: [DOWN] api: [STATUS] (503) == 200",
            "Message-ID: <health-service-9@example.org>",
            "Date: Fri, 15 Jan 2027 08:05:05 +0000",
            "MIME-Version: 1.0",
        ] {
            assert!(
                headers.contains(&format!("{header}\r\n")),
                "{header:?} in {headers}"
            );
        }
        assert!(
            headers.contains("Content-Type: multipart/alternative;"),
            "{headers}"
        );
        let plain = body
            .find("Content-Type: text/plain; charset=utf-8")
            .unwrap();
        let html = body.find("Content-Type: text/html; charset=utf-8").unwrap();
        assert!(plain < html, "plain text first, the preferred part last");
        assert_eq!(
            email.text,
            "api is DOWN: [STATUS] (503) == 200 (incident #4, since 2027-01-15T08:00:00.000Z)\n\
             https://api.example.org/health?token=redacted\n\
             Status page: https://status.example.org/status"
        );
        for shown in [
            "<title>[DOWN] api: [STATUS] (503) == 200</title>",
            "<strong>api is DOWN: [STATUS] (503) == 200 (incident #4, since 2027-01-15T08:00:00.000Z)</strong>",
            "<th style=\"text-align: left; padding-right: 12px\">Incident</th><td>#4</td>",
            "<td>https://api.example.org/health?token=redacted</td>",
            "<a href=\"https://status.example.org/status\">Status page</a>",
            "border-left: 4px solid #cf222e",
        ] {
            assert!(email.html.contains(shown), "{shown:?} in {}", email.html);
        }
        assert!(!formatted.contains("t0k3n") && !formatted.contains("app-password"));
    }

    #[test]
    fn the_html_part_escapes_what_a_cause_or_target_url_holds() {
        let email = email(Event::Down, "<script>alert(\"x\")</script> & <b>");
        assert!(!email.html.contains("<script>"), "{}", email.html);
        assert!(
            email
                .html
                .contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;"),
            "{}",
            email.html
        );
        // The plain part is text: as it is.
        assert!(email.text.contains("<script>alert(\"x\")</script> & <b>"));
    }

    #[test]
    fn the_subject_names_the_event_and_the_target_on_one_line() {
        let subjects: Vec<String> = [
            Event::Down,
            Event::Reminder,
            Event::Resolved,
            Event::Warning,
            Event::Certificate {
                expires_ms: 1_800_000_305_000 + 10 * 86_400_000,
                subject: "CN=api.example.org".to_owned(),
            },
        ]
        .into_iter()
        .map(|event| email(event, "connection refused\r\nBcc: x@example.org").subject)
        .collect();
        assert_eq!(
            subjects,
            [
                "[DOWN] api: connection refused  Bcc: x@example.org",
                "[STILL DOWN] api: down for 5m 5s: connection refused  Bcc: x@example.org",
                "[RESOLVED] api: up again after 5m 5s",
                "[WARNING] api: one location fails, too few agree: connection refused  Bcc: x@example.org",
                "[CERTIFICATE] api: CN=api.example.org expires in 10 days",
            ]
        );
        let long = email(Event::Down, &"x".repeat(500)).subject;
        assert_eq!(long.chars().count(), MAX_SUBJECT);
    }

    #[test]
    fn a_certificate_email_names_the_certificate_and_its_expiry_not_a_cause() {
        let certificate = Event::Certificate {
            expires_ms: 1_800_000_305_000 + 10 * 86_400_000,
            subject: "CN=api.example.org".to_owned(),
        };
        let email = email(certificate, "");
        let row = |name: &str, value: &str| {
            format!(
                "<th style=\"text-align: left; padding-right: 12px\">{name}</th><td>{value}</td>"
            )
        };
        for shown in [
            row("Certificate", "CN=api.example.org"),
            row("Expires", "2027-01-25T08:05:05.000Z"),
        ] {
            assert!(email.html.contains(&shown), "{shown:?} in {}", email.html);
        }
        assert!(!email.html.contains(">Cause</th>"), "{}", email.html);
    }

    #[test]
    fn the_monitors_own_trouble_is_sent_to_every_email_alert() {
        let config = config();
        let degraded = direct_messages(
            &config,
            &Direct::Degraded {
                since_ms: 1_800_000_000_000,
                cause: "store: disk full".to_owned(),
            },
        );
        let recovered = direct_messages(
            &config,
            &Direct::Recovered {
                since_ms: 1_800_000_000_000,
                at_ms: 1_800_000_305_000,
                cause: "store: disk full".to_owned(),
            },
        );
        let [(kind, Message::Email(degraded), key)] = &degraded[..] else {
            panic!("one e-mail: {degraded:?}");
        };
        assert_eq!(
            (*kind, key.as_str()),
            ("email", "health-service-monitor-degraded-1800000000000")
        );
        assert_eq!(
            degraded.subject,
            "[DEGRADED] health-service monitor: cannot write its store"
        );
        assert!(
            degraded
                .text
                .starts_with("The monitor cannot write its store since 2027-01-15T08:00:00.000Z")
        );
        assert_eq!(degraded.date, from_millis(1_800_000_000_000));
        let [(_, Message::Email(recovered), _)] = &recovered[..] else {
            panic!("one e-mail: {recovered:?}");
        };
        assert_eq!(
            recovered.subject,
            "[RECOVERED] health-service monitor: writes its store again"
        );
        assert_eq!(recovered.date, from_millis(1_800_000_305_000));
        assert!(recovered.html.contains("#1a7f37"), "{}", recovered.html);
    }

    #[test]
    fn the_password_is_held_as_a_secret() {
        let config = config();
        let AlertKind::Email { server, .. } = &config.alerts[0].kind else {
            panic!("not email");
        };
        assert_eq!(server.port, 587);
        assert_eq!(server.tls, SmtpTls::Starttls);
        let (username, password) = server.credentials.as_ref().unwrap();
        assert_eq!(
            (username.as_str(), password.expose().as_str()),
            ("status@example.org", "app-password")
        );
        assert!(!format!("{config:?}").contains("app-password"));
    }
}
