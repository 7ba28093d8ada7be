//! Column lists, row mapping and listing filters of the live-event tables.

use crate::error::Error;
use crate::rows::{Arg, Filter, USER_COLUMNS, user_from_row};
use opencalls_domain::{
    ClientId, CustomItems, Host, HostId, HostState, HostType, LiveEvent, LiveEventId,
    LiveEventParticipant, LiveEventState, LiveParticipantState, ParticipantId, UserId,
};
use opencalls_store::LiveEventQuery;
use std::sync::LazyLock;
use tokio_postgres::Row;

const EVENT_COLUMNS: &str = "e.seq, e.live_event_id, e.host_type, e.state, e.created_at, e.set_ready_at, \
     e.started_at, e.ended_at, e.is_host_streaming, e.created_by, e.set_ready_by, e.started_by, e.ended_by, \
     e.duration, e.participant_count, e.peak_participant_count, e.cumulative_participant_count, \
     e.user_ids_for_host, e.custom_items";
/// Index of the first host column after [`EVENT_COLUMNS`].
const EVENT_HOST_AT: usize = 19;

pub(super) const HOST_COLUMNS: &str = "h.host_id, h.client_id, h.state, h.duration, h.entered_at, \
     h.connected_at, h.disconnected_at, h.exited_at, h.is_audio_on, h.is_video_on";
const HOST_USER_AT: usize = 10;

pub(super) const PARTICIPANT_COLUMNS: &str =
    "p.seq, p.participant_id, p.client_id, p.state, p.duration, p.entered_at, p.exited_at";
const PARTICIPANT_USER_AT: usize = 7;

/// `SELECT` of a live event with its present host (columns read by [`event_from_row`]).
pub(super) static EVENT_SELECT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {EVENT_COLUMNS}, {HOST_COLUMNS}, {USER_COLUMNS} FROM live_events e
         LEFT JOIN live_event_hosts h ON h.host_id = e.current_host_id
         LEFT JOIN users u ON u.user_id = h.user_id"
    )
});

pub(super) fn event_from_row(row: &Row) -> Result<(i64, LiveEvent), Error> {
    let live_event_id = LiveEventId::from_trusted(row.try_get(1)?);
    let host_type: String = row.try_get(2)?;
    let state: String = row.try_get(3)?;
    let host_ids: String = row.try_get(17)?;
    let custom_items: String = row.try_get(18)?;
    let host_id: Option<String> = row.try_get(EVENT_HOST_AT)?;
    let host = match host_id {
        Some(_) => Some(host_from_row(row, EVENT_HOST_AT, &live_event_id)?),
        None => None,
    };
    let event = LiveEvent {
        host_type: HostType::parse(&host_type).ok_or(Error::Corrupt("host_type"))?,
        state: LiveEventState::parse(&state).ok_or(Error::Corrupt("live event state"))?,
        created_at: row.try_get(4)?,
        set_ready_at: row.try_get(5)?,
        started_at: row.try_get(6)?,
        ended_at: row.try_get(7)?,
        is_host_streaming: row.try_get(8)?,
        host,
        created_by: row.try_get(9)?,
        set_ready_by: row.try_get(10)?,
        started_by: row.try_get(11)?,
        ended_by: row.try_get(12)?,
        duration: row.try_get(13)?,
        participant_count: row.try_get(14)?,
        peak_participant_count: row.try_get(15)?,
        cumulative_participant_count: row.try_get(16)?,
        user_ids_for_host: serde_json::from_str::<Vec<String>>(&host_ids)?
            .into_iter()
            .map(UserId::from_trusted)
            .collect(),
        custom_items: CustomItems::from_trusted(serde_json::from_str(&custom_items)?),
        live_event_id,
    };
    Ok((row.try_get(0)?, event))
}

/// Reads a host selected with `HOST_COLUMNS, USER_COLUMNS` starting at column `at`.
pub(super) fn host_from_row(
    row: &Row,
    at: usize,
    live_event_id: &LiveEventId,
) -> Result<Host, Error> {
    let state: String = row.try_get(at + 2)?;
    Ok(Host {
        host_id: HostId::from_trusted(row.try_get(at)?),
        live_event_id: live_event_id.clone(),
        client_id: ClientId::from_trusted(row.try_get(at + 1)?),
        state: HostState::parse(&state).ok_or(Error::Corrupt("host state"))?,
        duration: row.try_get(at + 3)?,
        entered_at: row.try_get(at + 4)?,
        connected_at: row.try_get(at + 5)?,
        disconnected_at: row.try_get(at + 6)?,
        exited_at: row.try_get(at + 7)?,
        is_audio_on: row.try_get(at + 8)?,
        is_video_on: row.try_get(at + 9)?,
        user: user_from_row(row, at + HOST_USER_AT)?,
    })
}

/// Reads a participant selected with `PARTICIPANT_COLUMNS, USER_COLUMNS`.
pub(super) fn participant_from_row(
    row: &Row,
    live_event_id: &LiveEventId,
) -> Result<LiveEventParticipant, Error> {
    let state: String = row.try_get(3)?;
    Ok(LiveEventParticipant {
        participant_id: ParticipantId::from_trusted(row.try_get(1)?),
        live_event_id: live_event_id.clone(),
        client_id: ClientId::from_trusted(row.try_get(2)?),
        state: LiveParticipantState::parse(&state).ok_or(Error::Corrupt("participant state"))?,
        duration: row.try_get(4)?,
        entered_at: row.try_get(5)?,
        exited_at: row.try_get(6)?,
        user: user_from_row(row, PARTICIPANT_USER_AT)?,
    })
}

/// The `WHERE` condition of a live-event listing and its bound values.
pub(super) fn event_filter(query: &LiveEventQuery) -> (String, Vec<Arg>) {
    let mut filter = Filter::default();
    filter.any_of("e.host_type", query.host_types.iter().map(|t| t.as_str()));
    filter.any_of("e.state", query.states.iter().map(|s| s.as_str()));
    filter.any_of(
        "e.live_event_id",
        query.live_event_ids.iter().map(|id| id.as_str()),
    );
    filter.any_of("e.created_by", query.created_by.iter().map(String::as_str));
    filter.bound("e.created_at >= ?", query.created_at_start);
    filter.bound("e.created_at < ?", query.created_at_end);
    filter.bound("e.participant_count >= ?", query.participants_gte);
    filter.bound("e.participant_count <= ?", query.participants_lte);
    filter.bound("e.duration >= ?", query.duration_gte);
    filter.bound("e.duration <= ?", query.duration_lte);
    filter.finish()
}
