//! The floor for `benches/load.py --floor` and `benches/instructions.py --binary`: how fast a
//! server on this stack (hyper 1 on tokio's current-thread runtime, the allocator and `memcpy` we
//! ship) can answer at all. Every request, whatever its method or path, gets load.py's `/health`
//! JSON as a static body: no routing, no log, no metrics. `FLOOR` adds our layers one at a time,
//! to price them (README, "Performance"):
//!
//! - unset or `hyper`: hyper's defaults.
//! - `settings`: plus the connection settings of `src/server.rs` (the header-read timeout, a
//!   timer of each connection; `half_close`, no `writev`, the head and buffer limits).
//! - `poem`: plus poem's request and response conversion around a trivial poem endpoint, as
//!   `src/server.rs` calls the service's endpoint (no poem-openapi, no routing).
//!
//! HOST and PORT as the service reads them (default 127.0.0.1:8080); SIGTERM or SIGINT stops it.
//! Built by `cargo bench --no-run --bench floor`, or for musl by `.ci/build-musl --floor`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use poem::Addr;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

/// The shipped binary's allocator, so that the floor is of the build we ship.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// The library's connection settings; linking it also brings the shipped binary's `memcpy` and
// `memmove` (src/memcopy.rs, exported in the x86_64 musl build), without which the floor paid
// musl's copies.
use health_service::server;

/// load.py's `/health` body, the one nginx serves.
const BODY: &str = concat!(
    r#"{"nama":"Faiz Muhammad Kautsar","nrp":"5054231013","status":"UP","#,
    r#""timestamp":"2026-11-28T04:37:31.429Z","uptime":"1h 2m 3s","uptime_seconds":3723,"#,
    r#""version":"0.1.0","revision":"unknown"}"#
);

/// Which of our layers the floor adds (`FLOOR`).
#[derive(Clone, Copy, PartialEq)]
enum Layers {
    Hyper,
    Settings,
    Poem,
}

fn main() {
    let layers = match std::env::var("FLOOR").as_deref() {
        Err(_) | Ok("" | "hyper") => Layers::Hyper,
        Ok("settings") => Layers::Settings,
        Ok("poem") => Layers::Poem,
        Ok(other) => {
            eprintln!("error: FLOOR={other:?}: expected hyper, settings or poem");
            std::process::exit(2);
        }
    };
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    runtime.block_on(async {
        let listener = TcpListener::bind(format!("{host}:{port}"))
            .await
            .unwrap_or_else(|err| panic!("cannot listen on {host}:{port}: {err}"));
        let (mut term, mut int) = (
            signal(SignalKind::terminate()).expect("SIGTERM handler"),
            signal(SignalKind::interrupt()).expect("SIGINT handler"),
        );
        tokio::select! {
            () = serve(listener, layers) => {}
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    });
}

async fn serve(listener: TcpListener, layers: Layers) {
    let http = if layers == Layers::Hyper {
        http1::Builder::new()
    } else {
        // As src/server.rs builds it, with its default header timeout.
        server::http1_settings(Duration::from_secs(10))
    };
    let local = listener
        .local_addr()
        .map_or(Addr::Custom("tcp", "".into()), Addr::SocketAddr);
    let endpoint = Arc::new(poem::endpoint::make_sync(|_| {
        poem::Response::builder()
            .content_type("application/json")
            .body(BODY)
    }));
    loop {
        let Ok((stream, remote)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (mut http, endpoint, local) = (http.clone(), endpoint.clone(), local.clone());
        if layers != Layers::Hyper {
            http.timer(server::HeadTimer::default());
        }
        tokio::spawn(async move {
            let io = TokioIo::new(stream);
            let _ = if layers == Layers::Poem {
                let local = LocalAddr(local.clone());
                let remote = RemoteAddr(Addr::SocketAddr(remote));
                let service = hyper::service::service_fn(move |req| {
                    let request =
                        poem::Request::from((req, local.clone(), remote.clone(), Scheme::HTTP));
                    let endpoint = endpoint.clone();
                    async move {
                        let response = poem::Endpoint::get_response(&*endpoint, request).await;
                        Ok::<_, Infallible>(hyper::Response::from(response))
                    }
                });
                http.serve_connection(io, service).await
            } else {
                let service = hyper::service::service_fn(|_| async {
                    let mut response =
                        hyper::Response::new(Full::new(Bytes::from_static(BODY.as_bytes())));
                    response.headers_mut().insert(
                        hyper::header::CONTENT_TYPE,
                        hyper::header::HeaderValue::from_static("application/json"),
                    );
                    Ok::<_, Infallible>(response)
                });
                http.serve_connection(io, service).await
            };
        });
    }
}
