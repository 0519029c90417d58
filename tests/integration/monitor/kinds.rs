//! tcp://, tls:// and dns:// probes, one at a time through the real prober, against local
//! servers.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use health_service::monitor::config::Target;
use health_service::monitor::probe::{Outcome, Probe, Prober};
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record};
use tokio::net::{TcpListener, UdpSocket};

use super::{parse, test_ca};

/// The one target of `url` with the `extra` lines.
fn one(url: &str, extra: &str) -> Target {
    parse(&format!(
        "[[target]]\nname = \"t\"\nurl = \"{url}\"\ninterval = \"5s\"\ntimeout = \"2s\"\n{extra}\n"
    ))
    .targets
    .remove(0)
}

async fn probe(target: &Target) -> Outcome {
    Prober::new(test_ca()).unwrap().probe(target).await
}

/// A port nothing listens on: bound, then let go.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn tcp_connects_to_a_listening_port_and_not_to_a_closed_one() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open = listener.local_addr().unwrap().port();
    let outcome = probe(&one(
        &format!("tcp://127.0.0.1:{open}"),
        "conditions = [\"[CONNECTED] == true\", \"[RESPONSE_TIME] < 2000\"]",
    ))
    .await;
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(outcome.status_code, None);

    let closed = closed_port().await;
    let outcome = probe(&one(&format!("tcp://127.0.0.1:{closed}"), "")).await;
    assert!(!outcome.ok);
    assert_eq!(outcome.error.as_deref(), Some("connection refused"));
    let outcome = probe(&one(
        &format!("tcp://127.0.0.1:{closed}"),
        "conditions = [\"[CONNECTED] == true\"]",
    ))
    .await;
    assert_eq!(
        outcome.error.as_deref(),
        Some("[CONNECTED] (false) == true (connection refused)")
    );
    // A port that must stay closed.
    let outcome = probe(&one(
        &format!("tcp://127.0.0.1:{closed}"),
        "conditions = [\"[CONNECTED] == false\"]",
    ))
    .await;
    assert!(outcome.ok, "{outcome:?}");
    drop(listener);
}

#[tokio::test]
async fn tls_completes_a_handshake_and_reads_the_certificate() {
    let addr = super::tls_target().await;
    let target = one(
        &format!("tls://localhost:{}", addr.port()),
        "conditions = [\"[CONNECTED] == true\", \"[CERTIFICATE_EXPIRATION] > 240h\"]",
    );
    let outcome = probe(&target).await;
    assert!(outcome.ok, "{outcome:?}");
    // The fixture's notAfter: 2035-02-15T06:02:48Z.
    assert_eq!(
        outcome.certificate_expiry,
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(2_055_132_168))
    );
    assert_eq!(outcome.certificate_subject.as_deref(), Some("CN=localhost"));
    // Only the Mozilla roots: the test CA is not among them.
    let outcome = Prober::new(Vec::new()).unwrap().probe(&target).await;
    let error = outcome.error.unwrap();
    assert!(error.contains("UnknownIssuer"), "{error}");
}

/// A DNS server on loopback: `up.example.test.` A is 192.0.2.1, any other name NXDOMAIN.
pub(super) async fn dns_server() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buffer = [0u8; 512];
        // Bounded: a test asks a few questions.
        for _ in 0..100 {
            let Ok((received, from)) = socket.recv_from(&mut buffer).await else {
                return;
            };
            let query = Message::from_vec(&buffer[..received]).unwrap();
            let question = query.queries[0].clone();
            let mut answer = Message::new(
                query.metadata.id,
                MessageType::Response,
                query.metadata.op_code,
            );
            answer.add_query(question.clone());
            if question.name().to_ascii() == "up.example.test." {
                answer.add_answer(Record::from_rdata(
                    question.name().clone(),
                    60,
                    RData::A(A(std::net::Ipv4Addr::new(192, 0, 2, 1))),
                ));
            } else {
                answer.metadata.response_code = ResponseCode::NXDomain;
            }
            socket
                .send_to(&answer.to_vec().unwrap(), from)
                .await
                .unwrap();
        }
    });
    addr
}

#[tokio::test]
async fn dns_reads_the_rcode_and_the_answer_as_gatus_does() {
    let server = dns_server().await;
    let url = format!("dns://127.0.0.1:{}", server.port());
    let up = probe(&one(
        &url,
        "dns = { query_name = \"up.example.test\", query_type = \"A\" }\n\
         conditions = [\"[DNS_RCODE] == NOERROR\", \"[BODY] == 192.0.2.1\", \"[CONNECTED] == true\"]",
    ))
    .await;
    assert!(up.ok, "{up:?}");
    let missing = probe(&one(
        &url,
        "dns = { query_name = \"gone.example.test\", query_type = \"A\" }\n\
         conditions = [\"[DNS_RCODE] == NOERROR\"]",
    ))
    .await;
    assert_eq!(
        missing.error.as_deref(),
        Some("[DNS_RCODE] (NXDOMAIN) == NOERROR")
    );
    let expected = probe(&one(
        &url,
        "dns = { query_name = \"gone.example.test\", query_type = \"A\" }\n\
         conditions = [\"[DNS_RCODE] == NXDOMAIN\", \"len([BODY]) == 0\"]",
    ))
    .await;
    assert!(expected.ok, "a name that must not resolve: {expected:?}");
    // Without conditions, NOERROR is the success.
    let plain = probe(&one(
        &url,
        "dns = { query_name = \"gone.example.test\", query_type = \"A\" }",
    ))
    .await;
    assert_eq!(
        plain.error.as_deref(),
        Some("[DNS_RCODE] (NXDOMAIN) == NOERROR")
    );
}

#[test]
fn check_refuses_conditions_that_mean_nothing_for_the_kind() {
    let problems = health_service::monitor::config::parse(
        "[[target]]\nname = \"db\"\nurl = \"tcp://127.0.0.1:5432\"\n\
         conditions = [\"[BODY].x == 1\", \"[CONNECTED] == true\"]\nheaders = { A = \"b\" }\n\
         [[target]]\nname = \"resolver\"\nurl = \"dns://127.0.0.1\"\n\
         [[target]]\nname = \"web\"\nurl = \"https://a.example/\"\n\
         conditions = [\"[DNS_RCODE] == NOERROR\"]\n",
        |_| None,
    )
    .unwrap_err();
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "target \"db\": headers: means nothing for a tcp:// target",
            "target \"db\": conditions[0]: \"[BODY].x == 1\" reads [BODY], which means nothing for a tcp:// target; it records [CONNECTED] [RESPONSE_TIME]",
            "target \"resolver\": dns: missing; a dns:// target needs dns = { query_name = \"example.org\", query_type = \"A\" }",
            "target \"web\": conditions[0]: \"[DNS_RCODE] == NOERROR\" reads [DNS_RCODE], which means nothing for an http(s):// target; it records [STATUS] [RESPONSE_TIME] [BODY] [CERTIFICATE_EXPIRATION] [CONNECTED]",
        ]
    );
}
