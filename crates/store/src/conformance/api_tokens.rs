//! Secondary API tokens: stored by hash up to a limit, listed oldest first, deleted by hash.

use crate::Store;
use crate::api_tokens::StoredApiToken;
use std::sync::Arc;

fn token(byte: u8, created_at: i64) -> StoredApiToken {
    StoredApiToken {
        hash: [byte; 32],
        hint: format!("hint{byte}"),
        created_at,
    }
}

pub async fn api_tokens_are_stored_up_to_the_limit_listed_and_revoked(store: Arc<dyn Store>) {
    assert!(store.api_tokens().await.unwrap().is_empty());
    assert!(store.insert_api_token(token(2, 200), 2).await.unwrap());
    assert!(store.insert_api_token(token(1, 100), 2).await.unwrap());
    assert!(
        !store.insert_api_token(token(3, 300), 2).await.unwrap(),
        "a third token is refused at a limit of two"
    );
    assert_eq!(
        store.api_tokens().await.unwrap(),
        vec![token(1, 100), token(2, 200)]
    );
    assert!(store.delete_api_token([1; 32]).await.unwrap());
    assert!(!store.delete_api_token([1; 32]).await.unwrap());
    assert_eq!(store.api_tokens().await.unwrap(), vec![token(2, 200)]);
    assert!(store.insert_api_token(token(3, 300), 2).await.unwrap());
}
