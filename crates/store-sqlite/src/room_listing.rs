//! Room listings (`GET /v1/rooms`): the filters as SQL, and the index that finds a page.
//!
//! Invariant: the access path only decides how matching rooms are found, never which rooms
//! match; every path returns the rooms of [`room_filter`] newest first (by `seq`).

use super::rooms::{ROOM_COLUMNS, current_participants, room_from_row};
use super::rows::{Filter, into_page, page_clause};
use crate::error::Error;
use opencalls_domain::{Room, RoomId};
use opencalls_store::{Page, RoomQuery};
use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};

pub(super) fn list_rooms(conn: &Connection, query: &RoomQuery) -> Result<Page<Room>, Error> {
    let access = Access::choose(conn, query)?;
    let (filter, args) = access.bound(room_filter(query));
    let sql = listing_sql(query, access, &filter);
    let found = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args.iter()), room_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    let keys: Vec<(i64, RoomId)> = found
        .iter()
        .filter(|(_, _, occupied)| *occupied)
        .map(|(seq, room, _)| (*seq, room.room_id.clone()))
        .collect();
    let mut current = current_participants(conn, &keys)?;
    let mut rows = Vec::with_capacity(found.len());
    for (seq, mut room, _) in found {
        room.current_participants = current.remove(&seq).unwrap_or_default();
        rows.push((seq, room));
    }
    into_page(&query.page, rows, |first| {
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM rooms {} WHERE {filter} AND seq > {first})",
            access.hint()
        );
        Ok(conn
            .prepare_cached(&sql)?
            .query_row(params_from_iter(args.iter()), |r| r.get(0))?)
    })
}

/// The page query of a listing whose `WHERE` condition is `filter` (see [`room_filter`]).
fn listing_sql(query: &RoomQuery, access: Access, filter: &str) -> String {
    let (cond, order, limit) = page_clause(&query.page, "seq");
    format!(
        "SELECT {ROOM_COLUMNS} FROM rooms {} WHERE {filter}{cond} ORDER BY seq {order} LIMIT {limit}",
        access.hint()
    )
}

/// The width of a `room_time_buckets` bucket (10 minutes, as in the schema's trigger).
const TIME_BUCKET_MS: i64 = 600_000;

/// The index that drives a room listing.
///
/// SQLite's planner can't know that `seq` and `created_at` grow together, and with
/// `ORDER BY seq DESC LIMIT n` it often reads a whole range of a filter index and sorts it
/// (hundreds of thousands of rows on a big store). Every listing is therefore walked in
/// `seq` order on an index whose equality prefix is the most selective filter, stopping
/// after one page; the remaining filters are checked on the rows walked. The choice never
/// changes which rows match, only how they are found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    /// `room_ids`: at most 10 unique-key lookups (SQLite picks the unique index itself).
    RoomIds,
    /// `created_by`: the creator index, in `seq` order for one creator.
    Creators,
    /// `current_participant_range_gte >= 1`: the partial index of occupied rooms.
    Occupied,
    /// A date window with an end: the `seq` range its time buckets span, walked newest
    /// first (a window far in the past is neither read whole nor reached by skipping every
    /// newer room).
    Range { low: i64, high: i64 },
    /// One type and one state: their index, in `seq` order.
    TypeAndState,
    /// Everything else: the rows newest first, filtered as they come.
    Scan,
}

impl Access {
    fn choose(conn: &Connection, query: &RoomQuery) -> Result<Self, Error> {
        if !query.room_ids.is_empty() {
            return Ok(Self::RoomIds);
        }
        if !query.created_by.is_empty() {
            return Ok(Self::Creators);
        }
        if query.participants_gte.is_some_and(|n| n >= 1) {
            return Ok(Self::Occupied);
        }
        if let Some(end) = query.created_at_end {
            return Self::range(conn, query.created_at_start, end);
        }
        if query.types.len() == 1 && query.states.len() == 1 {
            return Ok(Self::TypeAndState);
        }
        Ok(Self::Scan)
    }

