//! Nothing secret on any public surface, alert or log line: the real binary, logging at debug,
//! with a distinct secret in every place a config can hold one, run until targets are down and
//! alerted.

use std::sync::{Arc, Mutex};

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;

use super::{Behaviour, Receiver, TargetServer, target};
use crate::helpers::{PATIENCE, client, json, spawn_binary_capturing};

/// Every secret the config holds, each distinct, so a leak names its source.
const USER: &str = "uSeRsEcReT1";
const PASSWORD: &str = "pAsSsEcReT2";
const QUERY: &str = "qUeRySeCrEt3";
const HEADER: &str = "hEaDeRsEcReT4";
/// Filled in from `${PROBE_TOKEN}` into a header.
const VARIABLE: &str = "vArIaBlEsEcReT5";
/// Filled in from `${EXPECTED}` into a condition, which the failure's reason quotes.
const CONDITION: &str = "cOnDiTiOnSeCrEt6";
const WEBHOOK: &str = "wEbHoOkSeCrEt7";
const SLACK: &str = "sLaCkSeCrEt8";
/// In the Discord URL, filled in from `${DISCORD_URL}`.
const DISCORD: &str = "dIsCoRdSeCrEt9";
/// Filled in from `${TELEGRAM_TOKEN}`.
const TELEGRAM: &str = "tElEgRaMsEcReT10";
const SHOWN_USER: &str = "sHoWnUsEr11";
const SHOWN_PASSWORD: &str = "sHoWnPaSs12";
const SHOWN_QUERY: &str = "sHoWnQuErY13";
const SHOWN_FRAGMENT: &str = "sHoWnFrAg14";
/// In a shown URL's path, filled in from `${PING_ID}`.
const PATH: &str = "pAtHsEcReT15";
const REFUSED_QUERY: &str = "rEfUsEdSeCrEt16";

const SECRETS: [&str; 16] = [
    USER,
    PASSWORD,
    QUERY,
    HEADER,
    VARIABLE,
    CONDITION,
    WEBHOOK,
    SLACK,
    DISCORD,
    TELEGRAM,
    SHOWN_USER,
    SHOWN_PASSWORD,
    SHOWN_QUERY,
    SHOWN_FRAGMENT,
    PATH,
    REFUSED_QUERY,
];

/// The secrets found in `text`, whatever their case.
fn leaked(text: &str) -> Vec<&'static str> {
    let text = text.to_lowercase();
    SECRETS
        .into_iter()
        .filter(|secret| text.contains(&secret.to_lowercase()))
        .collect()
}

/// Collects every line of `reader` until it ends.
fn drain(
    mut reader: impl AsyncReadExt + Unpin + Send + 'static,
) -> tokio::task::JoinHandle<String> {
    tokio::spawn(async move {
        let mut text = String::new();
        let _ = reader.read_to_string(&mut text).await;
        text
    })
}

