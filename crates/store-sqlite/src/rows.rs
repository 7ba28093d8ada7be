//! Mapping between SQLite rows and domain values, shared by the per-resource modules.

use crate::error::Error;
use opencalls_domain::{Event, StreamKey, User, UserId};
use opencalls_store::{Cursor, Direction, Page, PageRequest};
use rusqlite::{Connection, Row, params};
use std::collections::BTreeMap;

/// Columns of `users` joined as `u`, in the order [`user_from_row`] reads them at `at`.
pub(crate) const USER_COLUMNS: &str =
    "u.user_id, u.nickname, u.profile_url, u.metadata, u.is_active, u.role";

pub(crate) fn user_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<User> {
    let metadata: String = row.get(at + 3)?;
    Ok(User {
        user_id: UserId::from_trusted(row.get(at)?),
        nickname: row.get(at + 1)?,
        profile_url: row.get(at + 2)?,
        metadata: serde_json::from_str::<BTreeMap<String, String>>(&metadata).unwrap_or_default(),
        is_active: row.get(at + 4)?,
        role: row.get(at + 5)?,
    })
}

/// Makes sure a user row exists for a user seen in a participant (first sight wins; the
/// users API owns later changes).
pub(crate) fn ensure_user(conn: &Connection, user: &User) -> Result<(), Error> {
    let metadata = serde_json::to_string(&user.metadata)?;
    conn.prepare_cached(
        "INSERT INTO users (user_id, nickname, profile_url, metadata, is_active, role)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (user_id) DO NOTHING",
    )?
    .execute(params![
        user.user_id.as_str(),
        user.nickname,
        user.profile_url,
        metadata,
        user.is_active,
        user.role
    ])?;
    Ok(())
}

/// Appends events to the outbox (call inside the write transaction of their change).
pub(crate) fn append_events(conn: &Connection, events: &[Event]) -> Result<(), Error> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO outbox (stream, category, occurred_at, payload) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for event in events {
        let payload = serde_json::to_string(&event.payload())?;
        stmt.execute(params![
            stream_to_column(&event.stream()),
            event.category(),
            event.occurred_at,
            payload
        ])?;
    }
    Ok(())
}

/// The `stream` column of `outbox` and `webhook_deliveries`: the key's text form.
pub(crate) fn stream_to_column(stream: &StreamKey) -> String {
    stream.encode()
}

/// Reads a `stream` column written by [`stream_to_column`].
pub(crate) fn stream_from_column(row: &Row<'_>, at: usize) -> rusqlite::Result<StreamKey> {
    let raw: String = row.get(at)?;
    StreamKey::decode(&raw).ok_or_else(|| corrupt(at, "stream"))
}

/// SQL pieces for keyset pagination on a `seq` column: the extra condition, the order and
/// the row limit (one more than the page, to learn whether another page follows).
pub(crate) fn page_clause(page: &PageRequest, seq_column: &str) -> (String, &'static str, i64) {
    let limit = page.limit as i64 + 1;
    match page.cursor {
        None => (String::new(), "DESC", limit),
        Some(Cursor {
            direction: Direction::Next,
            seq,
        }) => (format!(" AND {seq_column} < {seq}"), "DESC", limit),
        Some(Cursor {
            direction: Direction::Prev,
            seq,
        }) => (format!(" AND {seq_column} > {seq}"), "ASC", limit),
    }
}

/// Turns the rows fetched with [`page_clause`] (each with its `seq`) into a page, newest
/// first. `has_newer` tells, for a first or `next` page, whether rows newer than the first
/// one exist.
pub(crate) fn into_page<T>(
    page: &PageRequest,
    mut rows: Vec<(i64, T)>,
    has_newer: impl FnOnce(i64) -> Result<bool, Error>,
) -> Result<Page<T>, Error> {
    let backwards = matches!(
        page.cursor,
        Some(Cursor {
            direction: Direction::Prev,
            ..
        })
    );
    let more = rows.len() > page.limit;
    rows.truncate(page.limit);
    if backwards {
        rows.reverse();
    }
    let first = rows.first().map(|(seq, _)| *seq);
    let last = rows.last().map(|(seq, _)| *seq);
    let (next, prev) = if backwards {
        (
            last.map(|seq| Cursor {
                direction: Direction::Next,
                seq,
            }),
            more.then_some(()).and(first).map(|seq| Cursor {
                direction: Direction::Prev,
                seq,
            }),
        )
    } else {
        let prev = match (page.cursor, first) {
            (Some(_), Some(seq)) if has_newer(seq)? => Some(Cursor {
                direction: Direction::Prev,
                seq,
            }),
            _ => None,
        };
        (
            more.then_some(()).and(last).map(|seq| Cursor {
                direction: Direction::Next,
                seq,
            }),
            prev,
        )
    };
    Ok(Page {
        items: rows.into_iter().map(|(_, item)| item).collect(),
        next,
        prev,
    })
}

/// Builds the `WHERE` condition of a listing and its bound values, so every listing
/// spells its filters the same way (and binds every value, never interpolates it).
#[derive(Default)]
pub(crate) struct Filter {
    clauses: Vec<String>,
    args: Vec<rusqlite::types::Value>,
}

impl Filter {
    /// `column IN (…)`; nothing when `values` is empty (no restriction).
    pub(crate) fn any_of<'a>(&mut self, column: &str, values: impl IntoIterator<Item = &'a str>) {
        let values: Vec<rusqlite::types::Value> = values
            .into_iter()
            .map(|v| rusqlite::types::Value::Text(v.to_owned()))
            .collect();
        if !values.is_empty() {
            self.clauses.push(format!(
                "{column} IN ({})",
                vec!["?"; values.len()].join(",")
            ));
            self.args.extend(values);
        }
    }

    /// `(a = value OR b = value)`: a row matching on either column.
    pub(crate) fn either_of(&mut self, a: &str, b: &str, value: &str) {
        self.clauses.push(format!("({a} = ? OR {b} = ?)"));
        for _ in 0..2 {
            self.args
                .push(rusqlite::types::Value::Text(value.to_owned()));
        }
    }

    /// `clause` (with one `?`) bound to `value`, when there is one.
    pub(crate) fn bound(&mut self, clause: &str, value: Option<i64>) {
        if let Some(value) = value {
            self.clauses.push(clause.to_owned());
            self.args.push(rusqlite::types::Value::Integer(value));
        }
    }

    /// A condition without a bound value.
    pub(crate) fn raw(&mut self, clause: &str) {
        self.clauses.push(clause.to_owned());
    }

    pub(crate) fn finish(self) -> (String, Vec<rusqlite::types::Value>) {
        if self.clauses.is_empty() {
            return ("1 = 1".to_owned(), self.args);
        }
        (self.clauses.join(" AND "), self.args)
    }
}

/// The error for a stored value that doesn't parse (a corrupt or foreign database).
pub(crate) fn corrupt(column: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::InvalidColumnType(column, what.to_string(), rusqlite::types::Type::Text)
}
