//! A Rust client of the OpenCalls client protocol (docs/protocol.md), used by the tests, the
//! load generator and the CLI.
//!
//! [`open_session`] exchanges a user's access token for a session token; [`Client::connect`]
//! opens the WebSocket and waits for `hello`. Requests are matched to their answers by id,
//! so several may be in flight; everything else the server pushes (events, errors without
//! an id, `goodbye`, the close) arrives in order through [`Client::next_incoming`].
#![forbid(unsafe_code)]

pub mod media;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use thiserror::Error;
use tokio::net::TcpStream;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Pending = Arc<std::sync::Mutex<HashMap<String, oneshot::Sender<Result<Value, ClientError>>>>>;

/// How long a request waits for its answer by default.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Error, PartialEq)]
pub enum ClientError {
    /// The server refused the request with a spec error code.
    #[error("server error {code}: {message}")]
    Server { code: u64, message: String },
    /// An HTTP endpoint answered with a non-200 status.
    #[error("HTTP {status}: {body}")]
    Http { status: u16, body: Value },
    #[error("transport: {0}")]
    Transport(String),
    #[error("timed out")]
    Timeout,
    #[error("the connection is closed")]
    Closed,
}

impl ClientError {
    /// The spec error code, if the server sent one.
    pub fn code(&self) -> Option<u64> {
        match self {
            Self::Server { code, .. } => Some(*code),
            Self::Http { body, .. } => body["code"].as_u64(),
            _ => None,
        }
    }
}

/// A session token and when it expires.
#[derive(Clone, Debug)]
pub struct Session {
    pub user_id: String,
    pub session_token: String,
    pub expires_at: i64,
}

/// `POST {http_base}/v1/auth/session`.
pub async fn open_session(
    http_base: &str,
    user_id: &str,
    access_token: &str,
) -> Result<Session, ClientError> {
    let resp = reqwest::Client::new()
        .post(format!("{http_base}/v1/auth/session"))
        .json(&json!({ "user_id": user_id, "access_token": access_token }))
        .send()
        .await
        .map_err(|e| ClientError::Transport(e.to_string()))?;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if status != 200 {
        return Err(ClientError::Http { status, body });
    }
    Ok(Session {
        user_id: user_id.to_owned(),
        session_token: body["session_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        expires_at: body["expires_at"].as_i64().unwrap_or_default(),
    })
}

/// Something the server pushed that is not the answer to a request.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// `{"type":"event", ...}`: `name` like `room.participant_entered` or `live.started`;
    /// `room_id` is empty for live events, `live_event_id` for room events.
    Event {
        name: String,
        room_id: String,
        live_event_id: String,
        data: Value,
    },
    /// An error that could not be tied to a request id (e.g. a malformed frame).
    Error { code: u64, message: String },
    /// The server is about to close on purpose.
    Goodbye { reason: String },
    /// The socket closed (close code if any).
    Closed { code: Option<u16> },
}

pub struct Client {
    sink: Arc<Mutex<SplitSink<Socket, Message>>>,
    pending: Pending,
    incoming: mpsc::UnboundedReceiver<Incoming>,
    reader: JoinHandle<()>,
    next_id: AtomicU64,
    /// The server's `hello`.
    pub hello: Value,
}