#[tokio::test]
async fn no_secret_reaches_a_public_response_an_alert_or_a_log() {
    let down = TargetServer::start(Behaviour::failing()).await;
    let shown = TargetServer::start(Behaviour::healthy()).await;
    let receiver = Receiver::start(&[]).await;
    // A port nothing listens on: probes there fail with "connection refused".
    let refused = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();

    let down_url = format!(
        "http://{USER}:{PASSWORD}@{}/health?token={QUERY}&region=eu",
        down.addr
    );
    let shown_url = format!(
        "http://{SHOWN_USER}:{SHOWN_PASSWORD}@{}/status?key={SHOWN_QUERY}#{SHOWN_FRAGMENT}",
        shown.addr
    );
    let toml = [
        target(
            "down",
            &down_url,
            &format!(
                "failure_threshold = 1\nheaders = {{ X-Api-Key = \"{HEADER}\", Authorization = \"Bearer ${{PROBE_TOKEN}}\" }}\nconditions = [\"[BODY].status == ${{EXPECTED}}\"]"
            ),
        ),
        target("shown", &shown_url, "show_url = true"),
        target(
            "pinged",
            &format!("http://{}/ping/${{PING_ID}}", shown.addr),
            "show_url = true",
        ),
        target(
            "refused",
            &format!("http://{refused}/health?token={REFUSED_QUERY}"),
            "failure_threshold = 1\nshow_url = true",
        ),
        format!(
            "[[alert]]\nkind = \"webhook\"\nurl = \"{}\"\n",
            receiver.url(&format!("/hook?key={WEBHOOK}"))
        ),
        format!(
            "[[alert]]\nkind = \"slack\"\nurl = \"{}\"\n",
            receiver.url(&format!("/slack/{SLACK}"))
        ),
        "[[alert]]\nkind = \"discord\"\nurl = \"${DISCORD_URL}\"\n".to_owned(),
        format!(
            "[[alert]]\nkind = \"telegram\"\nbot_token = \"${{TELEGRAM_TOKEN}}\"\nchat_id = \"-100\"\nurl = \"{}\"\n",
            receiver.url("/")
        ),
    ]
    .concat();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("monitor.toml");
    std::fs::write(&config, &toml).unwrap();
    let data = dir.path().join("data");
    let discord_url = receiver.url(&format!("/discord/{DISCORD}"));

    let mut binary = spawn_binary_capturing(
        &[
            ("MONITOR_DATA_DIR", data.to_str().unwrap()),
            ("RUST_LOG", "debug"),
            ("PROBE_TOKEN", VARIABLE),
            ("EXPECTED", CONDITION),
            ("DISCORD_URL", &discord_url),
            ("TELEGRAM_TOKEN", TELEGRAM),
            ("PING_ID", PATH),
        ],
        &["monitor", "--config", config.to_str().unwrap()],
    )
    .await;
    // Read the output as it comes: a full pipe would stop the binary.
    let stderr = drain(binary.child.stderr.take().expect("stderr piped"));
    let stdout = Arc::new(Mutex::new(binary.started.clone()));
    let lines = stdout.clone();
    let mut logs = binary.logs;
    let stdout_done = tokio::spawn(async move {
        while let Ok(Some(line)) = logs.next_line().await {
            lines.lock().unwrap().push(line);
        }
    });
    let metrics_addr = binary.started.iter().find_map(|line| {
        let entry: serde_json::Value = serde_json::from_str(line).ok()?;
        Some(entry["metrics"].as_str()?.to_owned())
    });
    let base = format!("http://{}", binary.addr);

    // Two targets down, four alerts each; the other two up.
    receiver.wait_for(8).await;
    for _ in 0..200 {
        let status = json(
            client()
                .get(format!("{base}/api/v1/status"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let states: Vec<&str> = status["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["state"].as_str().unwrap())
            .collect();
        if states == ["down", "up", "up", "down"] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // Every GET route of the spec, each target's name in its path parameters.
    let spec = json(
        client()
            .get(format!("{base}/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let mut paths = vec!["/openapi.json".to_owned()];
    for (path, item) in spec["paths"].as_object().unwrap() {
        // The check-in routes are not read: a GET there is a push target's check-in, and
        // without its token a 404 by design.
        if item["get"].is_null() || path.starts_with("/ping/") {
            continue;
        }
        if path.contains("{name}") {
            for name in ["down", "shown", "pinged", "refused"] {
                paths.push(path.replace("{name}", name));
            }
        } else if path.contains("{key}") {
            // Gatus's routes name a target by its key: `_<name>` for a target without a group.
            for name in ["down", "shown", "pinged", "refused"] {
                paths.push(
                    path.replace("{key}", &format!("_{name}"))
                        .replace("{duration}", "24h"),
                );
            }
        } else {
            // The Uptime Kuma routes' slug is the configured one (the default here).
            paths.push(path.replace("{slug}", "default"));
        }
    }
    for wanted in [
        "/status",
        "/incidents.atom",
        "/api/v1/incidents",
        "/badges/down/status.svg",
        "/status/shown",
        "/api/status-page/default",
        "/api/status-page/heartbeat/default",
        "/api/v1/endpoints/statuses",
        "/api/v1/endpoints/_shown/statuses",
        "/api/v1/endpoints/_down/uptimes/24h/badge.svg",
    ] {
        assert!(
            paths.iter().any(|p| p == wanted),
            "{wanted} not in {paths:?}"
        );
    }
    let mut responses = Vec::new();
    for path in &paths {
        let response = client().get(format!("{base}{path}")).send().await.unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(
            status.is_success() || status.is_redirection(),
            "{path}: {status} {body}"
        );
        responses.push((path.clone(), body));
    }
    if let Some(metrics) = metrics_addr {
        let body = client()
            .get(format!("http://{metrics}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        responses.push(("/metrics".to_owned(), body));
    }
    for (path, body) in &responses {
        assert_eq!(leaked(body), Vec::<&str>::new(), "{path}: {body}");
    }

    // What the public surfaces say instead.
    let status = json(
        client()
            .get(format!("{base}/api/v1/status"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let urls: Vec<&serde_json::Value> = status["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["url"])
        .collect();
    assert_eq!(
        urls,
        [
            &serde_json::Value::Null,
            &serde_json::json!(format!("http://{}/status", shown.addr)),
            &serde_json::json!(format!("http://{}/ping/${{PING_ID}}", shown.addr)),
            &serde_json::json!(format!("http://{refused}/health")),
        ]
    );
    let incidents = json(
        client()
            .get(format!("{base}/api/v1/incidents"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let causes: Vec<(&str, &str)> = incidents["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["target"].as_str().unwrap(), i["cause"].as_str().unwrap()))
        .collect();
    assert!(
        causes.contains(&("down", "[BODY].status (DOWN) == ${EXPECTED}")),
        "{causes:?}"
    );
    assert!(
        causes.contains(&("refused", "connection refused")),
        "{causes:?}"
    );

    // Every attempt at every alert, in each format.
    let sent = receiver.all();
    assert!(sent.len() >= 8, "{sent:?}");
    for (_, received) in &sent {
        let body = received.body.to_string();
        assert_eq!(
            leaked(&body),
            Vec::<&str>::new(),
            "{}: {body}",
            received.path
        );
    }
    let webhook = sent
        .iter()
        .map(|(_, r)| &r.body)
        .find(|body| body["target"] == "down")
        .expect("the webhook's down for `down`");
    assert_eq!(
        webhook["url"],
        format!("http://{}/health?token=redacted&region=redacted", down.addr)
    );
    let paths: Vec<&str> = sent.iter().map(|(_, r)| r.path.as_str()).collect();
    for path in [
        "/hook".to_owned(),
        format!("/slack/{SLACK}"),
        format!("/discord/{DISCORD}"),
        format!("/bot{TELEGRAM}/sendMessage"),
    ] {
        assert!(paths.contains(&path.as_str()), "{path} not in {paths:?}");
    }

    // The logs, at debug, from start to exit.
    let pid = Pid::from_raw(i32::try_from(binary.child.id().unwrap()).unwrap());
    nix::sys::signal::kill(pid, Signal::SIGTERM).unwrap();
    let exit = tokio::time::timeout(PATIENCE, binary.child.wait())
        .await
        .expect("the binary stops within PATIENCE")
        .unwrap();
    assert!(exit.success(), "{exit}");
    tokio::time::timeout(PATIENCE, stdout_done)
        .await
        .unwrap()
        .unwrap();
    let stderr = tokio::time::timeout(PATIENCE, stderr)
        .await
        .unwrap()
        .unwrap();
    let stdout = stdout.lock().unwrap().join("\n");
    assert!(
        stdout.contains("\"level\":\"DEBUG\""),
        "debug lines are logged"
    );
    assert!(stdout.contains("notification delivered"), "{stdout}");
    for line in stdout.lines().chain(stderr.lines()) {
        assert_eq!(leaked(line), Vec::<&str>::new(), "{line}");
    }
}
