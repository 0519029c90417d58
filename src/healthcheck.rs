//! `health-service healthcheck`: the container's HEALTHCHECK, since the image has no shell or curl.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use crate::config::Config;

/// How long the whole check may take; a health endpoint slower than this counts as unhealthy.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// Where the check connects: the configured host, or loopback when the service listens on all
/// addresses.
#[must_use]
pub fn target(config: &Config) -> SocketAddr {
    let ip = match config.host {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, config.port)
}

/// Requests `GET /health` from the running service.
///
/// # Errors
/// A one-line reason when the service cannot be reached in time or answers other than 2xx.
pub async fn check(addr: SocketAddr) -> Result<u16, String> {
    let status = tokio::time::timeout(TIMEOUT, request(addr))
        .await
        .map_err(|_| format!("no answer from http://{addr}/health within {TIMEOUT:?}"))??;
    if (200..300).contains(&status) {
        Ok(status)
    } else {
        Err(format!("http://{addr}/health answered {status}"))
    }
}

async fn request(addr: SocketAddr) -> Result<u16, String> {
    let unreachable =
        |err: &dyn std::fmt::Display| format!("cannot reach http://{addr}/health: {err}");
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| unreachable(&e))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| unreachable(&e))?;
    tokio::spawn(connection);
    let request = hyper::Request::get("/health")
        .header(hyper::header::HOST, addr.to_string())
        .body(Empty::<Bytes>::new())
        .map_err(|e| unreachable(&e))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| unreachable(&e))?;
    Ok(response.status().as_u16())
}
