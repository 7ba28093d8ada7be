//! The HTTP/1.1 accept loop with admission control (docs/security.md, "Limits"):
//! - at most `http_max_connections` connections at once (WebSockets included, for their
//!   whole life); a connection over the limit gets a `503` and is closed at once, so a flood
//!   can't exhaust file descriptors or memory;
//! - a request head must arrive within `http_header_timeout_ms` of the connection opening
//!   or of its previous response (so this is also the keep-alive idle timeout);
//! - a request body must arrive within `http_body_timeout_ms` of its head.
//!
//! Each request carries the client's address (`ConnectInfo<SocketAddr>`, for per-address
//! rate limits) and the connection's slot ([`opencalls_signal::ConnectionSlot`]), which an
//! upgraded WebSocket keeps until it closes.

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// Largest body buffered under the body timeout; larger ones are refused (the API's own
/// limits are far below).
const MAX_BUFFERED_BODY: usize = 1024 * 1024;
/// How long a refused connection gets to take its `503`.
const REFUSAL_WRITE: Duration = Duration::from_secs(1);
/// How long graceful shutdown waits for in-flight requests.
const DRAIN: Duration = Duration::from_secs(10);

/// The admission settings (from `Config`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Admission {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets in-flight requests end
/// (idle keep-alive connections are closed) for at most [`DRAIN`].
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    admission: Admission,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(admission.max_connections));
    let (stop_tx, stop) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors or a connection reset before accept: keep serving.
                    tracing::warn!(%err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(refuse(stream));
            continue;
        };
        let slot = opencalls_signal::ConnectionSlot::new(slot);
        let conn = connection(stream, addr, app.clone(), admission, slot, stop.clone());
        tokio::spawn(conn);
    }
    let _ = stop_tx.send(true);
    let all = u32::try_from(admission.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(DRAIN, slots.acquire_many(all)).await;
    Ok(())
}

/// Serves one connection; on shutdown, lets its in-flight request finish and closes it.
async fn connection(
    stream: TcpStream,
    addr: SocketAddr,
    app: Router,
    admission: Admission,
    slot: opencalls_signal::ConnectionSlot,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let body_timeout = admission.body_timeout;
    let service = hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ConnectInfo(addr));
        request.extensions_mut().insert(slot.clone());
        let app = app.clone();
        async move {
            match read_body(request.map(Body::new), body_timeout).await {
                Ok(request) => app.oneshot(request).await,
                Err(refused) => Ok(refused),
            }
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(admission.header_timeout)
        .keep_alive(true);
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = stop.wait_for(|stop| *stop) => conn.as_mut().graceful_shutdown(),
    }
    let _ = conn.await;
}

/// Over the connection limit: a `503` with the spec's error body, then close.
async fn refuse(mut stream: TcpStream) {
    const BODY: &str = r#"{"error":true,"code":429100,"message":"the server is at its connection limit; retry shortly"}"#;
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = tokio::time::timeout(REFUSAL_WRITE, stream.write_all(response.as_bytes())).await;
}

/// Reads a request's body within the body timeout before the router sees it; requests
/// without a body pass untouched (and cost nothing: this runs in the connection's own
/// future, not as a router layer).
async fn read_body(request: Request, within: Duration) -> Result<Request, Response> {
    let headers = request.headers();
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|len| len.as_bytes() != b"0");
    if !has_body {
        return Ok(request);
    }
    let (parts, body) = request.into_parts();
    let read = axum::body::to_bytes(body, MAX_BUFFERED_BODY);
    match tokio::time::timeout(within, read).await {
        Ok(Ok(bytes)) => Ok(Request::from_parts(parts, Body::from(bytes))),
        Ok(Err(_)) => Err(refusal(
            StatusCode::BAD_REQUEST,
            400100,
            "the request body is too large or malformed",
        )),
        Err(_) => Err(refusal(
            StatusCode::REQUEST_TIMEOUT,
            400100,
            "the request body did not arrive in time",
        )),
    }
}

fn refusal(status: StatusCode, code: u32, message: &str) -> Response {
    let body = serde_json::json!({ "error": true, "code": code, "message": message });
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    response
}
