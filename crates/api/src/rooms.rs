//! `/v1/rooms`: the eight room actions of the group-call spec page.

use crate::error::ErrorBody;
use crate::extract::{ApiPath, ApiQuery, JsonBody, int_param, list_param};
use crate::json::Json;
use crate::{ApiError, AppState};
use axum::extract::State;
use opencalls_service::domain::{Actor, CustomItems, CustomItemsMode, Millis, Participant, Room};
use opencalls_service::rooms::{KeysToDelete, parse_custom_items};
use opencalls_service::{PageParams, RoomList, ids};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

pub(crate) const TAG: &str = "Rooms";

#[derive(Deserialize, ToSchema)]
pub(crate) struct CreateRoomBody {
    /// `small_room_for_video` or `large_room_for_audio_only`.
    #[serde(rename = "type")]
    room_type: Option<String>,
    #[schema(value_type = Option<Object>)]
    custom_items: Option<BTreeMap<String, String>>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct RoomEnvelope {
    room: Room,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct RoomListBody {
    rooms: Vec<Room>,
    next: Option<String>,
    prev: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListRoomsQuery {
    /// 1 to 100 (default 10).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    next: Option<String>,
    prev: Option<String>,
    /// `all` (default), `small_room_for_video` or `large_room_for_audio_only`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    room_type: Option<String>,
    /// Comma-separated: `open`, `deleted`.
    state: Option<String>,
    /// Comma-separated, at most 10; not together with `room_id`.
    room_ids: Option<String>,
    room_id: Option<String>,
    #[param(value_type = Option<i64>, format = Int64)]
    created_at_start_date: Option<String>,
    #[param(value_type = Option<i64>, format = Int64)]
    created_at_end_date: Option<String>,
    #[param(value_type = Option<i64>, format = Int64)]
    current_participant_range_gte: Option<String>,
    #[param(value_type = Option<i64>, format = Int64)]
    current_participant_range_lte: Option<String>,
    /// Comma-separated, at most 10; not together with `created_by_user_id`.
    created_by_user_ids: Option<String>,
    created_by_user_id: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// 1 to 100 (default 10).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    next: Option<String>,
    prev: Option<String>,
}

impl PageQuery {
    pub(crate) fn params(&self) -> Result<PageParams, ApiError> {
        Ok(PageParams {
            limit: int_param("limit", self.limit.as_deref())?,
            next: self.next.clone(),
            prev: self.prev.clone(),
        })
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct CustomItemsEnvelope {
    custom_items: CustomItems,
    #[serde(skip_serializing_if = "Option::is_none")]
    affected_at: Option<Millis>,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct UpdateCustomItemsBody {
    #[schema(value_type = Object)]
    custom_items: Option<BTreeMap<String, String>>,
    mode: Option<CustomItemsMode>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct UpdatedCustomItems {
    room_id: String,
    updated: Vec<String>,
    custom_items: CustomItems,
    affected_at: Option<Millis>,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct DeleteCustomItemsBody {
    keys: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DeletedCustomItems {
    room_id: String,
    deleted: Vec<String>,
    custom_items: CustomItems,
    affected_at: Option<Millis>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ParticipantList {
    participants: Vec<Participant>,
    next: Option<String>,
    prev: Option<String>,
}

/// Create a room.
#[utoipa::path(post, path = "/v1/rooms", tag = TAG, request_body = CreateRoomBody,
    responses((status = 200, body = RoomEnvelope), (status = 400, body = ErrorBody)))]
pub(crate) async fn create_room(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateRoomBody>,
) -> Result<Json<RoomEnvelope>, ApiError> {
    let room_type = body.room_type.ok_or_else(|| ApiError::missing("type"))?;
    let room = state
        .services
        .rooms
        .create(&room_type, body.custom_items, Actor::PlatformApi)
        .await?;
    Ok(Json(RoomEnvelope { room }))
}

/// Retrieve a list of rooms, newest first.
#[utoipa::path(get, path = "/v1/rooms", tag = TAG, params(ListRoomsQuery),
    responses((status = 200, body = RoomListBody), (status = 400, body = ErrorBody)))]
pub(crate) async fn list_rooms(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListRoomsQuery>,
) -> Result<Json<RoomListBody>, ApiError> {
    let list = RoomList {
        room_type: q.room_type.filter(|t| !t.is_empty()),
        states: list_param(q.state.as_deref()).unwrap_or_default(),
        room_ids: list_param(q.room_ids.as_deref()),
        room_id: q.room_id.filter(|s| !s.is_empty()),
        created_by_user_ids: list_param(q.created_by_user_ids.as_deref()),
        created_by_user_id: q.created_by_user_id,
        created_at_start_date: int_param(
            "created_at_start_date",
            q.created_at_start_date.as_deref(),
        )?,
        created_at_end_date: int_param("created_at_end_date", q.created_at_end_date.as_deref())?,
        current_participant_range_gte: int_param(
            "current_participant_range_gte",
            q.current_participant_range_gte.as_deref(),
        )?,
        current_participant_range_lte: int_param(
            "current_participant_range_lte",
            q.current_participant_range_lte.as_deref(),
        )?,
        page: PageParams {
            limit: int_param("limit", q.limit.as_deref())?,
            next: q.next,
            prev: q.prev,
        },
    };
    let page = state.services.rooms.list(list).await?;
    Ok(Json(RoomListBody {
        rooms: page.items,
        next: page.next,
        prev: page.prev,
    }))
}

/// Retrieve a room.
#[utoipa::path(get, path = "/v1/rooms/{room_id}", tag = TAG, params(("room_id" = String, Path)),
    responses((status = 200, body = RoomEnvelope), (status = 400, body = ErrorBody)))]
pub(crate) async fn get_room(
    State(state): State<AppState>,
    ApiPath(room_id): ApiPath,
) -> Result<Json<RoomEnvelope>, ApiError> {
    let room = state.services.rooms.get(&ids::room_id(&room_id)?).await?;
    Ok(Json(RoomEnvelope { room }))
}

/// Delete a room: participants are removed, and it can't be reopened.
#[utoipa::path(delete, path = "/v1/rooms/{room_id}", tag = TAG, params(("room_id" = String, Path)),
    responses((status = 200, body = RoomEnvelope), (status = 400, body = ErrorBody)))]
pub(crate) async fn delete_room(
    State(state): State<AppState>,
    ApiPath(room_id): ApiPath,
) -> Result<Json<RoomEnvelope>, ApiError> {
    let room_id = ids::room_id(&room_id)?;
    let room = state
        .services
        .rooms
        .delete(&room_id, Actor::PlatformApi)
        .await?;
    Ok(Json(RoomEnvelope { room }))
}

/// Retrieve all custom items of a room.
#[utoipa::path(get, path = "/v1/rooms/{room_id}/custom_items", tag = TAG, params(("room_id" = String, Path)),
    responses((status = 200, body = CustomItemsEnvelope), (status = 400, body = ErrorBody)))]
