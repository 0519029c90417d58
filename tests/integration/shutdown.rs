//! Graceful shutdown, through the real binary and real signals.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::helpers::{Connection, PATIENCE, client, spawn_app, spawn_binary};

#[tokio::test]
async fn sigterm_drains_then_exits_0_and_keep_alive_requests_complete() {
    let mut binary = spawn_binary(&[("DRAIN_DELAY", "2s"), ("SHUTDOWN_GRACE", "5s")]).await;
    let addr = binary.addr;
    let mut kept_alive = Connection::open(addr).await;
    let before = kept_alive.send("GET", "/health").await.unwrap();
    assert_eq!(
        (before.status, before.json()["status"].clone()),
        (200, "UP".into())
    );

    binary.signal(Signal::SIGTERM);
    let signalled = Instant::now();

    // Readiness turns 503 at once, on new connections, while the listener still accepts.
    let ready = loop {
        let status = client()
            .get(format!("http://{addr}/readyz"))
            .send()
            .await
            .unwrap()
            .status();
        if status == 503 || signalled.elapsed() > PATIENCE {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(ready, 503);
    assert!(
        signalled.elapsed() < Duration::from_secs(2),
        "503 came within the drain delay"
    );

    // A request on the connection opened before the signal completes, reporting DOWN.
    let during = kept_alive
        .send("GET", "/health")
        .await
        .expect("the keep-alive request completes");
    assert_eq!(
        (during.status, during.json()["status"].clone()),
        (503, "DOWN".into())
    );

    assert_eq!(binary.exit_code().await, Some(0));
    assert!(
        signalled.elapsed() >= Duration::from_secs(2),
        "the drain delay was honoured"
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );
}

#[tokio::test]
async fn sigint_also_shuts_down_gracefully() {
    let mut binary = spawn_binary(&[]).await;
    binary.signal(Signal::SIGINT);
    assert_eq!(binary.exit_code().await, Some(0));
}

#[tokio::test]
async fn after_the_drain_idle_keep_alive_connections_are_closed() {
    let mut app = spawn_app(&["--drain-delay", "0s"]).await;
    let mut connection = Connection::open(app.addr).await;
    assert_eq!(connection.send("GET", "/livez").await.unwrap().status, 200);

    app.signal_shutdown();
    tokio::time::timeout(PATIENCE, &mut app.stopped)
        .await
        .expect("stops within PATIENCE")
        .unwrap();
    let after = connection.send("GET", "/livez").await;
    assert!(
        after.is_err() || connection.is_closed(),
        "the idle connection was closed"
    );
}
