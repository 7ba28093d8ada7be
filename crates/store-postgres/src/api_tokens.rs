//! `ApiTokenStore` on PostgreSQL: the `api_tokens` table.

use crate::PostgresStore;
use crate::error::Error;
use async_trait::async_trait;
use opencalls_store::{ApiTokenStore, StoreError, StoredApiToken};

/// The advisory lock that serializes token issues, so concurrent ones (on any node) cannot
/// pass the limit ("ocapit" in ASCII).
const ISSUE_LOCK: i64 = 0x6f63_6170_6974;

#[async_trait]
impl ApiTokenStore for PostgresStore {
    async fn insert_api_token(
        &self,
        token: StoredApiToken,
        limit: usize,
    ) -> Result<bool, StoreError> {
        Ok(insert(self, token, limit).await?)
    }

    async fn api_tokens(&self) -> Result<Vec<StoredApiToken>, StoreError> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT token_hash, hint, created_at FROM api_tokens ORDER BY created_at, token_hash",
                &[],
            )
            .await
            .map_err(Error::from)?;
        Ok(rows
            .iter()
            .map(|row| {
                let raw: Vec<u8> = row.get(0);
                let mut hash = [0u8; 32];
                if raw.len() == hash.len() {
                    hash.copy_from_slice(&raw);
                }
                StoredApiToken {
                    hash,
                    hint: row.get(1),
                    created_at: row.get(2),
                }
            })
            .collect())
    }

    async fn delete_api_token(&self, hash: [u8; 32]) -> Result<bool, StoreError> {
        let conn = self.conn().await?;
        let removed = conn
            .execute(
                "DELETE FROM api_tokens WHERE token_hash = $1",
                &[&&hash[..]],
            )
            .await
            .map_err(Error::from)?;
        Ok(removed > 0)
    }
}

async fn insert(store: &PostgresStore, token: StoredApiToken, limit: usize) -> Result<bool, Error> {
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&ISSUE_LOCK])
        .await?;
    let count: i64 = tx
        .query_one("SELECT COUNT(*) FROM api_tokens", &[])
        .await?
        .get(0);
    if usize::try_from(count).unwrap_or(usize::MAX) >= limit {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO api_tokens (token_hash, hint, created_at) VALUES ($1, $2, $3)",
        &[&&token.hash[..], &token.hint, &token.created_at],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
