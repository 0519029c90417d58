//! Clients that misbehave: silence, dripped headers, huge or malformed heads, endless bodies.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{PATIENCE, spawn_app};

/// The header timeout the tests configure: short, so the suite stays fast.
const HEADER_TIMEOUT: Duration = Duration::from_secs(1);

/// Sends `request` on a new connection and returns the response's status line.
async fn status_line(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before it has read everything; that is not an error here.
    let _ = stream.write_all(request).await;
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(PATIENCE, async {
        while !received.windows(2).any(|w| w == b"\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("a response within PATIENCE");
    let text = String::from_utf8_lossy(&received);
    text.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_header_timeout_while_others_are_served() {
    let app = spawn_app(&["--header-timeout", "1s"]).await;
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    let opened = Instant::now();

    // Served while the silent connection is open.
    assert_eq!(app.health_status().await, 200);

    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(PATIENCE, silent.read(&mut buf))
        .await
        .expect("closed within PATIENCE");
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "closed without a response: {read:?}"
    );
    assert!(
        opened.elapsed() >= HEADER_TIMEOUT - Duration::from_millis(100),
        "closed by the timeout, not at once"
    );
}

#[tokio::test]
async fn a_kept_alive_connection_gets_the_whole_header_timeout_after_each_answer() {
    let app = spawn_app(&["--header-timeout", "1s"]).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let request = b"GET /livez HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let mut buf = [0u8; 4096];
    // Three requests 600 ms apart: each head arrives within the timeout counted from the answer
    // before it, though the last comes long after the first head's timeout had passed.
    let mut answered = Instant::now();
    for _ in 0..3 {
        stream.write_all(request).await.unwrap();
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .expect("an answer within PATIENCE")
            .unwrap();
        assert!(
            String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200 OK"),
            "served on the kept-alive connection"
        );
        answered = Instant::now();
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    // Then silence: closed one header timeout after the last answer, not after an earlier head's.
    let read = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
        .await
        .expect("closed within PATIENCE");
    assert!(matches!(read, Ok(0) | Err(_)), "closed: {read:?}");
    let idle = answered.elapsed();
    assert!(
        idle >= HEADER_TIMEOUT - Duration::from_millis(100) && idle < HEADER_TIMEOUT * 3,
        "closed {idle:?} after the last answer"
    );
}

#[tokio::test]
async fn dripped_headers_are_cut_off_at_the_header_timeout() {
    let app = spawn_app(&["--header-timeout", "1s"]).await;
    let stream = TcpStream::connect(app.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let started = Instant::now();
    writer
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();

    let closed = tokio::spawn(async move {
        let mut received = Vec::new();
        let _ = reader.read_to_end(&mut received).await;
        received
    });
    // One header line every 100 ms, never finishing the head, for at most PATIENCE.
    while !closed.is_finished() && started.elapsed() < PATIENCE {
        if writer.write_all(b"X-Drip: 1\r\n").await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let received = tokio::time::timeout(PATIENCE, closed)
        .await
        .expect("closed within PATIENCE")
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&received).contains(" 200 "),
        "the dripping client was not served"
    );
    assert!(
        started.elapsed() < PATIENCE,
        "the server closed the connection"
    );

    // Everyone else is still served.
    assert_eq!(app.health_status().await, 200);
}

#[tokio::test]
async fn a_head_over_16_kib_gets_431_and_one_under_it_is_served() {
    let app = spawn_app(&[]).await;
    let request = |header_bytes: usize| {
        format!(
            "GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
            "a".repeat(header_bytes)
        )
    };
    assert_eq!(
        status_line(app.addr, request(15 * 1024).as_bytes()).await,
        "HTTP/1.1 200 OK"
    );
    assert_eq!(
        status_line(app.addr, request(17 * 1024).as_bytes()).await,
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    // Far past the limit: the read buffer is capped, the answer is the same.
    assert_eq!(
        status_line(app.addr, request(1024 * 1024).as_bytes()).await,
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
}

#[tokio::test]
async fn a_malformed_request_gets_400() {
    let app = spawn_app(&[]).await;
    assert_eq!(
        status_line(app.addr, b"THIS IS NOT HTTP\r\n\r\n").await,
        "HTTP/1.1 400 Bad Request"
    );
    assert_eq!(
        status_line(app.addr, b"GET /health HTTP/1.1\r\nBad Header\r\n\r\n").await,
        "HTTP/1.1 400 Bad Request"
    );
    // The server is unharmed.
    assert_eq!(app.health_status().await, 200);
}

#[tokio::test]
async fn a_huge_declared_body_is_answered_without_being_read() {
    let app = spawn_app(&[]).await;
    let request =
        b"POST /health HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000000000\r\n\r\npartial";
    assert_eq!(
        status_line(app.addr, request).await,
        "HTTP/1.1 405 Method Not Allowed"
    );
}
