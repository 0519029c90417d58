//! The HTTP/1.1 connection loop: accept, bound, serve, and stop gracefully.
//!
//! poem's own `Server` sets no header-read timeout and no request-head limit, so slow or oversized
//! request heads would hold connections and memory. Here hyper serves each connection directly
//! with both limits, and poem handles the requests.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Largest request head (request line and headers) accepted; a larger one gets 431.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Largest read buffer per connection, which bounds what a client can make us hold unparsed.
const MAX_BUF_BYTES: usize = 64 * 1024;
/// Connections served at once; further clients wait in the kernel's accept queue.
pub const MAX_CONNECTIONS: usize = 4096;
/// Pause after a failed accept (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Serves `endpoint` on every connection `listener` accepts, until `stop` is cancelled.
///
/// Each connection runs as a task on `connections`. Once `stop` is cancelled the loop accepts no
/// more; open connections finish their current request and then close. Wait on `connections`
/// to know when they are done.
pub async fn serve<E>(
    listener: TcpListener,
    endpoint: Arc<E>,
    header_timeout: Duration,
    stop: CancellationToken,
    connections: TaskTracker,
) where
    E: Endpoint + 'static,
{
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_header_size(MAX_HEAD_BYTES)
        .max_buf_size(MAX_BUF_BYTES)
        // Answers are small: copying the body after the head and writing once is cheaper.
        .writev(false)
        // Without it hyper tries a read while each request is served, to notice a client that
        // has gone: with the request still holding the read buffer, that read allocates a new
        // 8 KiB one every request. A client that shuts down its sending side still gets its
        // answer, and one that has gone is noticed when the answer is written.
        .half_close(true);
    let http = Arc::new(http);
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let local = listener.local_addr().ok();

    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = stop.cancelled() => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(error = %err, "accept failed; retrying");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        let connection = Connection {
            stream,
            local,
            remote,
            endpoint: endpoint.clone(),
        };
        let (http, stop) = (http.clone(), stop.clone());
        connections.spawn(async move {
            connection.serve(&http, &stop).await;
            drop(permit);
        });
    }
}

/// One accepted TCP connection.
struct Connection<E> {
    stream: TcpStream,
    local: Option<SocketAddr>,
    remote: SocketAddr,
    endpoint: Arc<E>,
}

impl<E: Endpoint + 'static> Connection<E> {
    async fn serve(self, http: &http1::Builder, stop: &CancellationToken) {
        // Health answers are small; waiting to coalesce them only adds latency.
        let _ = self.stream.set_nodelay(true);
        let local = LocalAddr(
            self.local
                .map_or(Addr::Custom("tcp", "".into()), Addr::SocketAddr),
        );
        let remote = RemoteAddr(Addr::SocketAddr(self.remote));
        let endpoint = self.endpoint;
        let service = hyper::service::service_fn(move |req| {
            let request = poem::Request::from((req, local.clone(), remote.clone(), Scheme::HTTP));
            let endpoint = endpoint.clone();
            async move {
                let response = endpoint.get_response(request).await;
                Ok::<_, Infallible>(hyper::Response::from(response))
            }
        });
        let connection = http.serve_connection(TokioIo::new(self.stream), service);
        tokio::pin!(connection);
        let result = tokio::select! {
            result = connection.as_mut() => result,
            () = stop.cancelled() => {
                // Finish the request in flight, if any, then close instead of keeping alive.
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(err) = result {
            // Timeouts, malformed or oversized heads, resets: the client's doing, not ours.
            tracing::debug!(remote = %self.remote, error = %err, "connection ended with an error");
        }
    }
}
