//! Live events: create, the `ready` / `start` / `end` life cycle, read, list, and the host and
//! participant transitions that the client protocol (WebSocket layer) drives.
//!
//! Every change runs the pure domain transition inside one store transaction (with its
//! outbox events) and publishes the events on the bus only after the commit.

use crate::rooms::one_or_many;
use crate::{ListPage, PageParams, ServiceError};
use opencalls_domain::live_event::{
    CUSTOM_ITEMS_RULE, HostEnterRequest, LiveEventChange, LiveParticipantEnterRequest,
};
use opencalls_domain::{
    Actor, CustomItems, DomainError, Host, HostId, HostType, LiveEvent, LiveEventId,
    LiveEventParticipant, LiveEventState, Millis, ParticipantId, UserId,
};
use opencalls_runtime::{Clock, EventBus};
use opencalls_store::{CursorKind, LiveEventQuery, ParticipantScope, Store};
use std::collections::BTreeMap;
use std::sync::Arc;

pub(crate) const LIVE_EVENT: &str = "live event";

#[derive(Clone)]
pub struct LiveEventService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    bus: EventBus,
}

/// Filters of a live-event listing as the client gave them (lists already split on commas).
#[derive(Clone, Debug, Default)]
pub struct LiveEventList {
    pub host_types: Vec<String>,
    pub states: Vec<String>,
    pub created_at_start_date: Option<Millis>,
    pub created_at_end_date: Option<Millis>,
    pub participant_count_range_gte: Option<i64>,
    pub participant_count_range_lte: Option<i64>,
    pub live_event_ids: Option<Vec<String>>,
    pub live_event_id: Option<String>,
    pub created_by_user_ids: Option<Vec<String>>,
    pub created_by_user_id: Option<String>,
    pub duration_range_gte: Option<i64>,
    pub duration_range_lte: Option<i64>,
    pub page: PageParams,
}

