//! The OpenAPI document served by the real server tells the truth about every operation:
//! its error answers, its parameters' types, ranges and value sets, how it authenticates,
//! and it includes the session exchange. (`scripts/test` also fuzzes the server against it
//! with schemathesis.)

use crate::common::TestServer;
use serde_json::{Value, json};

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

async fn document() -> Value {
    let server = TestServer::start().await;
    let (status, doc) = server.get("/v1/openapi.json").await;
    assert_eq!(status, 200, "{doc}");
    doc
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    out
}

fn param<'a>(op: &'a Value, name: &str) -> &'a Value {
    op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no parameter {name}"))
}

#[tokio::test]
async fn every_operation_documents_its_errors_and_typed_parameters() {
    let doc = document().await;
    let ops = operations(&doc);
    assert!(ops.len() >= 31, "{} operations", ops.len());
    for (method, path, op) in &ops {
        for status in ["400", "401", "429", "500"] {
            let schema = &op["responses"][status]["content"]["application/json"]["schema"];
            assert_eq!(
                schema["$ref"], "#/components/schemas/ErrorBody",
                "{method} {path} documents {status} with the error body"
            );
        }
        for p in op["parameters"].as_array().into_iter().flatten() {
            let schema = &p["schema"];
            assert!(
                schema["type"].is_string() || schema["type"].is_array(),
                "{method} {path}: parameter {} has a type: {p}",
                p["name"]
            );
            if p["in"] == "path" {
                assert_eq!(
                    (schema["minLength"].clone(), schema["maxLength"].clone()),
                    (json!(1), json!(128)),
                    "{method} {path} {p}"
                );
            }
        }
    }
    let error = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(
        error["required"],
        json!(["error", "code", "message"]),
        "{error}"
    );

    let list_rooms = &doc["paths"]["/v1/rooms"]["get"];
    let limit = &param(list_rooms, "limit")["schema"];
    assert_eq!(limit["minimum"], 1, "{limit}");
    assert_eq!(limit["maximum"], 100, "{limit}");
    assert!(limit["type"].to_string().contains("integer"), "{limit}");
    let room_type = &param(list_rooms, "type")["schema"];
    assert_eq!(
        room_type["enum"],
        json!([
            "all",
            "small_room_for_video",
            "large_room_for_audio_only",
            ""
        ])
    );
    let date = &param(list_rooms, "created_at_start_date")["schema"];
    assert!(date["type"].to_string().contains("integer"), "{date}");
    // The same parameter name on another path has its own set (the empty value, taken as
    // "not given", is listed too).
    let user_calls = &doc["paths"]["/v1/users/{user_id}/calls"]["get"];
    assert_eq!(
        param(user_calls, "type")["schema"]["enum"],
        json!(["direct", ""])
    );
    let deliveries = &doc["paths"]["/v1/applications/{application_id}/webhook/deliveries"]["get"];
    assert_eq!(
        param(deliveries, "status")["schema"]["enum"],
        json!(["pending", "delivered", "failed", ""])
    );
}

#[tokio::test]
async fn the_api_token_scheme_and_the_session_exchange_are_declared() {
    let doc = document().await;
    let scheme = &doc["components"]["securitySchemes"]["api_token"];
    assert_eq!(
        scheme,
        &json!({"type": "apiKey", "in": "header", "name": "Api-Token"})
    );
    assert_eq!(doc["security"], json!([{"api_token": []}]));

    let session = &doc["paths"]["/v1/auth/session"]["post"];
    assert!(session.is_object(), "POST /v1/auth/session is documented");
    assert_eq!(
        session["security"],
        json!([{}]),
        "the session exchange needs no Api-Token"
    );
    let body = &session["requestBody"]["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(body, "#/components/schemas/OpenSessionBody");
    let answer = &doc["components"]["schemas"]["SessionBody"]["properties"];
    for field in ["user_id", "session_token", "expires_at", "user"] {
        assert!(answer.get(field).is_some(), "SessionBody.{field}: {answer}");
    }
    assert!(doc["paths"]["/v1/applications/api_tokens"]["post"].is_object());
}
