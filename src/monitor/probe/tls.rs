//! `tls://host:port`: connects and completes a TLS handshake with the roots HTTPS uses (the
//! Mozilla ones and `SSL_CERT_FILE`'s). `[CONNECTED]`, `[RESPONSE_TIME]`,
//! `[CERTIFICATE_EXPIRATION]`.

use std::sync::Arc;
use std::time::Instant;

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::{ProbeSpec, Reach};

/// Connects and shakes hands; the leaf certificate's expiry and subject are kept.
pub(super) async fn probe(tls: Arc<rustls::ClientConfig>, spec: &ProbeSpec) -> Reach {
    let started = Instant::now();
    let (host, port) = super::host_and_port(&spec.url);
    let Ok(name) = ServerName::try_from(host.clone()) else {
        return Reach::failed(
            started.elapsed(),
            format!("TLS: {host:?} is not a server name"),
        );
    };
    let stream = match TcpStream::connect((host.as_str(), port)).await {
        Ok(stream) => stream,
        Err(err) => return Reach::failed(started.elapsed(), super::io_reason(&err)),
    };
    match TlsConnector::from(tls).connect(name, stream).await {
        Ok(stream) => {
            let certificate = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|leaf| super::certificate(leaf));
            Reach {
                certificate,
                ..Reach::connected(started.elapsed())
            }
        }
        Err(err) => {
            let reason = super::rustls_error(&err)
                .map_or_else(|| super::io_reason(&err), |tls| format!("TLS: {tls}"));
            Reach::failed(started.elapsed(), reason)
        }
    }
}
