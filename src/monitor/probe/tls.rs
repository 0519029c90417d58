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

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    use tokio::net::TcpListener;

    use super::*;
    use crate::monitor::probe::tests::{fixture_acceptor, tls_fixture};

    #[tokio::test]
    async fn a_handshake_keeps_the_leafs_expiry_and_subject() {
        let acceptor = fixture_acceptor();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            // Held until the client is done with it.
            let _tls = acceptor.accept(stream).await;
            std::future::pending::<()>().await;
        });
        let mut roots = rustls::RootCertStore::empty();
        for ca in CertificateDer::pem_file_iter(tls_fixture("ca.pem")).unwrap() {
            roots.add(ca.unwrap()).unwrap();
        }
        let client = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls_graviola::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let spec = ProbeSpec {
            url: reqwest::Url::parse(&format!("tls://localhost:{port}")).unwrap(),
            dns: None,
            method: crate::monitor::config::ProbeMethod::Get,
            headers: Vec::new(),
            timeout: Duration::from_secs(10),
            follow_redirects: false,
            body_limit: 1024,
            keep_body: false,
        };
        let reach = tokio::time::timeout(spec.timeout, probe(Arc::new(client), &spec))
            .await
            .expect("the handshake within 10 s");
        assert_eq!(reach.error, None);
        assert!(reach.connected);
        // The fixture's notAfter: 2035-02-15T06:02:48Z.
        assert_eq!(
            reach.certificate,
            Some((
                SystemTime::UNIX_EPOCH + Duration::from_secs(2_055_132_168),
                "CN=localhost".to_owned()
            ))
        );
    }
}
