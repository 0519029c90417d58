//! The running monitor: thresholds, flapping, reminders and retries, seen at a webhook receiver.

use super::{Behaviour, Receiver, TargetServer, TestMonitor, eventually, target, wait_until};

/// A monitor of `server` (every second; thresholds 2 and 2) alerting `receiver`'s webhook.
fn config(server: &TargetServer, receiver: &Receiver, alert_extra: &str) -> String {
    format!(
        "[monitor]\npublic_url = \"https://status.example.org/\"\n{}\n[[alert]]\nkind = \"webhook\"\nurl = \"{}\"\n{alert_extra}\n",
        target(
            "api",
            &server.url("/health"),
            "conditions = [\"[STATUS] == 200\", \"[BODY].status == UP\"]\nfailure_threshold = 2\nsuccess_threshold = 2"
        ),
        receiver.url("/hook")
    )
}

/// The state of target `api` in /api/v1/status.
async fn state(monitor: &TestMonitor) -> String {
    monitor.get("/api/v1/status").await["targets"][0]["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn wait_for_state(monitor: &TestMonitor, wanted: &str) {
    eventually(&format!("api {wanted}"), || async {
        state(monitor).await == wanted
    })
    .await;
}

/// Waits until `more` results past those already there are committed: every change they
/// brought (an incident, its notifications) is in the store by then.
async fn wait_for_more_results(monitor: &TestMonitor, more: usize) {
    let now = monitor.results("api").await.len();
    monitor.wait_for_results("api", now + more).await;
}

#[tokio::test]
async fn going_down_and_recovering_sends_one_down_and_one_resolved() {
    let server = TargetServer::start(Behaviour::healthy()).await;
    let receiver = Receiver::start(&[]).await;
    let monitor = TestMonitor::start(&config(&server, &receiver, "")).await;
    wait_for_state(&monitor, "up").await;

    server.set(Behaviour::failing());
    let down = receiver.wait_for(1).await;
    let body = &down[0].body;
    assert_eq!(body["event"], "down");
    assert_eq!(body["target"], "api");
    assert_eq!(body["url"], server.url("/health"));
    assert_eq!(body["cause"], "[STATUS] (503) == 200");
    assert_eq!(body["resolved_at"], serde_json::Value::Null);
    assert_eq!(body["status_page_url"], "https://status.example.org/status");
    assert_eq!(state(&monitor).await, "down");

    server.set(Behaviour::healthy());
    let both = receiver.wait_for(2).await;
    let resolved = &both[1].body;
    assert_eq!(resolved["event"], "resolved");
    assert_eq!(resolved["incident_id"], body["incident_id"]);
    assert_eq!(resolved["started_at"], body["started_at"]);
    assert!(resolved["resolved_at"].is_string());
    assert!(resolved["duration_seconds"].as_u64().unwrap() >= 1);
    assert_ne!(both[0].idempotency_key, both[1].idempotency_key);

    let incidents = monitor.get("/api/v1/incidents").await;
    let incident = &incidents["incidents"][0];
    assert_eq!(incident["id"], body["incident_id"]);
    assert_eq!(incident["cause"], "[STATUS] (503) == 200");
    assert!(incident["resolved_at"].is_string());

    // Nothing more, three probes on: one incident, two notifications.
    wait_for_more_results(&monitor, 3).await;
    let incidents = monitor.get("/api/v1/incidents").await;
    assert_eq!(incidents["incidents"].as_array().unwrap().len(), 1);
    assert_eq!(receiver.events(), ["down", "resolved"]);
    monitor.stop().await;
}

#[tokio::test]
async fn a_flapping_target_alerts_nobody() {
    // Fail, succeed, fail, ...: never two failures in a row.
    let server = TargetServer::start(Behaviour {
        cycle: vec![503, 200],
        ..Behaviour::healthy()
    })
    .await;
    let receiver = Receiver::start(&[]).await;
    let monitor = TestMonitor::start(&config(&server, &receiver, "")).await;
    let results = monitor.wait_for_results("api", 6).await;
    let oks: Vec<bool> = results.iter().map(|r| r["ok"].as_bool().unwrap()).collect();
    assert!(oks.windows(2).all(|w| w[0] != w[1]), "alternating: {oks:?}");
    assert_eq!(state(&monitor).await, "up");
    assert!(receiver.all().is_empty(), "{:?}", receiver.all());
    assert_eq!(
        monitor.get("/api/v1/incidents").await["incidents"],
        serde_json::json!([])
    );
    monitor.stop().await;
}

#[tokio::test]
async fn reminders_repeat_while_the_target_stays_down() {
    let server = TargetServer::start(Behaviour::failing()).await;
    let receiver = Receiver::start(&[]).await;
    let monitor = TestMonitor::start(&config(&server, &receiver, "reminder = \"2s\"")).await;
    let sent = receiver.wait_for(3).await;
    let events: Vec<&str> = sent
        .iter()
        .map(|r| r.body["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["down", "reminder", "reminder"]);
    assert!(
        sent.iter()
            .all(|r| r.body["incident_id"] == sent[0].body["incident_id"])
    );
    let durations: Vec<u64> = sent
        .iter()
        .map(|r| r.body["duration_seconds"].as_u64().unwrap())
        .collect();
    assert!(durations[1] >= 2 && durations[2] >= 4, "{durations:?}");
    monitor.stop().await;
}

#[tokio::test]
async fn a_failed_webhook_is_retried_with_backoff_and_order_is_kept() {
    let server = TargetServer::start(Behaviour::healthy()).await;
    // The first two attempts fail; the down must still arrive before the resolved.
    let receiver = Receiver::start(&[500, 502]).await;
    let monitor = TestMonitor::start(&config(&server, &receiver, "")).await;
    wait_for_state(&monitor, "up").await;
    server.set(Behaviour::failing());
    wait_until(|| !receiver.all().is_empty()).await;
    server.set(Behaviour::healthy());

    let delivered = receiver.wait_for(2).await;
    let events: Vec<&str> = delivered
        .iter()
        .map(|r| r.body["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["down", "resolved"]);
    let attempts = receiver.all();
    let statuses: Vec<u16> = attempts.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [500, 502, 200, 200]);
    let keys: Vec<_> = attempts[..3]
        .iter()
        .map(|(_, r)| r.idempotency_key.clone())
        .collect();
    assert!(
        keys.iter().all(|k| k.is_some() && *k == keys[0]),
        "one key per notification: {keys:?}"
    );

    let scrape = crate::helpers::client()
        .get(format!("http://{}/metrics", monitor.metrics_addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "monitor_notifications_total{kind=\"webhook\",result=\"failed\"} 2",
        "monitor_notifications_total{kind=\"webhook\",result=\"delivered\"} 2",
        "probe_success{location=\"local\",target=\"api\"} 1",
        "monitor_location_up{location=\"local\"} 1",
        "probe_http_status_code{location=\"local\",target=\"api\"} 200",
    ] {
        assert!(scrape.contains(line), "{line} not in {scrape}");
    }
    monitor.stop().await;
}

#[tokio::test]
async fn every_alert_kind_is_delivered_in_its_own_format() {
    let server = TargetServer::start(Behaviour::failing()).await;
    let receiver = Receiver::start(&[]).await;
    let toml = format!(
        "{}\n[[alert]]\nkind = \"slack\"\nurl = \"{slack}\"\n[[alert]]\nkind = \"discord\"\nurl = \"{discord}\"\n[[alert]]\nkind = \"telegram\"\nbot_token = \"123:abc\"\nchat_id = \"-100\"\nurl = \"{telegram}\"\n",
        target("api", &server.url("/health"), "failure_threshold = 1"),
        slack = receiver.url("/slack"),
        discord = receiver.url("/discord"),
        telegram = receiver.url("/"),
    );
    let monitor = TestMonitor::start(&toml).await;
    let mut sent = receiver.wait_for(3).await;
    sent.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(sent[0].path, "/bot123:abc/sendMessage");
    assert_eq!(sent[0].body["chat_id"], "-100");
    assert!(
        sent[0].body["text"]
            .as_str()
            .unwrap()
            .starts_with("api is DOWN: status 503")
    );
    assert_eq!(sent[1].path, "/discord");
    assert_eq!(sent[1].body["embeds"][0]["title"], "api: down");
    assert_eq!(sent[2].path, "/slack");
    assert!(
        sent[2].body["text"]
            .as_str()
            .unwrap()
            .contains("api is DOWN")
    );
    monitor.stop().await;
}

#[tokio::test]
async fn ntfy_pagerduty_teams_gotify_pushover_and_matrix_get_what_their_apis_require() {
    let server = TargetServer::start(Behaviour::failing()).await;
    let receiver = Receiver::start(&[]).await;
    let alerts = [
        format!(
            "kind = \"ntfy\"\nurl = \"{}\"\ntoken = \"tk_ntfy\"",
            receiver.url("/ntfy/alerts")
        ),
        format!(
            "kind = \"pagerduty\"\nrouting_key = \"R0UT1NG\"\nurl = \"{}\"",
            receiver.url("/v2/enqueue")
        ),
        format!("kind = \"teams\"\nurl = \"{}\"", receiver.url("/teams")),
        format!(
            "kind = \"gotify\"\nurl = \"{}\"\ntoken = \"AgotifyApp\"\npriority = 9",
            receiver.url("/gotify/")
        ),
        format!(
            "kind = \"pushover\"\ntoken = \"apptoken\"\nuser = \"userkey\"\nurl = \"{}\"",
            receiver.url("/1/messages.json")
        ),
        format!(
            "kind = \"matrix\"\nhomeserver = \"{}\"\nroom_id = \"!room:example.org\"\naccess_token = \"syt_bot\"",
            receiver.url("/")
        ),
    ];
    let toml = format!(
        "[monitor]\npublic_url = \"https://status.example.org\"\n{}\n{}",
        target(
            "api",
            &server.url("/health"),
            "failure_threshold = 1\nsuccess_threshold = 1"
        ),
        alerts.map(|a| format!("[[alert]]\n{a}\n")).join(""),
    );
    let monitor = TestMonitor::start(&toml).await;
    let mut down = receiver.wait_for(6).await;
    server.set(Behaviour::healthy());
    let all = receiver.wait_for(12).await;
    let mut resolved = all[6..].to_vec();
    down.sort_by(|a, b| a.path.cmp(&b.path));
    resolved.sort_by(|a, b| a.path.cmp(&b.path));
    let paths: Vec<(&str, &str)> = down
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect();
    assert_eq!(
        paths,
        [
            ("POST", "/1/messages.json"),
            (
                "PUT",
                "/_matrix/client/v3/rooms/!room:example.org/send/m.room.message/health-service-6"
            ),
            ("POST", "/gotify/message"),
            ("POST", "/ntfy/"),
            ("POST", "/teams"),
            ("POST", "/v2/enqueue"),
        ]
    );
    let [pushover, matrix, gotify, ntfy, teams, pagerduty] = &down[..] else {
        unreachable!()
    };
    // Pushover: token and user in the body, the status page as the supplementary URL.
    assert_eq!(pushover.body["token"], "apptoken");
    assert_eq!(pushover.body["user"], "userkey");
    assert_eq!(pushover.body["title"], "api: down");
    assert_eq!(pushover.body["url"], "https://status.example.org/status");
    // Matrix: the bearer token, a notice, and the delivery key (notification 6, the sixth
    // alert's) as the transaction id.
    assert_eq!(
        matrix.credentials,
        [("authorization".to_owned(), "Bearer syt_bot".to_owned())]
    );
    assert_eq!(matrix.body["msgtype"], "m.notice");
    assert!(
        matrix.body["body"]
            .as_str()
            .unwrap()
            .starts_with("api is DOWN: status 503")
    );
    // Gotify: the app token in its header, the configured priority, a click to the page.
    assert_eq!(
        gotify.credentials,
        [("x-gotify-key".to_owned(), "AgotifyApp".to_owned())]
    );
    assert_eq!(gotify.body["priority"], 9);
    assert_eq!(
        gotify.body["extras"]["client::notification"]["click"]["url"],
        "https://status.example.org/status"
    );
    // ntfy: JSON to the server's root naming the topic.
    assert_eq!(
        ntfy.credentials,
        [("authorization".to_owned(), "Bearer tk_ntfy".to_owned())]
    );
    assert_eq!(ntfy.body["topic"], "alerts");
    assert_eq!(ntfy.body["title"], "api: down");
    assert_eq!(ntfy.body["priority"], 4);
    assert_eq!(ntfy.body["tags"], serde_json::json!(["red_circle"]));
    assert_eq!(ntfy.body["click"], "https://status.example.org/status");
    // Teams: one Adaptive Card attachment.
    let card = &teams.body["attachments"][0];
    assert_eq!(
        card["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["content"]["type"], "AdaptiveCard");
    assert_eq!(card["content"]["body"][0]["text"], "api: down");
    assert_eq!(
        card["content"]["actions"][0]["url"],
        "https://status.example.org/status"
    );
    // PagerDuty: a trigger, then a resolve with the same dedup_key.
    assert_eq!(pagerduty.body["routing_key"], "R0UT1NG");
    assert_eq!(pagerduty.body["event_action"], "trigger");
    assert_eq!(pagerduty.body["payload"]["severity"], "critical");
    assert_eq!(
        pagerduty.body["payload"]["source"],
        "health-service monitor"
    );
    let key = pagerduty.body["dedup_key"].as_str().unwrap();
    assert_eq!(key, "health-service/api/incident/1");
    let resolve = resolved.iter().find(|r| r.path == "/v2/enqueue").unwrap();
    assert_eq!(
        resolve.body,
        serde_json::json!({"routing_key": "R0UT1NG", "event_action": "resolve", "dedup_key": key})
    );
    // Matrix: the resolution is a transaction of its own.
    let matrix_resolved = resolved.iter().find(|r| r.method == "PUT").unwrap();
    assert_eq!(
        matrix_resolved.path,
        "/_matrix/client/v3/rooms/!room:example.org/send/m.room.message/health-service-12"
    );
    monitor.stop().await;
}
