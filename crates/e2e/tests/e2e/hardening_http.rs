//! Admission control and hardening of the HTTP side (issue 15): bounded metrics, the
//! connection cap, header/idle/body timeouts, health of the server's threads, the demo
//! page's Content-Security-Policy. Raw TCP where a well-behaved client can't misbehave.

use crate::common::TestServer;
use opencalls_testkit::poll::{self, WAIT};
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The host:port of a test server.
fn addr(server: &TestServer) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection (or `within` passes); returns what came.
async fn read_to_close(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(within, stream.read_to_end(&mut got)).await;
    read.ok()
        .map(|_| String::from_utf8_lossy(&got).into_owned())
}

#[tokio::test]
async fn made_up_methods_share_one_metric_label() {
    let server = TestServer::start().await;
    for i in 0..50 {
        let method = Method::from_bytes(format!("BREW{i}").as_bytes()).unwrap();
        let _ = server
            .http
            .request(method, server.url("/v1/rooms"))
            .send()
            .await
            .unwrap();
    }
    let text = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains("BREW"), "a client's method became a label");
    assert!(
        text.contains(
            r#"opencalls_http_requests_total{method="other",route="/v1/rooms",status="401"} 50"#
        ),
        "{text}"
    );
}

#[tokio::test]
async fn a_stalled_request_head_and_an_idle_connection_are_closed() {
    let server = TestServer::start_with(|c| c.http_header_timeout_ms = 300).await;
    // Half a request head, then nothing.
    let mut stalled = TcpStream::connect(addr(&server)).await.unwrap();
    stalled
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(
        read_to_close(&mut stalled, WAIT).await.is_some(),
        "a half-sent head kept its connection open"
    );
    // A served request, then an idle keep-alive connection.
    let mut idle = TcpStream::connect(addr(&server)).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut idle, WAIT)
        .await
        .expect("closed when idle");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_body_that_never_arrives_is_refused() {
    let server = TestServer::start_with(|c| c.http_body_timeout_ms = 300).await;
    let mut slow = TcpStream::connect(addr(&server)).await.unwrap();
    let head = "POST /v1/rooms HTTP/1.1\r\nHost: x\r\nApi-Token: test-master-token\r\n\
                content-type: application/json\r\ncontent-length: 100\r\n\r\n{\"type\":";
    slow.write_all(head.as_bytes()).await.unwrap();
    let answer = read_to_close(&mut slow, WAIT)
        .await
        .expect("answered in time");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let rooms = server.api.list_rooms("").await.unwrap();
    assert!(
        rooms.rooms.is_empty(),
        "a timed-out request changed nothing"
    );
}

#[tokio::test]
async fn connections_over_the_cap_get_503_and_room_frees_up() {
    let server = TestServer::start_with(|c| c.http_max_connections = 2).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(TcpStream::connect(addr(&server)).await.unwrap());
    }
    // The accept loop takes the two first: wait until a third is refused.
    poll::until("a connection over the cap is refused", WAIT, async || {
        let mut extra = TcpStream::connect(addr(&server)).await.unwrap();
        let _ = extra
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        let answer = read_to_close(&mut extra, WAIT).await.unwrap_or_default();
        answer.starts_with("HTTP/1.1 503") && answer.contains("429100")
    })
    .await;
    held.clear();
    poll::until("a slot frees when a connection closes", WAIT, async || {
        let fresh = reqwest::Client::new();
        let answer = fresh.get(server.url("/healthz")).send().await;
        answer.is_ok_and(|r| r.status() == 200)
    })
    .await;
}

#[tokio::test]
async fn healthz_fails_and_readyz_says_why_when_the_sfu_dies() {
    let server = TestServer::start().await;
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["sfu"], "ok");
    assert_eq!(body["checks"]["store_writer"], "ok");
    server.sfu.shutdown().await;
    poll::until("healthz answers 503", WAIT, async || {
        let r = server
            .http
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap();
        r.status() == 503
    })
    .await;
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["ready"], Value::Bool(false));
    assert_eq!(body["checks"]["sfu"], "down");
    assert_eq!(body["checks"]["store_writer"], "ok");
}

#[tokio::test]
async fn the_demo_page_carries_a_content_security_policy() {
    let server = TestServer::start().await;
    let page = server.http.get(server.url("/demo/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page
        .headers()
        .get("content-security-policy")
        .expect("a CSP header")
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "default-src 'self'",
        "connect-src 'self' ws: wss:",
        "media-src 'self' blob:",
        "img-src 'self' blob:",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
}
