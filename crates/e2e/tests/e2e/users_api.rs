//! Users under the Platform API, access and session tokens, and which token opens what.

use crate::common;

use common::{TOKEN, TestServer, assert_error};
use opencalls_client::{Client, ClientError, Incoming, open_session};
use opencalls_testkit::poll::{self, WAIT};
use serde_json::json;

#[tokio::test]
async fn users_crud_with_paging_and_validation() {
    let server = TestServer::start().await;
    let (status, body) = server
        .post(
            "/v1/users",
            json!({"user_id": "alice", "nickname": "Alice", "profile_url": "https://x/a.png",
                   "meta_data": {"team": "red"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"user_id": "alice", "nickname": "Alice", "profile_url": "https://x/a.png",
               "metadata": {"team": "red"}, "is_active": true, "role": null})
    );
    assert_error(
        &server.post("/v1/users", json!({"user_id": "alice"})).await,
        400,
        400201,
    );
    assert_error(
        &server.post("/v1/users", json!({"nickname": "x"})).await,
        400,
        400111,
    );
    for id in ["bob", "carol"] {
        assert_eq!(
            server.post("/v1/users", json!({"user_id": id})).await.0,
            200
        );
    }

    let (status, page) = server.get("/v1/users?limit=2").await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = page["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["carol", "bob"]);
    let next = page["next"].as_str().expect("a next page");
    let (_, page) = server.get(&format!("/v1/users?limit=2&next={next}")).await;
    assert_eq!(page["users"][0]["user_id"], "alice");
    assert!(page["next"].is_null());
    // An empty value is not an integer either (found by schemathesis: it read as absent).
    for bad in ["limit=0", "limit=", "limit=ten"] {
        assert_error(&server.get(&format!("/v1/users?{bad}")).await, 400, 400100);
    }

    let (status, user) = server
        .put(
            "/v1/users/alice",
            json!({"nickname": "Al", "metadata": {"team": "blue"}}),
        )
        .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(
        (user["nickname"].clone(), user["metadata"]["team"].clone()),
        (json!("Al"), json!("blue"))
    );
    assert_eq!(user["profile_url"], "https://x/a.png");
    let too_long = "n".repeat(81);
    assert_error(
        &server
            .put("/v1/users/alice", json!({"nickname": too_long}))
            .await,
        400,
        400100,
    );
    assert_eq!(server.get("/v1/users/alice").await.1["nickname"], "Al");
    assert_error(&server.get("/v1/users/nobody").await, 400, 400200);

    let (status, user) = server.delete("/v1/users/alice", None).await;
    assert_eq!(status, 200);
    assert_eq!(user["is_active"], false);
    assert_eq!(server.get("/v1/users/alice").await.1["is_active"], false);
    assert_error(
        &server.post("/v1/users/alice/token", json!({})).await,
        401,
        401121,
    );

    let anonymous = server
        .http
        .get(server.url("/v1/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
}

#[tokio::test]
async fn each_token_opens_only_its_own_door() {
    let server = TestServer::start().await;
    server.post("/v1/users", json!({"user_id": "u1"})).await;
    let (status, issued) = server.post("/v1/users/u1/token", json!({})).await;
    assert_eq!(status, 200, "{issued}");
    let access = issued["access_token"].as_str().unwrap().to_owned();
    assert!(access.len() >= 43, "a 256-bit token");

    // Wrong user, wrong token, unknown user: all the same refusal.
    for (user, token) in [
        ("u2", access.as_str()),
        ("u1", "guess"),
        ("ghost", access.as_str()),
    ] {
        let err = open_session(&server.base, user, token).await.unwrap_err();
        assert_eq!(err.code(), Some(401121), "{user}: {err}");
    }
    let session = open_session(&server.base, "u1", &access).await.unwrap();
    assert!(session.expires_at > 0);

    // The session token never authorises the Platform API...
    let resp = server
        .http
        .get(server.url("/v1/rooms"))
        .header("Api-Token", &session.session_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    // ...and neither the API token nor an access token opens a client connection.
    for token in [TOKEN, access.as_str()] {
        let err = Client::connect(&server.ws_base(), token, None)
            .await
            .err()
            .unwrap();
        assert_eq!(err.code(), Some(401121), "{err}");
    }
    // A session token can't open another session.
    let err = open_session(&server.base, "u1", &session.session_token)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(401121));

    let mut client = Client::connect(&server.ws_base(), &session.session_token, None)
        .await
        .unwrap();
    assert_eq!(client.hello["user"]["user_id"], "u1");
    assert_eq!(client.hello["protocol"], "opencalls/1");

    // Revoking ends the open session and every token.
    let (status, body) = server.delete("/v1/users/u1/token", None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["revoked"].as_u64().unwrap() >= 2);
    let goodbye = client
        .wait_for(WAIT, |m| matches!(m, Incoming::Goodbye { .. }))
        .await;
    assert_eq!(
        goodbye,
        Some(Incoming::Goodbye {
            reason: "session_revoked".into()
        })
    );
    let err = Client::connect(&server.ws_base(), &session.session_token, None)
        .await
        .err()
        .unwrap();
    assert_eq!(err.code(), Some(401121));
    assert_eq!(
        open_session(&server.base, "u1", &access)
            .await
            .unwrap_err()
            .code(),
        Some(401121)
    );
}

#[tokio::test]
async fn session_tokens_expire() {
    let server = TestServer::start_with(|c| c.session_ttl_secs = 1).await;
    let session = server.session_for("shortlived").await;
    Client::connect(&server.ws_base(), &session, None)
        .await
        .expect("fresh session works");
    let body = poll::eventually("the session expires", WAIT, async || match Client::connect(
        &server.ws_base(),
        &session,
        None,
    )
    .await
    {
        Err(ClientError::Http { status: 401, body }) => Ok(body),
        Ok(client) => {
            client.close().await;
            Err("the session still connects")
        }
        Err(other) => panic!("unexpected {other}"),
    })
    .await;
    assert_eq!(body["code"], 401121);
}

#[tokio::test]
async fn deleting_a_user_closes_its_sessions_and_exits_its_participants() {
    let server = TestServer::start().await;
    let room = server.create_room("small_room_for_video").await;
    let room_id = room["room_id"].as_str().unwrap();
    let mut stays = server.device("stays").await;
    let mut leaves = server.device("leaves").await;
    stays.enter(room_id, true, false).await.unwrap();
    leaves.enter(room_id, true, false).await.unwrap();

    let (status, _) = server.delete("/v1/users/leaves", None).await;
    assert_eq!(status, 200);
    let bye = leaves
        .wait_for(WAIT, |m| matches!(m, Incoming::Goodbye { .. }))
        .await;
    assert_eq!(
        bye,
        Some(Incoming::Goodbye {
            reason: "session_revoked".into()
        })
    );
    let closed = leaves
        .wait_for(WAIT, |m| matches!(m, Incoming::Closed { .. }))
        .await;
    assert_eq!(closed, Some(Incoming::Closed { code: Some(4001) }));
    let exited = stays
        .wait_for(
            WAIT,
            |m| matches!(m, Incoming::Event { name, .. } if name == "room.participant_exited"),
        )
        .await
        .expect("the others see the exit");
    let Incoming::Event { data, .. } = exited else {
        unreachable!()
    };
    assert_eq!(data["participant"]["user"]["user_id"], "leaves");
    let (_, body) = server.get(&format!("/v1/rooms/{room_id}")).await;
    let current = body["room"]["current_participants"].as_array().unwrap();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["user"]["user_id"], "stays");
}
