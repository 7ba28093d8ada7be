//! The two servers under test, each on its own tokio runtime built exactly like the one in
//! `opencalls` main (`Runtime::new()`: multi-threaded, one worker per core), bound to
//! 127.0.0.1 only.

use axum::Router;
use axum::routing::get;
use opencalls_server::{App, Config};
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// A server running on its own runtime thread; stops when dropped.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The real OpenCalls server on the database in `data_dir`, or on `database_url` when
/// given (e.g. `postgres://…`).
pub fn opencalls(
    data_dir: &Path,
    token: &str,
    database_url: Option<&str>,
) -> anyhow::Result<Running> {
    let config = Config {
        api_token: Some(token.to_owned()),
        data_dir: data_dir.to_owned(),
        database_url: database_url.map(str::to_owned),
        // Benchmark receivers listen on loopback.
        webhook_allow_private_targets: true,
        ..Config::default()
    };
    // Opened on the runtime it will serve on: a PostgreSQL pool's connections live there.
    // The caller runs inside the benchmark's own runtime, where `block_on` may not be
    // called: open on a plain thread.
    let runtime = tokio::runtime::Runtime::new()?;
    let (runtime, app) = std::thread::spawn(move || {
        let app = runtime.block_on(App::open(config));
        (runtime, app)
    })
    .join()
    .map_err(|_| anyhow::anyhow!("opening the server panicked"))?;
    let app = app?;
    spawn_on(runtime, move |listener, stop| async move {
        if let Err(e) = app.serve(listener, stop).await {
            eprintln!("opencalls server failed: {e}");
        }
    })
}

/// A bare axum hello-world: the ceiling of what axum + tokio + hyper give on this machine.
pub fn hello() -> anyhow::Result<Running> {
    spawn_on(
        tokio::runtime::Runtime::new()?,
        |listener, stop| async move {
            let app = Router::new().route("/", get(|| async { "Hello, World!" }));
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await
            {
                eprintln!("hello server failed: {e}");
            }
        },
    )
}

fn spawn_on<F, Fut>(runtime: tokio::runtime::Runtime, serve: F) -> anyhow::Result<Running>
where
    F: FnOnce(tokio::net::TcpListener, Stopped) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name(format!("server-{addr}"))
        .spawn(move || {
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(std_listener) {
                    Ok(listener) => {
                        serve(listener, Box::pin(async move { drop(stopped.await) })).await
                    }
                    Err(e) => eprintln!("listener: {e}"),
                }
            });
        })?;
    Ok(Running {
        addr,
        stop: Some(stop),
        thread: Some(thread),
    })
}

type Stopped = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;
