//! What every operation of the OpenAPI document states besides its own annotations, applied
//! to the whole document at once so no operation can forget it:
//!
//! - the error answers every operation can give (`400`, `401`, `429`, `500`), each with the
//!   spec's error body;
//! - path ids are strings of 1 to 128 characters (`opencalls_domain::ids::MAX_ID_LEN`);
//! - the query parameters with a fixed set of values carry it as an enum (plus `""`: an
//!   empty value of such a filter means "not given");
//! - `POST /v1/auth/session` (served by the client-protocol adapter, authenticated by the
//!   user's access token instead of `Api-Token`).

use crate::error::ErrorBody;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{
    ContentBuilder, HttpMethod, OpenApi, PathItem, Ref, RefOr, Required, ResponseBuilder, Schema,
};

/// The error answers of every operation, with when they happen.
const ERRORS: [(&str, &str); 4] = [
    (
        "400",
        "invalid input (`400100`, `400111`) or no such resource (`400200`); see docs/api.md",
    ),
    (
        "401",
        "a missing or wrong `Api-Token` (`400401`), or an action the token may not take (`401120`)",
    ),
    (
        "429",
        "too many requests (`429100`); nothing changed, try again later",
    ),
    (
        "500",
        "an internal failure (`500999`); the message never carries internals",
    ),
];

/// Query parameters whose values come from a fixed set: `(path, parameter, values)`. Keyed by
/// path too, since the same name means different things on different paths (`type`). Each
/// set ends with `""`: the handlers of all four take an empty value as "not given" (the
/// default), so the document lists it as accepted.
const ENUMS: [(&str, &str, &[&str]); 4] = [
    (
        "/v1/rooms",
        "type",
        &[
            "all",
            "small_room_for_video",
            "large_room_for_audio_only",
            "",
        ],
    ),
    ("/v1/users/{user_id}/calls", "type", &["direct", ""]),
    (
        "/v1/applications/{application_id}/webhook/deliveries",
        "status",
        &["pending", "delivered", "failed", ""],
    ),
    (
        "/v1/applications/{application_id}/settings/webhook",
        "display_all_webhook_categories",
        &["true", "false", ""],
    ),
];

/// Longest id in a path (`opencalls_domain::ids::MAX_ID_LEN`).
const MAX_ID_LEN: usize = 128;

pub(crate) struct Truth;

impl utoipa::Modify for Truth {
    fn modify(&self, openapi: &mut OpenApi) {
        add_session_path(openapi);
        for (path, item) in openapi.paths.paths.iter_mut() {
            for operation in operations(item) {
                add_error_responses(operation);
                constrain_parameters(path, operation);
            }
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

fn error_ref() -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name("ErrorBody"))
}

fn add_error_responses(operation: &mut Operation) {
    for (status, description) in ERRORS {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| {
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new().schema(Some(error_ref())).build(),
                    )
                    .build()
                    .into()
            });
    }
}

fn constrain_parameters(path: &str, operation: &mut Operation) {
    for parameter in operation.parameters.iter_mut().flatten() {
        let schema = match parameter.parameter_in {
            ParameterIn::Path => ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::String))
                .min_length(Some(1))
                .max_length(Some(MAX_ID_LEN))
                .build(),
            _ => match ENUMS
                .iter()
                .find(|(p, name, _)| *p == path && *name == parameter.name)
            {
                Some((_, _, values)) => ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::String))
                    .enum_values(Some(values.iter().copied()))
                    .build(),
                None => continue,
            },
        };
        parameter.schema = Some(RefOr::T(Schema::Object(schema)));
    }
}

/// The request body of `POST /v1/auth/session`.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)] // documentation only: the client-protocol adapter parses it
pub(crate) struct OpenSessionBody {
    user_id: String,
    /// An access token of the user (issued through `/v1/users`).
    access_token: String,
}

/// The answer of `POST /v1/auth/session`.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documentation only: the client-protocol adapter renders it
pub(crate) struct SessionBody {
    user_id: String,
    /// Opens the client protocol (`GET /v1/ws?session_token=…`).
    session_token: String,
    expires_at: Option<i64>,
    user: opencalls_service::domain::User,
}

fn add_session_path(openapi: &mut OpenApi) {
    let json = |name: &str| {
        ContentBuilder::new()
            .schema(Some(RefOr::Ref(Ref::from_schema_name(name))))
            .build()
    };
    let mut operation = Operation::new();
    operation.tags = Some(vec![crate::users::TAG.to_owned()]);
    operation.summary = Some("Exchange a user's access token for a session token".to_owned());
    operation.description = Some(
        "Authenticated by the access token in the body, not by `Api-Token`. See docs/protocol.md."
            .to_owned(),
    );
    // No `Api-Token`: an empty requirement overrides the document's default.
    operation.security = Some(vec![
        utoipa::openapi::security::SecurityRequirement::default(),
    ]);
    operation.request_body = Some(
        RequestBodyBuilder::new()
            .content("application/json", json("OpenSessionBody"))
            .required(Some(Required::True))
            .build(),
    );
    operation.responses.responses.insert(
        "200".to_owned(),
        ResponseBuilder::new()
            .description("the session")
            .content("application/json", json("SessionBody"))
            .build()
            .into(),
    );
    openapi.paths.paths.insert(
        "/v1/auth/session".to_owned(),
        PathItem::new(HttpMethod::Post, operation),
    );
    let components = openapi.components.get_or_insert_with(Default::default);
    for (name, schema) in [
        (
            "OpenSessionBody",
            <OpenSessionBody as utoipa::PartialSchema>::schema(),
        ),
        (
            "SessionBody",
            <SessionBody as utoipa::PartialSchema>::schema(),
        ),
        ("ErrorBody", <ErrorBody as utoipa::PartialSchema>::schema()),
    ] {
        components.schemas.entry(name.to_owned()).or_insert(schema);
    }
}
