//! The shipped binary run as the image runs it (nix/image.nix): with bubblewrap, in an empty,
//! read-only root that holds only the binary (no /etc, so no passwd, hosts, resolv.conf or CA
//! bundle; no shell; no /proc, /dev or /tmp either), as uid and gid 65534, with only the
//! directories a test binds in. The binary is `HEALTH_SERVICE_BIN`, the static musl build that
//! `.ci/build-musl` makes: a dynamically linked binary cannot even start there.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use health_service::monitor::store::Store;
use tokio::process::Command;

use crate::helpers::{Binary, PATIENCE, SPAWN_ENV, client, json, spawn_logging};
use crate::monitor::{target, tls_target};

/// Where the binary is inside the root.
const INSIDE: &str = "/health-service";

/// The static binary under test; the tests are `#[ignore]`d because they need it.
fn shipped_binary() -> PathBuf {
    let path = std::env::var_os("HEALTH_SERVICE_BIN")
        .expect("HEALTH_SERVICE_BIN names the static binary (.ci/build-musl); these tests need it");
    std::fs::canonicalize(&path).expect("HEALTH_SERVICE_BIN names an existing file")
}

/// A network the sandbox can reach: the host's (loopback targets), or none at all.
#[derive(Clone, Copy, PartialEq)]
enum Network {
    Host,
    None,
}

/// `bwrap` running `binary` at [`INSIDE`] with `args`, in a new empty root with `ro` and `rw`
/// (host path, path inside) bound in, and exactly `env` as its environment.
fn sandboxed(
    binary: &Path,
    network: Network,
    ro: &[(&Path, &str)],
    rw: &[(&Path, &str)],
    env: &[(&str, &str)],
    args: &[&str],
) -> Command {
    let mut command = Command::new("bwrap");
    command
        .env_clear()
        .envs(env.iter().copied())
        .kill_on_drop(true)
        // New user, pid, ipc, uts, cgroup and network namespaces; the root is a new tmpfs.
        .args([
            "--unshare-all",
            "--die-with-parent",
            "--uid",
            "65534",
            "--gid",
            "65534",
        ]);
    if network == Network::Host {
        command.arg("--share-net");
    }
    command.arg("--ro-bind").arg(binary).arg(INSIDE);
    for (host, inside) in ro {
        command.arg("--ro-bind").arg(host).arg(inside);
    }
    for (host, inside) in rw {
        command.arg("--bind").arg(host).arg(inside);
    }
    command.args(["--remount-ro", "/", "--chdir", "/", INSIDE]);
    command.args(args);
    command
}

/// [`sandboxed`] with [`SPAWN_ENV`] plus `env`, started, once it logs that it is listening.
async fn spawn_sandboxed(
    network: Network,
    ro: &[(&Path, &str)],
    rw: &[(&Path, &str)],
    env: &[(&str, &str)],
    args: &[&str],
) -> Binary {
    let mut all = SPAWN_ENV.to_vec();
    all.extend_from_slice(env);
    spawn_logging(sandboxed(&shipped_binary(), network, ro, rw, &all, args)).await
}

/// Reads log lines until one has `message`, for at most [`PATIENCE`] per line.
async fn wait_for_log(binary: &mut Binary, message: &str) -> serde_json::Value {
    loop {
        let entry = binary
            .next_log()
            .await
            .unwrap_or_else(|| panic!("the binary logs {message:?} within PATIENCE"));
        if entry["message"] == message {
            return entry;
        }
    }
}

