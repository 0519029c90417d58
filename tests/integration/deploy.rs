//! The deployment files held against each other and against the code.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use health_service::config::{DEFAULT_METRICS_PORT, DEFAULT_PORT};
use health_service::shutdown::HANDLED;
use serde_json::Value;

use crate::helpers::{client, spawn_app, spawn_binary};

fn repo_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

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

fn fly_toml() -> toml::Table {
    repo_file("fly.toml").parse().expect("fly.toml is TOML")
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
    let fly = fly_toml();
    let signal = fly["kill_signal"].as_str().unwrap();
    assert!(
        HANDLED.contains(&signal),
        "{signal} is not one of {HANDLED:?}"
    );

    let env: std::collections::HashMap<_, _> = fly_env(&fly).into_iter().collect();
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
        let mut request = client().request(
            method.parse().unwrap(),
            format!("http://{}{path}", binary.addr),
        );
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
