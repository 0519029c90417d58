//! One probe at a time, through the real client, against local targets.

use std::time::{Duration, SystemTime};

use health_service::monitor::config::Target;
use health_service::monitor::probe::{Outcome, Probe, Prober};

use super::{Behaviour, TargetServer, parse, target, test_ca, tls_target};

/// The first target of a config made of `target(name, url, extra)`.
fn one(url: &str, extra: &str) -> Target {
    parse(&target("t", url, extra)).targets.remove(0)
}

async fn probe(target: &Target) -> Outcome {
    Prober::new(test_ca()).unwrap().probe(target).await
}

/// The verdict and reason of probing `server` with `conditions`.
async fn verdict(server: &TargetServer, conditions: &str) -> (bool, Option<String>) {
    let outcome = probe(&one(
        &server.url("/health"),
        &format!("conditions = {conditions}"),
    ))
    .await;
    (outcome.ok, outcome.error)
}

#[tokio::test]
async fn each_condition_kind_judges_the_real_answer() {
    let server = TargetServer::start(Behaviour::healthy()).await;
    let holds = [
        r#"["[STATUS] == 200"]"#,
        r#"["[STATUS] < 300", "[STATUS] >= 200"]"#,
        r#"["[BODY].status == UP"]"#,
        r#"["[BODY].checks[0].name == db"]"#,
        r#"["len([BODY].checks) == 1"]"#,
        r#"["has([BODY].version) == true"]"#,
        r#"["[BODY].version == pat(0.*)"]"#,
        r#"["[BODY].status == any(UP, DEGRADED)"]"#,
        r#"["[RESPONSE_TIME] < 5000"]"#,
        r#"["[RESPONSE_TIME] < 5s"]"#,
    ];
    for conditions in holds {
        assert_eq!(
            verdict(&server, conditions).await,
            (true, None),
            "{conditions}"
        );
    }

    let fails = [
        (r#"["[STATUS] == 201"]"#, "[STATUS] (200) == 201"),
        (r#"["[BODY].status == DOWN"]"#, "[BODY].status (UP) == DOWN"),
        (r#"["[RESPONSE_TIME] > 60000"]"#, "[RESPONSE_TIME] ("),
    ];
    for (conditions, reason) in fails {
        let (ok, error) = verdict(&server, conditions).await;
        assert!(!ok, "{conditions}");
        let error = error.unwrap();
        assert!(
            error.contains(reason),
            "{conditions}: {error:?} lacks {reason:?}"
        );
    }
}

/// (condition shown, held) of each of `outcome`'s verdicts, as Gatus's `conditionResults`.
fn shown(outcome: &Outcome) -> Vec<(String, bool)> {
    (outcome.conditions.iter())
        .map(|v| (v.shown().to_owned(), v.failure.is_none()))
        .collect()
}

#[tokio::test]
async fn every_condition_gets_a_verdict_not_only_up_to_the_first_failure() {
    let server = TargetServer::start(Behaviour::failing()).await;
    let conditions =
        r#"conditions = ["[STATUS] == 200", "[RESPONSE_TIME] < 5000", "[BODY].status == UP"]"#;
    let outcome = probe(&one(&server.url("/health"), conditions)).await;
    assert_eq!(
        shown(&outcome),
        [
            ("[STATUS] (503) == 200".to_owned(), false),
            ("[RESPONSE_TIME] < 5000".to_owned(), true),
            ("[BODY].status (DOWN) == UP".to_owned(), false),
        ]
    );
    assert_eq!(
        outcome.error.as_deref(),
        Some("[STATUS] (503) == 200"),
        "the reason is still the first failure's"
    );

    // No answer at all: judged as Gatus judges it, on status 0 and no connection.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    let outcome = probe(&one(
        &url,
        r#"conditions = ["[STATUS] == 200", "[CONNECTED] == false"]"#,
    ))
    .await;
    assert!(!outcome.ok);
    assert_eq!(
        shown(&outcome),
        [
            ("[STATUS] (0) == 200".to_owned(), false),
            ("[CONNECTED] == false".to_owned(), true),
        ]
    );
    // Without conditions there is nothing to list.
    let outcome = probe(&one(&server.url("/health"), "")).await;
    assert!(outcome.conditions.is_empty());
}

#[tokio::test]
async fn without_conditions_any_status_from_200_to_399_succeeds() {
    let server = TargetServer::start(Behaviour::healthy()).await;
    for (status, ok) in [
        (200, true),
        (204, true),
        (399, true),
        (404, false),
        (503, false),
    ] {
        server.set(Behaviour {
            status,
            ..Behaviour::healthy()
        });
        let outcome = probe(&one(&server.url("/"), "")).await;
        assert_eq!(outcome.ok, ok, "{status}");
        assert_eq!(outcome.status_code, Some(status));
    }
}

#[tokio::test]
async fn a_non_json_body_fails_body_paths_with_a_reason() {
    let server = TargetServer::start(Behaviour {
        body: b"<html>fine</html>".to_vec(),
        content_type: "text/html",
        ..Behaviour::healthy()
    })
    .await;
    let (ok, error) = verdict(&server, r#"["[BODY].status == UP"]"#).await;
    assert!(!ok);
    let error = error.unwrap();
    assert!(
        error.contains("[BODY].status") && error.contains("JSON"),
        "{error}"
    );
    // The raw body is still there for [BODY] itself.
    assert_eq!(
        verdict(&server, r#"["[BODY] == pat(*fine*)"]"#).await,
        (true, None)
    );
}

#[tokio::test]
async fn head_targets_send_head() {
    let server = TargetServer::start(Behaviour::healthy()).await;
    let outcome = probe(&one(
        &server.url("/health"),
        "method = \"HEAD\"\nconditions = [\"[STATUS] == 200\"]",
    ))
    .await;
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(server.methods(), ["HEAD"]);
}

#[tokio::test]
async fn a_target_slower_than_its_timeout_fails_as_a_timeout() {
    let server = TargetServer::start(Behaviour {
        delay: Duration::from_secs(3),
        ..Behaviour::healthy()
    })
    .await;
    let target = one(&server.url("/"), "");
    let outcome = probe(&target).await;
    assert!(!outcome.ok);
    assert_eq!(outcome.status_code, None);
    assert_eq!(
        outcome.error.as_deref(),
        Some("timeout: no complete answer within 900ms")
    );
    assert!(outcome.duration >= Duration::from_millis(900));
    assert!(
        outcome.duration < Duration::from_secs(3),
        "{:?}",
        outcome.duration
    );
}

#[tokio::test]
async fn a_body_over_one_mebibyte_fails_and_is_not_read_whole() {
    let server = TargetServer::start(Behaviour {
        body: vec![b'x'; 3 * 1024 * 1024],
        content_type: "text/plain",
        ..Behaviour::healthy()
    })
    .await;
    let outcome = probe(&one(&server.url("/"), "")).await;
    assert!(!outcome.ok);
    assert_eq!(
        outcome.status_code,
        Some(200),
        "the status still counts as seen"
    );
    assert_eq!(
        outcome.error.as_deref(),
        Some("body larger than 1024 KiB; bodies are read up to 1024 KiB")
    );
    // Exactly 1 MiB is fine.
    server.set(Behaviour {
        body: vec![b'x'; 1024 * 1024],
        content_type: "text/plain",
        ..Behaviour::healthy()
    });
    assert!(probe(&one(&server.url("/"), "")).await.ok);
}

#[tokio::test]
async fn refused_connections_and_unresolvable_hosts_say_so() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let refused = probe(&one(&format!("http://127.0.0.1:{port}/"), "")).await;
    assert_eq!(refused.error.as_deref(), Some("connection refused"));
    // `.invalid` never resolves (RFC 6761), with or without a network.
    let dns = probe(&one("http://no-such-host.invalid/", "")).await;
    let error = dns.error.unwrap();
    assert!(error.starts_with("DNS: "), "{error}");
}

#[tokio::test]
async fn redirects_are_judged_unless_the_target_follows_them() {
    let server = TargetServer::start(Behaviour {
        status: 302,
        ..Behaviour::healthy()
    })
    .await;
    let outcome = probe(&one(&server.url("/"), "conditions = [\"[STATUS] == 302\"]")).await;
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(server.methods().len(), 1);
}

/// The test certificate's notAfter: 2035-02-15T06:02:48Z (see tests/fixtures/tls).
const TEST_CERT_EXPIRY: u64 = 2_055_132_168;

#[tokio::test]
async fn https_records_the_certificate_expiry_and_judges_it() {
    let addr = tls_target().await;
    let url = format!("https://localhost:{}/", addr.port());
    let outcome = probe(&one(
        &url,
        "conditions = [\"[STATUS] == 200\", \"[CERTIFICATE_EXPIRATION] > 240h\"]",
    ))
    .await;
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(
        outcome.certificate_expiry,
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(TEST_CERT_EXPIRY))
    );
    // About nine years left: more than 100,000 hours is false.
    let outcome = probe(&one(
        &url,
        "conditions = [\"[CERTIFICATE_EXPIRATION] > 100000h\"]",
    ))
    .await;
    assert!(!outcome.ok);
    assert!(
        outcome
            .error
            .unwrap()
            .starts_with("[CERTIFICATE_EXPIRATION] (")
    );
}

#[tokio::test]
async fn a_certificate_from_an_unknown_ca_fails_as_tls() {
    let addr = tls_target().await;
    let url = format!("https://localhost:{}/", addr.port());
    // Only the Mozilla roots: the test CA is not among them.
    let outcome = Prober::new(Vec::new()).unwrap().probe(&one(&url, "")).await;
    assert!(!outcome.ok);
    let error = outcome.error.unwrap();
    assert!(
        error.starts_with("TLS: ") && error.contains("UnknownIssuer"),
        "{error}"
    );
}

#[tokio::test]
async fn plain_http_has_no_certificate_expiry() {
    let server = TargetServer::start(Behaviour::healthy()).await;
    let outcome = probe(&one(
        &server.url("/"),
        "conditions = [\"[CERTIFICATE_EXPIRATION] > 1h\"]",
    ))
    .await;
    assert_eq!(outcome.certificate_expiry, None);
    assert!(!outcome.ok, "no TLS counts as expired, as in Gatus");
}
