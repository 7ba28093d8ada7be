//! Room listings (`GET /v1/rooms`): the filters as SQL, and the access path that finds a page.
//!
//! Invariant: the access path only decides how matching rooms are found, never which rooms
//! match; every path returns the rooms of [`conditions`] newest first (by `seq`).
//!
//! Statements are prepared once per connection and PostgreSQL may plan them generically,
//! without looking at the bound values. So every statement is spelled so that its good plan
//! does not depend on them: one value is compared with `=` (see `Filter::any_of`), several
//! creators are walked one by one, a date window is turned into a `seq` range first, and the
//! cursor is a bound value (in the SQL text it would prepare one statement per cursor).
//!
//! A listing is one statement, one round trip: the page, its rooms' current participants
//! and, for a `next` page, whether newer rooms exist (see `with_participants`).

use crate::error::Error;
use crate::rooms::{
    PARTICIPANT_COLUMNS, ROOM_COLUMN_COUNT, ROOM_COLUMNS, participant_at, room_from_row,
};
use crate::rows::{Arg, Filter, USER_COLUMNS, into_page, refs};
use deadpool_postgres::GenericClient;
use opencalls_domain::Room;
use opencalls_store::{Cursor, Direction, Page, PageRequest, RoomQuery};
use tokio_postgres::Row;

/// The width of a time bucket (10 minutes): `room_time_buckets` (migration 3 in schema.rs)
/// holds the `seq` range of the rooms with each `created_at / TIME_BUCKET_MS`.
pub(crate) const TIME_BUCKET_MS: i64 = 600_000;

/// The distinct creators of a listing, as the table `c (creator)`; always bound as `$1`.
const CREATORS: &str = "(SELECT DISTINCT creator FROM unnest($1::text[]) AS u (creator)) AS c";

pub(crate) async fn list_rooms(
    client: &impl GenericClient,
    query: &RoomQuery,
) -> Result<Page<Room>, Error> {
    let access = Access::choose(query);
    let (bound, order, limit) = page_bound(&query.page);
    let (filter, args) = conditions(query, access, bound.map(SeqBound::Cursor));
    // A `next` page tells whether rooms newer than its first exist (its `prev` cursor): the
    // same conditions above the page's newest seq. Their values are the page's without the
    // cursor, which `conditions` binds last, so the placeholders agree.
    let next_page = matches!(
        query.page.cursor,
        Some(Cursor {
            direction: Direction::Next,
            ..
        })
    );
    let newer = next_page
        .then(|| access.exists(&conditions(query, access, Some(SeqBound::AboveThePage)).0));
    let sql = with_participants(
        &access.select(&filter, order, limit),
        order,
        newer.as_deref(),
    );
    let stmt = client.prepare_cached(&sql).await?;
    let found = client.query(&stmt, &refs(&args)).await?;
    let newer = match found.first() {
        Some(row) => row.try_get(row.len() - 1)?,
        None => false,
    };
    let rows = rooms_with_participants(&found)?;
    Ok(into_page(&query.page, rows, newer))
}

/// The page query `page` (selecting `ROOM_COLUMNS`) joined with each room's current
/// participants, one row per participant (or one for a room without any), in page order,
/// and, last on every row, the answer of `newer` (a query answering one boolean, which may
/// refer to the page's newest seq; see [`Access::exists`]) when given: one round trip where the participants and the newer rooms
/// were one more each. Every round trip to the database is a chance to wait for a
/// scheduler, and the latency tail grows with their number.
fn with_participants(page: &str, order: &str, newer: Option<&str>) -> String {
    let newer = newer.unwrap_or("SELECT false");
    format!(
        "WITH page AS ({page}) SELECT page.*, {PARTICIPANT_COLUMNS}, {USER_COLUMNS}, ({newer})
         FROM page
         LEFT JOIN room_participants p
           ON p.room_seq = page.seq AND page.participant_count > 0 AND p.state <> 'exited'
         LEFT JOIN users u ON u.user_id = p.user_id
         ORDER BY page.seq {order}, p.seq"
    )
}