impl Client {
    /// Connects to `ws_base` (e.g. `ws://127.0.0.1:8080`) and waits for `hello`.
    pub async fn connect(
        ws_base: &str,
        session_token: &str,
        client_id: Option<&str>,
    ) -> Result<Self, ClientError> {
        let mut url = format!("{ws_base}/v1/ws?session_token={session_token}");
        if let Some(id) = client_id {
            url.push_str(&format!("&client_id={id}"));
        }
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| match e {
                tokio_tungstenite::tungstenite::Error::Http(resp) => {
                    let body = resp
                        .body()
                        .as_ref()
                        .and_then(|b| serde_json::from_slice(b).ok())
                        .unwrap_or(Value::Null);
                    ClientError::Http {
                        status: resp.status().as_u16(),
                        body,
                    }
                }
                other => ClientError::Transport(other.to_string()),
            })?;
        let (sink, mut stream) = socket.split();
        let hello = match tokio::time::timeout(REQUEST_TIMEOUT, next_text(&mut stream)).await {
            Ok(Some(text)) => serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
            Ok(None) => return Err(ClientError::Closed),
            Err(_) => return Err(ClientError::Timeout),
        };
        if hello["type"] != "hello" {
            return Err(ClientError::Transport(format!(
                "expected hello, got {hello}"
            )));
        }
        let pending: Pending = Arc::default();
        let (tx, incoming) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_loop(stream, pending.clone(), tx));
        Ok(Self {
            sink: Arc::new(Mutex::new(sink)),
            pending,
            incoming,
            reader,
            next_id: AtomicU64::new(1),
            hello,
        })
    }

    /// The device id the server knows this connection by (reuse it to resume).
    pub fn client_id(&self) -> String {
        self.hello["client_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Sends a request and waits for its `result` (or its error).
    pub async fn request(&self, kind: &str, params: Value) -> Result<Value, ClientError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed).to_string();
        let mut frame = match params {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        frame.insert("id".into(), Value::String(id.clone()));
        frame.insert("type".into(), Value::String(kind.to_owned()));
        let (tx, rx) = oneshot::channel();
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(id.clone(), tx);
        }
        self.send_raw(&Value::Object(frame).to_string()).await?;
        match tokio::time::timeout(REQUEST_TIMEOUT, rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(ClientError::Closed),
            Err(_) => {
                if let Ok(mut pending) = self.pending.lock() {
                    pending.remove(&id);
                }
                Err(ClientError::Timeout)
            }
        }
    }

    /// Sends any text frame as is (for tests of malformed input).
    pub async fn send_raw(&self, text: &str) -> Result<(), ClientError> {
        self.sink
            .lock()
            .await
            .send(Message::text(text))
            .await
            .map_err(|_| ClientError::Closed)
    }

    /// Enters a room; returns `{room, participant}`.
    pub async fn enter(
        &self,
        room_id: &str,
        audio: bool,
        video: bool,
    ) -> Result<Value, ClientError> {
        let params = json!({ "room_id": room_id, "is_audio_on": audio, "is_video_on": video });
        self.request("room.enter", params).await
    }

    pub async fn exit(&self, room_id: &str) -> Result<Value, ClientError> {
        self.request("room.exit", json!({ "room_id": room_id }))
            .await
    }

    /// Turns audio and/or video on or off (`None` leaves it as is).
    pub async fn set_media(
        &self,
        room_id: &str,
        audio: Option<bool>,
        video: Option<bool>,
    ) -> Result<Value, ClientError> {
        let params = json!({ "room_id": room_id, "is_audio_on": audio, "is_video_on": video });
        self.request("room.set_media", params).await
    }

    /// Enters a live event as `host` or `participant`; returns `{live_event, host}` or
    /// `{live_event, participant}`.
    pub async fn live_enter(
        &self,
        live_event_id: &str,
        role: &str,
        audio: bool,
        video: bool,
    ) -> Result<Value, ClientError> {
        let params = json!({
            "live_event_id": live_event_id,
            "role": role,
            "is_audio_on": audio,
            "is_video_on": video,
        });
        self.request("live.enter", params).await
    }

    pub async fn live_exit(&self, live_event_id: &str) -> Result<Value, ClientError> {
        self.live_action("live.exit", live_event_id).await
    }

    /// The host sets the live event ready (`created → ready`); returns `{live_event}`.
    pub async fn live_set_ready(&self, live_event_id: &str) -> Result<Value, ClientError> {
        self.live_action("live.set_ready", live_event_id).await
    }

    /// The host starts the live event (`ready → ongoing`); returns `{live_event}`.
    pub async fn live_start(&self, live_event_id: &str) -> Result<Value, ClientError> {
        self.live_action("live.start", live_event_id).await
    }

    /// The host ends the live event, forcing everyone out; returns `{live_event}`.
    pub async fn live_end(&self, live_event_id: &str) -> Result<Value, ClientError> {
        self.live_action("live.end", live_event_id).await
    }

    /// The host turns audio and/or video on or off (`None` leaves it as is).
    pub async fn live_set_media(
        &self,
        live_event_id: &str,
        audio: Option<bool>,
        video: Option<bool>,
    ) -> Result<Value, ClientError> {
        let params =
            json!({ "live_event_id": live_event_id, "is_audio_on": audio, "is_video_on": video });
        self.request("live.set_media", params).await
    }

    /// Sends a chat message to everyone in the live event; returns `{message}`.
    pub async fn live_chat(
        &self,
        live_event_id: &str,
        message: &str,
    ) -> Result<Value, ClientError> {
        let params = json!({ "live_event_id": live_event_id, "message": message });
        self.request("live.chat", params).await
    }

    async fn live_action(&self, kind: &str, live_event_id: &str) -> Result<Value, ClientError> {
        self.request(kind, json!({ "live_event_id": live_event_id }))
            .await
    }

    pub async fn ping(&self) -> Result<Value, ClientError> {
        self.request("ping", json!({})).await
    }

    /// The next pushed message, or `None` if nothing came within `wait`.
    pub async fn next_incoming(&mut self, wait: Duration) -> Option<Incoming> {
        tokio::time::timeout(wait, self.incoming.recv())
            .await
            .ok()
            .flatten()
    }

    /// Skips pushed messages until one matches `pred`; `None` at the deadline.
    pub async fn wait_for(
        &mut self,
        wait: Duration,
        mut pred: impl FnMut(&Incoming) -> bool,
    ) -> Option<Incoming> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let next = self.next_incoming(left).await?;
            if pred(&next) {
                return Some(next);
            }
        }
    }

    /// Closes politely (close frame).
    pub async fn close(self) {
        let _ = self.sink.lock().await.close().await;
        self.reader.abort();
    }

    /// Drops the connection without a close frame, as a crashed device would.
    pub fn kill(self) {
        self.reader.abort();
    }
}