    /// The `seq` range holding every room created in `[start, end)`; empty (low > high)
    /// when no room was.
    fn range(conn: &Connection, start: Option<i64>, end: i64) -> Result<Self, Error> {
        let first = start.map_or(i64::MIN, |s| s.div_euclid(TIME_BUCKET_MS));
        let last = end.saturating_sub(1).div_euclid(TIME_BUCKET_MS);
        let (low, high): (Option<i64>, Option<i64>) = conn
            .prepare_cached(
                "SELECT min(min_seq), max(max_seq) FROM room_time_buckets WHERE bucket BETWEEN ?1 AND ?2",
            )?
            .query_row(params![first, last], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(match (low, high) {
            (Some(low), Some(high)) => Self::Range { low, high },
            _ => Self::Range { low: 1, high: 0 },
        })
    }

    /// `filter` with the access path's own condition, if it has one: a `Range` adds its
    /// `seq` bounds, implied by the date window (see `ROOM_TIME_BUCKETS` in schema.rs), so
    /// they bound the walk without changing which rooms match.
    fn bound(self, (mut filter, mut args): (String, Vec<Value>)) -> (String, Vec<Value>) {
        if let Self::Range { low, high } = self {
            filter.push_str(" AND seq BETWEEN ? AND ?");
            args.extend([Value::Integer(low), Value::Integer(high)]);
        }
        (filter, args)
    }

    fn hint(self) -> &'static str {
        match self {
            Self::RoomIds => "",
            Self::Creators => "INDEXED BY rooms_by_creator",
            Self::Occupied => "INDEXED BY rooms_occupied",
            // The range is on the rowid, which needs no index.
            Self::Range { .. } => "NOT INDEXED",
            Self::TypeAndState => "INDEXED BY rooms_by_type",
            Self::Scan => "NOT INDEXED",
        }
    }
}

/// The `WHERE` condition of a room listing and its bound values.
fn room_filter(query: &RoomQuery) -> (String, Vec<Value>) {
    let mut filter = Filter::default();
    filter.any_of("room_type", query.types.iter().map(|t| t.as_str()));
    filter.any_of("state", query.states.iter().map(|s| s.as_str()));
    filter.any_of("room_id", query.room_ids.iter().map(|id| id.as_str()));
    filter.any_of("created_by", query.created_by.iter().map(String::as_str));
    if query.participants_gte.is_some_and(|n| n >= 1) {
        // Implied by the bound below; spelled out so SQLite may use the partial index.
        filter.raw("participant_count > 0");
    }
    filter.bound("created_at >= ?", query.created_at_start);
    filter.bound("created_at < ?", query.created_at_end);
    filter.bound("participant_count >= ?", query.participants_gte);
    filter.bound("participant_count <= ?", query.participants_lte);
    filter.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqliteStore;
    use opencalls_domain::{RoomState, RoomType};
    use opencalls_store::{Cursor, Direction, PageRequest};

    /// Every access path is backed by an index or a rowid range: no plan step scans a
    /// table or an index whole, and only the bounded cases (≤ 10 room ids, several
    /// creators) sort.
    #[test]
    fn every_listing_plan_is_index_backed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        drop(SqliteStore::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        let base = RoomQuery {
            created_at_start: Some(1),
            page: PageRequest {
                limit: 10,
                cursor: Some(Cursor {
                    direction: Direction::Next,
                    seq: 100,
                }),
            },
            ..RoomQuery::default()
        };
        let ids = ["a", "b"].map(|id| RoomId::parse(id).unwrap()).to_vec();
        let cases = [
            (Access::Scan, base.clone(), false),
            (
                Access::TypeAndState,
                RoomQuery {
                    types: vec![RoomType::LargeRoomForAudioOnly],
                    states: vec![RoomState::Deleted],
                    ..base.clone()
                },
                false,
            ),
            (
                Access::Creators,
                RoomQuery {
                    created_by: vec!["u".into()],
                    ..base.clone()
                },
                false,
            ),
            (
                Access::Creators,
                RoomQuery {
                    created_by: vec!["u".into(), "v".into()],
                    ..base.clone()
                },
                true,
            ),
            (
                Access::Occupied,
                RoomQuery {
                    participants_gte: Some(2),
                    ..base.clone()
                },
                false,
            ),
            (
                Access::RoomIds,
                RoomQuery {
                    room_ids: ids,
                    ..base.clone()
                },
                true,
            ),
            (
                Access::Range { low: 5, high: 500 },
                RoomQuery {
                    created_at_end: Some(5),
                    types: vec![RoomType::SmallRoomForVideo],
                    ..base.clone()
                },
                false,
            ),
        ];
        for (access, query, sorts) in cases {
            let (filter, args) = access.bound(room_filter(&query));
            let sql = format!(
                "EXPLAIN QUERY PLAN {}",
                listing_sql(&query, access, &filter)
            );
            let plan: Vec<String> = conn
                .prepare(&sql)
                .unwrap()
                .query_map(params_from_iter(args.iter()), |r| r.get(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(
                plan.iter().all(|step| !step.starts_with("SCAN")),
                "{access:?}: {plan:?}"
            );
            let sorted = plan.iter().any(|step| step.contains("TEMP B-TREE"));
            assert_eq!(sorted, sorts, "{access:?}: {plan:?}");
        }
    }
}