/// Folds the rows of [`with_participants`] into rooms (with their `seq`), in row order.
fn rooms_with_participants(found: &[Row]) -> Result<Vec<(i64, Room)>, Error> {
    let mut rows: Vec<(i64, Room)> = Vec::new();
    for row in found {
        let seq: i64 = row.try_get(0)?;
        if rows.last().is_none_or(|(last, _)| *last != seq) {
            let (seq, room, _) = room_from_row(row)?;
            rows.push((seq, room));
        }
        let participant_room: Option<i64> = row.try_get(ROOM_COLUMN_COUNT)?;
        if participant_room.is_some() {
            let (_, room) = rows.last_mut().expect("pushed above");
            let participant = participant_at(row, ROOM_COLUMN_COUNT, &room.room_id)?;
            room.current_participants.push(participant);
        }
    }
    Ok(rows)
}

/// The page's `seq` bound (a clause with `?` for the cursor's seq), order and row limit
/// (one more than the page, to learn whether another page follows).
fn page_bound(page: &PageRequest) -> (Option<(&'static str, i64)>, &'static str, i64) {
    let limit = page.limit as i64 + 1;
    match page.cursor {
        None => (None, "DESC", limit),
        Some(Cursor {
            direction: Direction::Next,
            seq,
        }) => (Some(("seq < ?", seq)), "DESC", limit),
        Some(Cursor {
            direction: Direction::Prev,
            seq,
        }) => (Some(("seq > ?", seq)), "ASC", limit),
    }
}

/// The last condition on `seq` of [`conditions`], which binds it after every other value.
enum SeqBound {
    /// A cursor's clause (with `?` for its seq) and seq.
    Cursor((&'static str, i64)),
    /// Above the newest room of the page query, the CTE `page` (see [`with_participants`]).
    AboveThePage,
}

/// How a room listing finds its page.
///
/// PostgreSQL picks the index itself, but from estimates: a generic plan of
/// `created_by = ANY($1)` walked all rooms newest first looking for a light user's 30, and
/// nothing tells it that `seq` and `created_at` grow together. So the two filters where that
/// went wrong get a statement whose only good plan is the walk wanted. The choice never
/// changes which rows match, only how they are found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    /// Creators: for each distinct creator, its rooms in `seq` order on `rooms_by_creator`,
    /// one page at most each, merged.
    Creators,
    /// A date window with an end: the `seq` range its time buckets `first..=last` span,
    /// walked newest first on the primary key (a window far in the past is neither read
    /// whole and sorted nor reached by skipping every newer room). The range is looked up
    /// by the page query itself (two initial subqueries PostgreSQL runs before the index
    /// walk, whose results bound it even in a generic plan), not by a round trip of its own:
    /// every round trip to the database is a chance to wait for a scheduler, and the
    /// latency tail grows with their number.
    Range { first: i64, last: i64 },
    /// Everything else, newest first, left to the planner: room ids (unique lookups), one
    /// type and/or state (`rooms_by_type` or the primary key, both in `seq` order), occupied
    /// rooms (the partial index `rooms_occupied`), or the primary key filtered as it goes.
    Plain,
}

impl Access {
    fn choose(query: &RoomQuery) -> Self {
        if !query.room_ids.is_empty() {
            return Self::Plain;
        }
        if !query.created_by.is_empty() {
            return Self::Creators;
        }
        if query.participants_gte.is_some_and(|n| n >= 1) {
            return Self::Plain;
        }
        if let Some(end) = query.created_at_end {
            return Self::range(query.created_at_start, end);
        }
        Self::Plain
    }

    /// The time buckets enclosing every room created in `[start, end)`.
    ///
    /// Buckets are `created_at / TIME_BUCKET_MS`, truncating as PostgreSQL's bigint division
    /// does: not floor division for negative times, but monotonic, so the buckets of `start`
    /// and `end - 1` enclose those of every `created_at` in between.
    fn range(start: Option<i64>, end: i64) -> Self {
        Self::Range {
            first: start.map_or(i64::MIN, |s| s / TIME_BUCKET_MS),
            last: end.saturating_sub(1) / TIME_BUCKET_MS,
        }
    }

    /// The page query, with the `WHERE` condition of [`conditions`].
    fn select(self, filter: &str, order: &str, limit: i64) -> String {
        match self {
            Self::Creators => format!(
                "SELECT {ROOM_COLUMNS} FROM {CREATORS} CROSS JOIN LATERAL (
                     SELECT {ROOM_COLUMNS} FROM rooms WHERE {filter} ORDER BY seq {order} LIMIT {limit}
                 ) AS r ORDER BY seq {order} LIMIT {limit}"
            ),
            Self::Range { .. } | Self::Plain => format!(
                "SELECT {ROOM_COLUMNS} FROM rooms WHERE {filter} ORDER BY seq {order} LIMIT {limit}"
            ),
        }
    }

    /// Whether any room matches the `WHERE` condition of [`conditions`].
    fn exists(self, filter: &str) -> String {
        match self {
            Self::Creators => format!(
                "SELECT EXISTS (SELECT 1 FROM {CREATORS} CROSS JOIN LATERAL (
                     SELECT 1 FROM rooms WHERE {filter} LIMIT 1) AS r)"
            ),
            // Not `EXISTS`: PostgreSQL drops a sublink's `ORDER BY`, and a generic plan
            // of `seq > <the page's newest>` may then scan the heap from its start.
            Self::Range { .. } | Self::Plain => format!(
                "SELECT (SELECT seq FROM rooms WHERE {filter} ORDER BY seq LIMIT 1) IS NOT NULL"
            ),
        }
    }
}

