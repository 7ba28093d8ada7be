//! The real `opencalls` binary as a child process (`opencalls serve` on 127.0.0.1:0), for
//! tests that kill it mid-flight. Everything the child needs comes from its own environment,
//! never from the test process's.

use crate::platform::PlatformApi;
use crate::poll;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long the binary may take to listen and answer `/healthz`.
const STARTUP: Duration = Duration::from_secs(30);

/// A running `opencalls serve`; killed when dropped.
pub struct Spawned {
    child: Child,
    /// The Platform API of the child, with the token it was started with.
    pub api: PlatformApi,
}

impl Spawned {
    /// Starts `exe serve` on `data_dir` with master `token` and `extra_env`, and waits until
    /// it answers `/healthz`.
    pub async fn serve(
        exe: &Path,
        data_dir: &Path,
        token: &str,
        extra_env: &[(&str, &str)],
    ) -> Self {
        Self::serve_via(&[], exe, data_dir, token, extra_env).await
    }

    /// Like [`Spawned::serve`], started through `launcher` (e.g. `ip netns exec NS`, to run
    /// the server in a network namespace); `extra_env` may set `OPENCALLS_HTTP_ADDR`.
    pub async fn serve_via(
        launcher: &[&str],
        exe: &Path,
        data_dir: &Path,
        token: &str,
        extra_env: &[(&str, &str)],
    ) -> Self {
        let mut command = match launcher.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(exe);
                command
            }
            None => Command::new(exe),
        };
        let mut child = command
            .arg("serve")
            // Test receivers listen on loopback (`extra_env` may say otherwise).
            .env("OPENCALLS_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
            .env("OPENCALLS_HTTP_ADDR", "127.0.0.1:0")
            .envs(extra_env.iter().copied())
            .env("OPENCALLS_DATA_DIR", data_dir)
            .env("OPENCALLS_API_TOKEN", token)
            .env("OPENCALLS_LOG", "warn")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn opencalls");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = tokio::time::timeout(STARTUP, async {
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                if let Some(url) = line.strip_prefix("OpenCalls listening on ") {
                    return url.trim().to_owned();
                }
            }
            panic!("opencalls exited before listening");
        })
        .await
        .expect("opencalls did not start in time");
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let api = PlatformApi::new(base, token);
        wait_healthy(&api).await;
        Self { child, api }
    }

    /// The process id (for reading `/proc/<pid>`), while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// SIGKILL, then reap: nothing of the process survives.
    pub async fn kill(mut self) {
        self.child.start_kill().expect("SIGKILL");
        self.child.wait().await.expect("reap");
    }
}

async fn wait_healthy(api: &PlatformApi) {
    poll::until("the server answers /healthz", STARTUP, async || {
        let healthy = api.http().get(api.url("/healthz")).send().await;
        healthy.is_ok_and(|response| response.status().is_success())
    })
    .await;
}
