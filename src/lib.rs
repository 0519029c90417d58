//! health-service: an HTTP service that reports its own health.
//!
//! # Layout
//! - [`config`]: flags and environment variables, with one-line errors.
//! - [`telemetry`]: the tracing subscriber (JSON or human-readable lines).
//! - [`startup`]: [`startup::Application`] binds the listeners and runs the shutdown sequence.
//! - [`server`]: the HTTP/1.1 connection loop with its limits (header timeout, head size).
//! - [`api`]: the routes, declared with poem-openapi: `health`, `probes`, `docs`.
//! - [`middleware`]: per request: id, access log, common headers, JSON errors.
//! - [`compression`]: `Content-Encoding` negotiation, brotli and gzip bodies, the compressing
//!   layer for large answers.
//! - [`errors`]: the JSON error body and the `Allow` header.
//! - [`metrics`]: Prometheus counters and histograms, served on the private metrics listener.
//! - [`clock`]: RFC 3339 timestamps, cheap enough for every request.
//! - `memcopy` (x86_64): `memcpy` and `memmove` for the static musl build, faster than musl's.
//! - [`lifecycle`]: uptime and the stopping flag that health and readiness report.
//! - [`shutdown`]: the signals that start a shutdown.
//! - [`healthcheck`]: the `healthcheck` subcommand, the container's HEALTHCHECK.
//! - [`monitor`]: the `monitor` subcommand: probe other services, keep history, alert.
//! - [`agent`]: the `agent` subcommand: probe for a monitor elsewhere, from another location.

pub mod agent;
pub mod api;
pub mod clock;
pub mod compression;
pub mod config;
pub mod errors;
pub mod healthcheck;
pub mod lifecycle;
#[cfg(target_arch = "x86_64")]
pub mod memcopy;
pub mod metrics;
pub mod middleware;
pub mod monitor;
pub mod server;
pub mod shutdown;
pub mod startup;
pub mod telemetry;

/// The source revision this binary was built from: the git commit the Nix build passes in
/// `HEALTH_SERVICE_REVISION`, or `unknown` for a plain `cargo build`. `/health` and `build_info`
/// report it, so a deploy can prove which commit is serving.
pub const REVISION: &str = match option_env!("HEALTH_SERVICE_REVISION") {
    Some(revision) => revision,
    None => "unknown",
};
