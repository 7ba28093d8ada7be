//! `opencalls-cli dial bob` and `opencalls-cli answer` against a real server: the callee's
//! CLI answers the ring, the caller's CLI hangs up, and both print the server's result.

use opencalls_testkit::TestServer;
use opencalls_testkit::poll::SLOW;
use serde_json::json;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

struct Cli {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Cli {
    fn start(server: &TestServer, user: &str, token: &str, args: &[&str]) -> Self {
        let base = server.url("");
        let mut child = Command::new(env!("CARGO_BIN_EXE_opencalls-cli"))
            .args(["--server", base.trim_end_matches('/'), "--user", user])
            .args(["--access-token", token])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn opencalls-cli");
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        Self { child, lines }
    }

    /// Reads stdout until a line starts with `prefix`; returns that line.
    async fn line(&mut self, prefix: &str) -> String {
        let found = tokio::time::timeout(SLOW, async {
            while let Some(line) = self.lines.next_line().await.expect("stdout") {
                if line.starts_with(prefix) {
                    return line;
                }
            }
            panic!("the CLI exited before printing '{prefix}'");
        });
        found.await.unwrap_or_else(|_| panic!("no line '{prefix}'"))
    }

    async fn type_line(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write");
    }
}

async fn user(server: &TestServer, id: &str) -> String {
    let body = json!({ "user_id": id, "issue_access_token": true });
    let (status, user) = server.post("/v1/users", body).await;
    assert_eq!(status, 200, "{user}");
    user["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn dial_answer_and_hang_up_from_the_command_line() {
    let server = TestServer::start().await;
    let (alice, bob) = (user(&server, "alice").await, user(&server, "bob").await);
    let mut callee = Cli::start(&server, "bob", &bob, &["answer"]);
    callee.line("waiting for a call").await;
    let mut caller = Cli::start(&server, "alice", &alice, &["dial", "bob", "--video"]);
    let dialed = caller.line("dialed ").await;
    let call_id = dialed.split_whitespace().nth(1).unwrap().to_owned();
    assert!(dialed.ends_with("(ringing)"), "{dialed}");
    let ringing = callee.line("ringing ").await;
    assert_eq!(ringing, format!("ringing {call_id} from \"alice\""));
    callee.line("accepted ").await;
    caller.line("event call.accepted").await;

    caller.type_line("video off").await;
    callee.line("event call.media_changed").await;
    caller.type_line("hangup").await;
    let mine = caller.line("ended ").await;
    assert!(
        mine.starts_with("ended completed by alice after "),
        "{mine}"
    );
    let theirs = callee.line("ended ").await;
    assert_eq!(theirs, mine, "both print the server's result");
    for cli in [&mut caller, &mut callee] {
        let status = tokio::time::timeout(SLOW, cli.child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "{status}");
    }
    let (_, call) = server.get(&format!("/v1/direct_calls/{call_id}")).await;
    assert_eq!(call["end_result"], "completed");
}
