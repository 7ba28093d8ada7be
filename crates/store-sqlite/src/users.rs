//! `UserStore` on SQLite: the `users` table (extended by migration 4) and `user_tokens`.

use super::rows::{USER_COLUMNS, into_page, page_clause, user_from_row};
use crate::SqliteStore;
use crate::error::Error;
use async_trait::async_trait;
use opencalls_domain::{Millis, User, UserId};
use opencalls_store::users::{StoredToken, TokenKind, UserStore, UserUpdate};
use opencalls_store::{Page, PageRequest, StoreError};
use rusqlite::{Connection, OptionalExtension, params};

#[async_trait]
impl UserStore for SqliteStore {
    async fn insert_user(&self, user: User) -> Result<(), StoreError> {
        self.write_outside_rooms(move |conn| {
            conn.prepare_cached(
                "INSERT INTO users (user_id, nickname, profile_url, metadata, is_active, role)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                user.user_id.as_str(),
                user.nickname,
                user.profile_url,
                serde_json::to_string(&user.metadata)?,
                user.is_active,
                user.role
            ])?;
            Ok(())
        })
        .await
    }

    async fn user(&self, user_id: &UserId) -> Result<Option<User>, StoreError> {
        let user_id = user_id.clone();
        self.read(move |conn| load_user(conn, &user_id)).await
    }

    async fn list_users(&self, page: PageRequest) -> Result<Page<User>, StoreError> {
        self.read(move |conn| {
            let (cond, order, limit) = page_clause(&page, "u.seq");
            let sql = format!(
                "SELECT u.seq, {USER_COLUMNS} FROM users u WHERE u.seq IS NOT NULL{cond}
                 ORDER BY u.seq {order} LIMIT ?1"
            );
            let rows = conn
                .prepare_cached(&sql)?
                .query_map([limit], |row| Ok((row.get(0)?, user_from_row(row, 1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            into_page(&page, rows, |first| {
                let newer = "SELECT EXISTS (SELECT 1 FROM users WHERE seq > ?1)";
                Ok(conn
                    .prepare_cached(newer)?
                    .query_row([first], |r| r.get(0))?)
            })
        })
        .await
    }

    async fn update_user(&self, user_id: &UserId, update: UserUpdate) -> Result<User, StoreError> {
        let user_id = user_id.clone();
        self.write(move |conn| {
            let user = load_user(conn, &user_id)?.ok_or(StoreError::NotFound)?;
            let user = update(&user)?;
            save_user(conn, &user)?;
            Ok(user)
        })
        .await
    }

    async fn deactivate_user(&self, user_id: &UserId) -> Result<User, StoreError> {
        let user_id = user_id.clone();
        self.write(move |conn| {
            let mut user = load_user(conn, &user_id)?.ok_or(StoreError::NotFound)?;
            user.is_active = false;
            save_user(conn, &user)?;
            conn.prepare_cached("DELETE FROM user_tokens WHERE user_id = ?1")?
                .execute([user_id.as_str()])?;
            Ok(user)
        })
        .await
    }

    async fn insert_token(&self, token: StoredToken) -> Result<(), StoreError> {
        self.write_outside_rooms(move |conn| {
            conn.prepare_cached(
                "INSERT INTO user_tokens (token_hash, user_id, kind, issued_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                &token.hash[..],
                token.user_id.as_str(),
                token.kind.as_str(),
                token.issued_at,
                token.expires_at
            ])?;
            Ok(())
        })
        .await
    }

    async fn token(&self, hash: [u8; 32]) -> Result<Option<StoredToken>, StoreError> {
        self.read(move |conn| {
            let row = conn
                .prepare_cached(
                    "SELECT user_id, kind, issued_at, expires_at FROM user_tokens WHERE token_hash = ?1",
                )?
                .query_row([&hash[..]], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, Millis>(2)?,
                        row.get::<_, Option<Millis>>(3)?,
                    ))
                })
                .optional()?;
            let Some((user_id, kind, issued_at, expires_at)) = row else {
                return Ok(None);
            };
            let kind = TokenKind::parse(&kind)
                .ok_or_else(|| StoreError::Backend(format!("unknown token kind {kind}")))?;
            Ok(Some(StoredToken {
                hash,
                user_id: UserId::from_trusted(user_id),
                kind,
                issued_at,
                expires_at,
            }))
        })
        .await
    }

    async fn delete_tokens(
        &self,
        user_id: &UserId,
        kinds: &[TokenKind],
    ) -> Result<u64, StoreError> {
        let user_id = user_id.clone();
        let kinds = kinds.to_vec();
        self.write_outside_rooms(move |conn| {
            let mut removed = 0;
            let mut stmt =
                conn.prepare_cached("DELETE FROM user_tokens WHERE user_id = ?1 AND kind = ?2")?;
            for kind in kinds {
                removed += stmt.execute(params![user_id.as_str(), kind.as_str()])? as u64;
            }
            Ok(removed)
        })
        .await
    }

    async fn delete_expired_tokens(&self, now: Millis) -> Result<u64, StoreError> {
        self.write_outside_rooms(move |conn| {
            Ok(conn
                .prepare_cached(
                    "DELETE FROM user_tokens WHERE expires_at IS NOT NULL AND expires_at < ?1",
                )?
                .execute([now])? as u64)
        })
        .await
    }
}

fn load_user(conn: &Connection, user_id: &UserId) -> Result<Option<User>, Error> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.user_id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([user_id.as_str()], |row| user_from_row(row, 0))
        .optional()?)
}

fn save_user(conn: &Connection, user: &User) -> Result<(), Error> {
    conn.prepare_cached(
        "UPDATE users SET nickname = ?2, profile_url = ?3, metadata = ?4, is_active = ?5, role = ?6
         WHERE user_id = ?1",
    )?
    .execute(params![
        user.user_id.as_str(),
        user.nickname,
        user.profile_url,
        serde_json::to_string(&user.metadata)?,
        user.is_active,
        user.role
    ])?;
    Ok(())
}
