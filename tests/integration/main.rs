//! Integration tests, in one crate so it links once: the real server over real TCP, and the
//! deployment files (flake.lock, fly.toml, the image the flake defines) held against the code and
//! (flyctl) against the rules of the tools that read them.
//!
//! `helpers` starts the service in-process (bound to port 0) or as the real binary.

mod browser;
mod compression;
mod config;
mod deploy;
mod docs;
mod errors;
mod flyctl;
mod health;
mod healthcheck;
mod helpers;
mod hostile;
mod image;
mod logging;
mod metrics;
mod monitor;
mod probes;
mod sandbox;
mod shutdown;
