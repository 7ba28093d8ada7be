//! Group-call rooms: create, delete, read, list, custom items, and the participant
//! transitions that the client protocol and the media layer drive.

use crate::{ListPage, PageParams, ServiceError};
use opencalls_domain::participant::EnterRequest;
use opencalls_domain::room::{CUSTOM_ITEMS_RULE, RoomChange};
use opencalls_domain::{
    Actor, CustomItems, CustomItemsMode, DomainError, EventBody, Millis, Participant,
    ParticipantId, Room, RoomId, RoomState, RoomType,
};
use opencalls_runtime::{Clock, EventBus};
use opencalls_store::{CursorKind, RoomQuery, Store};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Most ids accepted by the `room_ids` / `created_by_user_ids` filters.
pub const MAX_FILTER_IDS: usize = 10;
/// Most keys one custom-items deletion can name.
pub const MAX_DELETED_KEYS: usize = 100;
/// Default look-back of a room listing that names neither date bound.
pub const DEFAULT_LISTING_WINDOW_MS: Millis = 14 * 24 * 60 * 60 * 1000;

pub(crate) const ROOM: &str = "room";

#[derive(Clone)]
pub struct RoomService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    bus: EventBus,
}

/// Filters of a room listing as the client gave them (each list already split on commas).
#[derive(Clone, Debug, Default)]
pub struct RoomList {
    pub room_type: Option<String>,
    pub states: Vec<String>,
    pub room_ids: Option<Vec<String>>,
    pub room_id: Option<String>,
    pub created_by_user_ids: Option<Vec<String>>,
    pub created_by_user_id: Option<String>,
    pub created_at_start_date: Option<Millis>,
    pub created_at_end_date: Option<Millis>,
    pub current_participant_range_gte: Option<i64>,
    pub current_participant_range_lte: Option<i64>,
    pub page: PageParams,
}

