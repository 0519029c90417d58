//! The HTTP/1.1 connection loop: accept, bound, serve, and stop gracefully.
//!
//! poem's own `Server` sets no header-read timeout and no request-head limit, so slow or oversized
//! request heads would hold connections and memory. Here hyper serves each connection directly
//! with both limits, and poem handles the requests.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
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
    let http = http1_settings(header_timeout);
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
        let (mut http, stop) = (http.clone(), stop.clone());
        connections.spawn(async move {
            http.timer(HeadTimer::default());
            connection.serve(&http, &stop).await;
            drop(permit);
        });
    }
}

/// hyper's HTTP/1 settings for every connection: the header-read timeout and the head and buffer
/// limits. Each connection also needs its own [`HeadTimer`] (`Builder::timer`), which the
/// timeout runs on.
pub fn http1_settings(header_timeout: Duration) -> http1::Builder {
    let mut http = http1::Builder::new();
    http.header_read_timeout(header_timeout)
        .max_header_size(MAX_HEAD_BYTES)
        .max_buf_size(MAX_BUF_BYTES)
        // Answers are small: copying the body after the head and writing once is cheaper.
        .writev(false)
        // Without it hyper tries a read while each request is served, to notice a client that
        // has gone: with the request still holding the read buffer, that read allocates a new
        // 8 KiB one every request. A client that shuts down its sending side still gets its
        // answer, and one that has gone is noticed when the answer is written.
        .half_close(true);
    http
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

/// hyper's timer for one connection: the header-read timeout of every request on it, kept by
/// one tokio `Sleep` whose deadline moves.
///
/// hyper asks for a new sleep for each request head and drops it once the head is in. With
/// hyper-util's `TokioTimer` each one went into tokio's timer wheel and out again under the
/// driver's lock, twice per request. Here the connection's one `Sleep` stays in the wheel and
/// each head moves its deadline later, which tokio does with one atomic update (`Sleep::reset`).
/// Between heads it is not polled; if its deadline passes then (a long request), it is re-armed
/// by the next head like any elapsed `Sleep`.
#[derive(Clone, Default)]
pub struct HeadTimer {
    /// The connection's `Sleep`, made by the first head; shared with the sleeps handed to hyper.
    sleep: Arc<Mutex<Option<Pin<Box<tokio::time::Sleep>>>>>,
}

impl hyper::rt::Timer for HeadTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until(self.now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HeadSleep {
            timer: self.clone(),
            deadline,
        })
    }

    /// tokio's now, which hyper adds the timeout to, as `TokioTimer` does: under tokio's paused
    /// time (tests) std's clock lags it, and a deadline from std's would pass at once.
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
}

/// One head's timeout: the connection's `Sleep`, moved to this deadline when polled.
struct HeadSleep {
    timer: HeadTimer,
    deadline: Instant,
}

impl Future for HeadSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = tokio::time::Instant::from_std(self.deadline);
        // A poisoned lock only means a poll panicked elsewhere; the `Sleep` in it is still whole.
        let mut slot = self
            .timer
            .sleep
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let sleep = slot.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if sleep.deadline() != deadline {
            sleep.as_mut().reset(deadline);
        }
        sleep.as_mut().poll(cx)
    }
}

impl hyper::rt::Sleep for HeadSleep {}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::rt::Timer;

    /// Whether `sleep` is still pending after `wait` more of tokio's (paused) time.
    async fn pending_after(sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, wait: Duration) -> bool {
        tokio::time::timeout(wait, sleep).await.is_err()
    }

    #[tokio::test(start_paused = true)]
    async fn the_head_timer_moves_its_one_sleep_to_each_deadline() {
        let timer = HeadTimer::default();
        let start = tokio::time::Instant::now();
        let at = |millis| (start + Duration::from_millis(millis)).into_std();

        // A head's timeout, dropped once the head is in, as hyper drops it.
        let mut first = timer.sleep_until(at(1000));
        assert!(pending_after(&mut first, Duration::from_millis(500)).await);
        drop(first);
        // The next head's, later: the first deadline passes without it firing.
        let mut second = timer.sleep_until(at(2000));
        assert!(pending_after(&mut second, Duration::from_millis(1000)).await);
        assert!(!pending_after(&mut second, Duration::from_millis(600)).await);
        assert_eq!(
            tokio::time::Instant::now() - start,
            Duration::from_millis(2000)
        );
        // hyper counts each deadline from the timer's now: tokio's, paused time included.
        assert_eq!(timer.now(), at(2000));
        // Once elapsed, the sleep is armed again for the next head.
        let mut third = timer.sleep(Duration::from_secs(1));
        assert!(pending_after(&mut third, Duration::from_millis(900)).await);
        assert!(!pending_after(&mut third, Duration::from_millis(200)).await);
        assert_eq!(
            tokio::time::Instant::now() - start,
            Duration::from_millis(3000)
        );
    }
}
