//! The `opencalls` command line as a developer meets it: `--version`, `--help` of every
//! subcommand, and `opencalls dev` against a real running server (its links sign in and
//! enter what they name; a second run works on the same users; a wrong token or no server
//! is a clear error, not a panic).

use opencalls_testkit::binary::Spawned;
use reqwest::{Method, Url};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Output;
use tokio::process::Command;

const TOKEN: &str = "cli-test-master-token-0123456789abcdef";

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_opencalls"))
}

async fn run(args: &[&str]) -> Output {
    Command::new(exe())
        .args(args)
        .env_remove("OPENCALLS_CONFIG")
        .env_remove("OPENCALLS_API_TOKEN")
        .output()
        .await
        .expect("run opencalls")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn version_and_help_of_every_subcommand() {
    let version = run(&["--version"]).await;
    assert!(version.status.success());
    assert_eq!(
        stdout(&version).trim(),
        format!("opencalls {}", env!("CARGO_PKG_VERSION"))
    );
    for (args, expect) in [
        (&["--help"][..], "dev"),
        (&["serve", "--help"][..], "--config"),
        (&["dev", "--help"][..], "--users"),
        (&["help", "dev"][..], "--api-token"),
    ] {
        let out = run(args).await;
        assert!(out.status.success(), "{args:?}");
        assert!(stdout(&out).contains(expect), "{args:?}: {}", stdout(&out));
    }
    let unknown = run(&["frobnicate"]).await;
    assert_eq!(unknown.status.code(), Some(2), "a usage error exits with 2");
}

/// The demo links `opencalls dev` printed, as (user id, URL).
fn links(out: &str) -> Vec<Url> {
    out.split_whitespace()
        .filter(|w| w.contains("/demo/?"))
        .map(|w| Url::parse(w).expect("a link is a URL"))
        .collect()
}

fn query(url: &Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn dev_prints_links_that_sign_in_and_enter_a_real_room_and_live_event() {
    let data = tempfile::tempdir().expect("temp dir");
    let server = Spawned::serve(exe(), data.path(), TOKEN, &[]).await;
    let base = server.api.base().to_owned();

    for round in 0..2 {
        // The second round finds the users already there and issues fresh tokens.
        let out = run(&[
            "dev",
            "--url",
            &base,
            "--api-token",
            TOKEN,
            "--users",
            "ann,ben",
        ])
        .await;
        assert!(
            out.status.success(),
            "round {round}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let links = links(&stdout(&out));
        assert_eq!(
            links.len(),
            4,
            "two room links and two live links: {}",
            stdout(&out)
        );
        for link in &links {
            assert_eq!(query(link, "autojoin"), "1");
            let session = server
                .api
                .http()
                .post(server.api.url("/v1/auth/session"))
                .json(&json!({"user_id": query(link, "user_id"), "access_token": query(link, "access_token")}))
                .send()
                .await
                .expect("session");
            assert_eq!(
                session.status(),
                200,
                "the printed token signs {} in",
                query(link, "user_id")
            );
            let room_id = query(link, "room_id");
            let live_id = query(link, "live_event_id");
            let (status, body) = if room_id.is_empty() {
                server
                    .api
                    .call(Method::GET, &format!("/v1/live-events/{live_id}"), None)
                    .await
                    .expect("get")
            } else {
                server
                    .api
                    .call(Method::GET, &format!("/v1/rooms/{room_id}"), None)
                    .await
                    .expect("get")
            };
            assert_eq!(status, 200, "{link} names something that exists: {body}");
            if !live_id.is_empty() {
                assert_eq!(body["live_event"]["user_ids_for_host"], json!(["ann"]));
                let role = if query(link, "user_id") == "ann" {
                    "host"
                } else {
                    "participant"
                };
                assert_eq!(query(link, "role"), role);
            }
        }
    }
    let users: Value = server
        .api
        .call(Method::GET, "/v1/users/ben", None)
        .await
        .expect("get")
        .1;
    assert_eq!(users["user_id"], "ben");

    let refused = run(&[
        "dev",
        "--url",
        &base,
        "--api-token",
        "wrong",
        "--users",
        "ann",
    ])
    .await;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("refused the API token"));
    server.kill().await;
    let gone = run(&["dev", "--url", &base, "--api-token", TOKEN]).await;
    assert!(!gone.status.success());
    assert!(
        String::from_utf8_lossy(&gone.stderr).contains("no OpenCalls server answers"),
        "{}",
        String::from_utf8_lossy(&gone.stderr)
    );
}
