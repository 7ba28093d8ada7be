//! The browser SDK and the demo page, embedded in the binary (nothing is fetched at build or
//! run time): `GET /sdk/opencalls.js` and `GET /demo/`.

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;

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

async fn demo() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        DEMO,
    )
}