/// The `WHERE` condition of a room listing on `access`, with `seq_bound` last, and the
/// bound values. `Creators` refers to the creator `c.creator` of its
/// table (the creators are `$1`); `Range` adds its `seq` bounds, implied by the date window,
/// so they bound the walk without changing which rooms match.
fn conditions(
    query: &RoomQuery,
    access: Access,
    seq_bound: Option<SeqBound>,
) -> (String, Vec<Arg>) {
    let mut filter = Filter::default();
    if access == Access::Creators {
        let creators: Arg = Box::new(query.created_by.clone());
        let n = filter.arg(creators);
        debug_assert_eq!(n, 1, "CREATORS binds the creators as $1");
        filter.raw("created_by = c.creator");
    } else {
        filter.any_of("created_by", query.created_by.iter().map(String::as_str));
    }
    filter.any_of("room_type", query.types.iter().map(|t| t.as_str()));
    filter.any_of("state", query.states.iter().map(|s| s.as_str()));
    filter.any_of("room_id", query.room_ids.iter().map(|id| id.as_str()));
    if query.participants_gte.is_some_and(|n| n >= 1) {
        // Implied by the bound below; spelled out so the partial index qualifies.
        filter.raw("participant_count > 0");
    }
    filter.bound("created_at >= ?", query.created_at_start);
    filter.bound("created_at < ?", query.created_at_end);
    filter.bound("participant_count >= ?", query.participants_gte);
    filter.bound("participant_count <= ?", query.participants_lte);
    if let Access::Range { first, last } = access {
        let (first, last) = (filter.arg(Box::new(first)), filter.arg(Box::new(last)));
        // No bucket in the window: NULL bounds, no row.
        for (clause, aggregate) in [("seq >=", "min(min_seq)"), ("seq <=", "max(max_seq)")] {
            filter.raw(&format!(
                "{clause} (SELECT {aggregate} FROM room_time_buckets \
                 WHERE bucket BETWEEN ${first}::bigint AND ${last}::bigint)"
            ));
        }
    }
    match seq_bound {
        Some(SeqBound::Cursor((clause, seq))) => filter.bound(clause, Some(seq)),
        Some(SeqBound::AboveThePage) => filter.raw("seq > (SELECT max(seq) FROM page)"),
        None => {}
    }
    filter.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The buckets the batcher records are those the listing looks up.
    #[test]
    fn the_time_buckets_are_kept_with_the_listed_width() {
        assert!(
            crate::schema::ROOM_TIME_BUCKETS.contains(&format!("created_at / {TIME_BUCKET_MS}"))
        );
    }

    /// Several creators are bound once, as `$1`, whatever else the listing filters on.
    #[test]
    fn creators_are_the_first_bound_value() {
        let query = RoomQuery {
            created_by: vec!["u".into(), "v".into()],
            types: vec![opencalls_domain::RoomType::SmallRoomForVideo],
            created_at_start: Some(5),
            ..RoomQuery::default()
        };
        let (filter, args) = conditions(
            &query,
            Access::Creators,
            Some(SeqBound::Cursor(("seq < ?", 9))),
        );
        assert_eq!(
            filter,
            "created_by = c.creator AND room_type = $2::text AND created_at >= $3::bigint \
             AND seq < $4::bigint"
        );
        assert_eq!(args.len(), 4);
    }
}
