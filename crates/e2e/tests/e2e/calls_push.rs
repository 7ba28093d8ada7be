//! VoIP pushes for a ringing call, through the real server to a local HTTP/2 receiver that
//! checks what APNs and FCM require: APNs' headers, topic and ES256 provider token; FCM's
//! OAuth exchange (an RS256 assertion) and bearer token; the payload with `call_id` and the
//! caller. A temporary refusal is retried, an invalid token is removed, every outcome is
//! counted, and the call rings on regardless.

use crate::calls_common::TestUser;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use opencalls_client::DialOptions;
use opencalls_testkit::TestServer;
use opencalls_testkit::poll::{SLOW, until};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    headers: HashMap<String, String>,
    body: String,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// What a fake APNs / FCM / OAuth endpoint answers.
fn answer(seen: &Seen, log: &[Seen]) -> (u16, Value) {
    let earlier = log.iter().filter(|s| s.path == seen.path).count();
    match seen.path.as_str() {
        "/3/device/gone" => (410, json!({"reason": "Unregistered"})),
        "/3/device/flaky" if earlier == 0 => (503, json!({"reason": "ServiceUnavailable"})),
        p if p.starts_with("/3/device/") => (200, json!({})),
        "/token" => (
            200,
            json!({"access_token": "at-1", "expires_in": 3600, "token_type": "Bearer"}),
        ),
        "/v1/projects/p1/messages:send" if seen.body.contains("\"fgone\"") => (
            404,
            json!({"error": {"code": 404, "status": "NOT_FOUND", "details": [
                {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}]}}),
        ),
        "/v1/projects/p1/messages:send" => (200, json!({"name": "projects/p1/messages/1"})),
        _ => (404, json!({})),
    }
}

