//! A Rust client of the OpenCalls client protocol (docs/protocol.md), used by the tests, the
//! load generator and the CLI.
//!
//! [`open_session`] exchanges a user's access token for a session token; [`Client::connect`]
//! opens the WebSocket and waits for `hello`. Requests are matched to their answers by id,
//! so several may be in flight; everything else the server pushes (events, errors without
//! an id, `goodbye`, the close) arrives in order through [`Client::next_incoming`].
//!
//! Frames are the typed frames of `opencalls-protocol`: [`Client::call`] sends typed
//! parameters and decodes the typed result; the `Value`-returning helpers (`enter`, `exit`,
//! …) send the same typed requests. [`Client::request`] sends any `type` (tests of unknown
//! requests). A frame that doesn't parse as a known server frame (an event of a newer
//! server) is skipped, as the protocol asks of clients.
#![forbid(unsafe_code)]

pub mod calls;
pub use calls::DialOptions;
pub mod media;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use opencalls_domain::{LiveEventId, RoomId};
use opencalls_protocol::request::{
    LiveChat, LiveEnd, LiveEnter, LiveExit, LiveSetMedia, LiveSetReady, LiveStart, Ping, RoomEnter,
    RoomExit, RoomSetMedia,
};
use opencalls_protocol::session::{OpenSession, SessionOpened};
use opencalls_protocol::{
    Call, ClientFrame, ErrorFrame, EventFrame, LiveRoleName, Request, RequestId, ResponseFrame,
    ServerFrame,
};
use serde_json::Value;
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
type Pending =
    Arc<std::sync::Mutex<HashMap<RequestId, oneshot::Sender<Result<Value, ClientError>>>>>;

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
            Self::Transport(_) | Self::Timeout | Self::Closed => None,
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
    let request = OpenSession {
        user_id: Some(user_id.to_owned()),
        access_token: Some(access_token.to_owned()),
    };
    let resp = reqwest::Client::new()
        .post(format!("{http_base}/v1/auth/session"))
        .json(&request)
        .send()
        .await
        .map_err(|e| ClientError::Transport(e.to_string()))?;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if status != 200 {
        return Err(ClientError::Http { status, body });
    }
    let opened: SessionOpened =
        serde_json::from_value(body).map_err(|e| ClientError::Transport(e.to_string()))?;
    Ok(Session {
        user_id: user_id.to_owned(),
        session_token: opened.session_token,
        expires_at: opened.expires_at.unwrap_or_default(),
    })
}

