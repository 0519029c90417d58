//! `monitor --check` and the monitor's start-up errors, through the real binary.

use crate::config::run;

fn write(dir: &tempfile::TempDir, text: &str) -> String {
    let path = dir.path().join("monitor.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn check_accepts_a_valid_file_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "[[target]]\nname = \"api\"\nurl = \"https://a.example/health\"\n[[alert]]\nkind = \"webhook\"\nurl = \"${HOOK}\"\n",
    );
    let data = dir.path().join("data");
    let (code, stdout, stderr) = run(
        &[("HOOK", "https://hooks.example/x")],
        &[
            "monitor",
            "--config",
            &path,
            "--check",
            "--data-dir",
            data.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    // One target every 60 s for 90 days: 129,600 results of 320 bytes, and 139 aggregate rows
    // of at most 64: 41,480,896 bytes.
    assert_eq!(
        stdout,
        format!(
            "{path}: valid: 1 targets, 1 alerts\n\
             {path}: the store will hold about 39.6 MiB (320 bytes a result, 90 days of results kept)\n"
        )
    );
    assert_eq!(stderr, "");
}

#[tokio::test]
async fn check_warns_in_one_line_about_a_shown_url_with_credentials_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "[[target]]\nname = \"api\"\nurl = \"https://user:${PASS}@a.example/health?token=${TOKEN}\"\nshow_url = true\n[[target]]\nname = \"plain\"\nurl = \"https://a.example/\"\nshow_url = true\n[[target]]\nname = \"hidden\"\nurl = \"https://user:${PASS}@a.example/\"\n",
    );
    let data = dir.path().join("data");
    let (code, stdout, stderr) = run(
        &[("PASS", "p4ssw0rd"), ("TOKEN", "t0k3nvalue")],
        &[
            "monitor",
            "--config",
            &path,
            "--check",
            "--data-dir",
            data.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "{path}: valid: 3 targets, 0 alerts\n\
             {path}: the store will hold about 118.8 MiB (320 bytes a result, 90 days of results kept)\n"
        )
    );
    assert_eq!(
        stderr,
        format!(
            "{path}: warning: target \"api\": show_url: the URL's user info and query are never \
             shown; the page and API show https://a.example/health\n"
        )
    );
}

#[tokio::test]
async fn check_warns_when_the_store_would_outgrow_max_store_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "[monitor]\nmax_store_size = \"8MiB\"\nretention = \"30d\"\n[[target]]\nname = \"api\"\nurl = \"https://a.example/health\"\ninterval = \"30s\"\n",
    );
    let data = dir.path().join("data");
    let (code, stdout, stderr) = run(
        &[],
        &[
            "monitor",
            "--config",
            &path,
            "--check",
            "--data-dir",
            data.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code, Some(0), "a warning, not an error: {stderr}");
    // 86,400 results of 320 bytes and 139 aggregate rows: 27,656,896 bytes.
    assert!(
        stdout.contains("the store will hold about 26.4 MiB (320 bytes a result, 30 days"),
        "{stdout}"
    );
    assert_eq!(
        stderr,
        format!(
            "{path}: warning: that is more than max_store_size (8.0 MiB): the oldest raw results \
             will be pruned before retention would prune them\n"
        )
    );
}

#[tokio::test]
async fn check_prints_one_line_per_problem_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "[[target]]\nname = \"api\"\nurl = \"https://a.example/health\"\ninterval = \"often\"\nconditions = [\"[STATUS] 200\"]\n[[alert]]\nkind = \"webhook\"\nurl = \"${HOOK}\"\n",
    );
    // MONITOR_CONFIG works as well as --config.
    let (code, stdout, stderr) = run(&[("MONITOR_CONFIG", &path)], &["monitor", "--check"]).await;
    assert_eq!(code, Some(1));
    assert_eq!(stdout, "");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(
        lines.iter().all(|l| l.starts_with(&format!("{path}: "))),
        "{stderr}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("alert #1: url: environment variable HOOK is not set")),
        "{stderr}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("target \"api\": interval: \"often\"")),
        "{stderr}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("target \"api\": conditions[0]: ")),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[tokio::test]
async fn a_missing_file_or_flag_is_one_line() {
    let (code, _, stderr) = run(
        &[],
        &["monitor", "--config", "/nonexistent/m.toml", "--check"],
    )
    .await;
    assert_eq!(code, Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("cannot read /nonexistent/m.toml"),
        "{stderr}"
    );

    let (code, _, stderr) = run(&[], &["monitor"]).await;
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr,
        "error: MONITOR_CONFIG (--config) is required; see --help for the accepted flags and variables\n"
    );
}

#[tokio::test]
async fn a_store_of_another_format_version_stops_start_up_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "[[target]]\nname = \"api\"\nurl = \"http://127.0.0.1:1/\"\n",
    );
    let data = dir.path().join("data");
    // A file that is not a store at all.
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("monitor.redb"), b"garbage").unwrap();
    let (code, _, stderr) = run(
        &[
            ("PORT", "0"),
            ("METRICS_PORT", "0"),
            ("HOST", "127.0.0.1"),
            ("MONITOR_DATA_DIR", data.to_str().unwrap()),
        ],
        &["monitor", "--config", &path],
    )
    .await;
    assert_eq!(code, Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: cannot open the store "),
        "{stderr}"
    );
}

#[tokio::test]
async fn check_refuses_a_location_named_as_the_monitor_itself() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "[[target]]\nname = \"api\"\nurl = \"https://a.example/health\"\n[[location]]\nname = \"ams\"\nurl = \"http://ams.internal:8080\"\ntoken = \"${AGENT_TOKEN}\"\n",
    );
    let token = ("AGENT_TOKEN", "0123456789abcdef0123456789abcdef");
    // FLY_REGION is the default location; MONITOR_LOCATION wins over it.
    let (code, _, stderr) = run(
        &[token, ("FLY_REGION", "ams")],
        &["monitor", "--config", &path, "--check"],
    )
    .await;
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr,
        format!(
            "{path}: location \"ams\": name: is this monitor's own location (--location / \
             MONITOR_LOCATION / FLY_REGION); a [[location]] names an agent elsewhere\n"
        )
    );
    let (code, stdout, stderr) = run(
        &[token, ("FLY_REGION", "ams"), ("MONITOR_LOCATION", "nrt")],
        &["monitor", "--config", &path, "--check"],
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.starts_with(&format!("{path}: valid: 1 targets, 0 alerts\n")),
        "{stdout}"
    );
    let (code, _, stderr) = run(
        &[token, ("MONITOR_LOCATION", "Tokyo")],
        &["monitor", "--config", &path, "--check"],
    )
    .await;
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr,
        "error: invalid MONITOR_LOCATION (--location) value \"Tokyo\": expected 1 to 32 characters of a-z, 0-9 and - such as nrt or home-lab\n"
    );
}
