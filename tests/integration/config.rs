//! Configuration errors and the CLI, through the real binary.

use std::process::Stdio;

use crate::helpers::{PATIENCE, command};

/// Runs the binary with `env` and `args`; returns (exit code, stdout, stderr).
pub async fn run(env: &[(&str, &str)], args: &[&str]) -> (Option<i32>, String, String) {
    let output = tokio::time::timeout(
        PATIENCE,
        command(env)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output(),
    )
    .await
    .expect("the binary exits within PATIENCE")
    .expect("the binary runs");
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("UTF-8 output");
    (
        output.status.code(),
        text(output.stdout),
        text(output.stderr),
    )
}

/// Asserts a start-up failure: non-zero exit, one line on stderr containing every `needle`.
async fn assert_rejected(env: &[(&str, &str)], needles: &[&str]) {
    let (code, _, stderr) = run(env, &[]).await;
    assert_eq!(code, Some(1), "exit code for {env:?}; stderr: {stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "one line for {env:?}: {stderr:?}"
    );
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{env:?}: {needle:?} not in {stderr:?}"
        );
    }
    for forbidden in ["panicked", "backtrace", "RUST_BACKTRACE"] {
        assert!(!stderr.contains(forbidden), "{env:?}: {stderr:?}");
    }
}

#[tokio::test]
async fn bad_values_name_the_variable_and_the_accepted_form() {
    assert_rejected(&[("PORT", "abc")], &["PORT", "\"abc\"", "0 to 65535"]).await;
    assert_rejected(&[("PORT", "70000")], &["PORT", "0 to 65535"]).await;
    assert_rejected(&[("METRICS_PORT", "-1")], &["METRICS_PORT", "0 to 65535"]).await;
    assert_rejected(&[("HOST", "localhost:80")], &["HOST", "IP address"]).await;
    assert_rejected(
        &[("DRAIN_DELAY", "soon")],
        &["DRAIN_DELAY", "\"soon\"", "duration such as"],
    )
    .await;
    assert_rejected(
        &[("SHUTDOWN_GRACE", "5")],
        &["SHUTDOWN_GRACE", "duration such as"],
    )
    .await;
    assert_rejected(
        &[("HEADER_TIMEOUT", "0s")],
        &["HEADER_TIMEOUT", "above zero"],
    )
    .await;
    assert_rejected(&[("LOG_FORMAT", "xml")], &["LOG_FORMAT", "json", "pretty"]).await;
    assert_rejected(
        &[("RUST_LOG", "health_service=loud")],
        &["RUST_LOG", "tracing filter"],
    )
    .await;
}

#[tokio::test]
async fn a_port_in_use_is_one_line_naming_port() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    assert_rejected(
        &[("HOST", "127.0.0.1"), ("PORT", &port)],
        &["cannot listen on 127.0.0.1:", "PORT", "in use"],
    )
    .await;
}

#[tokio::test]
async fn help_lists_every_variable() {
    let (code, stdout, _) = run(&[], &["--help"]).await;
    assert_eq!(code, Some(0));
    for variable in [
        "HOST",
        "PORT",
        "METRICS_PORT",
        "HEALTH_NAMA",
        "HEALTH_NRP",
        "LOG_FORMAT",
        "RUST_LOG",
        "DRAIN_DELAY",
        "SHUTDOWN_GRACE",
        "HEADER_TIMEOUT",
    ] {
        assert!(
            stdout.contains(&format!("[env: {variable}=")),
            "--help lists {variable}:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("healthcheck"),
        "--help lists the healthcheck command"
    );
}

#[tokio::test]
async fn version_prints_the_crate_version() {
    let (code, stdout, _) = run(&[], &["--version"]).await;
    assert_eq!(code, Some(0));
    assert_eq!(
        stdout.trim(),
        format!("health-service {}", env!("CARGO_PKG_VERSION"))
    );
}

#[tokio::test]
async fn unknown_flag_is_one_line() {
    let (code, _, stderr) = run(&[], &["--prot", "80"]).await;
    assert_eq!(code, Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(
        stderr.contains("--prot") && stderr.contains("--help"),
        "{stderr:?}"
    );
}