impl RoomService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, bus: EventBus) -> Self {
        Self { store, clock, bus }
    }

    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// Creates an open room on behalf of `created_by`.
    pub async fn create(
        &self,
        room_type: &str,
        custom_items: Option<BTreeMap<String, String>>,
        created_by: Actor,
    ) -> Result<Room, ServiceError> {
        let room_type = RoomType::parse(room_type).ok_or_else(|| {
            DomainError::invalid(format!(
                "type must be one of small_room_for_video, large_room_for_audio_only; got '{room_type}'"
            ))
        })?;
        let items = CustomItems::new(custom_items.unwrap_or_default(), CUSTOM_ITEMS_RULE)?;
        let change = Room::create(
            RoomId::generate(),
            room_type,
            items,
            created_by.into_field(),
            self.clock.now(),
        );
        let room = change.room.clone();
        let events = change.events.clone();
        self.store
            .insert_room(change)
            .await
            .map_err(ServiceError::from_store(ROOM))?;
        self.bus.publish(events);
        Ok(room)
    }

    pub async fn get(&self, room_id: &RoomId) -> Result<Room, ServiceError> {
        self.store
            .room(room_id)
            .await
            .map_err(ServiceError::from_store(ROOM))?
            .ok_or(ServiceError::NotFound(ROOM))
    }

    /// Deletes the room: every participant is removed and it can't be reopened.
    pub async fn delete(&self, room_id: &RoomId, deleted_by: Actor) -> Result<Room, ServiceError> {
        let deleted_by = deleted_by.into_field();
        let change = self
            .transition(room_id, move |room, now| room.delete(deleted_by, now))
            .await?;
        Ok(change.room)
    }

    /// The room's custom items and when they last changed (`None` if there are none).
    pub async fn custom_items(
        &self,
        room_id: &RoomId,
    ) -> Result<(CustomItems, Option<Millis>), ServiceError> {
        let room = self.get(room_id).await?;
        let affected_at = if room.custom_items.is_empty() {
            None
        } else {
            room.custom_items_affected_at
        };
        Ok((room.custom_items, affected_at))
    }

    /// Merges custom items (parsed with [`parse_custom_items`]); returns the room and the
    /// keys added or changed.
    pub async fn update_custom_items(
        &self,
        room_id: &RoomId,
        items: CustomItems,
        mode: CustomItemsMode,
    ) -> Result<(Room, Vec<String>), ServiceError> {
        let change = self
            .transition(room_id, move |room, now| {
                Ok(room.update_custom_items(&items, mode, now)?.0)
            })
            .await?;
        let updated = change.events.iter().find_map(|e| match &e.body {
            EventBody::RoomCustomItemsUpdated { updated, .. } => Some(updated.clone()),
            _ => None,
        });
        Ok((change.room, updated.unwrap_or_default()))
    }

    /// Removes the given keys; returns the room and the removed keys.
    pub async fn delete_custom_items(
        &self,
        room_id: &RoomId,
        keys: KeysToDelete,
    ) -> Result<(Room, Vec<String>), ServiceError> {
        let change = self
            .transition(room_id, move |room, now| {
                Ok(room.delete_custom_items(keys.0.as_deref(), now)?.0)
            })
            .await?;
        let deleted = change.events.iter().find_map(|e| match &e.body {
            EventBody::RoomCustomItemsDeleted { deleted, .. } => Some(deleted.clone()),
            _ => None,
        });
        Ok((change.room, deleted.unwrap_or_default()))
    }

    pub async fn list(&self, list: RoomList) -> Result<ListPage<Room>, ServiceError> {
        let query = self.room_query(list)?;
        let page = self
            .store
            .list_rooms(query)
            .await
            .map_err(ServiceError::from_store(ROOM))?;
        Ok(ListPage::from_page(page, CursorKind::Rooms))
    }

    /// Everyone who ever entered the room, newest first.
    pub async fn participants(
        &self,
        room_id: &RoomId,
        page: PageParams,
    ) -> Result<ListPage<Participant>, ServiceError> {
        let page = page.validate(CursorKind::RoomParticipants)?;
        let result = self
            .store
            .list_participants(room_id, page)
            .await
            .map_err(ServiceError::from_store(ROOM))?;
        Ok(ListPage::from_page(result, CursorKind::RoomParticipants))
    }

    /// A device enters the room (capacity and duplicate checks are atomic with the insert).
    pub async fn enter(
        &self,
        room_id: &RoomId,
        request: EnterRequest,
    ) -> Result<Participant, ServiceError> {
        let id = request.participant_id.clone();
        let change = self
            .transition(room_id, move |room, now| room.enter(request, now))
            .await?;
        find_touched(&change, &id)
    }

    /// Like [`Self::enter`], also returning the room as the enter left it (the snapshot a
    /// client starts from).
    pub async fn enter_with_room(
        &self,
        room_id: &RoomId,
        request: EnterRequest,
    ) -> Result<(Participant, Room), ServiceError> {
        let id = request.participant_id.clone();
        let change = self
            .transition(room_id, move |room, now| room.enter(request, now))
            .await?;
        Ok((find_touched(&change, &id)?, change.room))
    }

    pub async fn exit(
        &self,
        room_id: &RoomId,
        participant: &ParticipantId,
    ) -> Result<Participant, ServiceError> {
        let id = participant.clone();
        let change = self
            .transition(room_id, move |room, now| room.participant_exited(&id, now))
            .await?;
        find_touched(&change, participant)
    }

    /// Called when the media layer sees the participant's transport up and media flowing.
    pub async fn mark_connected(
        &self,
        room_id: &RoomId,
        participant: &ParticipantId,
    ) -> Result<(), ServiceError> {
        let id = participant.clone();
        self.transition(room_id, move |room, now| {
            room.participant_connected(&id, now)
        })
        .await?;
        Ok(())
    }

    pub async fn set_media(
        &self,
        room_id: &RoomId,
        participant: &ParticipantId,
        audio: Option<bool>,
        video: Option<bool>,
    ) -> Result<(), ServiceError> {
        let id = participant.clone();
        self.transition(room_id, move |room, now| {
            room.participant_media(&id, audio, video, now)
        })
        .await?;
        Ok(())
    }

    /// Exits every participant left active by a previous run (call once at start-up, before
    /// clients connect); returns how many exited. Each exit commits with its event; a room
    /// that fails is logged and skipped, so the others are still cleaned up.
    pub async fn exit_leftover_participants(&self) -> Result<usize, ServiceError> {
        let rooms = self
            .store
            .rooms_with_active_participants()
            .await
            .map_err(ServiceError::from_store(ROOM))?;
        let mut exited = 0;
        for room_id in rooms {
            let cleaned = self
                .transition(&room_id, |room, now| {
                    let mut all = RoomChange {
                        room: room.clone(),
                        touched: Vec::new(),
                        events: Vec::new(),
                    };
                    for p in &room.current_participants {
                        let step = all.room.participant_exited(&p.participant_id, now)?;
                        all.room = step.room;
                        all.touched.extend(step.touched);
                        all.events.extend(step.events);
                    }
                    Ok(all)
                })
                .await;
            // One room that can't be cleaned must not keep the others' seats taken.
            match cleaned {
                Ok(change) => exited += change.touched.len(),
                Err(err) => {
                    tracing::error!(%room_id, %err, "exiting a room's leftover participants")
                }
            }
        }
        Ok(exited)
    }

    /// Runs a domain transition on the stored room and publishes its events once committed.
    async fn transition(
        &self,
        room_id: &RoomId,
        f: impl FnOnce(&Room, Millis) -> Result<RoomChange, DomainError> + Send + 'static,
    ) -> Result<RoomChange, ServiceError> {
        let clock = self.clock.clone();
        let change = self
            .store
            .update_room(room_id, Box::new(move |room| f(room, clock.now())))
            .await
            .map_err(ServiceError::from_store(ROOM))?;
        self.bus.publish(change.events.iter().cloned());
        Ok(change)
    }

    fn room_query(&self, list: RoomList) -> Result<RoomQuery, ServiceError> {
        let types = match list.room_type.as_deref() {
            None | Some("all") => Vec::new(),
            Some(raw) => vec![RoomType::parse(raw).ok_or_else(|| {
                DomainError::invalid(format!(
                    "type must be one of all, small_room_for_video, large_room_for_audio_only; got '{raw}'"
                ))
            })?],
        };
        let states = list
            .states
            .iter()
            .map(|s| {
                RoomState::parse(s).ok_or_else(|| {
                    DomainError::invalid(format!("state must be one of open, deleted; got '{s}'"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let room_ids = one_or_many("room_id", list.room_id, "room_ids", list.room_ids)?
            .into_iter()
            .map(|raw| {
                RoomId::parse(&raw)
                    .ok_or_else(|| DomainError::invalid(format!("'{raw}' is not a valid room id")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let created_by = one_or_many(
            "created_by_user_id",
            list.created_by_user_id,
            "created_by_user_ids",
            list.created_by_user_ids,
        )?;
        let (start, end) = match (list.created_at_start_date, list.created_at_end_date) {
            (None, None) => (Some(self.clock.now() - DEFAULT_LISTING_WINDOW_MS), None),
            bounds => bounds,
        };
        for (name, value) in [
            (
                "current_participant_range_gte",
                list.current_participant_range_gte,
            ),
            (
                "current_participant_range_lte",
                list.current_participant_range_lte,
            ),
        ] {
            if value.is_some_and(|v| v < 0) {
                return Err(DomainError::invalid(format!("{name} must not be negative")).into());
            }
        }
        Ok(RoomQuery {
            types,
            states,
            room_ids,
            created_by,
            created_at_start: start,
            created_at_end: end,
            participants_gte: list.current_participant_range_gte,
            participants_lte: list.current_participant_range_lte,
            page: list.page.validate(CursorKind::Rooms)?,
        })
    }
}

/// Custom items given to update a room, checked against the room key rule and limits
/// (before the room is looked up, so bad input is reported first).
pub fn parse_custom_items(items: BTreeMap<String, String>) -> Result<CustomItems, ServiceError> {
    Ok(CustomItems::new(items, CUSTOM_ITEMS_RULE)?)
}

/// The keys a custom-items deletion names (`None`: every key), at most
/// [`MAX_DELETED_KEYS`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeysToDelete(Option<Vec<String>>);

impl KeysToDelete {
    /// Checks the count (before the room is looked up, so bad input is reported first).
    pub fn parse(keys: Option<Vec<String>>) -> Result<Self, ServiceError> {
        if keys.as_ref().is_some_and(|k| k.len() > MAX_DELETED_KEYS) {
            return Err(DomainError::invalid(format!(
                "keys can name at most {MAX_DELETED_KEYS} keys"
            ))
            .into());
        }
        Ok(Self(keys))
    }

    /// The keys to delete; `None` deletes every key.
    pub fn keys(&self) -> Option<&[String]> {
        self.0.as_deref()
    }
}

/// Resolves a "single id or id list" filter pair: both given is an error, lists are capped.
pub(crate) fn one_or_many(
    one_name: &str,
    one: Option<String>,
    many_name: &str,
    many: Option<Vec<String>>,
) -> Result<Vec<String>, DomainError> {
    match (one, many) {
        (Some(_), Some(_)) => Err(DomainError::invalid(format!(
            "{one_name} and {many_name} can't be used together"
        ))),
        (Some(one), None) => Ok(vec![one]),
        (None, Some(many)) if many.len() > MAX_FILTER_IDS => Err(DomainError::invalid(format!(
            "{many_name} can name at most {MAX_FILTER_IDS} ids"
        ))),
        (None, Some(many)) => Ok(many),
        (None, None) => Ok(Vec::new()),
    }
}

fn find_touched(change: &RoomChange, id: &ParticipantId) -> Result<Participant, ServiceError> {
    change
        .touched
        .iter()
        .find(|p| p.participant_id == *id)
        .cloned()
        .ok_or_else(|| ServiceError::Internal("transition did not touch its participant".into()))
}
