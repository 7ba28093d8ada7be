//! The HTTP side of the client protocol: the session exchange and the WebSocket upgrade.
//! Both answer failures with the spec's error body; both ignore `Api-Token` entirely.
//!
//! Invariants: the session exchange is rate-limited per claimed user and per client address
//! before any credential is checked; a socket is attached to its device *before* the
//! upgrade is answered and its session is checked again after attaching, so a revocation
//! that lands in between is never missed.

use crate::connection;
use crate::error::SignalError;
use crate::hub::Hub;
use axum::body::Bytes;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use opencalls_domain::{ClientId, DeviceKey};
use opencalls_protocol::session::{HttpErrorBody, OpenSession, SessionOpened};
use opencalls_protocol::{ErrorCode, WireError};
use opencalls_service::ids;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Largest session-exchange body, in bytes.
const MAX_BODY_BYTES: usize = 4 * 1024;
/// Transport cap on one WebSocket message; above `max_message_bytes` but below this the
/// client gets an `error` frame, above this the transport closes the socket (code 1009).
const TRANSPORT_MAX_MESSAGE: usize = 1024 * 1024;

/// Initial read buffer of a connection.
const READ_BUFFER_BYTES: usize = 4 * 1024;

pub(crate) fn routes(hub: Arc<Hub>) -> Router {
    Router::new()
        .route("/v1/auth/session", post(open_session))
        .route("/v1/ws", get(upgrade))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(hub)
}

/// The spec's error body with an HTTP status.
struct HttpError(StatusCode, WireError);

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (self.0, Json(HttpErrorBody::from(self.1))).into_response()
    }
}

impl From<SignalError> for HttpError {
    fn from(err: SignalError) -> Self {
        let err = WireError::from(err);
        let status = match err.code {
            ErrorCode::NotAuthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::InvalidParameter
            | ErrorCode::MissingParameter
            | ErrorCode::NotFound
            | ErrorCode::AlreadyExists
            | ErrorCode::InvalidApiToken
            | ErrorCode::RoomFull
            | ErrorCode::AlreadyEntered
            | ErrorCode::InvalidRoom
            | ErrorCode::CallInvalidState
            | ErrorCode::CallNotFound
            | ErrorCode::CalleeNotFound
            | ErrorCode::DialedSelf
            | ErrorCode::CallNotParticipant
            | ErrorCode::LiveEventActionNotAllowed
            | ErrorCode::LiveEventNotAllowedForUser
            | ErrorCode::LiveEventNotEntered
            | ErrorCode::Other(_) => StatusCode::BAD_REQUEST,
        };
        Self(status, err)
    }
}

/// The client's address, when the server put it in the request (see `opencalls-server`).
struct ClientIp(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let addr = parts.extensions.get::<ConnectInfo<SocketAddr>>();
        Ok(Self(addr.map(|ConnectInfo(a)| a.ip())))
    }
}

/// The connection's admission slot, if the server gave one (kept by the WebSocket).
struct HeldSlot(Option<crate::ConnectionSlot>);

impl<S: Send + Sync> FromRequestParts<S> for HeldSlot {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts.extensions.get::<crate::ConnectionSlot>().cloned(),
        ))
    }
}

/// `POST /v1/auth/session` `{user_id, access_token}` → `{user_id, session_token, expires_at, user}`.
async fn open_session(
    State(hub): State<Arc<Hub>>,
    ClientIp(ip): ClientIp,
    body: Bytes,
) -> Result<Response, HttpError> {
    if ip.is_some_and(|ip| !hub.session_opens_ip.take(ip)) {
        return Err(SignalError::TooManySessionOpens.into());
    }
    let body: OpenSession =
        serde_json::from_slice(&body).map_err(|e| SignalError::BadBody(e.to_string()))?;
    let user_id = body.user_id.ok_or(SignalError::Missing("user_id"))?;
    let access_token = body
        .access_token
        .ok_or(SignalError::Missing("access_token"))?;
    let sessions = &hub.services.sessions;
    let opened = match ids::claimed_user_id(&user_id) {
        Ok(user_id) if !hub.session_opens_user.take(user_id.clone()) => {
            return Err(SignalError::TooManySessionOpens.into());
        }
        Ok(user_id) => sessions.open_session(&user_id, &access_token).await,
        Err(err) => Err(err),
    };
    let (issued, user) = opened.map_err(|e| match e {
        // Don't tell a guesser whether the user exists.
        opencalls_service::ServiceError::NotFound(_) => SignalError::BadCredentials,
        other => other.into(),
    })?;
    let body = SessionOpened {
        user_id: user.user_id.clone(),
        session_token: issued.token,
        expires_at: issued.expires_at,
        user,
    };
    Ok(Json(body).into_response())
}

#[derive(Deserialize)]
struct WsQuery {
    session_token: Option<String>,
    client_id: Option<String>,
}

/// `GET /v1/ws?session_token=...&client_id=...`: authenticates, then upgrades.
async fn upgrade(
    State(hub): State<Arc<Hub>>,
    HeldSlot(slot): HeldSlot,
    headers: HeaderMap,
    query: Result<Query<WsQuery>, axum::extract::rejection::QueryRejection>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, HttpError> {
    let Query(query) = query.map_err(|e| SignalError::BadQuery(e.body_text()))?;
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let token = query
        .session_token
        .or(bearer)
        .ok_or(SignalError::NoSessionToken)?;
    let sessions = &hub.services.sessions;
    let (user, expires_at) = sessions
        .authenticate_session(&token)
        .await
        .map_err(SignalError::from)?;
    let client_id = match query.client_id.filter(|c| !c.is_empty()) {
        Some(raw) => ClientId::parse(&raw).ok_or(SignalError::BadClientId)?,
        None => ClientId::generate(),
    };
    let ws = ws.map_err(|e| SignalError::NotUpgrade(e.body_text()))?;
    let key = DeviceKey::new(user.user_id.clone(), client_id);
    let mut attached = hub.attach(&key)?;
    // A revocation announced before the attach found no device to close; its tokens were
    // deleted before it was announced, so this second look sees it. (Dropping `attached`
    // detaches again.)
    sessions
        .authenticate(&token)
        .await
        .map_err(SignalError::from)?;
    // In a cluster: this node holds the device's seats from now on, and resumes those it
    // held on another node. Without that record a seat could outlive a dead node, so a
    // store that cannot take it refuses the connection.
    hub.claim(&mut attached).await?;
    let session = connection::Session { token, expires_at };
    Ok(ws
        // The 128 KiB default read buffer is allocated up front per connection; requests
        // are small, and the buffer still grows for a rare big frame.
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(TRANSPORT_MAX_MESSAGE)
        .max_frame_size(TRANSPORT_MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            connection::run(socket, hub, user, attached, session).await;
            drop(slot);
        }))
}
