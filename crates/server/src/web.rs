//! The browser SDK and the demo page, embedded in the binary (nothing is fetched at build or
//! run time): `GET /sdk/opencalls.js` and `GET /demo/`.
//!
//! The demo page is served with a Content-Security-Policy: scripts, styles and connections
//! only from this server (WebSockets to it included), media and images also from `blob:`,
//! and no framing. Inline `<script>`/`<style>` blocks of the embedded page are allowed by
//! their SHA-256 hashes, computed once from the page itself, so editing the page can never
//! silently open the policy to other inline code.

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

const SDK: &str = include_str!("../../../web/sdk/opencalls.js");
const DEMO: &str = include_str!("../../../web/demo/index.html");

pub(crate) fn routes() -> Router {
    Router::new()
        .route("/sdk/opencalls.js", get(sdk))
        .route("/demo", get(|| async { Redirect::permanent("/demo/") }))
        .route("/demo/", get(demo))
}

async fn sdk() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SDK,
    )
}

/// The demo page's policy (see the module doc).
static DEMO_CSP: LazyLock<String> = LazyLock::new(|| {
    let scripts = inline_hashes(DEMO, "script");
    let styles = inline_hashes(DEMO, "style");
    format!(
        "default-src 'self'; script-src 'self'{scripts}; style-src 'self'{styles}; \
         connect-src 'self' ws: wss:; media-src 'self' blob:; img-src 'self' blob: data:; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
});

async fn demo() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, DEMO_CSP.as_str()),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        DEMO,
    )
}

/// `" 'sha256-…'"` for the body of every inline `<tag>` block (one without a `src`).
fn inline_hashes(html: &str, tag: &str) -> String {
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(head_end) = after.find('>') else {
            break;
        };
        let (attrs, body) = (&after[..head_end], &after[head_end + 1..]);
        let Some(end) = body.find(&close) else {
            break;
        };
        if !attrs.contains("src=") {
            let digest = Sha256::digest(&body.as_bytes()[..end]);
            let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
            out.push_str(&format!(" 'sha256-{b64}'"));
        }
        rest = &body[end + close.len()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_blocks_are_hashed_and_external_ones_are_not() {
        let html = "<script src=\"/a.js\"></script><script>x()</script><style>p{}</style>";
        let digest = Sha256::digest(b"x()");
        let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
        assert_eq!(inline_hashes(html, "script"), format!(" 'sha256-{b64}'"));
        assert_eq!(inline_hashes(html, "style").matches("sha256-").count(), 1);
    }
}
