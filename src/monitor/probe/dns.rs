//! `dns://server[:port]` with `dns = { query_name, query_type }`, as Gatus's `dns` endpoints:
//! one query over UDP. `[DNS_RCODE]` (`NOERROR`, `NXDOMAIN`, ...), `[BODY]` (the answers' data
//! as Gatus renders it: for one A record, the address itself), `[RESPONSE_TIME]`,
//! `[CONNECTED]`.

use std::time::Instant;

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::net::UdpSocket;

use super::{ProbeSpec, Reach};

/// Largest answer read: EDNS's common 4096 bytes (a plain UDP answer is at most 512).
const MAX_ANSWER: usize = 4096;

/// Sends the query and reads the answer from the same server.
pub(super) async fn probe(spec: &ProbeSpec) -> Reach {
    let started = Instant::now();
    let (host, port) = super::host_and_port(&spec.url);
    let failed = |reason: String| Reach::failed(started.elapsed(), reason);
    let Some(query) = &spec.dns else {
        return failed("DNS: the probe has no query".to_owned());
    };
    let Ok(name) = Name::from_ascii(&query.name) else {
        return failed(format!("DNS: {:?} is not a domain name", query.name));
    };
    let Ok(record_type) = query.record_type.parse::<RecordType>() else {
        return failed(format!("DNS: {:?} is not a record type", query.record_type));
    };
    let id: u16 = rand_id();
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(name, record_type));
    let Ok(bytes) = message.to_vec() else {
        return failed("DNS: the query does not encode".to_owned());
    };
    let socket = match UdpSocket::bind(if host.contains(':') {
        "[::]:0"
    } else {
        "0.0.0.0:0"
    })
    .await
    {
        Ok(socket) => socket,
        Err(err) => return failed(super::io_reason(&err)),
    };
    if let Err(err) = socket.connect((host.as_str(), port)).await {
        return failed(super::io_reason(&err));
    }
    if let Err(err) = socket.send(&bytes).await {
        return failed(super::io_reason(&err));
    }
    let mut buffer = vec![0u8; MAX_ANSWER];
    loop {
        let received = match socket.recv(&mut buffer).await {
            Ok(received) => received,
            Err(err) => return failed(super::io_reason(&err)),
        };
        let Ok(answer) = Message::from_vec(&buffer[..received]) else {
            return failed("DNS: the answer does not decode".to_owned());
        };
        // Anything else on the socket is not ours.
        if answer.metadata.id != id || answer.metadata.message_type != MessageType::Response {
            continue;
        }
        return Reach {
            body: render(answer.answers.iter().map(|r| &r.data)).into_bytes(),
            dns_rcode: Some(rcode_name(u16::from(answer.metadata.response_code))),
            ..Reach::connected(started.elapsed())
        };
    }
}

/// What Gatus puts in `[BODY]`: the last answer's data, an address as itself and a name
/// fully qualified (`mail.example.org.`), an SRV record as `target:port`.
fn render<'a>(answers: impl Iterator<Item = &'a RData>) -> String {
    let mut body = String::new();
    for data in answers {
        body = match data {
            RData::A(a) => a.to_string(),
            RData::AAAA(aaaa) => aaaa.to_string(),
            RData::CNAME(name) => name.to_string(),
            RData::MX(mx) => mx.exchange.to_string(),
            RData::NS(name) => name.to_string(),
            RData::PTR(name) => name.to_string(),
            RData::SRV(srv) => format!("{}:{}", srv.target, srv.port),
            _ => "query type is not supported yet".to_owned(),
        };
    }
    body
}

/// The response code's name as Go's DNS library (and so Gatus) writes it.
fn rcode_name(code: u16) -> String {
    let name = match code {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADSIG",
        17 => "BADKEY",
        18 => "BADTIME",
        19 => "BADMODE",
        20 => "BADNAME",
        21 => "BADALG",
        22 => "BADTRUNC",
        23 => "BADCOOKIE",
        other => return other.to_string(),
    };
    name.to_owned()
}

