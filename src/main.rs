//! The `health-service` binary: parse the configuration, start logging, serve until a signal.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use health_service::config::{Cli, Command, MonitorArgs, describe_error};
use health_service::monitor::{self, Monitor};
use health_service::startup::Application;
use health_service::{healthcheck, shutdown, telemetry};

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
    // Buffered access-log lines are written out whenever a worker goes idle, so they wait only
    // while the server is busy, and once more at exit.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_park(telemetry::flush)
        .on_thread_stop(telemetry::flush)
        .build();
    let code = match runtime {
        Ok(runtime) => runtime.block_on(run(cli)),
        Err(err) => fail(format!("error: cannot start the async runtime: {err}")),
    };
    telemetry::flush();
    code
}

async fn run(cli: Cli) -> ExitCode {
    let config = cli.config;

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
                return ExitCode::SUCCESS;
            }
            Ok(monitor) => Some((monitor, args)),
            Err(code) => return code,
        },
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

/// The monitor's file, checked; on problems, one line each on stderr and exit code 1.
fn monitor_config(args: &MonitorArgs) -> Result<monitor::config::MonitorConfig, ExitCode> {
    monitor::config::load(&args.config).map_err(|problems| {
        for problem in &problems {
            eprintln!("{}: {problem}", args.config.display());
        }
        ExitCode::FAILURE
    })
}

fn fail(line: String) -> ExitCode {
    eprintln!("{line}");
    ExitCode::FAILURE
}
