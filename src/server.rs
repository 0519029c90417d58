//! The HTTP/1.1 connection loop: accept, bound, serve, and stop gracefully.
//!
//! poem's own `Server` sets no header-read timeout and no request-head limit, so slow or oversized
//! request heads would hold connections and memory. Here hyper serves each connection directly
//! with the head limit, a `Watchdog` closes connections that make no progress, and poem handles
//! the requests.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::AbortHandle;
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
    // No hyper timer: its header-read timeout arms and drops a boxed timer every request; the
    // connection's Watchdog keeps the bound instead.
    http.max_header_size(MAX_HEAD_BYTES)
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
        let shared = Arc::new((endpoint.clone(), Progress::default()));
        let connection = Connection {
            stream,
            local,
            remote,
            shared: shared.clone(),
        };
        let (http, stop) = (http.clone(), stop.clone());
        let task = connections.spawn(async move {
            connection.serve(&http, &stop).await;
            drop(permit);
        });
        // Its own task, so that the connection's task polls no timer while it serves.
        tokio::spawn(Watchdog::new(header_timeout).watch(shared, task.abort_handle(), remote));
    }
}

/// One accepted TCP connection.
struct Connection<E> {
    stream: TcpStream,
    local: Option<SocketAddr>,
    remote: SocketAddr,
    /// The endpoint, and the connection's progress for its watchdog.
    shared: Arc<(Arc<E>, Progress)>,
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
        let shared = self.shared;
        let service = {
            let shared = shared.clone();
            hyper::service::service_fn(move |req| {
                let request =
                    poem::Request::from((req, local.clone(), remote.clone(), Scheme::HTTP));
                let shared = shared.clone();
                async move {
                    let (endpoint, progress) = &*shared;
                    progress.request_started();
                    let response = endpoint.get_response(request).await;
                    progress.request_finished();
                    Ok::<_, Infallible>(hyper::Response::from(response))
                }
            })
        };
        let io = Watched {
            stream: self.stream,
            shared: shared.clone(),
        };
        let connection = http.serve_connection(TokioIo::new(io), service);
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
            // Malformed or oversized heads, resets: the client's doing, not ours.
            tracing::debug!(remote = %self.remote, error = %err, "connection ended with an error");
        }
    }
}

/// What a connection has done, for its [`Watchdog`]. Only the connection's own task writes it
/// (its service and its socket are polled by that one task), so plain loads and stores suffice;
/// the watchdog only reads.
#[derive(Default)]
struct Progress {
    /// Requests started, requests answered and writes to the socket: any change is progress.
    events: AtomicU64,
    /// Requests whose handler is running (or reading the body): those are not waiting for a head.
    in_flight: AtomicU64,
}

impl Progress {
    fn bump(counter: &AtomicU64, by: u64) {
        counter.store(
            counter.load(Ordering::Relaxed).wrapping_add(by),
            Ordering::Relaxed,
        );
    }

    fn request_started(&self) {
        Self::bump(&self.events, 1);
        Self::bump(&self.in_flight, 1);
    }

    fn request_finished(&self) {
        Self::bump(&self.events, 1);
        Self::bump(&self.in_flight, u64::MAX);
    }

    fn wrote(&self) {
        Self::bump(&self.events, 1);
    }

    /// The events so far, or `None` while a request is being handled.
    fn idle_events(&self) -> Option<u64> {
        (self.in_flight.load(Ordering::Relaxed) == 0).then(|| self.events.load(Ordering::Relaxed))
    }
}

/// The header-read timeout, kept per connection instead of per request: a connection that, with
/// no request being handled, starts no request and writes nothing for a whole `header_timeout`
/// (it is silent, drips a head that never ends, or idles between keep-alive requests) is closed
/// within 1.5 times the timeout. hyper's own timeout armed and dropped a boxed timer in tokio's
/// timer wheel for every request; this one, a task of its own beside the connection's, ticks
/// twice per timeout per connection, and each request only bumps counters (README,
/// "Performance").
struct Watchdog {
    /// Half the header timeout: two ticks without progress are at least one whole timeout.
    tick: Duration,
}

impl Watchdog {
    fn new(header_timeout: Duration) -> Self {
        Self {
            tick: header_timeout / 2,
        }
    }

    /// Aborts `connection` once `shared`'s progress has shown no progress, and no request in
    /// flight, for at least the header timeout; returns then or when the connection has ended.
    async fn watch<E>(
        self,
        shared: Arc<(Arc<E>, Progress)>,
        connection: AbortHandle,
        remote: SocketAddr,
    ) {
        let progress = &shared.1;
        let mut ticks = tokio::time::interval(self.tick);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is at once: the connection's start.
        ticks.tick().await;
        let mut seen = progress.idle_events();
        let mut quiet_ticks = 0;
        loop {
            ticks.tick().await;
            if connection.is_finished() {
                return;
            }
            let now = progress.idle_events();
            quiet_ticks = if now.is_some() && now == seen {
                quiet_ticks + 1
            } else {
                0
            };
            if quiet_ticks == 2 {
                tracing::debug!(%remote, "closed: no progress within the header timeout");
                connection.abort();
                return;
            }
            seen = now;
        }
    }
}

/// The connection's socket, counting writes as progress for its [`Watchdog`].
struct Watched<E> {
    stream: TcpStream,
    /// The endpoint and the connection's progress, shared with its service.
    shared: Arc<(Arc<E>, Progress)>,
}

impl<E> AsyncRead for Watched<E> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // Reads are not progress: a client dripping a head that never ends is still stalled.
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl<E> AsyncWrite for Watched<E> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = written
            && n > 0
        {
            self.shared.1.wrote();
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio_util::sync::CancellationToken;
    use tokio_util::task::TaskTracker;

    /// Starts `serve` with a 200 ms header timeout and a handler that takes `handler_time`.
    async fn slow_server(handler_time: Duration) -> (std::net::SocketAddr, CancellationToken) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let endpoint = poem::endpoint::make(move |_| async move {
            tokio::time::sleep(handler_time).await;
            "done"
        });
        let stop = CancellationToken::new();
        tokio::spawn(super::serve(
            listener,
            Arc::new(endpoint),
            Duration::from_millis(200),
            stop.clone(),
            TaskTracker::new(),
        ));
        (addr, stop)
    }

    /// Everything the server sends until it closes the connection (at most 10 s).
    async fn until_closed(stream: &mut TcpStream) -> String {
        let mut received = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut received))
            .await
            .expect("closed within 10 s")
            .unwrap();
        String::from_utf8(received).unwrap()
    }

    #[tokio::test]
    async fn a_handler_slower_than_the_header_timeout_answers_then_the_idle_connection_closes() {
        // Three header timeouts: hyper's own timeout never ran while a handler did, nor does the
        // watchdog's.
        let (addr, stop) = slow_server(Duration::from_millis(600)).await;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        // Kept alive after the answer, then closed for idling past the header timeout.
        let received = until_closed(&mut stream).await;
        assert!(received.starts_with("HTTP/1.1 200 OK\r\n"), "{received}");
        assert!(received.ends_with("\r\n\r\ndone"), "{received}");
        stop.cancel();
    }

    #[tokio::test]
    async fn a_head_that_never_ends_is_cut_off_without_an_answer() {
        let (addr, stop) = slow_server(Duration::ZERO).await;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
            .await
            .unwrap();
        assert_eq!(until_closed(&mut stream).await, "");
        stop.cancel();
    }
}
