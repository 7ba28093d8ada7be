//! Mapping between PostgreSQL rows and domain values, the outbox append, and the pieces of
//! keyset pagination, shared by the per-resource modules.

use crate::error::Error;
pub(crate) use crate::outbox::append_events;
use deadpool_postgres::GenericClient;
use opencalls_domain::{User, UserId};
use opencalls_store::{Cursor, Direction, Page, PageRequest};
use std::collections::BTreeMap;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

/// A bound value of a dynamically built statement.
pub(crate) type Arg = Box<dyn ToSql + Sync + Send>;

/// Borrows bound values the way the driver takes them.
pub(crate) fn refs(args: &[Arg]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|a| a.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

/// Columns of `users` joined as `u`, in the order [`user_from_row`] reads them at `at`.
pub(crate) const USER_COLUMNS: &str =
    "u.user_id, u.nickname, u.profile_url, u.metadata, u.is_active, u.role";

pub(crate) fn user_from_row(row: &Row, at: usize) -> Result<User, Error> {
    let metadata: String = row.try_get(at + 3)?;
    Ok(User {
        user_id: UserId::from_trusted(row.try_get(at)?),
        nickname: row.try_get(at + 1)?,
        profile_url: row.try_get(at + 2)?,
        metadata: serde_json::from_str::<BTreeMap<String, String>>(&metadata).unwrap_or_default(),
        is_active: row.try_get(at + 4)?,
        role: row.try_get(at + 5)?,
    })
}

/// Makes sure a user row exists for a user seen in a participant (first sight wins; the
/// users API owns later changes).
pub(crate) async fn ensure_user(tx: &impl GenericClient, user: &User) -> Result<(), Error> {
    let metadata = serde_json::to_string(&user.metadata)?;
    let stmt = tx
        .prepare_cached(
            "INSERT INTO users (user_id, nickname, profile_url, metadata, is_active, role)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id) DO NOTHING",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &user.user_id.as_str(),
            &user.nickname,
            &user.profile_url,
            &metadata,
            &user.is_active,
            &user.role,
        ],
    )
    .await?;
    Ok(())
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

/// For a `next` page, the seq above which newer rows decide whether a `prev` cursor is
/// given (pass the answer to [`into_page`]); `None` when no check is needed.
pub(crate) fn newer_check<T>(page: &PageRequest, rows: &[(i64, T)]) -> Option<i64> {
    match page.cursor {
        Some(Cursor {
            direction: Direction::Next,
            ..
        }) => rows.first().map(|(seq, _)| *seq),
        _ => None,
    }
}

/// Runs the `EXISTS` query of [`newer_check`] when needed: `sql` has `{first}` where the
/// seq goes.
pub(crate) async fn has_newer<T>(
    client: &impl GenericClient,
    page: &PageRequest,
    rows: &[(i64, T)],
    sql: &str,
    args: &[&(dyn ToSql + Sync)],
) -> Result<bool, Error> {
    let Some(first) = newer_check(page, rows) else {
        return Ok(false);
    };
    let sql = sql.replace("{first}", &first.to_string());
    let stmt = client.prepare_cached(&sql).await?;
    Ok(client.query_one(&stmt, args).await?.get(0))
}

/// Turns the rows fetched with [`page_clause`] (each with its `seq`) into a page, newest
/// first. `has_newer`: for a `next` page, whether rows newer than its first one exist.
pub(crate) fn into_page<T>(
    page: &PageRequest,
    mut rows: Vec<(i64, T)>,
    has_newer: bool,
) -> Page<T> {
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
    let cursor = |direction, seq| Cursor { direction, seq };
    let (next, prev) = if backwards {
        (
            last.map(|seq| cursor(Direction::Next, seq)),
            first
                .filter(|_| more)
                .map(|seq| cursor(Direction::Prev, seq)),
        )
    } else {
        (
            last.filter(|_| more)
                .map(|seq| cursor(Direction::Next, seq)),
            first
                .filter(|_| page.cursor.is_some() && has_newer)
                .map(|seq| cursor(Direction::Prev, seq)),
        )
    };
    Page {
        items: rows.into_iter().map(|(_, item)| item).collect(),
        next,
        prev,
    }
}

/// Builds the `WHERE` condition of a listing and its bound values, so every listing
/// spells its filters the same way (and binds every value, never interpolates it).
#[derive(Default)]
pub(crate) struct Filter {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl Filter {
    fn next_arg(&self) -> usize {
        self.args.len() + 1
    }

    /// `column = ANY(…)`, or `column = …` for one value; nothing when `values` is empty (no
    /// restriction). One value is compared with `=` because a prepared statement may be
    /// planned generically, and only an equality lets the planner walk an index
    /// `(column, seq)` in `seq` order (it can't tell that an array holds one element).
    pub(crate) fn any_of<'a>(&mut self, column: &str, values: impl IntoIterator<Item = &'a str>) {
        let mut values: Vec<String> = values.into_iter().map(str::to_owned).collect();
        let n = self.next_arg();
        match values.len() {
            0 => {}
            1 => {
                self.clauses.push(format!("{column} = ${n}::text"));
                self.args.push(Box::new(values.remove(0)));
            }
            _ => {
                self.clauses.push(format!("{column} = ANY(${n}::text[])"));
                self.args.push(Box::new(values));
            }
        }
    }

    /// Binds a value that a clause added with [`Filter::raw`] refers to; returns its
    /// placeholder number (`$n`).
    pub(crate) fn arg(&mut self, value: Arg) -> usize {
        let n = self.next_arg();
        self.args.push(value);
        n
    }

    /// `(a = value OR b = value)`: a row matching on either column.
    pub(crate) fn either_of(&mut self, a: &str, b: &str, value: &str) {
        let n = self.next_arg();
        self.clauses.push(format!("({a} = ${n} OR {b} = ${n})"));
        self.args.push(Box::new(value.to_owned()));
    }

    /// `clause` (with one `?` standing for the value) bound to `value`, when there is one.
    pub(crate) fn bound(&mut self, clause: &str, value: Option<i64>) {
        if let Some(value) = value {
            let clause = clause.replace('?', &format!("${}::bigint", self.next_arg()));
            self.clauses.push(clause);
            self.args.push(Box::new(value));
        }
    }

    /// A condition without a bound value.
    pub(crate) fn raw(&mut self, clause: &str) {
        self.clauses.push(clause.to_owned());
    }

    pub(crate) fn finish(self) -> (String, Vec<Arg>) {
        if self.clauses.is_empty() {
            return ("TRUE".to_owned(), self.args);
        }
        (self.clauses.join(" AND "), self.args)
    }
}
