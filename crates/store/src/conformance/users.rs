//! Users and their tokens: unique ids, updates applied atomically, listings, tokens found
//! by hash, deleted by kind, by expiry, and all of them when the user is deactivated.

use super::fixtures::user;
use crate::users::{StoredToken, TokenKind};
use crate::{Page, PageRequest, Store, StoreError};
use opencalls_domain::{DomainError, User, UserId};
use std::collections::BTreeMap;
use std::sync::Arc;

fn token(byte: u8, user_id: &str, kind: TokenKind, expires_at: Option<i64>) -> StoredToken {
    StoredToken {
        hash: [byte; 32],
        user_id: UserId::parse(user_id).unwrap(),
        kind,
        issued_at: 100,
        expires_at,
    }
}

fn uid(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

pub async fn users_are_stored_read_and_updated(store: Arc<dyn Store>) {
    let mut stored = user("a");
    stored.profile_url = "https://example.com/a.png".into();
    stored.metadata = BTreeMap::from([("k".to_owned(), "v".to_owned())]);
    stored.role = Some("moderator".into());
    store.insert_user(stored.clone()).await.unwrap();
    assert_eq!(store.user(&uid("a")).await.unwrap(), Some(stored.clone()));
    assert_eq!(store.user(&uid("nobody")).await.unwrap(), None);
    assert!(matches!(
        store.insert_user(user("a")).await,
        Err(StoreError::Conflict)
    ));

    let updated = store
        .update_user(
            &uid("a"),
            Box::new(|u: &User| {
                Ok(User {
                    nickname: "renamed".into(),
                    metadata: BTreeMap::new(),
                    ..u.clone()
                })
            }),
        )
        .await
        .unwrap();
    assert_eq!(updated.nickname, "renamed");
    assert_eq!(store.user(&uid("a")).await.unwrap(), Some(updated.clone()));

    let refused = store
        .update_user(
            &uid("a"),
            Box::new(|_: &User| Err(DomainError::invalid("no"))),
        )
        .await;
    assert!(matches!(refused, Err(StoreError::Rejected(_))));
    assert_eq!(store.user(&uid("a")).await.unwrap(), Some(updated));
    let unknown = store
        .update_user(&uid("nobody"), Box::new(|u: &User| Ok(u.clone())))
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound)));
    assert!(matches!(
        store.deactivate_user(&uid("nobody")).await,
        Err(StoreError::NotFound)
    ));
}

fn ids(page: &Page<User>) -> Vec<&str> {
    page.items.iter().map(|u| u.user_id.as_str()).collect()
}

pub async fn users_are_listed_newest_first_with_cursors(store: Arc<dyn Store>) {
    for id in ["u0", "u1", "u2", "u3", "u4"] {
        store.insert_user(user(id)).await.unwrap();
    }
    let page = |cursor| PageRequest { limit: 2, cursor };
    let first = store.list_users(page(None)).await.unwrap();
    assert_eq!(ids(&first), ["u4", "u3"]);
    assert!(first.prev.is_none());
    let second = store.list_users(page(first.next)).await.unwrap();
    assert_eq!(ids(&second), ["u2", "u1"]);
    store.insert_user(user("u5")).await.unwrap();
    let third = store.list_users(page(second.next)).await.unwrap();
    assert_eq!(ids(&third), ["u0"]);
    assert!(third.next.is_none());
    let back = store.list_users(page(second.prev)).await.unwrap();
    assert_eq!(ids(&back), ["u4", "u3"]);
    let newest = store.list_users(page(back.prev)).await.unwrap();
    assert_eq!(ids(&newest), ["u5"]);
}

pub async fn tokens_are_found_by_hash_and_deleted_by_kind(store: Arc<dyn Store>) {
    store.insert_user(user("a")).await.unwrap();
    store.insert_user(user("b")).await.unwrap();
    let access = token(1, "a", TokenKind::Access, None);
    let session = token(2, "a", TokenKind::Session, Some(5_000));
    let other = token(3, "b", TokenKind::Session, Some(5_000));
    for t in [&access, &session, &other] {
        store.insert_token(t.clone()).await.unwrap();
    }
    assert!(matches!(
        store.insert_token(access.clone()).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.token([1; 32]).await.unwrap(), Some(access.clone()));
    assert_eq!(store.token([2; 32]).await.unwrap(), Some(session));
    assert_eq!(store.token([9; 32]).await.unwrap(), None);

    let removed = store
        .delete_tokens(&uid("a"), &[TokenKind::Session])
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(store.token([2; 32]).await.unwrap(), None);
    assert_eq!(store.token([1; 32]).await.unwrap(), Some(access));
    assert_eq!(
        store.token([3; 32]).await.unwrap(),
        Some(other),
        "other users keep theirs"
    );
    let removed = store
        .delete_tokens(&uid("a"), &[TokenKind::Access, TokenKind::Session])
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(store.token([1; 32]).await.unwrap(), None);
}

pub async fn expired_tokens_are_deleted_and_others_kept(store: Arc<dyn Store>) {
    store.insert_user(user("a")).await.unwrap();
    let expired = token(1, "a", TokenKind::Session, Some(999));
    let due_now = token(2, "a", TokenKind::Session, Some(1_000));
    let forever = token(3, "a", TokenKind::Access, None);
    for t in [&expired, &due_now, &forever] {
        store.insert_token(t.clone()).await.unwrap();
    }
    assert_eq!(store.delete_expired_tokens(1_000).await.unwrap(), 1);
    assert_eq!(store.token([1; 32]).await.unwrap(), None);
    assert_eq!(store.token([2; 32]).await.unwrap(), Some(due_now));
    assert_eq!(store.token([3; 32]).await.unwrap(), Some(forever));
}

pub async fn deactivating_a_user_deletes_every_token_of_the_user(store: Arc<dyn Store>) {
    store.insert_user(user("a")).await.unwrap();
    store.insert_user(user("b")).await.unwrap();
    store
        .insert_token(token(1, "a", TokenKind::Access, None))
        .await
        .unwrap();
    store
        .insert_token(token(2, "a", TokenKind::Session, Some(9)))
        .await
        .unwrap();
    store
        .insert_token(token(3, "b", TokenKind::Access, None))
        .await
        .unwrap();
    let deactivated = store.deactivate_user(&uid("a")).await.unwrap();
    assert!(!deactivated.is_active);
    assert_eq!(store.user(&uid("a")).await.unwrap(), Some(deactivated));
    assert_eq!(store.token([1; 32]).await.unwrap(), None);
    assert_eq!(store.token([2; 32]).await.unwrap(), None);
    assert!(store.token([3; 32]).await.unwrap().is_some());
}