pub(crate) async fn get_custom_items(
    State(state): State<AppState>,
    ApiPath(room_id): ApiPath,
) -> Result<Json<CustomItemsEnvelope>, ApiError> {
    let room_id = ids::room_id(&room_id)?;
    let (custom_items, affected_at) = state.services.rooms.custom_items(&room_id).await?;
    Ok(Json(CustomItemsEnvelope {
        custom_items,
        affected_at,
    }))
}

/// Update custom items of a room (`mode`: `upsert` by default, or `insert`).
#[utoipa::path(put, path = "/v1/rooms/{room_id}/custom_items", tag = TAG, params(("room_id" = String, Path)),
    request_body = UpdateCustomItemsBody,
    responses((status = 200, body = UpdatedCustomItems), (status = 400, body = ErrorBody)))]
pub(crate) async fn update_custom_items(
    State(state): State<AppState>,
    ApiPath(room_id): ApiPath,
    JsonBody(body): JsonBody<UpdateCustomItemsBody>,
) -> Result<Json<UpdatedCustomItems>, ApiError> {
    let items = body
        .custom_items
        .ok_or_else(|| ApiError::missing("custom_items"))?;
    let mode = body.mode.unwrap_or_default();
    let items = parse_custom_items(items)?;
    let room_id = ids::room_id(&room_id)?;
    let (room, updated) = state
        .services
        .rooms
        .update_custom_items(&room_id, items, mode)
        .await?;
    Ok(Json(UpdatedCustomItems {
        room_id: room.room_id.to_string(),
        updated,
        custom_items: room.custom_items,
        affected_at: room.custom_items_affected_at,
    }))
}

/// Delete custom items of a room (`keys`, or all when absent).
#[utoipa::path(delete, path = "/v1/rooms/{room_id}/custom_items", tag = TAG, params(("room_id" = String, Path)),
    request_body = DeleteCustomItemsBody,
    responses((status = 200, body = DeletedCustomItems), (status = 400, body = ErrorBody)))]
pub(crate) async fn delete_custom_items(
    State(state): State<AppState>,
    ApiPath(room_id): ApiPath,
    JsonBody(body): JsonBody<DeleteCustomItemsBody>,
) -> Result<Json<DeletedCustomItems>, ApiError> {
    let keys = KeysToDelete::parse(body.keys)?;
    let room_id = ids::room_id(&room_id)?;
    let (room, deleted) = state
        .services
        .rooms
        .delete_custom_items(&room_id, keys)
        .await?;
    Ok(Json(DeletedCustomItems {
        room_id: room.room_id.to_string(),
        deleted,
        custom_items: room.custom_items,
        affected_at: room.custom_items_affected_at,
    }))
}

/// Retrieve every participant that entered the room, newest first.
#[utoipa::path(get, path = "/v1/rooms/{room_id}/participants", tag = TAG,
    params(("room_id" = String, Path), PageQuery),
    responses((status = 200, body = ParticipantList), (status = 400, body = ErrorBody)))]
pub(crate) async fn list_participants(
    State(state): State<AppState>,
    ApiPath(room_id): ApiPath,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<ParticipantList>, ApiError> {
    let page = q.params()?;
    let room_id = ids::room_id(&room_id)?;
    let page = state.services.rooms.participants(&room_id, page).await?;
    Ok(Json(ParticipantList {
        participants: page.items,
        next: page.next,
        prev: page.prev,
    }))
}
