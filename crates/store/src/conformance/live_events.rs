//! Live events: a change and its events commit together, refusals write nothing, the
//! present host, participant scopes, participant listings, leftover presence.

use super::fixtures::{
    categories, host, live_event, live_participant, ready_live_event, subscribe_all,
};
use crate::{PageRequest, ParticipantScope, Store, StoreError};
use opencalls_domain::{
    DomainError, HostState, HostType, LiveEventId, LiveParticipantState, ParticipantId, StreamKey,
};
use std::sync::Arc;

pub async fn changes_and_their_events_commit_together_and_refusals_write_nothing(
    store: Arc<dyn Store>,
) {
    subscribe_all(&*store, 0).await;
    let change = live_event(HostType::SingleHost, 1_000);
    let id = change.live_event.live_event_id.clone();
    store.insert_live_event(change).await.unwrap();
    let queued = super::fixtures::outbox(&*store).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].stream, StreamKey::LiveEvent(id.clone()));
    assert_eq!(queued[0].category, "live_event:create");

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
    assert_eq!(categories(&*store).await.len(), 1);

    for step in 0..2 {
        store
            .update_live_event(
                &id,
                ParticipantScope::Nobody,
                Box::new(move |e, _| match step {
                    0 => e.set_ready(String::new(), 2_000),
                    _ => e.participant_enter(live_participant("v"), 2_100),
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
    assert_eq!(
        categories(&*store).await,
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
    assert_eq!(
        store.live_event(&LiveEventId::generate()).await.unwrap(),
        None
    );
}

pub async fn inserting_an_existing_live_event_id_conflicts(store: Arc<dyn Store>) {
    let change = live_event(HostType::SingleHost, 1);
    let again = change.clone();
    store.insert_live_event(change).await.unwrap();
    assert!(matches!(
        store.insert_live_event(again).await,
        Err(StoreError::Conflict)
    ));
}

pub async fn the_host_is_the_present_one_else_the_last_one(store: Arc<dyn Store>) {
    let id = ready_live_event(&*store, 1).await;
    assert_eq!(store.live_event_host(&id).await.unwrap(), None);
    let request = host("h");
    let host_id = request.host_id.clone();
    store
        .update_live_event(
            &id,
            ParticipantScope::Nobody,
            Box::new(move |e, _| e.host_enter(request, 2)),
        )
        .await
        .unwrap();
    let event = store.live_event(&id).await.unwrap().unwrap();
    let present = event.host.clone().expect("the entered host is present");
    assert_eq!(present.host_id, host_id);
    assert_eq!(store.live_event_host(&id).await.unwrap(), Some(present));

    let leaving = host_id.clone();
    store
        .update_live_event(
            &id,
            ParticipantScope::Nobody,
            Box::new(move |e, _| e.host_exit(&leaving, 3)),
        )
        .await
        .unwrap();
    assert_eq!(store.live_event(&id).await.unwrap().unwrap().host, None);
    let last = store.live_event_host(&id).await.unwrap().unwrap();
    assert_eq!((last.host_id, last.state), (host_id, HostState::Exited));
    assert!(matches!(
        store.live_event_host(&LiveEventId::generate()).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn a_transition_sees_exactly_the_participants_of_its_scope(store: Arc<dyn Store>) {
    let id = ready_live_event(&*store, 1).await;
    let mut entered = Vec::new();
    for n in 0..3 {
        let request = live_participant(&format!("v{n}"));
        entered.push(request.participant_id.clone());
        store
            .update_live_event(
                &id,
                ParticipantScope::Nobody,
                Box::new(move |e, _| e.participant_enter(request, 10 + n)),
            )
            .await
            .unwrap();
    }
    let gone = entered[0].clone();
    store
        .update_live_event(
            &id,
            ParticipantScope::One(gone.clone()),
            Box::new(move |e, seen| {
                assert_eq!(seen.len(), 1);
                assert_eq!(seen[0].participant_id, gone);
                e.participant_exit(&seen[0], 20)
            }),
        )
        .await
        .unwrap();
    let seen = |scope: ParticipantScope| {
        let store = store.clone();
        let id = id.clone();
        async move {
            let (tx, rx) = std::sync::mpsc::channel();
            store
                .update_live_event(
                    &id,
                    scope,
                    Box::new(move |_, seen| {
                        let ids: Vec<ParticipantId> =
                            seen.iter().map(|p| p.participant_id.clone()).collect();
                        tx.send(ids).unwrap();
                        // Refused, so nothing is written.
                        Err(DomainError::NotInLiveEvent)
                    }),
                )
                .await
                .unwrap_err();
            rx.recv().unwrap()
        }
    };
    assert_eq!(seen(ParticipantScope::Nobody).await, []);
    assert_eq!(
        seen(ParticipantScope::Active).await,
        entered[1..],
        "oldest first"
    );
    assert_eq!(
        seen(ParticipantScope::One(entered[0].clone())).await,
        entered[..1]
    );
    assert_eq!(
        seen(ParticipantScope::One(ParticipantId::generate())).await,
        []
    );
    let event = store.live_event(&id).await.unwrap().unwrap();
    assert_eq!(event.participant_count, 2);
}

pub async fn live_event_participants_are_listed_newest_first_with_cursors(store: Arc<dyn Store>) {
    let id = ready_live_event(&*store, 1).await;
    let mut entered = Vec::new();
    for n in 0..3 {
        let request = live_participant(&format!("v{n}"));
        entered.push(request.participant_id.clone());
        store
            .update_live_event(
                &id,
                ParticipantScope::Nobody,
                Box::new(move |e, _| e.participant_enter(request, 10 + n)),
            )
            .await
            .unwrap();
    }
    entered.reverse();
    let page = |cursor| PageRequest { limit: 2, cursor };
    let first = store
        .list_live_event_participants(&id, page(None))
        .await
        .unwrap();
    let ids = |items: &[opencalls_domain::LiveEventParticipant]| {
        items
            .iter()
            .map(|p| p.participant_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&first.items), entered[..2]);
    assert_eq!(first.items[0].state, LiveParticipantState::Entered);
    assert_eq!(first.items[0].user, super::fixtures::user("v2"));
    let second = store
        .list_live_event_participants(&id, page(first.next))
        .await
        .unwrap();
    assert_eq!(ids(&second.items), entered[2..]);
    assert!(second.next.is_none());
    let back = store
        .list_live_event_participants(&id, page(second.prev))
        .await
        .unwrap();
    assert_eq!(ids(&back.items), entered[..2]);
    assert!(matches!(
        store
            .list_live_event_participants(&LiveEventId::generate(), PageRequest::default())
            .await,
        Err(StoreError::NotFound)
    ));
}

pub async fn live_events_with_presence_are_those_not_ended_with_someone_in(store: Arc<dyn Store>) {
    let empty = ready_live_event(&*store, 1).await;
    let hosted = ready_live_event(&*store, 1).await;
    let watched = ready_live_event(&*store, 1).await;
    let ended = ready_live_event(&*store, 1).await;
    store
        .update_live_event(
            &hosted,
            ParticipantScope::Nobody,
            Box::new(|e, _| e.host_enter(host("h"), 2)),
        )
        .await
        .unwrap();
    for id in [&watched, &ended] {
        store
            .update_live_event(
                id,
                ParticipantScope::Nobody,
                Box::new(|e, _| e.participant_enter(live_participant("v"), 2)),
            )
            .await
            .unwrap();
    }
    store
        .update_live_event(
            &ended,
            ParticipantScope::Nobody,
            Box::new(|e, _| e.end(&[], String::new(), 3)),
        )
        .await
        .unwrap();
    let mut found = store.live_events_with_presence().await.unwrap();
    found.sort();
    let mut expected = vec![hosted, watched];
    expected.sort();
    assert_eq!(found, expected);
    assert!(!found.contains(&empty));
}
