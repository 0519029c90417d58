//! A monitor and two agents, all real binaries on loopback, against a target that fails by the
//! location its `User-Agent` names: the quorum decides, a minority only warns, a dead agent only
//! shrinks the vote, agents refuse strangers, and the heartbeat arrives.

use std::net::SocketAddr;
use std::time::Duration;

use nix::sys::signal::Signal;

use super::{Behaviour, Receiver, TargetServer, TestMonitor, target, wait_until};
use crate::config::run;
use crate::helpers::{Binary, PATIENCE, client, json, spawn_binary_with};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
/// Start-up lines only: nobody reads the pipe during the test, so it must not fill.
const QUIET: &str = "warn,health_service=info,health_service::access=warn";

async fn agent(location: &str, extra: &[(&str, &str)]) -> Binary {
    let mut env = vec![
        ("AGENT_TOKEN", TOKEN),
        ("MONITOR_LOCATION", location),
        ("RUST_LOG", QUIET),
    ];
    env.extend_from_slice(extra);
    spawn_binary_with(&env, &["agent"]).await
}

/// A decider at nrt running `toml`, its metrics on a free port (returned).
async fn decider(dir: &tempfile::TempDir, toml: &str) -> (Binary, SocketAddr) {
    let config = dir.path().join("monitor.toml");
    std::fs::write(&config, toml).unwrap();
    let data = dir.path().join("data");
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let binary = spawn_binary_with(
        &[
            ("MONITOR_DATA_DIR", data.to_str().unwrap()),
            ("MONITOR_LOCATION", "nrt"),
            ("METRICS_PORT", &metrics_port),
            ("RUST_LOG", QUIET),
        ],
        &["monitor", "--config", config.to_str().unwrap()],
    )
    .await;
    let metrics = format!("127.0.0.1:{metrics_port}").parse().unwrap();
    (binary, metrics)
}

/// `api` probed every second (thresholds 2 and 2) from nrt and the given agents, alerting
/// `receiver`.
fn config(server: &TargetServer, receiver: &Receiver, agents: &[(&str, &Binary)]) -> String {
    let mut toml = format!(
        "[monitor]\npublic_url = \"https://status.example.org/\"\n{}\n[[alert]]\nkind = \"webhook\"\nurl = \"{}\"\n",
        target(
            "api",
            &server.url("/health"),
            "conditions = [\"[STATUS] == 200\", \"[BODY].status == UP\"]\nfailure_threshold = 2\nsuccess_threshold = 2"
        ),
        receiver.url("/hook")
    );
    for (name, binary) in agents {
        toml.push_str(&format!(
            "[[location]]\nname = \"{name}\"\nurl = \"http://{}\"\ntoken = \"{TOKEN}\"\n",
            binary.addr
        ));
    }
    toml
}

