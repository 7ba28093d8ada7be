//! The one per-route layer of the HTTP application: it counts the request in the metrics
//! (by route template and method, so labels stay bounded), authenticates Platform API
//! routes (see [`crate::auth`]) and sets the body limit.
//!
//! Why one hand-written layer instead of `from_fn` middlewares: axum wraps every layer of
//! every route in a boxed, cloned-per-request `Route`, and `from_fn` adds an inner clone, a
//! boxed future and a boxed `Next` on top; three such layers plus the body limit were a
//! tenth of `GET /v1/rooms/{id}`'s CPU. Here the master-token path allocates nothing: the
//! token is compared in place and the inner route's future is wrapped, not boxed. Only a
//! secondary token (checked against the store, so asynchronous) takes a boxed detour.
//!
//! Invariant: every request through a guarded route is recorded exactly once, with the
//! status it was answered with (a refused token included).

use crate::auth::{self, Credential};
use crate::{ApiError, AppState, MAX_BODY_BYTES};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use opencalls_runtime::metrics::HttpMethod;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use tower::{Layer, Service, ServiceExt};

/// Whether the guarded routes need an `Api-Token`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// Platform API routes: the master token or a valid secondary token.
    Token,
    /// Health, readiness, metrics and the OpenAPI document.
    Open,
}

/// The layer; see the module docs.
#[derive(Clone)]
pub(crate) struct Guard {
    state: AppState,
    access: Access,
}

impl Guard {
    pub(crate) fn new(state: AppState, access: Access) -> Self {
        Self { state, access }
    }
}

impl<S> Layer<S> for Guard {
    type Service = Guarded<<DefaultBodyLimit as Layer<S>>::Service>;

    fn layer(&self, inner: S) -> Self::Service {
        Guarded {
            inner: DefaultBodyLimit::max(MAX_BODY_BYTES).layer(inner),
            state: self.state.clone(),
            access: self.access,
        }
    }
}

/// A route behind the [`Guard`].
#[derive(Clone)]
pub(crate) struct Guarded<S> {
    inner: S,
    state: AppState,
    access: Access,
}

type Boxed = Pin<Box<dyn Future<Output = Response> + Send>>;

impl<S> Service<Request> for Guarded<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Tracked<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let record = Record::start(&self.state, &request);
        let stage = match self.authenticate(&request) {
            Check::Passed(credential) => {
                if let Some(credential) = credential {
                    request.extensions_mut().insert(credential);
                }
                Stage::Inner {
                    future: self.inner.call(request),
                }
            }
            Check::Refused => Stage::Ready {
                response: Some(ApiError::unauthorized().into_response()),
            },
            Check::Secondary => Stage::Boxed {
                future: self.check_secondary(request),
            },
        };
        Tracked { stage, record }
    }
}

/// What the token check decided without waiting.
enum Check {
    /// Open route (`None`) or the master token.
    Passed(Option<Credential>),
    Refused,
    /// A token other than the master's: the store decides.
    Secondary,
}

impl<S> Guarded<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    fn authenticate(&self, request: &Request) -> Check {
        if self.access == Access::Open {
            return Check::Passed(None);
        }
        match request.headers().get("api-token").map(|v| v.as_bytes()) {
            None => Check::Refused,
            // The master token is checked first, so its requests never wait on the token set.
            Some(token)
                if auth::constant_time_eq(token, self.state.config.api_token.as_bytes()) =>
            {
                Check::Passed(Some(Credential::Master))
            }
            Some(_) => Check::Secondary,
        }
    }

    fn check_secondary(&self, mut request: Request) -> Boxed {
        let (state, inner) = (self.state.clone(), self.inner.clone());
        Box::pin(async move {
            let token = request
                .headers()
                .get("api-token")
                .map(|v| v.as_bytes().to_vec());
            let token = token.unwrap_or_default();
            match state.services.api_tokens.is_valid(&token).await {
                Ok(true) => {
                    request.extensions_mut().insert(Credential::Secondary);
                    match inner.oneshot(request).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    }
                }
                Ok(false) => ApiError::unauthorized().into_response(),
                Err(err) => ApiError::from(err).into_response(),
            }
        })
    }
}

/// The metrics entry of one request, written when its response is ready.
struct Record {
    state: AppState,
    method: HttpMethod,
    route: Option<MatchedPath>,
    started: Instant,
}

impl Record {
    fn start(state: &AppState, request: &Request) -> Self {
        Self {
            state: state.clone(),
            method: HttpMethod::from_name(request.method().as_str()),
            route: request.extensions().get::<MatchedPath>().cloned(),
            started: Instant::now(),
        }
    }

    fn finish(&self, response: &Response) {
        self.state.services.metrics.http_request(
            self.method,
            self.route.as_ref().map_or("unmatched", MatchedPath::as_str),
            response.status().as_u16(),
            self.started.elapsed().as_secs_f64(),
        );
    }
}

pin_project_lite::pin_project! {
    /// The response future of a guarded route.
    pub(crate) struct Tracked<F> {
        #[pin]
        stage: Stage<F>,
        record: Record,
    }
}

pin_project_lite::pin_project! {
    #[project = StageProj]
    enum Stage<F> {
        Inner { #[pin] future: F },
        Ready { response: Option<Response> },
        Boxed { future: Boxed },
    }
}

impl<F> Future for Tracked<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = match this.stage.project() {
            StageProj::Inner { future } => match std::task::ready!(future.poll(cx)) {
                Ok(response) => response,
                Err(never) => match never {},
            },
            // Polled again after it completed (a caller bug): nothing left to answer with.
            StageProj::Ready { response } => response
                .take()
                .unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
            StageProj::Boxed { future } => std::task::ready!(future.as_mut().poll(cx)),
        };
        this.record.finish(&response);
        Poll::Ready(Ok(response))
    }
}