async fn next_text(stream: &mut SplitStream<Socket>) -> Option<String> {
    while let Some(message) = stream.next().await {
        match message {
            Ok(Message::Text(text)) => return Some(text.as_str().to_owned()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
    None
}

async fn read_loop(
    mut stream: SplitStream<Socket>,
    pending: Pending,
    incoming: mpsc::UnboundedSender<Incoming>,
) {
    let mut close_code = None;
    while let Some(message) = stream.next().await {
        let text = match message {
            Ok(Message::Text(text)) => text,
            Ok(Message::Close(frame)) => {
                close_code = frame.map(|f| u16::from(f.code));
                break;
            }
            Ok(_) => continue,
            Err(_) => break,
        };
        let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        dispatch(frame, &pending, &incoming);
    }
    if let Ok(mut pending) = pending.lock() {
        pending.clear(); // waiting requests see `Closed`
    }
    let _ = incoming.send(Incoming::Closed { code: close_code });
}

fn dispatch(frame: Value, pending: &Pending, incoming: &mpsc::UnboundedSender<Incoming>) {
    let waiter = frame["id"]
        .as_str()
        .and_then(|id| pending.lock().ok()?.remove(id));
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let error = || ClientError::Server {
        code: frame["code"].as_u64().unwrap_or_default(),
        message: text(&frame["message"]),
    };
    match (frame["type"].as_str(), waiter) {
        (Some("response"), Some(tx)) => {
            let _ = tx.send(Ok(frame["result"].clone()));
        }
        (Some("error"), Some(tx)) => {
            let _ = tx.send(Err(error()));
        }
        (Some("error"), None) => {
            let _ = incoming.send(Incoming::Error {
                code: frame["code"].as_u64().unwrap_or_default(),
                message: text(&frame["message"]),
            });
        }
        (Some("event"), _) => {
            let _ = incoming.send(Incoming::Event {
                name: text(&frame["event"]),
                room_id: text(&frame["room_id"]),
                live_event_id: text(&frame["live_event_id"]),
                data: frame["data"].clone(),
            });
        }
        (Some("goodbye"), _) => {
            let _ = incoming.send(Incoming::Goodbye {
                reason: text(&frame["reason"]),
            });
        }
        _ => {}
    }
}
