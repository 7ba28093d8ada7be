//! The end-to-end suite of OpenCalls lives in `tests/e2e/` as one test binary (one link
//! step): the real server started in-process on 127.0.0.1 by `opencalls-testkit`, spoken to
//! over real HTTP, WebSockets and UDP. Run it with `cargo test -p opencalls-e2e`. This
//! library is empty; it exists because a package needs a target besides its tests.
#![forbid(unsafe_code)]