#[tokio::test]
#[ignore = "needs bwrap (Debian: bubblewrap) and HEALTH_SERVICE_BIN: run by .ci/run"]
async fn serves_health_and_passes_its_healthcheck_in_an_empty_root() {
    let binary = spawn_sandboxed(Network::Host, &[], &[], &[], &[]).await;
    let response = client()
        .get(format!("http://{}/health", binary.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await["status"], "UP");

    let port = binary.addr.port().to_string();
    let env = [("HOST", "127.0.0.1"), ("PORT", port.as_str())];
    let healthcheck = sandboxed(
        &shipped_binary(),
        Network::Host,
        &[],
        &[],
        &env,
        &["healthcheck"],
    )
    .stdout(Stdio::null())
    .output();
    let output = tokio::time::timeout(PATIENCE, healthcheck)
        .await
        .expect("healthcheck exits within PATIENCE")
        .expect("bwrap runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
#[ignore = "needs bwrap (Debian: bubblewrap) and HEALTH_SERVICE_BIN: run by .ci/run"]
async fn the_root_holds_nothing_a_dynamically_linked_binary_needs() {
    // The test build of this crate links glibc dynamically: without the loader and the shared
    // libraries, the same sandbox cannot even exec it. This is what makes the other tests here
    // say something about the static binary.
    let dynamic = Path::new(env!("CARGO_BIN_EXE_health-service"));
    let output = sandboxed(dynamic, Network::Host, &[], &[], &[], &["--version"])
        .output()
        .await
        .expect("bwrap runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("execvp {INSIDE}: No such file or directory")),
        "{stderr}"
    );
}

#[tokio::test]
#[ignore = "needs bwrap (Debian: bubblewrap) and HEALTH_SERVICE_BIN: run by .ci/run"]
async fn monitor_keeps_its_store_and_probes_https_through_ssl_cert_file() {
    let tls = tls_target().await;
    let dir = tempfile::tempdir().unwrap();
    let (config, data) = (dir.path().join("monitor.toml"), dir.path().join("data"));
    std::fs::create_dir(&data).unwrap();
    std::fs::write(
        &config,
        target(
            "tls",
            &format!("https://127.0.0.1:{}/", tls.port()),
            "conditions = [\"[STATUS] == 200\", \"[CERTIFICATE_EXPIRATION] > 240h\"]",
        ),
    )
    .unwrap();
    let ca = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls/ca.pem");
    let binary = spawn_sandboxed(
        Network::Host,
        &[(&config, "/config/monitor.toml"), (&ca, "/ca/ca.pem")],
        &[(&data, "/data")],
        &[
            ("SSL_CERT_FILE", "/ca/ca.pem"),
            ("MONITOR_DATA_DIR", "/data"),
        ],
        &["monitor", "--config", "/config/monitor.toml"],
    )
    .await;

    let url = format!("http://{}/api/v1/targets/tls/results?limit=1", binary.addr);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let result = loop {
        let body = json(client().get(&url).send().await.unwrap()).await;
        if let Some(result) = body["results"].get(0) {
            break result.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no probe result within PATIENCE"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["status_code"], 200);
    // The store is in the one writable directory, on the host's side of the bind.
    let files: Vec<_> = std::fs::read_dir(&data).unwrap().collect();
    assert!(!files.is_empty(), "nothing written to the data directory");
}

#[tokio::test]
#[ignore = "needs bwrap (Debian: bubblewrap) and HEALTH_SERVICE_BIN: run by .ci/run"]
async fn a_public_ca_target_fails_for_want_of_a_network_not_of_roots() {
    // No network at all (a new namespace with only its own loopback) and no /etc/resolv.conf:
    // musl asks 127.0.0.1 for the name, and nothing answers. Without compiled-in roots the
    // monitor would have refused to start or failed the probe at TLS instead. The webhook's
    // failed delivery, to the sandbox's own loopback, is the log line that says the probe ran.
    let dir = tempfile::tempdir().unwrap();
    let (config, data) = (dir.path().join("monitor.toml"), dir.path().join("data"));
    std::fs::create_dir(&data).unwrap();
    std::fs::write(
        &config,
        "[[target]]\nname = \"public\"\nurl = \"https://www.rust-lang.org/\"\ninterval = \"1m\"\n\
         timeout = \"30s\"\nfailure_threshold = 1\n\
         [[alert]]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/hook\"\n",
    )
    .unwrap();
    let mut binary = spawn_sandboxed(
        Network::None,
        &[(&config, "/config/monitor.toml")],
        &[(&data, "/data")],
        &[("MONITOR_DATA_DIR", "/data")],
        &["monitor", "--config", "/config/monitor.toml"],
    )
    .await;
    wait_for_log(&mut binary, "monitor started").await;
    // musl gives up on the name after its resolver timeout (5 s), within PATIENCE.
    wait_for_log(&mut binary, "notification not delivered").await;
    binary.child.kill().await.unwrap();

    // The killed monitor's lock on the store goes with its process, just after bwrap's.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let store = loop {
        match Store::open(&data) {
            Ok(store) => break store,
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => panic!("the store opens after the monitor is gone: {err}"),
        }
    };
    let results = store.results("public", None, 10).unwrap();
    let error = results[0].error.as_deref().expect("the probe failed");
    assert!(error.starts_with("DNS: "), "{error}");
}
