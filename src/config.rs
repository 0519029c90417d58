//! Configuration: command-line flags, each with an environment-variable twin and a default.
//!
//! Flags win over the environment, the environment over the defaults. A bad value stops the
//! process at start-up with one line naming the variable and the accepted form
//! ([`describe_error`]).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

/// The prototype's identity, kept as the default so that existing monitors see the same values.
pub const DEFAULT_NAMA: &str = "Faiz Muhammad Kautsar";
/// See [`DEFAULT_NAMA`].
pub const DEFAULT_NRP: &str = "5054231013";
/// The port Fly.io's `internal_port` points at.
pub const DEFAULT_PORT: u16 = 8080;
/// The private port Prometheus scrapes.
pub const DEFAULT_METRICS_PORT: u16 = 9091;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "health-service",
    version,
    about = "An HTTP service that reports its own health."
)]
pub struct Cli {
    /// What to do; serving is the default.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings shared by every command.
    #[command(flatten)]
    pub config: Config,
}

/// Commands other than serving.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Request http://127.0.0.1:$PORT/health; exit 0 on 2xx, 1 otherwise (the image's HEALTHCHECK).
    Healthcheck,
    /// Probe the targets of a TOML file, keep their history, alert on down and recovery, and
    /// serve their status beside everything the service serves.
    Monitor(MonitorArgs),
    /// Probe on behalf of a monitor elsewhere: POST /api/v1/probe runs the probe a monitor
    /// describes and answers what it observed. No file, no store.
    Agent(AgentArgs),
}

/// The settings of monitor mode.
#[derive(Debug, Clone, Args)]
pub struct MonitorArgs {
    /// The monitor's TOML file (targets, alerts).
    #[arg(long, env = "MONITOR_CONFIG", value_name = "FILE")]
    pub config: PathBuf,
    /// The directory of the monitor's store (created if missing).
    #[arg(
        long,
        env = "MONITOR_DATA_DIR",
        default_value = "monitor-data",
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,
    /// Only check the file: exit 0 if it is valid, or 1 with one line per problem.
    #[arg(long)]
    pub check: bool,
    /// Where this process probes from.
    #[command(flatten)]
    pub location: LocationArg,
}

/// The settings of a probe agent (`health-service agent`): no file, no store.
#[derive(Debug, Clone, Args)]
pub struct AgentArgs {
    /// Where this agent probes from.
    #[command(flatten)]
    pub location: LocationArg,
    /// The secret the decider sends with every probe request; at least 32 characters. Set it in
    /// the environment (a flag would show in the process list).
    #[arg(
        long = "token",
        env = "AGENT_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: String,
    /// Probes run at once; further requests are refused with 503.
    #[arg(long, env = "AGENT_MAX_PROBES", default_value_t = 256, value_parser = parse_max_probes)]
    pub max_probes: usize,
}

/// Shortest accepted `AGENT_TOKEN`.
pub const MIN_TOKEN_CHARS: usize = 32;
/// Longest location name: it is a metric label and part of every probe's `User-Agent`.
const MAX_LOCATION_CHARS: usize = 32;

/// The location flag, shared by the monitor and the agent.
#[derive(Debug, Clone, Args)]
pub struct LocationArg {
    /// Where this process probes from, as it appears in probes' User-Agent, the API, the page
    /// and metrics [default: $FLY_REGION, else local].
    #[arg(long = "location", env = "MONITOR_LOCATION", value_parser = parse_location)]
    pub name: Option<String>,
}

impl LocationArg {
    /// The location: the flag or `MONITOR_LOCATION`, else `fly_region` (Fly.io sets
    /// `FLY_REGION` on every machine), else `local`.
    ///
    /// # Errors
    /// One line when `fly_region` is not a usable name.
    pub fn resolve(&self, fly_region: Option<String>) -> Result<String, String> {
        match (&self.name, fly_region) {
            (Some(name), _) => Ok(name.clone()),
            (None, Some(region)) => parse_location(&region).map_err(|accepted| {
                format!("error: invalid FLY_REGION value {region:?}: {accepted}")
            }),
            (None, None) => Ok("local".to_owned()),
        }
    }
}

/// The agent's token, checked: one line saying what is accepted otherwise (never the value).
///
/// # Errors
/// When it is shorter than [`MIN_TOKEN_CHARS`].
pub fn check_token(token: &str) -> Result<(), String> {
    let chars = token.chars().count();
    if chars < MIN_TOKEN_CHARS {
        return Err(format!(
            "error: AGENT_TOKEN is {chars} characters; expected at least {MIN_TOKEN_CHARS} \
             (e.g. the output of `openssl rand -hex 32`)"
        ));
    }
    Ok(())
}

/// Whom a deployment belongs to: the first two fields of every health report.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct Identity {
    /// Name reported as `nama` in /health.
    #[arg(long, env = "HEALTH_NAMA", default_value = DEFAULT_NAMA)]
    pub nama: String,
    /// Number reported as `nrp` in /health.
    #[arg(long, env = "HEALTH_NRP", default_value = DEFAULT_NRP)]
    pub nrp: String,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line, for log shippers.
    Json,
    /// Human-readable lines, for a terminal.
    Pretty,
}

