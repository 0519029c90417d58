//! The real binary with its store on a small filesystem: a tmpfs this test mounts (it needs root,
//! as CI has; otherwise each test says why it is skipped and passes).
//!
//! A full disk makes the monitor loud (unready, `/health` failing with the store's error, the page
//! and the API stale, one direct message to every alert) while it still alerts on targets, and
//! it recovers by itself once space is back; `max_store_size` below the filesystem keeps the store
//! from ever filling it.

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use health_service::monitor::store::{Batch, ResultRecord, Store, TargetState, millis};

use super::{Behaviour, Receiver, TargetServer, target};
use crate::helpers::{Binary, PATIENCE, client, free_port, spawn_binary_with};

/// A tmpfs of a given size mounted on a temporary directory; unmounted when dropped.
struct SmallFs {
    dir: tempfile::TempDir,
}

impl SmallFs {
    /// Mounts one of `size` (`mount`'s syntax, `3m`), or says why it cannot and returns `None`.
    fn mount(test: &str, size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match output {
            Ok(output) if output.status.success() => Some(Self { dir }),
            Ok(output) => {
                eprintln!(
                    "skipped {test}: cannot mount a tmpfs (needs root): {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
                None
            }
            Err(err) => {
                eprintln!("skipped {test}: cannot run mount: {err}");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Grows (or shrinks) it in place, as an operator would: `mount -o remount,size=...`.
    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(self.path())
            .status()
            .unwrap();
        assert!(status.success(), "remount to {size}");
    }

    /// Writes a file of zeros until the filesystem is full.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0_u8; 4096];
        // Bounded: a tmpfs of this test is a few MB.
        for _ in 0..100_000 {
            if file
                .write_all(&chunk)
                .and_then(|()| file.sync_all())
                .is_err()
            {
                return path;
            }
        }
        panic!("the filesystem never filled");
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        // Lazily: the monitor may still be exiting with its store open.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// The running binary, its log drained in the background (so that a chatty failure never
/// blocks it on a full pipe).
struct Monitor {
    child: tokio::process::Child,
    addr: std::net::SocketAddr,
    metrics_addr: Option<std::net::SocketAddr>,
}

/// Starts the monitor on `config` with its store in `data`.
async fn start(config: &Path, data: &Path) -> Monitor {
    let Binary {
        child,
        addr,
        metrics_addr,
        mut logs,
        ..
    } = spawn_binary_with(
        &[
            ("MONITOR_DATA_DIR", data.to_str().unwrap()),
            ("RUST_LOG", "warn,health_service=info"),
            ("METRICS_PORT", &free_port().to_string()),
        ],
        &["monitor", "--config", config.to_str().unwrap()],
    )
    .await;
    // The store's own lines go to the test's output, shown when it fails.
    tokio::spawn(async move {
        while let Ok(Some(line)) = logs.next_line().await {
            if line.contains("store") {
                eprintln!("{line}");
            }
        }
    });
    Monitor {
        child,
        addr,
        metrics_addr,
    }
}

/// Status code and body of `GET path`, with `accept` if given.
async fn get(binary: &Monitor, path: &str, accept: Option<&str>) -> (u16, String) {
    let mut request = client().get(format!("http://{}{path}", binary.addr));
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.unwrap();
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

/// The value of the metric `name` (no labels) in a scrape.
async fn metric(binary: &Monitor, name: &str) -> f64 {
    let addr = binary.metrics_addr.expect("the metrics listener is on");
    let text = client()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} not in the scrape"))
}

/// Polls `check` every 100 ms until it holds; fails after a bound, naming `what`.
async fn eventually<F: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let give_up = tokio::time::Instant::now() + PATIENCE * 3;
    while !check().await {
        assert!(tokio::time::Instant::now() < give_up, "never: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `event` of each delivered webhook body.
fn events(receiver: &Receiver) -> Vec<String> {
    receiver.events()
}

#[tokio::test]
async fn a_full_disk_is_loud_still_alerts_and_recovers_without_a_restart() {
    let test = "a_full_disk_is_loud_still_alerts_and_recovers_without_a_restart";
    let Some(fs) = SmallFs::mount(test, "3m") else {
        return;
    };
    let api = TargetServer::start(Behaviour::healthy()).await;
    let web = TargetServer::start(Behaviour::healthy()).await;
    let receiver = Receiver::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("monitor.toml");
    let thresholds = "failure_threshold = 1\nsuccess_threshold = 1";
    // Thirty more targets, so that results fill whatever free pages the store file still has
    // within seconds once the filesystem is full (redb writes into those before it grows).
    let more: String = (0..30)
        .map(|i| target(&format!("more-{i}"), &api.url("/health"), ""))
        .collect();
    std::fs::write(
        &config,
        format!(
            "{}{}{more}[[alert]]\nkind = \"webhook\"\nurl = \"{}\"\n",
            target("api", &api.url("/health"), thresholds),
            target("web", &web.url("/health"), thresholds),
            receiver.url("/hook")
        ),
    )
    .unwrap();
    let mut binary = start(&config, &fs.path().join("data")).await;
    eventually("every target up", || async {
        let (_, body) = get(&binary, "/api/v1/status", None).await;
        body.matches("\"state\":\"up\"").count() == 32
    })
    .await;
    assert_eq!(get(&binary, "/readyz", None).await.0, 200);
    let (status, health) = get(&binary, "/health", Some("application/health+json")).await;
    assert_eq!(status, 200, "{health}");
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["checks"]["monitor:store"][0]["status"], "pass");

    let filler = fs.fill();
    eventually("/readyz 503 once the disk is full", || async {
        get(&binary, "/readyz", None).await.0 == 503
    })
    .await;
    let (status, health) = get(&binary, "/health", Some("application/health+json")).await;
    assert_eq!(status, 503, "{health}");
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "fail");
    let store = &health["checks"]["monitor:store"][0];
    assert_eq!(store["status"], "fail", "{health}");
    assert_eq!(store["componentType"], "datastore");
    let output = store["output"].as_str().unwrap();
    assert!(output.contains("No space left on device"), "{output}");
    assert_eq!(get(&binary, "/health", None).await.0, 503);

    let (status, page) = get(&binary, "/status", None).await;
    assert_eq!(status, 200);
    assert!(page.contains("Data stale since "), "{page}");
    assert!(page.contains("No space left on device"), "{page}");
    let (_, report) = get(&binary, "/api/v1/status", None).await;
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert!(report["stale_since"].is_string(), "{report}");
    assert!(
        report["store_error"]
            .as_str()
            .unwrap()
            .contains("No space left on device"),
        "{report}"
    );
    assert_eq!(metric(&binary, "monitor_store_up").await, 0.0);
    assert!(metric(&binary, "monitor_store_commit_errors_total").await >= 1.0);

    let degraded = receiver.wait_for(1).await;
    assert_eq!(degraded[0].body["event"], "monitor_degraded");
    assert_eq!(degraded[0].body["target"], serde_json::Value::Null);
    assert_eq!(degraded[0].body["recorded"], false);
    let cause = degraded[0].body["cause"].as_str().unwrap();
    assert!(cause.contains("No space left on device"), "{cause}");

    // A target that goes down meanwhile is still alerted, marked as sent without a record.
    web.set(Behaviour::failing());
    let both = receiver.wait_for(2).await;
    assert_eq!(both[1].body["event"], "down", "{:?}", both[1].body);
    assert_eq!(both[1].body["target"], "web");
    assert_eq!(both[1].body["recorded"], false);

    // Space comes back: the filesystem grows, as an operator would grow a volume.
    fs.resize("16m");
    eventually("/readyz 200 once space is back", || async {
        get(&binary, "/readyz", None).await.0 == 200
    })
    .await;
    eventually("one recovery message", || async {
        events(&receiver).contains(&"monitor_recovered".to_owned())
    })
    .await;
    assert!(
        binary.child.try_wait().unwrap().is_none(),
        "the same process, never restarted"
    );
    assert_eq!(metric(&binary, "monitor_store_up").await, 1.0);
    let last_commit = metric(&binary, "monitor_last_commit_timestamp_seconds").await;
    #[allow(clippy::cast_precision_loss)]
    let now = millis(std::time::SystemTime::now()) as f64 / 1000.0;
    assert!(
        now - last_commit < 5.0,
        "last commit {last_commit}, now {now}"
    );
    let (_, report) = get(&binary, "/api/v1/status", None).await;
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["stale_since"], serde_json::Value::Null, "{report}");
    assert_eq!(report["targets"][1]["state"], "down", "{report}");
    // The incident that opened meanwhile was held and is recorded now.
    let (_, incidents) = get(&binary, "/api/v1/incidents", None).await;
    assert!(incidents.contains("\"target\":\"web\""), "{incidents}");
    let (_, page) = get(&binary, "/status", None).await;
    assert!(!page.contains("Data stale since "), "{page}");

    // Commits go on (two more results of web are in the store); nothing more about the
    // monitor itself is sent.
    let results = || async {
        let (_, body) = get(&binary, "/api/v1/targets/web/results?limit=1000", None).await;
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        body["results"].as_array().map_or(0, Vec::len)
    };
    let committed = results().await;
    eventually("two more commits", || async {
        results().await >= committed + 2
    })
    .await;
    let about_monitor: Vec<String> = events(&receiver)
        .into_iter()
        .filter(|e| e.starts_with("monitor_"))
        .collect();
    assert_eq!(about_monitor, ["monitor_degraded", "monitor_recovered"]);
    drop(filler);
}

/// Commits `count` results of `target`, a second apart, the last `skip` seconds before now,
/// with the target's state.
fn prefill(store: &Store, target: &str, skip: u64, count: u64) {
    let now = millis(std::time::SystemTime::now()) - skip * 1000;
    let mut batch = Batch::default();
    batch
        .states
        .insert(target.to_owned(), TargetState::default());
    for i in 0..count {
        batch.results.push((
            target.to_owned(),
            ResultRecord {
                at_ms: now - (count - i) * 1000,
                ok: true,
                status_code: Some(200),
                response_time_ms: 20,
                error: None,
                votes: Vec::new(),
            },
        ));
    }
    store.commit(&batch).unwrap();
}

#[tokio::test]
async fn max_store_size_below_the_filesystem_stops_the_store_growing_and_commits_never_fail() {
    let test = "max_store_size_below_the_filesystem_stops_the_store_growing_and_commits_never_fail";
    let Some(fs) = SmallFs::mount(test, "12m") else {
        return;
    };
    const MAX: u64 = 4 * 1024 * 1024;
    let data = fs.path().join("data");
    {
        // At the limit when the monitor starts, as after weeks of probing (redb doubles its file
        // as it grows, so it may even be past it: a limit set lower than the store).
        let store = Store::open(&data).unwrap();
        let mut skip = 0;
        while store.file_bytes() <= MAX * 9 / 10 {
            skip += 5_000;
            prefill(&store, "api", skip, 5_000);
            assert!(skip < 1_000_000, "the store never filled");
        }
    }
    let server = TargetServer::start(Behaviour::healthy()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("monitor.toml");
    let mut toml = "[monitor]\nmax_store_size = \"4MiB\"\n".to_owned();
    for name in ["api", "a", "b", "c", "d", "e", "f", "g"] {
        toml.push_str(&target(name, &server.url("/health"), ""));
    }
    std::fs::write(&config, toml).unwrap();
    let binary = start(&config, &data).await;
    let file = data.join("monitor.redb");
    let size = || std::fs::metadata(&file).unwrap().len();
    eventually("the store back within max_store_size", || async {
        size() <= MAX
    })
    .await;
    // Probing goes on (eight results a second) while the oldest results make room.
    let mut largest = 0;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        largest = largest.max(size());
        assert_eq!(get(&binary, "/readyz", None).await.0, 200);
    }
    assert!(largest <= MAX, "the store grew to {largest} bytes");
    assert_eq!(
        metric(&binary, "monitor_store_commit_errors_total").await,
        0.0
    );
    assert_eq!(metric(&binary, "monitor_store_up").await, 1.0);
    let (_, results) = get(&binary, "/api/v1/targets/a/results?limit=5", None).await;
    assert!(
        results.contains("\"ok\":true"),
        "commits went on: {results}"
    );
}

#[tokio::test]
async fn check_warns_when_the_store_will_not_fit_where_it_lives() {
    let test = "check_warns_when_the_store_will_not_fit_where_it_lives";
    let Some(fs) = SmallFs::mount(test, "4m") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("monitor.toml");
    std::fs::write(&config, target("api", "http://127.0.0.1:9/", "")).unwrap();
    let config = config.to_str().unwrap();
    let data = fs.path().join("data");
    let (code, stdout, stderr) = crate::config::run(
        &[],
        &[
            "monitor",
            "--config",
            config,
            "--check",
            "--data-dir",
            data.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code, Some(0), "warnings, not errors: {stderr}");
    // One target every second for 90 days: 7,776,000 results of 320 bytes and 139 aggregates,
    // 2,488,328,896 bytes.
    assert!(
        stdout.ends_with(&format!(
            "{config}: the store will hold about 2.3 GiB (320 bytes a result, 90 days of results kept)\n"
        )),
        "{stdout}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with(&format!(
            "{config}: warning: that is more than the 4.0 MiB available for the store in {}",
            data.display()
        )),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "{config}: warning: that is more than max_store_size (3.2 MiB, 80 % of the filesystem of {})",
            data.display()
        )),
        "{stderr}"
    );
}