/// Something the server pushed that is not the answer to a request.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// `{"type":"event", ...}`: `name` like `room.participant_entered` or `live.started`;
    /// of the scope ids `room_id`, `live_event_id` and `call_id` only the event's own is
    /// set, the others are empty.
    Event {
        name: String,
        room_id: String,
        live_event_id: String,
        call_id: String,
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
        if !matches!(
            serde_json::from_value::<ServerFrame>(hello.clone()),
            Ok(ServerFrame::Hello(_))
        ) {
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

    /// The STUN/TURN servers of `hello.ice_servers` (TURN credentials valid for the
    /// server's configured lifetime from this connection's start); empty without TURN.
    pub fn ice_servers(&self) -> Vec<opencalls_protocol::IceServer> {
        serde_json::from_value(self.hello["ice_servers"].clone()).unwrap_or_default()
    }

    /// The device id the server knows this connection by (reuse it to resume).
    pub fn client_id(&self) -> String {
        self.hello["client_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Sends a request of any `type` (known or not) and waits for its `result` (or its
    /// error). `params` must be a JSON object (anything else sends no parameters).
    pub async fn request(&self, kind: &str, params: Value) -> Result<Value, ClientError> {
        let id = self.next_request_id();
        let mut frame = match params {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        frame.insert("id".into(), Value::String(id.as_str().to_owned()));
        frame.insert("type".into(), Value::String(kind.to_owned()));
        self.round_trip(id, &Value::Object(frame).to_string()).await
    }

    /// Sends a typed request and decodes its typed result.
    pub async fn call<C: Call>(&self, params: C) -> Result<C::Output, ClientError> {
        let result = self.send_request(params.into()).await?;
        serde_json::from_value(result).map_err(|e| ClientError::Transport(e.to_string()))
    }

    /// Sends a typed request; the result as JSON.
    async fn send_request(&self, request: Request) -> Result<Value, ClientError> {
        let id = self.next_request_id();
        let frame = ClientFrame {
            id: id.clone(),
            request,
        };
        let text =
            serde_json::to_string(&frame).map_err(|e| ClientError::Transport(e.to_string()))?;
        self.round_trip(id, &text).await
    }

    fn next_request_id(&self) -> RequestId {
        RequestId::numbered(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    async fn round_trip(&self, id: RequestId, text: &str) -> Result<Value, ClientError> {
        let (tx, rx) = oneshot::channel();
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(id.clone(), tx);
        }
        self.send_raw(text).await?;
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
        let params = RoomEnter {
            room_id: Some(wire_id(room_id, RoomId::from_trusted)),
            is_audio_on: Some(audio),
            is_video_on: Some(video),
        };
        self.send_request(params.into()).await
    }

    pub async fn exit(&self, room_id: &str) -> Result<Value, ClientError> {
        let params = RoomExit {
            room_id: Some(wire_id(room_id, RoomId::from_trusted)),
        };
        self.send_request(params.into()).await
    }

    /// Turns audio and/or video on or off (`None` leaves it as is).
    pub async fn set_media(
        &self,
        room_id: &str,
        audio: Option<bool>,
        video: Option<bool>,
    ) -> Result<Value, ClientError> {
        let params = RoomSetMedia {
            room_id: Some(wire_id(room_id, RoomId::from_trusted)),
            is_audio_on: audio,
            is_video_on: video,
        };
        self.send_request(params.into()).await
    }

    /// Enters a live event as `host` or `participant`; returns `{live_event, host}` or
    /// `{live_event, participant}`. Any other role is sent as is (the server refuses it).
    pub async fn live_enter(
        &self,
        live_event_id: &str,
        role: &str,
        audio: bool,
        video: bool,
    ) -> Result<Value, ClientError> {
        let mut params = LiveEnter {
            live_event_id: Some(live_id(live_event_id)),
            role: None,
            is_audio_on: Some(audio),
            is_video_on: Some(video),
        };
        params.role = match role {
            "host" => Some(LiveRoleName::Host),
            "participant" => Some(LiveRoleName::Participant),
            other => {
                // Not a role of this protocol version: sent as is, for the server to judge.
                let mut raw = serde_json::to_value(&params).unwrap_or_default();
                raw["role"] = Value::String(other.to_owned());
                return self.request("live.enter", raw).await;
            }
        };
        self.send_request(params.into()).await
    }

    pub async fn live_exit(&self, live_event_id: &str) -> Result<Value, ClientError> {
        let live_event_id = Some(live_id(live_event_id));
        self.send_request(LiveExit { live_event_id }.into()).await
    }

    /// The host sets the live event ready (`created → ready`); returns `{live_event}`.
    pub async fn live_set_ready(&self, live_event_id: &str) -> Result<Value, ClientError> {
        let live_event_id = Some(live_id(live_event_id));
        self.send_request(LiveSetReady { live_event_id }.into())
            .await
    }

    /// The host starts the live event (`ready → ongoing`); returns `{live_event}`.
    pub async fn live_start(&self, live_event_id: &str) -> Result<Value, ClientError> {
        let live_event_id = Some(live_id(live_event_id));
        self.send_request(LiveStart { live_event_id }.into()).await
    }

    /// The host ends the live event, forcing everyone out; returns `{live_event}`.
    pub async fn live_end(&self, live_event_id: &str) -> Result<Value, ClientError> {
        let live_event_id = Some(live_id(live_event_id));
        self.send_request(LiveEnd { live_event_id }.into()).await
    }

    /// The host turns audio and/or video on or off (`None` leaves it as is).
    pub async fn live_set_media(
        &self,
        live_event_id: &str,
        audio: Option<bool>,
        video: Option<bool>,
    ) -> Result<Value, ClientError> {
        let params = LiveSetMedia {
            live_event_id: Some(live_id(live_event_id)),
            is_audio_on: audio,
            is_video_on: video,
        };
        self.send_request(params.into()).await
    }

    /// Sends a chat message to everyone in the live event; returns `{message}`.
    pub async fn live_chat(
        &self,
        live_event_id: &str,
        message: &str,
    ) -> Result<Value, ClientError> {
        let params = LiveChat {
            live_event_id: Some(live_id(live_event_id)),
            message: Some(message.to_owned()),
        };
        self.send_request(params.into()).await
    }

    pub async fn ping(&self) -> Result<Value, ClientError> {
        self.send_request(Ping {}.into()).await
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
    // A frame this version can't read (an event of a newer server) is skipped.
    let Ok(frame) = serde_json::from_value::<ServerFrame>(frame) else {
        return;
    };
    let waiter = |id: &RequestId| pending.lock().ok()?.remove(id);
    match frame {
        ServerFrame::Response(ResponseFrame { id, result }) => {
            if let Some(tx) = waiter(&id) {
                let _ = tx.send(Ok(result));
            }
        }
        ServerFrame::Error(ErrorFrame { id, code, message }) => {
            let code = u64::from(code.number());
            match id.as_ref().and_then(waiter) {
                Some(tx) => {
                    let _ = tx.send(Err(ClientError::Server { code, message }));
                }
                None => {
                    let _ = incoming.send(Incoming::Error { code, message });
                }
            }
        }
        ServerFrame::Event(event) => {
            let _ = incoming.send(incoming_event(event));
        }
        ServerFrame::Goodbye(goodbye) => {
            let _ = incoming.send(Incoming::Goodbye {
                reason: goodbye.reason.as_str().to_owned(),
            });
        }
        // Only the first frame is a `hello` (read by `connect`).
        ServerFrame::Hello(_) => {}
    }
}

/// An event frame as [`Incoming::Event`]: its name, scope and `data` as JSON.
fn incoming_event(frame: EventFrame) -> Incoming {
    let name = frame.name().to_owned();
    let (room_id, live_event_id, call_id, event) = match frame {
        EventFrame::Room(f) => (
            f.room_id.to_string(),
            String::new(),
            String::new(),
            serde_json::to_value(f.event),
        ),
        EventFrame::Live(f) => (
            String::new(),
            f.live_event_id.to_string(),
            String::new(),
            serde_json::to_value(f.event),
        ),
        EventFrame::Call(f) => (
            String::new(),
            String::new(),
            f.call_id.to_string(),
            serde_json::to_value(f.event),
        ),
    };
    // Adjacently tagged: `{"event": name, "data": {...}}`.
    let data = match event {
        Ok(Value::Object(mut tagged)) => tagged.remove("data").unwrap_or(Value::Null),
        _ => Value::Null,
    };
    Incoming::Event {
        name,
        room_id,
        live_event_id,
        call_id,
        data,
    }
}

/// An id as the caller gave it: the server, not the client, judges whether it is valid.
fn wire_id<T>(raw: &str, wrap: fn(String) -> T) -> T {
    wrap(raw.to_owned())
}

fn live_id(raw: &str) -> LiveEventId {
    wire_id(raw, LiveEventId::from_trusted)
}