impl LiveEventService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, bus: EventBus) -> Self {
        Self { store, clock, bus }
    }

    /// Creates a live event in `created` on behalf of `created_by`.
    pub async fn create(
        &self,
        host_type: &str,
        user_ids_for_host: Vec<String>,
        custom_items: Option<BTreeMap<String, String>>,
        created_by: Actor,
    ) -> Result<LiveEvent, ServiceError> {
        let host_type = HostType::parse(host_type).ok_or_else(|| {
            DomainError::invalid(format!("host_type must be single_host; got '{host_type}'"))
        })?;
        let hosts = parse_host_ids(user_ids_for_host)?;
        let items = CustomItems::new(custom_items.unwrap_or_default(), CUSTOM_ITEMS_RULE)?;
        let change = LiveEvent::create(
            LiveEventId::generate(),
            host_type,
            hosts,
            items,
            created_by.into_field(),
            self.clock.now(),
        )?;
        let live_event = change.live_event.clone();
        let events = change.events.clone();
        self.store
            .insert_live_event(change)
            .await
            .map_err(ServiceError::from_store(LIVE_EVENT))?;
        self.bus.publish(events);
        Ok(live_event)
    }

    /// The service clock's current time (stamps of messages that are not stored, e.g. chat).
    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    pub async fn get(&self, id: &LiveEventId) -> Result<LiveEvent, ServiceError> {
        self.store
            .live_event(id)
            .await
            .map_err(ServiceError::from_store(LIVE_EVENT))?
            .ok_or(ServiceError::NotFound(LIVE_EVENT))
    }

    /// The present host, else the last one that entered, else `None`.
    pub async fn host(&self, id: &LiveEventId) -> Result<Option<Host>, ServiceError> {
        self.store
            .live_event_host(id)
            .await
            .map_err(ServiceError::from_store(LIVE_EVENT))
    }

    /// `created → ready`.
    pub async fn set_ready(&self, id: &LiveEventId, by: Actor) -> Result<LiveEvent, ServiceError> {
        let by = by.into_field();
        self.lifecycle(id, ParticipantScope::Nobody, move |e, _, now| {
            e.set_ready(by, now)
        })
        .await
    }

    /// `ready → ongoing`.
    pub async fn start(&self, id: &LiveEventId, by: Actor) -> Result<LiveEvent, ServiceError> {
        let by = by.into_field();
        self.lifecycle(id, ParticipantScope::Nobody, move |e, _, now| {
            e.start(by, now)
        })
        .await
    }

    /// `→ ended`, forcing every participant and the host out.
    pub async fn end(&self, id: &LiveEventId, by: Actor) -> Result<LiveEvent, ServiceError> {
        let by = by.into_field();
        self.lifecycle(id, ParticipantScope::Active, move |e, active, now| {
            e.end(active, by, now)
        })
        .await
    }

    pub async fn list(&self, list: LiveEventList) -> Result<ListPage<LiveEvent>, ServiceError> {
        let query = live_event_query(list)?;
        let page = self
            .store
            .list_live_events(query)
            .await
            .map_err(ServiceError::from_store(LIVE_EVENT))?;
        Ok(ListPage::from_page(page, CursorKind::LiveEvents))
    }

    /// Everyone who ever entered, newest first.
    pub async fn participants(
        &self,
        id: &LiveEventId,
        page: PageParams,
    ) -> Result<ListPage<LiveEventParticipant>, ServiceError> {
        let page = page.validate(CursorKind::LiveEventParticipants)?;
        let result = self
            .store
            .list_live_event_participants(id, page)
            .await
            .map_err(ServiceError::from_store(LIVE_EVENT))?;
        Ok(ListPage::from_page(
            result,
            CursorKind::LiveEventParticipants,
        ))
    }

    /// A listed host user's device enters (only one host at a time).
    pub async fn host_enter(
        &self,
        id: &LiveEventId,
        request: HostEnterRequest,
    ) -> Result<Host, ServiceError> {
        let host_id = request.host_id.clone();
        let change = self
            .transition(id, ParticipantScope::Nobody, move |e, _, now| {
                e.host_enter(request, now)
            })
            .await?;
        touched_host(&change, &host_id)
    }

    /// The media layer saw the host's media start flowing.
    pub async fn host_connected(
        &self,
        id: &LiveEventId,
        host: &HostId,
    ) -> Result<Host, ServiceError> {
        self.host_step(id, host, |e, h, now| e.host_connected(h, now))
            .await
    }

    /// The host's media stopped (the host is still in the live event).
    pub async fn host_disconnected(
        &self,
        id: &LiveEventId,
        host: &HostId,
    ) -> Result<Host, ServiceError> {
        self.host_step(id, host, |e, h, now| e.host_disconnected(h, now))
            .await
    }

    /// The host left.
    pub async fn host_exit(&self, id: &LiveEventId, host: &HostId) -> Result<Host, ServiceError> {
        self.host_step(id, host, |e, h, now| e.host_exit(h, now))
            .await
    }

    /// A device enters as a participant (`ready` or `ongoing` only).
    pub async fn participant_enter(
        &self,
        id: &LiveEventId,
        request: LiveParticipantEnterRequest,
    ) -> Result<LiveEventParticipant, ServiceError> {
        let participant_id = request.participant_id.clone();
        let change = self
            .transition(id, ParticipantScope::Nobody, move |e, _, now| {
                e.participant_enter(request, now)
            })
            .await?;
        touched_participant(&change, &participant_id)
    }

    pub async fn participant_exit(
        &self,
        id: &LiveEventId,
        participant: &ParticipantId,
    ) -> Result<LiveEventParticipant, ServiceError> {
        let scope = ParticipantScope::One(participant.clone());
        let change = self
            .transition(id, scope, move |e, found, now| match found.first() {
                Some(p) => e.participant_exit(p, now),
                None => Err(DomainError::NotInLiveEvent),
            })
            .await?;
        touched_participant(&change, participant)
    }

    /// The present host turns audio and/or video on or off (`None` leaves it as is).
    pub async fn host_set_media(
        &self,
        id: &LiveEventId,
        host: &HostId,
        audio: Option<bool>,
        video: Option<bool>,
    ) -> Result<Host, ServiceError> {
        let host_id = host.clone();
        let change = self
            .transition(id, ParticipantScope::Nobody, move |e, _, _| {
                e.host_set_media(&host_id, audio, video)
            })
            .await?;
        touched_host(&change, host)
    }

    /// Exits the hosts and participants left present by a previous run (call once at
    /// start-up, before clients connect); returns how many exited. The events keep their
    /// state; each clean-up commits with its events. A live event that fails is logged and
    /// skipped, so the others are still cleaned up.
    pub async fn exit_leftover_presence(&self) -> Result<usize, ServiceError> {
        let ids = self
            .store
            .live_events_with_presence()
            .await
            .map_err(ServiceError::from_store(LIVE_EVENT))?;
        let mut exited = 0;
        for id in ids {
            let cleaned = self
                .transition(&id, ParticipantScope::Active, |e, active, now| {
                    e.exit_everyone(active, now)
                })
                .await;
            // One live event that can't be cleaned must not keep the others' seats taken.
            match cleaned {
                Ok(change) => exited += change.hosts.len() + change.participants.len(),
                Err(err) => tracing::error!(%id, %err, "exiting a live event's leftover presence"),
            }
        }
        Ok(exited)
    }

    async fn host_step(
        &self,
        id: &LiveEventId,
        host: &HostId,
        f: fn(&LiveEvent, &HostId, Millis) -> Result<LiveEventChange, DomainError>,
    ) -> Result<Host, ServiceError> {
        let host_id = host.clone();
        let change = self
            .transition(id, ParticipantScope::Nobody, move |e, _, now| {
                f(e, &host_id, now)
            })
            .await?;
        match touched_host(&change, host) {
            Ok(host) => Ok(host),
            // A no-op step (e.g. connecting twice) touched nothing: report the host as is.
            Err(_) => change
                .live_event
                .host
                .filter(|h| h.host_id == *host)
                .ok_or_else(|| ServiceError::Internal("host vanished in a no-op step".into())),
        }
    }

    async fn lifecycle(
        &self,
        id: &LiveEventId,
        scope: ParticipantScope,
        f: impl FnOnce(
            &LiveEvent,
            &[LiveEventParticipant],
            Millis,
        ) -> Result<LiveEventChange, DomainError>
        + Send
        + 'static,
    ) -> Result<LiveEvent, ServiceError> {
        Ok(self.transition(id, scope, f).await?.live_event)
    }

    /// Runs a domain transition on the stored live event; publishes its events once
    /// committed.
    async fn transition(
        &self,
        id: &LiveEventId,
        scope: ParticipantScope,
        f: impl FnOnce(
            &LiveEvent,
            &[LiveEventParticipant],
            Millis,
        ) -> Result<LiveEventChange, DomainError>
        + Send
        + 'static,
    ) -> Result<LiveEventChange, ServiceError> {
        let clock = self.clock.clone();
        let change = self
            .store
            .update_live_event(
                id,
                scope,
                Box::new(move |event, participants| f(event, participants, clock.now())),
            )
            .await
            .map_err(ServiceError::from_store(LIVE_EVENT))?;
        self.bus.publish(change.events.iter().cloned());
        Ok(change)
    }
}

