//! Shared test helpers: start the service, talk to it.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use health_service::config::Cli;
use health_service::lifecycle::Lifecycle;
use health_service::startup::Application;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::oneshot;

/// A file of the repository, by its path from the root.
pub fn repo_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

/// The text of a file of the repository (deploy files, workflows, scripts), or a panic naming it.
pub fn repo_file(name: &str) -> String {
    let path = repo_path(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Longest any test waits for something that should happen at once; a guard against hangs, not a
/// performance bound.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A service started in-process on 127.0.0.1 with a free port.
pub struct TestApp {
    pub addr: SocketAddr,
    /// The private metrics listener.
    pub metrics_addr: SocketAddr,
    pub lifecycle: Arc<Lifecycle>,
    stop: Option<oneshot::Sender<()>>,
    pub stopped: tokio::task::JoinHandle<()>,
}

impl TestApp {
    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The status of `GET /health` on a new connection.
    pub async fn health_status(&self) -> u16 {
        client()
            .get(self.url("/health"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Starts the shutdown sequence, as a signal would.
    pub fn signal_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts the service with the defaults plus `args` (flags, as on the command line), both
/// listeners on free ports of 127.0.0.1.
pub async fn spawn_app(args: &[&str]) -> TestApp {
    spawn_app_with(args, |app| app).await
}

/// [`spawn_app`], with `extend` applied to the application before it runs (monitor mode, say).
pub async fn spawn_app_with(
    args: &[&str],
    extend: impl FnOnce(Application) -> Application,
) -> TestApp {
    let mut argv = vec!["health-service"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(argv).expect("test flags parse");
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds port 0");
    let metrics = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds port 0");
    let app = Application::with_listeners(cli.config, listener, Some(metrics)).expect("builds");
    let app = extend(app);
    let addr = app.local_addr().expect("bound");
    let metrics_addr = app.metrics_addr().expect("metrics listener is on");
    let lifecycle = app.lifecycle();
    let (stop, stopped) = oneshot::channel::<()>();
    let stopped = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    TestApp {
        addr,
        metrics_addr,
        lifecycle,
        stop: Some(stop),
        stopped,
    }
}

/// A client that keeps nothing between tests.
pub fn client() -> reqwest::Client {
    // The service's reqwest has no built-in crypto provider (monitor mode brings graviola's);
    // plain-HTTP test clients still need a process default.
    let _ = rustls_graviola::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(PATIENCE)
        .build()
        .expect("client builds")
}

/// A response's body as JSON.
pub async fn json(response: reqwest::Response) -> serde_json::Value {
    let text = response.text().await.expect("body reads");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"))
}

/// One HTTP/1.1 connection, kept alive across requests.
pub struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
}

/// What a request on a [`Connection`] got back.
pub struct Answer {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("body is JSON")
    }
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> Self {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .expect("connects");
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(connection);
        Self { sender }
    }

    pub async fn send(&mut self, method: &str, path: &str) -> Result<Answer, hyper::Error> {
        self.sender.ready().await?;
        let request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost")
            .body(Empty::new())
            .expect("request builds");
        let response = self.sender.send_request(request).await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await?.to_bytes().to_vec();
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// Whether the server has closed this connection.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

/// A port of 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The real binary, started with `env` and serving on a free port of 127.0.0.1.
pub struct Binary {
    pub child: Child,
    pub addr: SocketAddr,
    /// The log lines up to and including the "listening" one.
    pub started: Vec<String>,
    /// The metrics listener's address, when it is on.
    pub metrics_addr: Option<SocketAddr>,
    /// The log lines after the "listening" one.
    pub logs: tokio::io::Lines<BufReader<ChildStdout>>,
}

/// The binary the tests that start the real one run: `HEALTH_SERVICE_BIN` when set (.ci/run sets
/// it to the static musl build, the one the image ships), else the one cargo built for the tests.
pub fn binary_path() -> std::path::PathBuf {
    std::env::var_os("HEALTH_SERVICE_BIN")
        .map_or_else(|| env!("CARGO_BIN_EXE_health-service").into(), Into::into)
}

/// A `Command` for the binary ([`binary_path`]) with a clean environment plus `env`.
pub fn command(env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(binary_path());
    command
        .env_clear()
        .envs(env.iter().copied())
        .kill_on_drop(true);
    command
}

/// Starts the binary on 127.0.0.1:0 with JSON logs and reads its address from the first log line.
pub async fn spawn_binary(env: &[(&str, &str)]) -> Binary {
    spawn_binary_with(env, &[]).await
}

/// What [`spawn_binary`] sets before `env`: both listeners on free ports of 127.0.0.1, JSON logs.
pub const SPAWN_ENV: [(&str, &str); 4] = [
    ("HOST", "127.0.0.1"),
    ("PORT", "0"),
    ("METRICS_PORT", "0"),
    ("LOG_FORMAT", "json"),
];

/// [`spawn_binary`] with command-line arguments (a subcommand, say).
pub async fn spawn_binary_with(env: &[(&str, &str)], args: &[&str]) -> Binary {
    start_binary(env, args, Stdio::inherit()).await
}

/// [`spawn_binary_with`] with stderr piped too (in `child.stderr`), for tests that read every
/// line the binary prints.
pub async fn spawn_binary_capturing(env: &[(&str, &str)], args: &[&str]) -> Binary {
    start_binary(env, args, Stdio::piped()).await
}

async fn start_binary(env: &[(&str, &str)], args: &[&str], stderr: Stdio) -> Binary {
    let mut all = SPAWN_ENV.to_vec();
    all.extend_from_slice(env);
    let mut command = command(&all);
    command.args(args).stderr(stderr);
    spawn_logging(command).await
}

/// Starts `command`, the binary or a wrapper that runs it with [`SPAWN_ENV`], and reads the
/// address from its "listening" log line. stderr is as `command` has it (inherited by default).
pub async fn spawn_logging(mut command: Command) -> Binary {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut logs = BufReader::new(child.stdout.take().expect("stdout piped")).lines();
    let mut started = Vec::new();
    let (addr, metrics_addr) = loop {
        let line = tokio::time::timeout(PATIENCE, logs.next_line())
            .await
            .expect("the binary logs within PATIENCE")
            .expect("stdout reads")
            .expect("the binary logs 'listening' before exiting");
        let entry: serde_json::Value = serde_json::from_str(&line).expect("log lines are JSON");
        started.push(line);
        if entry["message"] == "listening" {
            let addr = entry["addr"]
                .as_str()
                .expect("addr is logged")
                .parse()
                .expect("addr parses");
            break (addr, entry["metrics"].as_str().and_then(|a| a.parse().ok()));
        }
    };
    Binary {
        child,
        addr,
        started,
        metrics_addr,
        logs,
    }
}

impl Binary {
    /// Sends `signal` to the process.
    pub fn signal(&self, signal: Signal) {
        let pid = self.child.id().expect("still running");
        let pid = Pid::from_raw(i32::try_from(pid).expect("pid fits i32"));
        nix::sys::signal::kill(pid, signal).expect("signal sent");
    }

    /// Waits for the process to exit and returns its exit code.
    pub async fn exit_code(&mut self) -> Option<i32> {
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("the binary exits within PATIENCE")
            .expect("wait works");
        status.code()
    }

    /// The next log line as JSON.
    pub async fn next_log(&mut self) -> Option<serde_json::Value> {
        let line = tokio::time::timeout(PATIENCE, self.logs.next_line())
            .await
            .ok()?
            .ok()??;
        serde_json::from_str(&line).ok()
    }
}
