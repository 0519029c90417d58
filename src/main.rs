//! The `health-service` binary: parse the configuration, start logging, serve until a signal.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use health_service::agent::Agent;
use health_service::config::{AgentArgs, Cli, Command, MonitorArgs, describe_error};
use health_service::monitor::{self, Monitor};
use health_service::startup::Application;
use health_service::{healthcheck, shutdown, telemetry};

/// The musl build's allocator. musl's own malloc made the shipped binary about half as fast as
/// the glibc build under load; mimalloc, compiled without transparent huge pages (which raised
/// peak RSS from about 14 MB to 27 MB), was the fastest of those measured in benches/load.py
/// (README, "Performance"). The glibc build keeps glibc's malloc.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err)
            if matches!(
                err.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) =>
        {
            err.exit()
        }
        Err(err) => return fail(describe_error(&err)),
    };
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get);
    let code = match runtime(cores) {
        Ok(runtime) => runtime.block_on(run(cli)),
        Err(err) => fail(format!("error: cannot start the async runtime: {err}")),
    };
    telemetry::flush();
    code
}

/// The async runtime for a process allowed `cores` cores (0: unknown).
///
/// On one core (Fly's shared-cpu-1x, or pinned with taskset as benches/load.py pins it) the
/// multi-thread runtime's single worker still pays for work stealing and cross-thread wake-ups;
/// the current-thread runtime runs the same tasks without them (README, "Performance"). Nothing
/// needs a second worker: there is no `block_in_place`, and `spawn_blocking` has its own threads
/// in both.
fn runtime(cores: usize) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = if cores == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    // Buffered access-log lines are written out whenever a worker goes idle, so they wait only
    // while the server is busy, and once more at exit.
    builder
        .enable_all()
        .on_thread_park(telemetry::flush)
        .on_thread_stop(telemetry::flush)
        .build()
}

async fn run(cli: Cli) -> ExitCode {
    let config = cli.config;

    let mut agent = None;
    let monitor = match cli.command {
        Some(Command::Healthcheck) => {
            return match healthcheck::check(healthcheck::target(&config)).await {
                Ok(_) => ExitCode::SUCCESS,
                Err(reason) => fail(format!("unhealthy: {reason}")),
            };
        }
        Some(Command::Monitor(args)) => match monitor_config(&args) {
            Ok(monitor) if args.check => {
                for warning in monitor.warnings() {
                    eprintln!("{}: warning: {warning}", args.config.display());
                }
                println!(
                    "{}: valid: {} targets, {} alerts",
                    args.config.display(),
                    monitor.targets.len(),
                    monitor.alerts.len()
                );
                check_store_size(&monitor, &args);
                return ExitCode::SUCCESS;
            }
            Ok(monitor) => Some((monitor, args)),
            Err(code) => return code,
        },
        Some(Command::Agent(args)) => {
            agent = match agent_of(&args) {
                Ok(found) => Some(found),
                Err(line) => return fail(line),
            };
            None
        }
        None => None,
    };

    if let Err(err) = telemetry::init(config.log_format, &config.log_filter) {
        return fail(format!("error: cannot start logging: {err}"));
    }
    let signals = match shutdown::Signals::install() {
        Ok(signals) => signals,
        Err(err) => return fail(format!("error: cannot install signal handlers: {err}")),
    };
    let mut app = match Application::build(config).await {
        Ok(app) => app,
        Err(err) => return fail(format!("error: {err}")),
    };
    if let Some((monitor, args)) = monitor {
        let started = Monitor::open(monitor, &args.data_dir)
            .map_err(|err| err.to_string())
            .and_then(|monitor| app.with_monitor(monitor).map_err(|err| err.to_string()));
        app = match started {
            Ok(app) => app,
            Err(err) => return fail(format!("error: {err}")),
        };
    }
    if let Some(agent) = agent {
        app = match app.with_agent(agent) {
            Ok(app) => app,
            Err(err) => return fail(format!("error: {err}")),
        };
    }
    if let Ok(addr) = app.local_addr() {
        let metrics = app.metrics_addr().map(|a| a.to_string());
        tracing::info!(%addr, metrics, version = env!("CARGO_PKG_VERSION"), "listening");
    }
    app.run_until(async {
        let signal = signals.recv().await;
        tracing::info!(signal, "shutdown signal received");
    })
    .await;
    ExitCode::SUCCESS
}

