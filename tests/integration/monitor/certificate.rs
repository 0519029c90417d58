//! Certificate warnings in the running monitor, against a local TLS server whose certificate
//! (made by the test) expires in 10 days.

use std::time::Duration;

use super::{Receiver, TestCertificate, TestMonitor, serve_tls, target};

#[tokio::test]
async fn a_certificate_expiring_in_10_days_gives_one_certificate_event_and_stays_up() {
    let certificate = TestCertificate::expiring_in(Duration::from_secs(10 * 86_400));
    let addr = serve_tls(certificate.chain.clone(), certificate.key.clone_key()).await;
    let receiver = Receiver::start(&[]).await;
    let config = format!(
        "[monitor]\ncertificate_warning = \"14d\"\n{}[[alert]]\nkind = \"webhook\"\nurl = \"{}\"\n",
        target("api", &format!("https://localhost:{}/", addr.port()), ""),
        receiver.url("/hook"),
    );
    let monitor = TestMonitor::start_trusting(
        &config,
        tempfile::tempdir().unwrap(),
        vec![certificate.ca.clone()],
    )
    .await;

    let sent = receiver.wait_for(1).await;
    let body = &sent[0].body;
    assert_eq!(body["event"], "certificate");
    assert_eq!(body["target"], "api");
    assert_eq!(body["subject"], "CN=localhost");
    assert_eq!(
        body["certificate_expires_at"],
        health_service::monitor::alerts::rfc3339(health_service::monitor::store::millis(
            certificate.not_after
        ))
    );
    assert_eq!(body["days_left"], 9, "10 days less the seconds since");

    // Three more probes see the same certificate: no second event, and the target is up.
    let mut results = 0;
    for _ in 0..300 {
        let found = monitor.get("/api/v1/targets/api/results").await;
        results = found["results"].as_array().unwrap().len();
        if results >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(results >= 4, "four probes were stored");
    assert_eq!(receiver.events(), ["certificate"]);
    let status = monitor.get("/api/v1/status").await;
    assert_eq!(status["targets"][0]["state"], "up");
    assert_eq!(
        monitor.get("/api/v1/incidents").await["incidents"],
        serde_json::json!([])
    );

    let page = crate::helpers::client()
        .get(monitor.url("/status"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Certificate expires in 9 days, at "),
        "{page}"
    );
    monitor.stop().await;
}
