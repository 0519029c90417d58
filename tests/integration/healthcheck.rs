//! `health-service healthcheck`, the container's HEALTHCHECK, through the real binary.

use std::process::Stdio;

use crate::helpers::{PATIENCE, command, spawn_app};

async fn healthcheck(port: u16) -> (Option<i32>, String) {
    let port = port.to_string();
    let output = tokio::time::timeout(
        PATIENCE,
        command(&[("HOST", "0.0.0.0"), ("PORT", &port)])
            .arg("healthcheck")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output(),
    )
    .await
    .expect("healthcheck exits within PATIENCE")
    .expect("healthcheck runs");
    (
        output.status.code(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[tokio::test]
async fn healthcheck_exits_0_when_healthy() {
    let app = spawn_app(&[]).await;
    let (code, stderr) = healthcheck(app.addr.port()).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[tokio::test]
async fn healthcheck_exits_1_when_stopping() {
    let app = spawn_app(&[]).await;
    app.lifecycle.begin_stopping();
    let (code, stderr) = healthcheck(app.addr.port()).await;
    assert_eq!(code, Some(1));
    assert!(stderr.contains("answered 503"), "{stderr}");
}

#[tokio::test]
async fn healthcheck_exits_1_when_nothing_listens() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (code, stderr) = healthcheck(port).await;
    assert_eq!(code, Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(stderr.contains("cannot reach"), "{stderr}");
}
