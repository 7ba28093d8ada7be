//! The browser-facing pages, embedded in the binary (nothing is fetched at build or run
//! time): `GET /` (landing page: version and links), `GET /api/` (the interactive Platform
//! API reference, rendered in the browser from `/v1/openapi.json`), `GET /sdk/<file>` (the
//! ES module `opencalls.js` built from `sdk/js`, its `.d.ts` declarations) and
//! `GET /demo/<file>` (the demo app).
//!
//! Invariant: only the files listed in [`SDK`], [`DEMO`] and [`SITE`] are served; any other
//! name under these paths is a 404 (no file system access, so no path traversal).
//!
//! Every HTML page carries [`PAGE_CSP`]: scripts, styles and connections only from this
//! server (its WebSockets included), media and images also from `blob:`, no inline code and
//! no framing. The pages are written for it (no inline `<script>`, `<style>` or handlers), so
//! an injected script has nowhere to run.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// One embedded file: its name under the mount point, media type and content.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

macro_rules! assets {
    ($dir:literal: $($name:literal => $type:expr),* $(,)?) => {
        &[$(Asset {
            name: $name,
            content_type: $type,
            body: include_str!(concat!("../../../web/", $dir, "/", $name)),
        }),*]
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const TS: &str = "application/typescript; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The built SDK (`npm run build` in `sdk/js` writes these files).
const SDK: &[Asset] = assets!("sdk":
    "opencalls.js" => JS,
    "opencalls.d.ts" => TS,
    "call.d.ts" => TS,
    "client.d.ts" => TS,
    "connection.d.ts" => TS,
    "control.d.ts" => TS,
    "emitter.d.ts" => TS,
    "errors.d.ts" => TS,
    "link.d.ts" => TS,
    "live.d.ts" => TS,
    "media.d.ts" => TS,
    "model.d.ts" => TS,
    "protocol.d.ts" => TS,
    "recovery.d.ts" => TS,
    "requests.d.ts" => TS,
    "room.d.ts" => TS,
    "session.d.ts" => TS,
);

/// The demo app (plain files; its script is an ES module importing `/sdk/opencalls.js`).
const DEMO: &[Asset] = assets!("demo":
    "index.html" => HTML,
    "demo.css" => CSS,
    "demo.js" => JS,
);

/// The landing page and the API reference with their style sheet and script.
const SITE: &[Asset] = assets!("site":
    "index.html" => HTML,
    "api.html" => HTML,
    "site.css" => CSS,
    "api.js" => JS,
);

/// The policy every HTML page is served with (see the module doc).
const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    connect-src 'self' ws: wss:; media-src 'self' blob:; img-src 'self' blob: data:; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The landing page's `{{version}}` placeholder becomes this.
const VERSION: &str = env!("CARGO_PKG_VERSION");

pub(crate) fn routes() -> Router {
    Router::new()
        .route("/", get(landing))
        .route("/api", get(|| async { Redirect::permanent("/api/") }))
        .route("/api/", get(|| async { serve(SITE, "api.html") }))
        .route(
            "/site/{file}",
            get(|Path(file): Path<String>| async move { serve(SITE, &file) }),
        )
        .route(
            "/sdk/{file}",
            get(|Path(file): Path<String>| async move { serve(SDK, &file) }),
        )
        .route("/demo", get(|| async { Redirect::permanent("/demo/") }))
        .route("/demo/", get(|| async { serve(DEMO, "index.html") }))
        .route(
            "/demo/{file}",
            get(|Path(file): Path<String>| async move { serve(DEMO, &file) }),
        )
}

async fn landing() -> Response {
    let Some(page) = SITE.iter().find(|a| a.name == "index.html") else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let mut response = page.body.replace("{{version}}", VERSION).into_response();
    set_headers(&mut response, page.content_type);
    response
}

fn serve(assets: &'static [Asset], name: &str) -> Response {
    match assets.iter().find(|a| a.name == name) {
        Some(asset) => {
            let mut response = asset.body.into_response();
            set_headers(&mut response, asset.content_type);
            response
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// Content type and caching for every embedded file; pages also get the security headers.
fn set_headers(response: &mut Response, content_type: &'static str) {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if content_type == HTML {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_CSP),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
}
