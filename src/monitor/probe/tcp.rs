//! `tcp://host:port`: connects, and nothing more. `[CONNECTED]`, `[RESPONSE_TIME]`.

use std::time::Instant;

use tokio::net::TcpStream;

use super::{ProbeSpec, Reach};

/// Connects to the spec's host and port; the connection is closed at once.
pub(super) async fn probe(spec: &ProbeSpec) -> Reach {
    let started = Instant::now();
    let (host, port) = super::host_and_port(&spec.url);
    match TcpStream::connect((host.as_str(), port)).await {
        Ok(_) => Reach::connected(started.elapsed()),
        Err(err) => Reach::failed(started.elapsed(), super::io_reason(&err)),
    }
}