/// The monitor's file, checked, for this monitor's location; on problems, one line each on
/// stderr and exit code 1.
fn monitor_config(args: &MonitorArgs) -> Result<monitor::config::MonitorConfig, ExitCode> {
    let location = args
        .location
        .resolve(std::env::var("FLY_REGION").ok())
        .map_err(fail)?;
    monitor::config::load(&args.config)
        .and_then(|config| config.located(&location))
        .map_err(|problems| {
            for problem in &problems {
                eprintln!("{}: {problem}", args.config.display());
            }
            ExitCode::FAILURE
        })
}

/// The agent `args` describe, or the one line saying what is wrong.
fn agent_of(args: &AgentArgs) -> Result<Agent, String> {
    let location = args.location.resolve(std::env::var("FLY_REGION").ok())?;
    health_service::config::check_token(&args.token)?;
    let prober = monitor::probe::Prober::from_env().map_err(|err| format!("error: {err}"))?;
    Agent::new(prober, location, &args.token, args.max_probes)
        .map_err(|err| format!("error: {err}"))
}

/// Prints what the store will hold for the configured targets, intervals and retention, and
/// warns when that is more than the space free where it lives or than `max_store_size`.
fn check_store_size(config: &monitor::config::MonitorConfig, args: &MonitorArgs) {
    let expected = monitor::expected_store_bytes(config);
    println!(
        "{}: the store will hold about {} ({} bytes a result, {} of results kept)",
        args.config.display(),
        bytesize::ByteSize(expected),
        monitor::BYTES_PER_RESULT,
        match config.retention.as_secs() {
            secs if secs % 86_400 == 0 => format!("{} days", secs / 86_400),
            _ => humantime::format_duration(config.retention).to_string(),
        }
    );
    let dir = args.data_dir.display();
    // The store already there counts as available: it is what grows.
    let existing =
        std::fs::metadata(args.data_dir.join(monitor::store::FILE_NAME)).map_or(0, |m| m.len());
    if let Some((_, free)) = monitor::filesystem_bytes(&args.data_dir) {
        let available = free.saturating_add(existing);
        if expected > available {
            eprintln!(
                "{}: warning: that is more than the {} available for the store in {dir}; \
                 grow the volume, shorten retention or lengthen intervals, or set \
                 [monitor] max_store_size (the oldest results are then pruned)",
                args.config.display(),
                bytesize::ByteSize(available)
            );
        }
    }
    if let Some(max) = monitor::max_store_bytes(config, &args.data_dir)
        && expected > max
    {
        eprintln!(
            "{}: warning: that is more than max_store_size ({}{}): the oldest raw results will \
             be pruned before retention would prune them",
            args.config.display(),
            bytesize::ByteSize(max),
            if config.max_store_size.is_none() {
                format!(", 80 % of the filesystem of {dir}")
            } else {
                String::new()
            }
        );
    }
}

fn fail(line: String) -> ExitCode {
    eprintln!("{line}");
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use tokio::runtime::RuntimeFlavor;

    #[test]
    fn one_core_gets_the_current_thread_runtime_and_more_or_unknown_the_multi_thread_one() {
        let flavor = |cores| super::runtime(cores).unwrap().handle().runtime_flavor();
        assert_eq!(flavor(1), RuntimeFlavor::CurrentThread);
        assert_eq!(flavor(2), RuntimeFlavor::MultiThread);
        assert_eq!(flavor(0), RuntimeFlavor::MultiThread);
    }
}