/// An HTTP/2 (cleartext, prior knowledge) server on 127.0.0.1; returns its base URL.
async fn h2_receiver(log: Log) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let log = log.clone();
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let log = log.clone();
                async move {
                    let path = req.uri().path().to_owned();
                    let headers = req
                        .headers()
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                        .collect();
                    let body = req
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let seen = Seen {
                        path,
                        headers,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    };
                    let (status, reply) = {
                        let mut log = log.lock().unwrap();
                        let reply = answer(&seen, &log);
                        log.push(seen);
                        reply
                    };
                    let response = Response::builder()
                        .status(status)
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from(reply.to_string())))
                        .unwrap();
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            tokio::spawn(async move {
                let builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
                let _ = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    base
}

fn pem(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

/// Splits a JWT and checks its signature with `verify(message, signature)`.
fn jwt(token: &str, key: &UnparsedPublicKey<Vec<u8>>) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    let signed = format!("{}.{}", parts[0], parts[1]);
    key.verify(signed.as_bytes(), &sig)
        .expect("the JWT signature verifies");
    let part =
        |p: &str| serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap();
    (part(parts[0]), part(parts[1]))
}

#[tokio::test]
async fn a_ringing_call_is_pushed_to_apns_and_fcm_with_retries_and_token_cleanup() {
    let log: Log = Arc::default();
    let base = h2_receiver(log.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let rng = SystemRandom::new();
    let ec =
        EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let ec_public =
        EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, ec.as_ref())
            .unwrap()
            .public_key()
            .as_ref()
            .to_vec();
    let p8 = dir.path().join("AuthKey_KEY1.p8");
    std::fs::write(&p8, pem(ec.as_ref())).unwrap();
    let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let rsa_public = rsa.public_key().as_ref().to_vec();
    let account = json!({"type": "service_account", "project_id": "p1",
        "client_email": "push@p1.iam.gserviceaccount.com",
        "private_key": pem(AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&rsa).unwrap().as_ref()),
        "token_uri": format!("{base}/token")});
    let account_file = dir.path().join("service-account.json");
    std::fs::write(&account_file, account.to_string()).unwrap();

    let server = TestServer::start_with(|c| {
        c.apns_key_file = Some(p8.clone());
        c.apns_key_id = Some("KEY1".into());
        c.apns_team_id = Some("TEAM1".into());
        c.apns_bundle_id = Some("com.example.app".into());
        c.apns_endpoint = base.clone();
        c.fcm_service_account_file = Some(account_file.clone());
        c.fcm_endpoint = base.clone();
        c.push_retry_base_ms = 20;
    })
    .await;
    let alice = TestUser::create(&server, "alice").await;
    TestUser::create(&server, "bob").await;
    for token in ["good", "flaky", "gone"] {
        let (status, body) = server
            .post("/v1/users/bob/push/apns_voip", json!({"token": token}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    for token in ["fgood", "fgone"] {
        server
            .post("/v1/users/bob/push/fcm_voip", json!({"token": token}))
            .await;
    }
    // Bob has no device online: the pushes are how his phone learns of the call.
    let caller = alice.device(&server, None).await;
    let id = caller
        .dial("bob", DialOptions::default())
        .await
        .unwrap()
        .call_id
        .to_string();

    until("every token was pushed (flaky twice)", SLOW, async || {
        let log = log.lock().unwrap();
        let hits = |p: &str| log.iter().filter(|s| s.path == p).count();
        hits("/3/device/good") == 1
            && hits("/3/device/flaky") == 2
            && hits("/3/device/gone") == 1
            && hits("/v1/projects/p1/messages:send") == 2
    })
    .await;
    let log = log.lock().unwrap().clone();

    let apns_key = UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, ec_public);
    for seen in log.iter().filter(|s| s.path.starts_with("/3/device/")) {
        assert_eq!(seen.headers["apns-push-type"], "voip");
        assert_eq!(seen.headers["apns-topic"], "com.example.app.voip");
        assert_eq!(seen.headers["apns-priority"], "10");
        let bearer = seen.headers["authorization"]
            .strip_prefix("bearer ")
            .expect("bearer");
        let (header, claims) = jwt(bearer, &apns_key);
        assert_eq!(header, json!({"alg": "ES256", "kid": "KEY1"}));
        assert_eq!(claims["iss"], "TEAM1");
        assert!(claims["iat"].as_u64().is_some());
        let body: Value = serde_json::from_str(&seen.body).unwrap();
        assert_eq!(body["call_id"], id.as_str());
        assert_eq!(body["caller"]["user_id"], "alice");
    }

    let google_key = UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, rsa_public);
    let token_requests: Vec<&Seen> = log.iter().filter(|s| s.path == "/token").collect();
    assert_eq!(token_requests.len(), 1, "the access token is reused");
    let form: HashMap<String, String> = token_requests[0]
        .body
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.replace("%3A", ":")))
        .collect();
    assert_eq!(
        form["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    let (header, claims) = jwt(&form["assertion"], &google_key);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["iss"], "push@p1.iam.gserviceaccount.com");
    assert_eq!(claims["aud"], format!("{base}/token"));
    assert_eq!(
        claims["scope"],
        "https://www.googleapis.com/auth/firebase.messaging"
    );
    for seen in log.iter().filter(|s| s.path.ends_with("messages:send")) {
        assert_eq!(seen.headers["authorization"], "Bearer at-1");
        let body: Value = serde_json::from_str(&seen.body).unwrap();
        assert_eq!(body["message"]["data"]["call_id"], id.as_str());
        assert_eq!(body["message"]["data"]["caller_id"], "alice");
        assert_eq!(body["message"]["android"]["priority"], "high");
    }

    until("invalid tokens are removed", SLOW, async || {
        let (_, apns) = server.get("/v1/users/bob/push/apns_voip").await;
        let (_, fcm) = server.get("/v1/users/bob/push/fcm_voip").await;
        apns["tokens"] == json!(["flaky", "good"]) && fcm["tokens"] == json!(["fgood"])
    })
    .await;
    let metrics = crate::common::metrics(&server).await;
    for needle in [
        r#"opencalls_push_sent_total{provider="apns",outcome="delivered"} 2"#,
        r#"opencalls_push_sent_total{provider="apns",outcome="retried"} 1"#,
        r#"opencalls_push_sent_total{provider="apns",outcome="invalid_token"} 1"#,
        r#"opencalls_push_sent_total{provider="fcm",outcome="delivered"} 1"#,
        r#"opencalls_push_sent_total{provider="fcm",outcome="invalid_token"} 1"#,
    ] {
        assert!(metrics.contains(needle), "{needle} not in\n{metrics}");
    }
    let (_, call) = server.get(&format!("/v1/direct_calls/{id}")).await;
    assert_eq!(call["state"], "ringing", "pushing never ends the call");
}
