//! Room listings (`GET /v1/rooms`): the filters as SQL, walked newest first by `seq`.
//!
//! PostgreSQL's planner knows (from its statistics) that `seq` and `created_at` grow
//! together and picks among the indexes of the schema itself; the indexes end in `seq` so
//! an equality prefix is read in `seq` order and stops after one page.

use crate::error::Error;
use crate::rooms::{ROOM_COLUMNS, current_participants, room_from_row};
use crate::rows::{Filter, has_newer, into_page, page_clause, refs};
use deadpool_postgres::GenericClient;
use opencalls_domain::{Room, RoomId};
use opencalls_store::{Page, RoomQuery};

pub(crate) async fn list_rooms(
    client: &impl GenericClient,
    query: &RoomQuery,
) -> Result<Page<Room>, Error> {
    let (filter, args) = room_filter(query);
    let args = refs(&args);
    let (cond, order, limit) = page_clause(&query.page, "seq");
    let sql = format!(
        "SELECT {ROOM_COLUMNS} FROM rooms WHERE {filter}{cond} ORDER BY seq {order} LIMIT {limit}"
    );
    let stmt = client.prepare_cached(&sql).await?;
    let found = client
        .query(&stmt, &args)
        .await?
        .iter()
        .map(room_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let keys: Vec<(i64, RoomId)> = found
        .iter()
        .filter(|(_, _, occupied)| *occupied)
        .map(|(seq, room, _)| (*seq, room.room_id.clone()))
        .collect();
    let mut current = current_participants(client, &keys).await?;
    let mut rows = Vec::with_capacity(found.len());
    for (seq, mut room, _) in found {
        room.current_participants = current.remove(&seq).unwrap_or_default();
        rows.push((seq, room));
    }
    let sql = format!("SELECT EXISTS (SELECT 1 FROM rooms WHERE {filter} AND seq > {{first}})");
    let newer = has_newer(client, &query.page, &rows, &sql, &args).await?;
    Ok(into_page(&query.page, rows, newer))
}

/// The `WHERE` condition of a room listing and its bound values.
fn room_filter(query: &RoomQuery) -> (String, Vec<crate::rows::Arg>) {
    let mut filter = Filter::default();
    filter.any_of("room_type", query.types.iter().map(|t| t.as_str()));
    filter.any_of("state", query.states.iter().map(|s| s.as_str()));
    filter.any_of("room_id", query.room_ids.iter().map(|id| id.as_str()));
    filter.any_of("created_by", query.created_by.iter().map(String::as_str));
    if query.participants_gte.is_some_and(|n| n >= 1) {
        // Implied by the bound below; spelled out so the partial index qualifies.
        filter.raw("participant_count > 0");
    }
    filter.bound("created_at >= ?", query.created_at_start);
    filter.bound("created_at < ?", query.created_at_end);
    filter.bound("participant_count >= ?", query.participants_gte);
    filter.bound("participant_count <= ?", query.participants_lte);
    filter.finish()
}
