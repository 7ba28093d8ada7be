//! `UserStore` on PostgreSQL: `users` and `user_tokens`.

use crate::PostgresStore;
use crate::error::Error;
use crate::rows::{USER_COLUMNS, has_newer, into_page, page_clause, user_from_row};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use opencalls_domain::{Millis, User, UserId};
use opencalls_store::users::{StoredToken, TokenKind, UserStore, UserUpdate};
use opencalls_store::{Page, PageRequest, StoreError};

#[async_trait]
impl UserStore for PostgresStore {
    async fn insert_user(&self, user: User) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        conn.execute(
            "INSERT INTO users (user_id, nickname, profile_url, metadata, is_active, role)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &user.user_id.as_str(),
                &user.nickname,
                &user.profile_url,
                &serde_json::to_string(&user.metadata).map_err(Error::from)?,
                &user.is_active,
                &user.role,
            ],
        )
        .await
        .map_err(Error::from)?;
        Ok(())
    }

    async fn user(&self, user_id: &UserId) -> Result<Option<User>, StoreError> {
        let conn = self.conn().await?;
        Ok(load_user(&conn, user_id, false).await?)
    }

    async fn list_users(&self, page: PageRequest) -> Result<Page<User>, StoreError> {
        Ok(list_users(self, page).await?)
    }

    async fn update_user(&self, user_id: &UserId, update: UserUpdate) -> Result<User, StoreError> {
        Ok(change_user(self, user_id, |user| Ok(update(user)?), false).await?)
    }

    async fn deactivate_user(&self, user_id: &UserId) -> Result<User, StoreError> {
        let deactivate = |user: &User| {
            Ok(User {
                is_active: false,
                ..user.clone()
            })
        };
        Ok(change_user(self, user_id, deactivate, true).await?)
    }

    async fn insert_token(&self, token: StoredToken) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        conn.execute(
            "INSERT INTO user_tokens (token_hash, user_id, kind, issued_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &&token.hash[..],
                &token.user_id.as_str(),
                &token.kind.as_str(),
                &token.issued_at,
                &token.expires_at,
            ],
        )
        .await
        .map_err(Error::from)?;
        Ok(())
    }

    async fn token(&self, hash: [u8; 32]) -> Result<Option<StoredToken>, StoreError> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "SELECT user_id, kind, issued_at, expires_at FROM user_tokens WHERE token_hash = $1",
            )
            .await
            .map_err(Error::from)?;
        let Some(row) = conn
            .query_opt(&stmt, &[&&hash[..]])
            .await
            .map_err(Error::from)?
        else {
            return Ok(None);
        };
        let kind: String = row.get(1);
        let kind = TokenKind::parse(&kind)
            .ok_or_else(|| StoreError::Backend(format!("unknown token kind {kind}")))?;
        Ok(Some(StoredToken {
            hash,
            user_id: UserId::from_trusted(row.get(0)),
            kind,
            issued_at: row.get(2),
            expires_at: row.get(3),
        }))
    }

    async fn delete_tokens(
        &self,
        user_id: &UserId,
        kinds: &[TokenKind],
    ) -> Result<u64, StoreError> {
        let conn = self.conn().await?;
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        Ok(conn
            .execute(
                "DELETE FROM user_tokens WHERE user_id = $1 AND kind = ANY($2)",
                &[&user_id.as_str(), &kinds],
            )
            .await
            .map_err(Error::from)?)
    }

    async fn delete_expired_tokens(&self, now: Millis) -> Result<u64, StoreError> {
        let conn = self.conn().await?;
        Ok(conn
            .execute(
                "DELETE FROM user_tokens WHERE expires_at IS NOT NULL AND expires_at < $1",
                &[&now],
            )
            .await
            .map_err(Error::from)?)
    }
}

async fn list_users(store: &PostgresStore, page: PageRequest) -> Result<Page<User>, Error> {
    let conn = store.conn().await?;
    let (cond, order, limit) = page_clause(&page, "u.seq");
    let sql = format!(
        "SELECT u.seq, {USER_COLUMNS} FROM users u WHERE TRUE{cond} ORDER BY u.seq {order} LIMIT {limit}"
    );
    let stmt = conn.prepare_cached(&sql).await?;
    let rows = conn
        .query(&stmt, &[])
        .await?
        .iter()
        .map(|row| Ok((row.try_get(0)?, user_from_row(row, 1)?)))
        .collect::<Result<Vec<_>, Error>>()?;
    let sql = "SELECT EXISTS (SELECT 1 FROM users WHERE seq > {first})";
    let newer = has_newer(&conn, &page, &rows, sql, &[]).await?;
    Ok(into_page(&page, rows, newer))
}

/// Locks the user's row, applies `update`, saves it (and drops its tokens when `revoke`).
async fn change_user(
    store: &PostgresStore,
    user_id: &UserId,
    update: impl FnOnce(&User) -> Result<User, Error>,
    revoke: bool,
) -> Result<User, Error> {
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await?;
    let user = load_user(&tx, user_id, true)
        .await?
        .ok_or(StoreError::NotFound)?;
    let user = update(&user)?;
    tx.execute(
        "UPDATE users SET nickname = $2, profile_url = $3, metadata = $4, is_active = $5, role = $6
         WHERE user_id = $1",
        &[
            &user.user_id.as_str(),
            &user.nickname,
            &user.profile_url,
            &serde_json::to_string(&user.metadata)?,
            &user.is_active,
            &user.role,
        ],
    )
    .await?;
    if revoke {
        tx.execute(
            "DELETE FROM user_tokens WHERE user_id = $1",
            &[&user_id.as_str()],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(user)
}

async fn load_user(
    client: &impl GenericClient,
    user_id: &UserId,
    lock: bool,
) -> Result<Option<User>, Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.user_id = $1{lock}");
    let stmt = client.prepare_cached(&sql).await?;
    client
        .query_opt(&stmt, &[&user_id.as_str()])
        .await?
        .map(|row| user_from_row(&row, 0))
        .transpose()
}
