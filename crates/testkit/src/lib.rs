//! The OpenCalls test kit: everything end-to-end tests, crash tests and load generators
//! share, so no helper is copied between them.
//!
//! - [`server`]: the real server in-process on 127.0.0.1:0 with a temporary data directory.
//! - [`binary`]: the real `opencalls` binary as a child process.
//! - [`poll`]: waiting for a condition with a deadline (tests never sleep for readiness).
//! - [`receiver`]: a webhook receiver that records requests and answers as told.
//! - [`errors`]: assertions on the spec's error body.
//! - [`platform`]: a typed client of the Platform API (tests and load generators).
//! - [`cli`]: the command-line pieces the load generators share.
//! - [`store`]: the one place that opens a storage backend directly.
#![forbid(unsafe_code)]

pub mod backend;
pub mod binary;
pub mod cli;
pub mod errors;
pub mod platform;
pub mod poll;
pub mod receiver;
pub mod server;
pub mod store;

pub use errors::assert_error;
pub use platform::{LiveAction, PlatformApi, PlatformError, Reply, WebhookSettings};
pub use poll::{eventually, until};
pub use receiver::{Hit, Receiver};
pub use server::{TOKEN, TestServer};
