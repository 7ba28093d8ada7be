//! The end-to-end suite: one test binary, one module per area. Every test starts its own
//! server (`opencalls_testkit::TestServer`) on 127.0.0.1:0 with its own data directory, so
//! tests run concurrently in threads and share no process-global state (no env vars, no
//! working directory, no fixed ports, no global tracing subscriber).

mod calls_common;
mod common;
mod live_common;
mod signal_live_common;

mod api_tokens;
mod calls_api;
mod calls_media;
mod calls_push;
mod calls_signal;
mod calls_webhooks;
mod cluster;
mod cluster_edges;
mod cluster_fence;
mod cluster_media;
mod hardening_http;
mod hardening_signal;
mod http_edges;
mod live_events_api;
mod live_events_list;
mod live_events_presence;
mod media_events_lost;
mod media_live;
mod media_rooms;
mod openapi_truth;
mod rooms_actions;
mod rooms_list;
mod rooms_smoke;
mod signal_live;
mod signal_live_presence;
mod signal_rooms;
mod turn_credentials;
mod users_api;
mod webhook_delivery;
mod webhook_hardening;
mod webhook_settings;