/// Every setting of the service.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on; 0.0.0.0 is what Fly.io's proxy reaches.
    #[arg(long, env = "HOST", default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED), value_parser = parse_host)]
    pub host: IpAddr,
    /// Port of the public listener (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = DEFAULT_PORT, value_parser = parse_port)]
    pub port: u16,
    /// Port of the private Prometheus listener; 0 turns it off.
    #[arg(long, env = "METRICS_PORT", default_value_t = DEFAULT_METRICS_PORT, value_parser = parse_port)]
    pub metrics_port: u16,
    /// Whom this deployment belongs to.
    #[command(flatten)]
    pub identity: Identity,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,
    /// Which logs to keep, as a tracing filter (e.g. "info" or "health_service=debug,warn").
    #[arg(long = "log-filter", env = "RUST_LOG", default_value = "info", value_parser = parse_filter)]
    pub log_filter: String,
    /// After a shutdown signal, keep accepting for this long (while /readyz says 503) so load
    /// balancers notice before the listener closes.
    #[arg(long, env = "DRAIN_DELAY", default_value = "0s", value_parser = parse_duration)]
    pub drain_delay: Duration,
    /// After the drain delay, how long in-flight requests get to finish.
    #[arg(long, env = "SHUTDOWN_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
    /// A connection that has not sent a complete request head within this time is closed.
    #[arg(long, env = "HEADER_TIMEOUT", default_value = "10s", value_parser = parse_positive_duration)]
    pub header_timeout: Duration,
}

impl Config {
    /// The public listener's address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }

    /// The metrics listener's address, or `None` when it is turned off.
    #[must_use]
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        (self.metrics_port != 0).then(|| SocketAddr::new(self.host, self.metrics_port))
    }
}

fn parse_host(value: &str) -> Result<IpAddr, String> {
    value
        .parse()
        .map_err(|_| "expected an IP address such as 0.0.0.0, 127.0.0.1 or ::".to_owned())
}

fn parse_port(value: &str) -> Result<u16, String> {
    value
        .parse()
        .map_err(|_| "expected a port number from 0 to 65535".to_owned())
}

fn parse_location(value: &str) -> Result<String, String> {
    let ok = !value.is_empty()
        && value.len() <= MAX_LOCATION_CHARS
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "expected 1 to {MAX_LOCATION_CHARS} characters of a-z, 0-9 and - such as nrt or home-lab"
        ))
    }
}

fn parse_max_probes(value: &str) -> Result<usize, String> {
    match value.parse() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("expected a whole number of 1 or more".to_owned()),
    }
}

fn parse_duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value)
        .map_err(|_| "expected a duration such as 0s, 500ms, 5s or 1m 30s".to_owned())
}

fn parse_positive_duration(value: &str) -> Result<Duration, String> {
    match parse_duration(value)? {
        Duration::ZERO => Err("expected a duration above zero such as 500ms or 10s".to_owned()),
        duration => Ok(duration),
    }
}

fn parse_filter(value: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::builder()
        .parse(value)
        .map(|_| value.to_owned())
        .map_err(|_| {
            "expected a tracing filter such as info or health_service=debug,warn".to_owned()
        })
}

/// One line for a command-line error: the variable and flag at fault, the value, the accepted form.
///
/// clap's own message spans several lines and names only the flag, while most settings arrive
/// through the environment.
#[must_use]
pub fn describe_error(err: &clap::Error) -> String {
    if err.kind() == ErrorKind::MissingRequiredArgument
        && let Some(ContextValue::Strings(missing)) = err.get(ContextKind::InvalidArg)
    {
        let names: Vec<String> = missing.iter().map(|arg| setting_name(arg)).collect();
        return format!(
            "error: {} is required; see --help for the accepted flags and variables",
            names.join(", ")
        );
    }
    let arg = match err.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => arg.clone(),
        _ => String::new(),
    };
    let value = match err.get(ContextKind::InvalidValue) {
        Some(ContextValue::String(value)) => value.clone(),
        _ => String::new(),
    };
    let accepted = match (err.kind(), err.get(ContextKind::ValidValue)) {
        (_, Some(ContextValue::Strings(valid))) => format!("expected one of: {}", valid.join(", ")),
        (ErrorKind::ValueValidation, _) => std::error::Error::source(err)
            .map(ToString::to_string)
            .unwrap_or_default(),
        _ => String::new(),
    };
    if arg.is_empty() || accepted.is_empty() {
        // Not a bad value (an unknown flag, say): clap's first line names it; --help lists
        // what is accepted.
        let rendered = err.render().to_string();
        let what = rendered
            .lines()
            .next()
            .unwrap_or("error: invalid command line")
            .trim();
        return format!("{what}; see --help for the accepted flags and variables");
    }
    format!(
        "error: invalid {} value {value:?}: {accepted}",
        setting_name(&arg)
    )
}

/// "PORT (--port)" for clap's "--port <PORT>".
fn setting_name(arg: &str) -> String {
    let flag = arg.split_whitespace().next().unwrap_or(arg);
    let long = flag.trim_start_matches('-');
    let command = Cli::command();
    let env = std::iter::once(&command)
        .chain(command.get_subcommands())
        .flat_map(clap::Command::get_arguments)
        .find(|a| a.get_long() == Some(long))
        .and_then(|a| a.get_env().map(|e| e.to_string_lossy().into_owned()));
    match env {
        Some(env) => format!("{env} ({flag})"),
        None => flag.to_owned(),
    }
}