async fn get(addr: SocketAddr, path: &str) -> serde_json::Value {
    json(
        client()
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The `api` target of the decider's /api/v1/status.
async fn api_status(decider: &Binary) -> serde_json::Value {
    get(decider.addr, "/api/v1/status").await["targets"][0].clone()
}

/// Waits until `done` holds for the `api` target's status.
async fn wait_for_status(decider: &Binary, done: impl Fn(&serde_json::Value) -> bool) {
    let give_up = tokio::time::Instant::now() + PATIENCE * 3;
    loop {
        let status = api_status(decider).await;
        if done(&status) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "never happened: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The location entry `name` of a target's status.
fn location<'a>(status: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    status["locations"]
        .as_array()
        .and_then(|all| all.iter().find(|l| l["name"] == name))
        .unwrap_or(&serde_json::Value::Null)
}

/// Rounds the decider has recorded for `api`.
async fn rounds(decider: &Binary) -> usize {
    get(
        decider.addr,
        "/api/v1/targets/api/results?location=nrt&limit=1000",
    )
    .await["results"]
        .as_array()
        .unwrap()
        .len()
}

/// Waits until `count` more rounds are recorded.
async fn wait_rounds(decider: &Binary, count: usize) {
    let start = rounds(decider).await;
    let give_up = tokio::time::Instant::now() + PATIENCE * 3;
    while rounds(decider).await < start + count {
        assert!(tokio::time::Instant::now() < give_up, "no new rounds");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn one_location_failing_alerts_nobody_and_two_open_one_incident() {
    let server = TargetServer::start(Behaviour::healthy()).await;
    let receiver = Receiver::start(&[]).await;
    let (ams, iad) = (agent("ams", &[]).await, agent("iad", &[]).await);
    let dir = tempfile::tempdir().unwrap();
    let (decider, _) = decider(
        &dir,
        &config(&server, &receiver, &[("ams", &ams), ("iad", &iad)]),
    )
    .await;
    wait_for_status(&decider, |s| {
        s["state"] == "up"
            && ["nrt", "ams", "iad"]
                .iter()
                .all(|l| location(s, l)["ok"] == true)
    })
    .await;
    // Each location names itself, and the status page, in its User-Agent.
    let agents = server.user_agents();
    for name in ["nrt", "ams", "iad"] {
        let expected =
            format!("health-service-monitor/0.1.0 (location={name}; +https://status.example.org/)");
        assert!(agents.contains(&expected), "{expected} not in {agents:?}");
    }

    // One agent's location fails: a warning after two rounds, nobody paged.
    server.fail_from(&["ams"]);
    wait_for_status(&decider, |s| location(s, "ams")["warning"] == true).await;
    wait_rounds(&decider, 2).await;
    let status = api_status(&decider).await;
    assert_eq!(status["state"], "up", "{status}");
    assert_eq!(location(&status, "ams")["ok"], false);
    assert_eq!(location(&status, "ams")["error"], "[STATUS] (503) == 200");
    assert_eq!(location(&status, "iad")["warning"], false);
    assert!(receiver.all().is_empty(), "{:?}", receiver.all());

    // The decider's own location alone: the same.
    server.fail_from(&["nrt"]);
    wait_for_status(&decider, |s| {
        location(s, "nrt")["warning"] == true && location(s, "ams")["ok"] == true
    })
    .await;
    wait_rounds(&decider, 2).await;
    assert_eq!(api_status(&decider).await["state"], "up");
    assert!(receiver.all().is_empty(), "{:?}", receiver.all());
    let page = client()
        .get(format!("http://{}/status", decider.addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Location warning: <b>nrt</b> has failed"),
        "{page}"
    );

    // Two of three: one incident, one down, naming both.
    server.fail_from(&["ams", "iad"]);
    let down = receiver.wait_for(1).await;
    assert_eq!(down[0].body["event"], "down");
    assert_eq!(
        down[0].body["cause"],
        "ams: [STATUS] (503) == 200; iad: [STATUS] (503) == 200"
    );
    assert_eq!(api_status(&decider).await["state"], "down");

    // Recovery: one resolved.
    server.fail_from(&[]);
    let both = receiver.wait_for(2).await;
    assert_eq!(both[1].body["event"], "resolved");
    assert_eq!(both[1].body["incident_id"], down[0].body["incident_id"]);
    wait_rounds(&decider, 2).await;
    assert_eq!(receiver.events(), ["down", "resolved"]);
    let incidents = get(decider.addr, "/api/v1/incidents").await;
    assert_eq!(
        incidents["incidents"].as_array().unwrap().len(),
        1,
        "{incidents}"
    );

    // Results are per location; ?location= picks one.
    let results = get(decider.addr, "/api/v1/targets/api/results?limit=3").await;
    let names: Vec<&str> = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["location"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["nrt", "ams", "iad"],
        "one round, the monitor's own first"
    );
    let ams_only = get(
        decider.addr,
        "/api/v1/targets/api/results?location=ams&limit=5",
    )
    .await;
    assert!(
        ams_only["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["location"] == "ams")
    );
    let unknown = get(decider.addr, "/api/v1/targets/api/results?location=syd").await;
    assert_eq!(
        unknown["results"],
        serde_json::json!([]),
        "not a location: no results"
    );
    let invalid = client()
        .get(format!(
            "http://{}/api/v1/targets/api/results?location=Not%20A%20Name",
            decider.addr
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 400);
}

#[tokio::test]
async fn with_an_agent_killed_the_others_still_decide() {
    let server = TargetServer::start(Behaviour::healthy()).await;
    let receiver = Receiver::start(&[]).await;
    let (mut ams, iad) = (agent("ams", &[]).await, agent("iad", &[]).await);
    let dir = tempfile::tempdir().unwrap();
    let (decider, metrics) = decider(
        &dir,
        &config(&server, &receiver, &[("ams", &ams), ("iad", &iad)]),
    )
    .await;
    wait_for_status(&decider, |s| location(s, "ams")["ok"] == true).await;

    ams.signal(Signal::SIGKILL);
    assert_eq!(ams.exit_code().await, None);
    wait_for_status(&decider, |s| location(s, "ams")["ok"].is_null()).await;
    let status = api_status(&decider).await;
    let error = location(&status, "ams")["error"].as_str().unwrap();
    assert!(error.starts_with("unreachable: "), "{error}");
    assert_eq!(
        status["state"], "up",
        "an agent gone is not the target down"
    );
    let scrape = client()
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "monitor_location_up{location=\"ams\"} 0",
        "monitor_location_up{location=\"iad\"} 1",
        "monitor_location_up{location=\"nrt\"} 1",
        "probe_success{location=\"iad\",target=\"api\"} 1",
    ] {
        assert!(scrape.contains(line), "{line} not in {scrape}");
    }

    // The two left agree: down, naming them.
    server.fail_from(&["nrt", "iad"]);
    let down = receiver.wait_for(1).await;
    assert_eq!(down[0].body["event"], "down");
    assert_eq!(
        down[0].body["cause"],
        "nrt: [STATUS] (503) == 200; iad: [STATUS] (503) == 200"
    );
}

/// A probe request for `url`, as the monitor sends it.
fn probe_body(url: &str, version: u32) -> String {
    serde_json::json!({
        "version": version, "url": url, "method": "GET", "headers": {}, "timeout_ms": 2000,
        "follow_redirects": false, "body_limit": 1_048_576, "keep_body": false
    })
    .to_string()
}

#[tokio::test]
async fn an_agent_refuses_strangers_before_reading_and_probes_nothing_for_them() {
    let server = TargetServer::start(Behaviour::healthy()).await;
    let ams = agent("ams", &[]).await;
    let url = format!("http://{}/api/v1/probe", ams.addr);
    let post = |token: Option<&str>, body: String| {
        let mut request = client()
            .post(&url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let target = server.url("/health");
    for (token, body) in [
        (None, probe_body(&target, 2)),
        (
            Some("0123456789abcdef0123456789abcdeX"),
            probe_body(&target, 2),
        ),
        (Some("short"), probe_body(&target, 2)),
        (Some("wrong"), "not json at all".to_owned()),
        (None, "x".repeat(200_000)),
    ] {
        let response = post(token, body).await.unwrap();
        assert_eq!(response.status(), 401, "token {token:?}");
        assert_eq!(json(response).await["status"], 401);
    }
    assert!(server.methods().is_empty(), "the target received nothing");

    // Another protocol version: refused, saying so; a body too large: 413.
    let response = post(Some(TOKEN), probe_body(&target, 1)).await.unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(
        json(response).await["message"],
        "the request has protocol version 1, this agent speaks version 2; deploy the same release to the monitor and its agents"
    );
    let response = post(Some(TOKEN), "x".repeat(200_000)).await.unwrap();
    assert_eq!(response.status(), 413);
    assert!(server.methods().is_empty());

    // The token: one probe, from ams.
    let response = post(Some(TOKEN), probe_body(&target, 2)).await.unwrap();
    assert_eq!(response.status(), 200);
    let observation = json(response).await;
    assert_eq!(observation["status_code"], 200);
    assert_eq!(observation["location"], "ams");
    assert_eq!(observation["version"], 2);
    assert_eq!(server.methods(), ["GET"]);
    assert_eq!(
        server.user_agents(),
        ["health-service-monitor/0.1.0 (location=ams)"]
    );
}

#[tokio::test]
async fn an_agent_runs_a_bounded_number_of_probes_and_refuses_the_rest() {
    let server = TargetServer::start(Behaviour {
        delay: Duration::from_millis(1500),
        ..Behaviour::healthy()
    })
    .await;
    let ams = agent("ams", &[("AGENT_MAX_PROBES", "1")]).await;
    let url = format!("http://{}/api/v1/probe", ams.addr);
    let send = || {
        client()
            .post(&url)
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(probe_body(&server.url("/slow"), 2))
            .send()
    };
    let first = tokio::spawn(send());
    wait_until(|| server.methods().len() == 1).await;
    let second = send().await.unwrap();
    assert_eq!(second.status(), 503);
    assert_eq!(first.await.unwrap().unwrap().status(), 200);
    assert_eq!(server.methods().len(), 1, "the refused one probed nothing");
}

#[tokio::test]
async fn an_agent_needs_a_long_token_and_listens_on_ipv6() {
    let (code, _, stderr) = run(&[], &["agent"]).await;
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr,
        "error: AGENT_TOKEN (--token) is required; see --help for the accepted flags and variables\n"
    );
    let (code, _, stderr) = run(&[("AGENT_TOKEN", "hunter2-hunter2")], &["agent"]).await;
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr,
        "error: AGENT_TOKEN is 15 characters; expected at least 32 (e.g. the output of `openssl rand -hex 32`)\n"
    );

    // Fly's private network is IPv6: HOST=:: must work.
    let ams = agent("ams", &[("HOST", "::")]).await;
    assert!(ams.addr.is_ipv6(), "{}", ams.addr);
    let ready = client()
        .get(format!("http://[::1]:{}/readyz", ams.addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn the_heartbeat_is_requested_every_interval() {
    let server = TargetServer::start(Behaviour::healthy()).await;
    let receiver = Receiver::start(&[]).await;
    let monitor = TestMonitor::start(&format!(
        "[monitor]\nheartbeat_url = \"{}\"\nheartbeat_interval = \"1s\"\n{}",
        receiver.url("/ping/abc"),
        target("api", &server.url("/health"), "")
    ))
    .await;
    let pings = receiver.wait_for(2).await;
    assert!(pings.iter().all(|p| p.path == "/ping/abc"), "{pings:?}");
    monitor.stop().await;
}

/// The target `name` of the decider's /api/v1/status.
async fn status_of(decider: &Binary, name: &str) -> serde_json::Value {
    get(decider.addr, "/api/v1/status").await["targets"]
        .as_array()
        .and_then(|all| all.iter().find(|t| t["name"] == name).cloned())
        .unwrap_or(serde_json::Value::Null)
}

#[tokio::test]
async fn an_agent_probes_tcp_tls_and_dns_targets_too() {
    // A listening port (accepting, so its backlog never fills), a closed one, a DNS server, a
    // TLS server whose CA only the agent trusts.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open = listener.local_addr().unwrap().port();
    tokio::spawn(async move { while listener.accept().await.is_ok() {} });
    let closed = {
        let gone = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        gone.local_addr().unwrap().port()
    };
    let dns = super::kinds::dns_server().await;
    let tls = super::tls_target().await;
    let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls/ca.pem");
    let ams = agent("ams", &[("SSL_CERT_FILE", ca)]).await;
    let toml = format!(
        "{}{}{}{}[[location]]\nname = \"ams\"\nurl = \"http://{}\"\ntoken = \"{TOKEN}\"\n",
        target("open", &format!("tcp://127.0.0.1:{open}"), ""),
        target(
            "closed",
            &format!("tcp://127.0.0.1:{closed}"),
            "failure_threshold = 1"
        ),
        target(
            "dns",
            &format!("dns://{dns}"),
            "dns = { query_name = \"up.example.test\", query_type = \"A\" }\nconditions = [\"[DNS_RCODE] == NOERROR\", \"[BODY] == 192.0.2.1\"]"
        ),
        target(
            "tls",
            &format!("tls://localhost:{}", tls.port()),
            "conditions = [\"[CONNECTED] == true\", \"[CERTIFICATE_EXPIRATION] > 240h\"]"
        ),
        ams.addr
    );
    let dir = tempfile::tempdir().unwrap();
    let (decider, _) = decider(&dir, &toml).await;

    // Every target has a vote from both locations.
    let voted = |status: &serde_json::Value| {
        ["nrt", "ams"]
            .iter()
            .all(|name| location(status, name)["ok"].is_boolean())
    };
    let give_up = tokio::time::Instant::now() + PATIENCE * 3;
    let statuses = loop {
        let statuses = [
            status_of(&decider, "open").await,
            status_of(&decider, "closed").await,
            status_of(&decider, "dns").await,
            status_of(&decider, "tls").await,
        ];
        if statuses.iter().all(voted) && statuses[1]["state"] == "down" {
            break statuses;
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "never voted from both: {statuses:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let [open, closed, dns, tls] = statuses;
    for name in ["nrt", "ams"] {
        assert_eq!(location(&open, name)["ok"], true, "{name}: {open}");
        assert_eq!(location(&closed, name)["ok"], false, "{name}: {closed}");
        assert_eq!(
            location(&closed, name)["error"],
            "connection refused",
            "{name}: {closed}"
        );
        assert_eq!(location(&dns, name)["ok"], true, "{name}: {dns}");
    }
    // The handshake and the certificate condition held at ams, whose SSL_CERT_FILE trusts the
    // test CA; nrt does not trust it.
    assert_eq!(location(&tls, "ams")["ok"], true, "{tls}");
    assert_eq!(location(&tls, "nrt")["ok"], false, "{tls}");
    let error = location(&tls, "nrt")["error"].as_str().unwrap();
    assert!(error.contains("UnknownIssuer"), "{error}");
    assert_eq!(open["state"], "up");
    assert_eq!(dns["state"], "up");
    assert_eq!(
        closed["last_check"]["error"], "nrt: connection refused; ams: connection refused",
        "confirmed by both: {closed}"
    );
}

#[tokio::test]
async fn an_agent_refuses_a_malformed_tcp_or_dns_probe_with_one_line() {
    let ams = agent("ams", &[]).await;
    let url = format!("http://{}/api/v1/probe", ams.addr);
    let body = |url: &str, dns: serde_json::Value| {
        let mut body: serde_json::Value = serde_json::from_str(&probe_body(url, 2)).unwrap();
        body["dns"] = dns;
        body.to_string()
    };
    for (body, message) in [
        (
            body("tcp://127.0.0.1", serde_json::Value::Null),
            "url \"tcp://127.0.0.1\" has no port; a tcp:// probe needs host:port",
        ),
        (
            body("dns://127.0.0.1", serde_json::Value::Null),
            "dns: missing; a dns:// probe needs { name, type }",
        ),
    ] {
        let response = client()
            .post(&url)
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        assert_eq!(json(response).await["message"], message);
    }
    // A query type the agent does not know: refused by the schema's pattern, one line.
    let response = client()
        .post(&url)
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(body(
            "dns://127.0.0.1",
            serde_json::json!({ "name": "example.org", "type": "TXT" }),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        json(response).await["message"],
        "failed to parse \"WireDnsQuery\": field `type` verification failed. \
         pattern(\"^(A|AAAA|CNAME|MX|NS|PTR|SRV)$\") (occurred while parsing \
         \"optional_WireDnsQuery\") (occurred while parsing \"ProbeRequest\")"
    );
}