/// A query id that an off-path sender cannot easily guess.
fn rand_id() -> u16 {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    u16::from_be_bytes([bytes[0], bytes[1]])
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use hickory_proto::rr::rdata::{A, MX, SRV};

    use super::*;

    #[test]
    fn the_body_is_the_last_answer_as_gatus_renders_it() {
        let name = |n: &str| Name::from_ascii(n).unwrap();
        assert_eq!(render([].iter()), "");
        assert_eq!(
            render([RData::A(A(Ipv4Addr::new(192, 0, 2, 1)))].iter()),
            "192.0.2.1"
        );
        assert_eq!(
            render([RData::MX(MX::new(10, name("mail.example.org.")))].iter()),
            "mail.example.org."
        );
        assert_eq!(
            render(
                [
                    RData::A(A(Ipv4Addr::new(192, 0, 2, 1))),
                    RData::SRV(SRV::new(1, 2, 5060, name("sip.example.org."))),
                ]
                .iter()
            ),
            "sip.example.org.:5060"
        );
    }

    #[test]
    fn names_and_addresses_of_every_served_type_are_rendered() {
        use hickory_proto::rr::rdata::{AAAA, CNAME, NS, PTR};
        let name = |n: &str| Name::from_ascii(n).unwrap();
        let aaaa = RData::AAAA(AAAA("2001:db8::1".parse().unwrap()));
        assert_eq!(render([aaaa].iter()), "2001:db8::1");
        let cname = RData::CNAME(CNAME(name("www.example.org.")));
        assert_eq!(render([cname].iter()), "www.example.org.");
        let ns = RData::NS(NS(name("ns1.example.org.")));
        assert_eq!(render([ns].iter()), "ns1.example.org.");
        let ptr = RData::PTR(PTR(name("host.example.org.")));
        assert_eq!(render([ptr].iter()), "host.example.org.");
    }

    #[test]
    fn response_codes_are_named_as_go_names_them() {
        let names = [0, 1, 3, 5, 10, 16, 23, 11, 4095].map(rcode_name);
        assert_eq!(
            names,
            [
                "NOERROR",
                "FORMERR",
                "NXDOMAIN",
                "REFUSED",
                "NOTZONE",
                "BADSIG",
                "BADCOOKIE",
                "11",
                "4095"
            ]
        );
    }

    #[test]
    fn query_ids_are_not_a_constant() {
        // Four equal ids from a random source: one chance in 2^48.
        let ids = [rand_id(), rand_id(), rand_id(), rand_id()];
        assert!(ids.iter().any(|id| *id != ids[0]), "{ids:?}");
    }

    /// A server on loopback that answers one query with three messages: a response with
    /// another id, a query (not a response) with the query's id, then the answer, each with
    /// a different A record.
    async fn server_with_strays() -> std::net::SocketAddr {
        use hickory_proto::rr::Record;
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buffer = [0u8; 512];
            let (received, from) = socket.recv_from(&mut buffer).await.unwrap();
            let query = Message::from_vec(&buffer[..received]).unwrap();
            let question = query.queries[0].clone();
            let id = query.metadata.id;
            for (id, kind, last) in [
                (id.wrapping_add(1), MessageType::Response, 66),
                (id, MessageType::Query, 77),
                (id, MessageType::Response, 1),
            ] {
                let mut message = Message::new(id, kind, OpCode::Query);
                message.add_query(question.clone());
                message.add_answer(Record::from_rdata(
                    question.name().clone(),
                    60,
                    RData::A(A(Ipv4Addr::new(192, 0, 2, last))),
                ));
                let bytes = message.to_vec().unwrap();
                socket.send_to(&bytes, from).await.unwrap();
            }
        });
        addr
    }

    #[tokio::test]
    async fn only_the_response_to_the_query_is_read() {
        let server = server_with_strays().await;
        let spec = ProbeSpec {
            url: reqwest::Url::parse(&format!("dns://127.0.0.1:{}", server.port())).unwrap(),
            dns: Some(crate::monitor::config::DnsQuery {
                name: "up.example.test".to_owned(),
                record_type: "A".to_owned(),
            }),
            method: crate::monitor::config::ProbeMethod::Get,
            headers: Vec::new(),
            timeout: std::time::Duration::from_secs(10),
            follow_redirects: false,
            body_limit: 1024,
            keep_body: true,
        };
        // Bounded: a probe that skipped its answer would wait for ever.
        let reach = tokio::time::timeout(spec.timeout, probe(&spec))
            .await
            .expect("the answer within 10 s");
        assert_eq!(reach.error, None);
        assert!(reach.connected);
        assert_eq!(String::from_utf8(reach.body).unwrap(), "192.0.2.1");
        assert_eq!(reach.dns_rcode.as_deref(), Some("NOERROR"));
    }
}
