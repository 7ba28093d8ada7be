//! `ApiTokenStore` on SQLite: the `api_tokens` table (migration 5).

use crate::SqliteStore;
use async_trait::async_trait;
use opencalls_store::{ApiTokenStore, StoreError, StoredApiToken};
use rusqlite::params;

#[async_trait]
impl ApiTokenStore for SqliteStore {
    async fn insert_api_token(
        &self,
        token: StoredApiToken,
        limit: usize,
    ) -> Result<bool, StoreError> {
        self.write_outside_rooms(move |conn| {
            // Counted on the single writer, so concurrent issues cannot pass the limit.
            let count: i64 = conn
                .prepare_cached("SELECT COUNT(*) FROM api_tokens")?
                .query_row([], |r| r.get(0))?;
            if usize::try_from(count).unwrap_or(usize::MAX) >= limit {
                return Ok(false);
            }
            conn.prepare_cached(
                "INSERT INTO api_tokens (token_hash, hint, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![&token.hash[..], token.hint, token.created_at])?;
            Ok(true)
        })
        .await
    }

    async fn api_tokens(&self) -> Result<Vec<StoredApiToken>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT token_hash, hint, created_at FROM api_tokens ORDER BY created_at, token_hash",
            )?;
            let rows = stmt.query_map([], |row| {
                let raw: Vec<u8> = row.get(0)?;
                let mut hash = [0u8; 32];
                if raw.len() == hash.len() {
                    hash.copy_from_slice(&raw);
                }
                Ok(StoredApiToken {
                    hash,
                    hint: row.get(1)?,
                    created_at: row.get(2)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn delete_api_token(&self, hash: [u8; 32]) -> Result<bool, StoreError> {
        self.write_outside_rooms(move |conn| {
            let removed = conn
                .prepare_cached("DELETE FROM api_tokens WHERE token_hash = ?1")?
                .execute([&hash[..]])?;
            Ok(removed > 0)
        })
        .await
    }
}