/// Validates `user_ids_for_host`: 1 to 10 non-empty ids; duplicates are dropped.
fn parse_host_ids(raw: Vec<String>) -> Result<Vec<UserId>, DomainError> {
    let mut ids: Vec<UserId> = Vec::with_capacity(raw.len());
    for id in &raw {
        let id = UserId::parse(id).ok_or_else(|| {
            DomainError::invalid(format!(
                "user_ids_for_host must hold non-empty user ids of at most 128 characters; got '{id}'"
            ))
        })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

fn live_event_query(list: LiveEventList) -> Result<LiveEventQuery, ServiceError> {
    let host_types = list
        .host_types
        .iter()
        .map(|t| {
            HostType::parse(t).ok_or_else(|| {
                DomainError::invalid(format!("host_type must be single_host; got '{t}'"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let states = list
        .states
        .iter()
        .map(|s| {
            LiveEventState::parse(s).ok_or_else(|| {
                DomainError::invalid(format!(
                    "state must be one of created, ready, ongoing, ended; got '{s}'"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let live_event_ids = one_or_many(
        "live_event_id",
        list.live_event_id,
        "live_event_ids",
        list.live_event_ids,
    )?
    .into_iter()
    .map(|raw| {
        LiveEventId::parse(&raw)
            .ok_or_else(|| DomainError::invalid(format!("'{raw}' is not a valid live event id")))
    })
    .collect::<Result<Vec<_>, _>>()?;
    let created_by = one_or_many(
        "created_by_user_id",
        list.created_by_user_id,
        "created_by_user_ids",
        list.created_by_user_ids,
    )?;
    for (name, value) in [
        (
            "participant_count_range_gte",
            list.participant_count_range_gte,
        ),
        (
            "participant_count_range_lte",
            list.participant_count_range_lte,
        ),
        ("duration_range_gte", list.duration_range_gte),
        ("duration_range_lte", list.duration_range_lte),
    ] {
        if value.is_some_and(|v| v < 0) {
            return Err(DomainError::invalid(format!("{name} must not be negative")).into());
        }
    }
    Ok(LiveEventQuery {
        host_types,
        states,
        live_event_ids,
        created_by,
        created_at_start: list.created_at_start_date,
        created_at_end: list.created_at_end_date,
        participants_gte: list.participant_count_range_gte,
        participants_lte: list.participant_count_range_lte,
        duration_gte: list.duration_range_gte,
        duration_lte: list.duration_range_lte,
        page: list.page.validate(CursorKind::LiveEvents)?,
    })
}

fn touched_host(change: &LiveEventChange, id: &HostId) -> Result<Host, ServiceError> {
    change
        .hosts
        .iter()
        .find(|h| h.host_id == *id)
        .cloned()
        .ok_or_else(|| ServiceError::Internal("transition did not touch its host".into()))
}

fn touched_participant(
    change: &LiveEventChange,
    id: &ParticipantId,
) -> Result<LiveEventParticipant, ServiceError> {
    change
        .participants
        .iter()
        .find(|p| p.participant_id == *id)
        .cloned()
        .ok_or_else(|| ServiceError::Internal("transition did not touch its participant".into()))
}
