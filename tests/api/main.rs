//! Integration tests: the real server over real TCP, in one crate so it links once.
//!
//! `helpers` starts the service in-process (bound to port 0) or as the real binary.

mod config;
mod docs;
mod errors;
mod health;
mod healthcheck;
mod helpers;
mod hostile;
mod logging;
mod metrics;
mod probes;
mod shutdown;
