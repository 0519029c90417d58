//! The deployment files held against each other and against the code: fly.toml against the
//! service, fly.monitor.toml against the binary in monitor mode. flyctl.rs holds both against
//! flyctl's own rules.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use health_service::config::{DEFAULT_METRICS_PORT, DEFAULT_PORT};
use health_service::shutdown::HANDLED;
use serde_json::Value;

use crate::helpers::{
    client, free_port, repo_file, repo_path, spawn_app, spawn_binary, spawn_binary_with,
};

/// flake.nix's `inputs`, evaluated by Nix itself rather than parsed by hand.
fn flake_inputs() -> Value {
    let output = Command::new("nix-instantiate")
        .args([
            "--eval",
            "--strict",
            "--json",
            "--expr",
            "(import ./flake.nix).inputs",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("nix-instantiate runs (Debian: nix-bin)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON from nix-instantiate")
}

/// `github:owner/repo[/ref]` as a lock file's `original` entry.
fn original_of(url: &str) -> Value {
    let path = url
        .strip_prefix("github:")
        .unwrap_or_else(|| panic!("only github: inputs are expected: {url}"));
    let parts: Vec<&str> = path.split('/').collect();
    let mut original = serde_json::json!({ "type": "github", "owner": parts[0], "repo": parts[1] });
    if let Some(reference) = parts.get(2) {
        original["ref"] = Value::from(*reference);
    }
    original
}

#[test]
#[ignore = "needs nix-instantiate and ../shared/nix/inputs.json: run by .ci/run"]
fn flake_lock_matches_the_flake_inputs_and_the_verified_pins() {
    let lock: Value = serde_json::from_str(&repo_file("flake.lock")).unwrap();
    let inputs = flake_inputs();
    let verified_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/nix/inputs.json");
    let verified: Value =
        serde_json::from_str(&std::fs::read_to_string(verified_path).unwrap()).unwrap();

    assert_eq!(lock["version"], 7);
    let root = &lock["nodes"][lock["root"].as_str().unwrap()];
    let mut root_inputs: Vec<&String> = root["inputs"].as_object().unwrap().keys().collect();
    let mut flake_names: Vec<&String> = inputs.as_object().unwrap().keys().collect();
    root_inputs.sort();
    flake_names.sort();
    assert_eq!(
        root_inputs, flake_names,
        "every flake input has a lock node, and no other"
    );

    for (name, input) in inputs.as_object().unwrap() {
        let node_name = root["inputs"][name].as_str().unwrap();
        let node = &lock["nodes"][node_name];
        let pin = &verified["inputs"][name];
        assert_eq!(
            node["original"],
            original_of(input["url"].as_str().unwrap()),
            "{name}: original is the flake URL"
        );
        assert_eq!(node["original"], pin["original"], "{name}: original");
        assert_eq!(
            node["locked"], pin["locked"],
            "{name}: rev, narHash and lastModified are the verified ones"
        );
        let flake = input.get("flake").and_then(Value::as_bool).unwrap_or(true);
        assert_eq!(
            node.get("flake").and_then(Value::as_bool).unwrap_or(true),
            flake,
            "{name}: flake = false"
        );
        // Every `follows` in flake.nix is recorded as a path from the root.
        let follows = input.get("inputs").and_then(Value::as_object);
        for (dep, spec) in follows.into_iter().flatten() {
            let target = spec["follows"].as_str().unwrap();
            assert_eq!(
                node["inputs"][dep],
                serde_json::json!([target]),
                "{name}.{dep} follows {target}"
            );
        }
        let rev = node["locked"]["rev"].as_str().unwrap();
        assert!(
            rev.len() == 40 && rev.chars().all(|c| c.is_ascii_hexdigit()),
            "{name}: full rev"
        );
        assert!(
            node["locked"]["narHash"]
                .as_str()
                .unwrap()
                .starts_with("sha256-"),
            "{name}: narHash"
        );
    }
}

/// A Fly config of the repository (fly.toml, fly.monitor.toml), parsed.
fn fly_config(name: &str) -> toml::Table {
    repo_file(name)
        .parse()
        .unwrap_or_else(|e| panic!("{name} is not TOML: {e}"))
}

fn fly_toml() -> toml::Table {
    fly_config("fly.toml")
}

fn fly_monitor_toml() -> toml::Table {
    fly_config("fly.monitor.toml")
}

/// A fly.toml duration: a number of seconds or a string such as "20s".
fn fly_duration(value: &toml::Value) -> Duration {
    match value {
        toml::Value::Integer(seconds) => Duration::from_secs(u64::try_from(*seconds).unwrap()),
        toml::Value::String(text) => humantime::parse_duration(text).unwrap(),
        other => panic!("not a duration: {other}"),
    }
}

/// fly.toml's [env], as (name, value) pairs.
fn fly_env(fly: &toml::Table) -> Vec<(String, String)> {
    fly["env"]
        .as_table()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn fly_routes_to_the_default_port_and_keeps_a_machine_running() {
    let fly = fly_toml();
    let service = &fly["http_service"];
    assert_eq!(
        service["internal_port"].as_integer(),
        Some(i64::from(DEFAULT_PORT))
    );
    assert_eq!(service["force_https"].as_bool(), Some(true));
    assert_eq!(
        service["auto_stop_machines"].as_str(),
        Some("off"),
        "no sleeping like the prototype's host"
    );
    assert!(service["min_machines_running"].as_integer().unwrap() >= 1);
    assert_eq!(service["concurrency"]["type"].as_str(), Some("requests"));
}

#[test]
fn fly_kill_settings_fit_the_shutdown_sequence() {
    assert_kill_settings_fit(&fly_toml());
}

/// `kill_signal` starts the graceful shutdown and `kill_timeout` outlasts it.
fn assert_kill_settings_fit(fly: &toml::Table) {
    let signal = fly["kill_signal"].as_str().unwrap();
    assert!(
        HANDLED.contains(&signal),
        "{signal} is not one of {HANDLED:?}"
    );

    let env: std::collections::HashMap<_, _> = fly_env(fly).into_iter().collect();
    let setting = |name: &str, default: &str| {
        humantime::parse_duration(env.get(name).map_or(default, String::as_str)).unwrap()
    };
    let drain = setting("DRAIN_DELAY", "0s");
    let grace = setting("SHUTDOWN_GRACE", "10s");
    let kill_timeout = fly_duration(&fly["kill_timeout"]);
    assert!(
        kill_timeout > drain + grace,
        "kill_timeout {kill_timeout:?} <= drain {drain:?} + grace {grace:?}"
    );
}

#[tokio::test]
async fn fly_checks_pass_against_the_service_configured_by_fly_env() {
    let fly = fly_toml();
    let env = fly_env(&fly);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // The binary accepts every value of [env]; it would exit at start-up otherwise.
    let binary = spawn_binary(&env).await;
    assert_checks_pass(&fly, binary.addr).await;
}

/// Every `[[http_service.checks]]` of `fly`, sent with its method and headers to `addr` in plain
/// HTTP, answers 2xx.
async fn assert_checks_pass(fly: &toml::Table, addr: std::net::SocketAddr) {
    let checks = fly["http_service"]["checks"]
        .as_array()
        .expect("[[http_service.checks]]");
    assert!(!checks.is_empty());
    for check in checks {
        let method = check
            .get("method")
            .and_then(toml::Value::as_str)
            .unwrap_or("GET");
        let path = check["path"].as_str().unwrap();
        let mut request = client().request(method.parse().unwrap(), format!("http://{addr}{path}"));
        let headers = check.get("headers").and_then(toml::Value::as_table);
        for (name, value) in headers.into_iter().flatten() {
            request = request.header(name, value.as_str().unwrap());
        }
        let status = request.send().await.unwrap().status();
        assert!(status.is_success(), "{method} {path} answered {status}");
        assert_eq!(
            check
                .get("protocol")
                .and_then(toml::Value::as_str)
                .unwrap_or("http"),
            "http",
            "{path}: Fly sends the check straight to internal_port, where the service speaks plain HTTP"
        );
    }
}

#[tokio::test]
async fn fly_scrapes_the_metrics_port_and_path() {
    let fly = fly_toml();
    assert_eq!(
        fly["metrics"]["port"].as_integer(),
        Some(i64::from(DEFAULT_METRICS_PORT))
    );
    let app = spawn_app(&[]).await;
    let path = fly["metrics"]["path"].as_str().unwrap();
    let response = client()
        .get(format!("http://{}{path}", app.metrics_addr))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("build_info{"));
}

// fly.monitor.toml: the same image as a second app, started as `health-service monitor`.

/// The monitor's process command (`[processes] app`), as the binary's arguments: the image's
/// entrypoint is the binary, and a process group's command takes the place of the image's CMD.
fn monitor_command(fly: &toml::Table) -> Vec<String> {
    let processes = fly["processes"].as_table().expect("[processes]");
    assert_eq!(
        processes.keys().collect::<Vec<_>>(),
        ["agent", "app"],
        "the monitor (app) and its agents"
    );
    command_args(processes["app"].as_str().unwrap())
}

/// A process group's command as the binary's arguments.
fn command_args(command: &str) -> Vec<String> {
    // flyctl splits the command as a shell would; without quotes, escapes or variables that is a
    // split on whitespace.
    assert!(
        !command.contains(['"', '\'', '\\', '$']),
        "keep the command free of shell syntax: {command}"
    );
    command.split_whitespace().map(str::to_owned).collect()
}

/// Where in `command` the monitor's file is named: the index of the value of `--config`.
fn config_index(command: &[String]) -> usize {
    let flag = command
        .iter()
        .position(|arg| arg == "--config")
        .unwrap_or_else(|| panic!("no --config in {command:?}"));
    assert!(flag + 1 < command.len(), "no path after --config");
    flag + 1
}

/// The one `[[mounts]]` of `fly`.
fn only_mount(fly: &toml::Table) -> &toml::Table {
    let mounts = fly["mounts"].as_array().expect("[[mounts]]");
    assert_eq!(
        mounts.len(),
        1,
        "one volume: it belongs to one machine, and one monitor alerts once"
    );
    mounts[0].as_table().unwrap()
}

#[test]
fn fly_monitor_places_monitor_toml_where_its_command_reads_it() {
    let fly = fly_monitor_toml();
    let command = monitor_command(&fly);
    assert_eq!(command[0], "monitor", "{command:?}");
    let config = command[config_index(&command)].as_str();
    assert!(Path::new(config).is_absolute(), "{config}");
    let files = fly["files"].as_array().expect("[[files]]");
    let placed = files
        .iter()
        .find(|file| file["guest_path"].as_str() == Some(config))
        .unwrap_or_else(|| panic!("no [[files]] has guest_path {config}"));
    // flyctl reads local_path from the directory it runs in: deploy.yml runs it from the root.
    assert_eq!(placed["local_path"].as_str(), Some("monitor.toml"));
}

#[test]
fn fly_monitor_keeps_its_store_on_one_volume_on_one_machine_always_running() {
    let fly = fly_monitor_toml();
    let mount = only_mount(&fly);
    let env: std::collections::HashMap<_, _> = fly_env(&fly).into_iter().collect();
    assert_eq!(
        env.get("MONITOR_DATA_DIR").map(String::as_str),
        mount["destination"].as_str(),
        "the store lives on the volume"
    );
    // One machine with a volume: bluegreen would start a second machine beside it and switch to
    // that, and the volume attaches to one machine only. (flyctl refuses canary with mounts.)
    assert_eq!(
        fly["deploy"]["strategy"].as_str(),
        Some("rolling"),
        "nothing to switch to: the one machine is updated in place"
    );
    let service = &fly["http_service"];
    assert_eq!(
        service["internal_port"].as_integer(),
        Some(i64::from(DEFAULT_PORT))
    );
    assert_eq!(service["auto_stop_machines"].as_str(), Some("off"));
    assert_eq!(service["min_machines_running"].as_integer(), Some(1));
}

#[test]
fn fly_monitor_watches_the_service_from_another_region_with_the_same_image() {
    let (service, monitor) = (fly_toml(), fly_monitor_toml());
    assert_ne!(
        monitor["primary_region"].as_str().unwrap(),
        service["primary_region"].as_str().unwrap(),
        "a monitor in the service's region shares its outages"
    );
    assert_eq!(monitor["build"]["image"], service["build"]["image"]);

    // monitor.toml links to this app and watches that one.
    let watching: toml::Table = repo_file("monitor.toml").parse().unwrap();
    let app_url = |fly: &toml::Table| format!("https://{}.fly.dev", fly["app"].as_str().unwrap());
    assert_eq!(
        watching["monitor"]["public_url"].as_str(),
        Some(app_url(&monitor).as_str())
    );
    for target in watching["target"].as_array().unwrap() {
        let url = target["url"].as_str().unwrap();
        assert!(url.starts_with(&format!("{}/", app_url(&service))), "{url}");
    }
}

#[test]
fn fly_monitor_kill_settings_fit_the_shutdown_sequence() {
    assert_kill_settings_fit(&fly_monitor_toml());
}

#[tokio::test]
async fn fly_monitor_checks_and_metrics_pass_against_the_binary_in_monitor_mode() {
    let fly = fly_monitor_toml();
    assert_eq!(
        fly["metrics"]["port"].as_integer(),
        Some(i64::from(DEFAULT_METRICS_PORT))
    );
    // The volume's path and the config path of the machine, here a temporary directory and the
    // committed monitor.toml (which the other tests tie to the mount and to [[files]]).
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap();
    let mut command = monitor_command(&fly);
    let config = config_index(&command);
    command[config] = repo_path("monitor.toml").to_str().unwrap().to_owned();
    let metrics_port = free_port().to_string();

    let mut env = fly_env(&fly);
    let data_setting = env
        .iter_mut()
        .find(|(name, _)| name == "MONITOR_DATA_DIR")
        .expect("[env] sets MONITOR_DATA_DIR");
    data_setting.1 = data_dir.to_owned();
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.extend([
        ("METRICS_PORT", metrics_port.as_str()),
        // The secret monitor.toml reads: a local port where nothing listens.
        ("ALERT_WEBHOOK_URL", "http://127.0.0.1:1/hook"),
        // The agents' token: their private addresses do not resolve here, so they cast no vote.
        ("AGENT_TOKEN", "test-agent-token-0123456789abcdef01"),
        ("FLY_REGION", "nrt"),
        // monitor.toml's targets are the public service: send their probes to the same dead
        // port, so they fail at once and nothing here depends on the network.
        ("HTTPS_PROXY", "http://127.0.0.1:1"),
    ]);
    let args: Vec<&str> = command.iter().map(String::as_str).collect();
    // The binary accepts [env], the command and monitor.toml; it would exit at start-up otherwise.
    let binary = spawn_binary_with(&env, &args).await;

    assert_checks_pass(&fly, binary.addr).await;
    let path = fly["metrics"]["path"].as_str().unwrap();
    let response = client()
        .get(format!("http://127.0.0.1:{metrics_port}{path}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("build_info{"));
    assert!(
        data.path()
            .join(health_service::monitor::store::FILE_NAME)
            .is_file(),
        "the store is created in MONITOR_DATA_DIR"
    );
}

#[tokio::test]
async fn fly_monitor_agents_start_from_their_command_on_ipv6_and_pass_their_check() {
    let fly = fly_monitor_toml();
    let command = command_args(fly["processes"]["agent"].as_str().unwrap());
    assert!(command.contains(&"agent".to_owned()), "{command:?}");
    let check = fly["checks"]["agent"].as_table().expect("[checks.agent]");
    assert_eq!(
        check["processes"].as_array().unwrap(),
        &[toml::Value::from("agent")]
    );
    assert_eq!(
        check["port"].as_integer(),
        Some(i64::from(DEFAULT_PORT)),
        "the agent listens on the default PORT"
    );
    // [env] with the app secret the agents read; PORT 0 here instead of the default.
    let env = fly_env(&fly);
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.extend([
        ("AGENT_TOKEN", "test-agent-token-0123456789abcdef01"),
        ("FLY_REGION", "ams"),
    ]);
    let args: Vec<&str> = command.iter().map(String::as_str).collect();
    let agent = spawn_binary_with(&env, &args).await;
    // Fly's private network is IPv6: the command makes it listen on `::`.
    assert!(
        agent.addr.ip().is_unspecified() && agent.addr.is_ipv6(),
        "{}",
        agent.addr
    );
    let path = check["path"].as_str().unwrap();
    let status = client()
        .get(format!("http://[::1]:{}{path}", agent.addr.port()))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200, "{path}");
}
