//! `opencalls dev`: gets a developer from a running local server to a working call in one
//! command. Through the server's Platform API it makes sure the users exist, issues each a
//! fresh access token, creates a video room and a live event, and prints demo links that
//! enter them directly.
//!
//! It only talks HTTP to a server that is already running (`opencalls serve`); it never
//! opens the server's store. Tokens are printed because this is for local development:
//! they are as secret as the API token used to make them.

use anyhow::{Context, bail};
use opencalls_domain::{LiveEvent, Room};
use reqwest::{Client, Method, StatusCode, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// What `opencalls dev` was asked for.
pub struct DevArgs {
    /// The server's base URL, e.g. `http://127.0.0.1:8080`.
    pub url: Url,
    /// The master API token of that server.
    pub api_token: String,
    /// The users to prepare (at least one; the first hosts the live event).
    pub users: Vec<String>,
}

/// One prepared user.
struct DevUser {
    user_id: String,
    access_token: String,
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: String,
}

#[derive(Deserialize)]
struct RoomBody {
    room: Room,
}

#[derive(Deserialize)]
struct LiveEventBody {
    live_event: LiveEvent,
}

/// The Platform API of the target server.
struct Api {
    http: Client,
    base: Url,
    token: String,
}

impl Api {
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Value,
    ) -> anyhow::Result<(StatusCode, Option<T>, String)> {
        let url = self.base.join(path).context("building the request URL")?;
        let response = self
            .http
            .request(method, url.clone())
            .header("Api-Token", &self.token)
            .json(&body)
            .send()
            .await
            .with_context(|| {
                format!("no OpenCalls server answers at {url}: start one with `opencalls serve`")
            })?;
        let status = response.status();
        let text = response.text().await.context("reading the answer")?;
        let parsed = status
            .is_success()
            .then(|| serde_json::from_str(&text))
            .transpose()
            .with_context(|| format!("unexpected answer from {path}: {text}"))?;
        Ok((status, parsed, text))
    }

    async fn ok<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Value,
    ) -> anyhow::Result<T> {
        match self.call(method, path, body).await? {
            (_, Some(value), _) => Ok(value),
            (StatusCode::UNAUTHORIZED, None, _) => {
                bail!("the server refused the API token (use --api-token or OPENCALLS_API_TOKEN)")
            }
            (status, None, text) => bail!("{path}: {status}: {text}"),
        }
    }

    /// Creates the user with an access token, or issues a new token if it already exists.
    async fn user(&self, user_id: &str) -> anyhow::Result<DevUser> {
        let created = self
            .call::<TokenBody>(
                Method::POST,
                "/v1/users",
                json!({"user_id": user_id, "issue_access_token": true}),
            )
            .await?;
        let token = match created {
            (_, Some(body), _) => body,
            (StatusCode::UNAUTHORIZED, None, _) => {
                bail!("the server refused the API token (use --api-token or OPENCALLS_API_TOKEN)")
            }
            // Most likely the user exists already: issue it a fresh token instead.
            (_, None, _) => {
                self.ok(
                    Method::POST,
                    &format!("/v1/users/{user_id}/token"),
                    json!({}),
                )
                .await?
            }
        };
        Ok(DevUser {
            user_id: user_id.to_owned(),
            access_token: token.access_token,
        })
    }
}

/// Prepares the users, a room and a live event, and prints the demo links.
pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    if args.users.is_empty() {
        bail!("name at least one user (--users alice,bob)");
    }
    let api = Api {
        http: Client::new(),
        base: args.url.clone(),
        token: args.api_token,
    };
    let mut users = Vec::new();
    for user_id in &args.users {
        users.push(api.user(user_id).await?);
    }
    let room: RoomBody = api
        .ok(
            Method::POST,
            "/v1/rooms",
            json!({"type": "small_room_for_video"}),
        )
        .await?;
    let host = &users[0];
    let live: LiveEventBody = api
        .ok(
            Method::POST,
            "/v1/live-events",
            json!({"host_type": "single_host", "user_ids_for_host": [host.user_id]}),
        )
        .await?;
    let room_id = room.room.room_id.to_string();
    let live_id = live.live_event.live_event_id.to_string();

    println!(
        "OpenCalls at {}: {} user(s) ready. Open each link in its own tab or browser.\n",
        args.url,
        users.len()
    );
    println!("Video room {room_id}:");
    for user in &users {
        println!(
            "  {:<10} {}",
            user.user_id,
            demo_link(&args.url, user, &[("room_id", &room_id)])?
        );
    }
    println!("\nLive event {live_id} (the host starts it with \"Set ready\" then \"Start\"):");
    for (i, user) in users.iter().enumerate() {
        let role = if i == 0 { "host" } else { "participant" };
        let label = if i == 0 { "host" } else { "viewer" };
        println!(
            "  {:<10} {} ({label})",
            user.user_id,
            demo_link(
                &args.url,
                user,
                &[("live_event_id", &live_id), ("role", role)]
            )?
        );
    }
    println!("\nAPI reference: {}", args.url.join("/api/")?);
    Ok(())
}

/// A demo URL that signs `user` in and enters what `extra` names.
fn demo_link(base: &Url, user: &DevUser, extra: &[(&str, &str)]) -> anyhow::Result<Url> {
    let mut url = base.join("/demo/")?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("user_id", &user.user_id)
            .append_pair("access_token", &user.access_token);
        for (k, v) in extra {
            query.append_pair(k, v);
        }
        query.append_pair("autojoin", "1");
    }
    Ok(url)
}
