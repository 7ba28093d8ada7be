//! The SQLite live-event store against a real database file: atomicity of a change and
//! its outbox events, refusals, scopes.

use super::*;
use opencalls_domain::live_event::LiveParticipantEnterRequest;
use opencalls_domain::{ClientId, CustomItems, DomainError, HostType, ParticipantId, User, UserId};

fn new_event() -> LiveEventChange {
    LiveEvent::create(
        LiveEventId::generate(),
        HostType::SingleHost,
        vec![UserId::parse("h").unwrap()],
        CustomItems::default(),
        String::new(),
        1_000,
    )
    .unwrap()
}

async fn outbox(store: &SqliteStore) -> Vec<(String, String)> {
    store
        .read(|conn| {
            let mut stmt = conn.prepare("SELECT stream, category FROM outbox ORDER BY seq")?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn changes_and_their_events_commit_together_and_refusals_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("db.sqlite")).unwrap();
    let change = new_event();
    let id = change.live_event.live_event_id.clone();
    store.insert_live_event(change).await.unwrap();
    let stream = format!("live_event:{id}");
    assert_eq!(
        outbox(&store).await,
        [(stream.clone(), "live_event:create".to_string())]
    );

    let refused = store
        .update_live_event(
            &id,
            ParticipantScope::Nobody,
            Box::new(|e, _| e.start(String::new(), 2_000)),
        )
        .await;
    assert!(matches!(
        refused,
        Err(StoreError::Rejected(
            DomainError::LiveEventActionNotAllowed(_)
        ))
    ));
    assert_eq!(outbox(&store).await.len(), 1);

    for step in 0..2 {
        store
            .update_live_event(
                &id,
                ParticipantScope::Nobody,
                Box::new(move |e, _| match step {
                    0 => e.set_ready(String::new(), 2_000),
                    _ => e.participant_enter(
                        LiveParticipantEnterRequest {
                            participant_id: ParticipantId::generate(),
                            user: User::bare(UserId::parse("v").unwrap()),
                            client_id: ClientId::generate(),
                        },
                        2_100,
                    ),
                }),
            )
            .await
            .unwrap();
    }
    let ended = store
        .update_live_event(
            &id,
            ParticipantScope::Active,
            Box::new(|e, active| {
                assert_eq!(active.len(), 1, "the active participant is loaded");
                e.end(active, String::new(), 3_000)
            }),
        )
        .await
        .unwrap();
    assert_eq!(ended.live_event.participant_count, 0);
    let categories: Vec<String> = outbox(&store).await.into_iter().map(|(_, c)| c).collect();
    assert_eq!(
        categories,
        [
            "live_event:create",
            "live_event:ready",
            "live_event:participant_enter",
            "live_event:participant_exit",
            "live_event:end"
        ]
    );
    let stored = store.live_event(&id).await.unwrap().unwrap();
    assert_eq!(stored, ended.live_event);
    assert!(matches!(
        store
            .update_live_event(
                &LiveEventId::generate(),
                ParticipantScope::Nobody,
                Box::new(|e, _| e.set_ready(String::new(), 1)),
            )
            .await,
        Err(StoreError::NotFound)
    ));
}
