//! The live-event state machine, host rules, counters and event payloads.

use super::*;
use crate::{ClientId, HostId, ParticipantId, User};

fn uid(raw: &str) -> UserId {
    UserId::parse(raw).unwrap()
}

fn created() -> LiveEvent {
    LiveEvent::create(
        LiveEventId::generate(),
        HostType::SingleHost,
        vec![uid("host-a"), uid("host-b")],
        CustomItems::default(),
        String::new(),
        1_000,
    )
    .unwrap()
    .live_event
}

fn ready() -> LiveEvent {
    created()
        .set_ready(String::new(), 2_000)
        .unwrap()
        .live_event
}

fn ongoing() -> LiveEvent {
    ready().start(String::new(), 3_000).unwrap().live_event
}

fn host_request(user: &str) -> HostEnterRequest {
    HostEnterRequest {
        host_id: HostId::generate(),
        user: User::bare(uid(user)),
        client_id: ClientId::generate(),
        is_audio_on: true,
        is_video_on: true,
    }
}

fn viewer(user: &str) -> LiveParticipantEnterRequest {
    LiveParticipantEnterRequest {
        participant_id: ParticipantId::generate(),
        user: User::bare(uid(user)),
        client_id: ClientId::generate(),
    }
}

fn categories(change: &LiveEventChange) -> Vec<&'static str> {
    change.events.iter().map(|e| e.category()).collect()
}

#[test]
fn create_validates_host_ids_and_emits_create() {
    let change = LiveEvent::create(
        LiveEventId::generate(),
        HostType::SingleHost,
        vec![uid("h")],
        CustomItems::default(),
        "creator".into(),
        5,
    )
    .unwrap();
    assert_eq!(change.live_event.state, LiveEventState::Created);
    assert_eq!(change.live_event.created_by, "creator");
    assert_eq!(categories(&change), ["live_event:create"]);
    assert_eq!(
        change.events[0].stream(),
        crate::StreamKey::LiveEvent(change.live_event.live_event_id.clone())
    );
    let create = |ids: Vec<UserId>| {
        LiveEvent::create(
            LiveEventId::generate(),
            HostType::SingleHost,
            ids,
            CustomItems::default(),
            String::new(),
            5,
        )
    };
    assert!(create(Vec::new()).is_err());
    assert!(create((0..10).map(|i| uid(&format!("u{i}"))).collect()).is_ok());
    assert!(create((0..11).map(|i| uid(&format!("u{i}"))).collect()).is_err());
}

#[test]
fn the_state_machine_allows_only_forward_documented_steps() {
    use LifecycleAction::*;
    use LiveEventState::*;
    let allowed = [
        (Created, SetReady, Ready),
        (Ready, Start, Ongoing),
        (Created, End, Ended),
        (Ready, End, Ended),
        (Ongoing, End, Ended),
    ];
    for state in LiveEventState::ALL {
        for action in [SetReady, Start, End] {
            let expected = allowed
                .iter()
                .find(|(s, a, _)| *s == state && *a == action)
                .map(|(_, _, to)| *to);
            match (state.next(action), expected) {
                (Ok(to), Some(want)) => assert_eq!(to, want),
                (Err(DomainError::LiveEventActionNotAllowed(_)), None) => {}
                (got, want) => panic!("{state:?} {action:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}

#[test]
fn lifecycle_sets_timestamps_actors_and_duration() {
    let event = created();
    assert!(
        event.start(String::new(), 1_500).is_err(),
        "start needs ready"
    );
    let ready = event.set_ready("alice".into(), 2_000).unwrap();
    assert_eq!(categories(&ready), ["live_event:ready"]);
    let ready = ready.live_event;
    assert_eq!(
        (ready.set_ready_at, ready.set_ready_by.as_str()),
        (Some(2_000), "alice")
    );
    assert!(ready.set_ready(String::new(), 2_100).is_err());
    let started = ready.start(String::new(), 3_000).unwrap().live_event;
    assert_eq!(started.state, LiveEventState::Ongoing);
    assert_eq!(started.started_at, Some(3_000));
    assert_eq!(started.duration, 0);
    let ended = started.end(&[], String::new(), 4_250).unwrap();
    assert_eq!(categories(&ended), ["live_event:end"]);
    let ended = ended.live_event;
    assert_eq!(ended.ended_at, Some(4_250));
    assert_eq!(ended.duration, 3_250);
    for attempt in [
        ended.set_ready(String::new(), 5_000),
        ended.start(String::new(), 5_000),
        ended.end(&[], String::new(), 5_000),
    ] {
        assert!(matches!(
            attempt,
            Err(DomainError::LiveEventActionNotAllowed(_))
        ));
    }
}

#[test]
fn participant_counters_follow_enters_and_exits() {
    let event = ready();
    assert!(created().participant_enter(viewer("v"), 1_500).is_err());
    // The same user on two devices counts as two participants.
    let a = event.participant_enter(viewer("v1"), 2_100).unwrap();
    let pa = a.participants[0].clone();
    let b = a.live_event.participant_enter(viewer("v1"), 2_200).unwrap();
    let pb = b.participants[0].clone();
    let c = b.live_event.participant_enter(viewer("v2"), 2_300).unwrap();
    let event = c.live_event;
    assert_eq!(event.participant_count, 3);
    assert_eq!(event.peak_participant_count, 3);
    assert_eq!(event.cumulative_participant_count, 3);
    let exit = event.participant_exit(&pa, 2_600).unwrap();
    assert_eq!(exit.participants[0].duration, 500);
    assert_eq!(exit.participants[0].exited_at, Some(2_600));
    assert_eq!(categories(&exit), ["live_event:participant_exit"]);
    let event = exit.live_event;
    assert!(matches!(
        event.participant_exit(&exit.participants[0], 2_700),
        Err(DomainError::NotInLiveEvent)
    ));
    let event = event.participant_exit(&pb, 2_700).unwrap().live_event;
    let event = event
        .participant_enter(viewer("v3"), 2_800)
        .unwrap()
        .live_event;
    assert_eq!(
        (
            event.participant_count,
            event.peak_participant_count,
            event.cumulative_participant_count
        ),
        (2, 3, 4)
    );
}

#[test]
fn ending_forces_everyone_out() {
    let event = ongoing();
    let host = event.host_enter(host_request("host-a"), 3_100).unwrap();
    let p = host
        .live_event
        .participant_enter(viewer("v"), 3_200)
        .unwrap();
    let ended = p
        .live_event
        .end(&p.participants, String::new(), 4_000)
        .unwrap();
    assert_eq!(
        categories(&ended),
        [
            "live_event:participant_exit",
            "live_event:host_exit",
            "live_event:end"
        ]
    );
    let event = &ended.live_event;
    assert_eq!(event.participant_count, 0);
    assert_eq!(event.peak_participant_count, 1);
    assert_eq!(event.cumulative_participant_count, 1);
    assert!(event.host.is_none());
    assert!(!event.is_host_streaming);
    assert_eq!(ended.participants[0].state, LiveParticipantState::Exited);
    assert_eq!(ended.participants[0].duration, 800);
    assert_eq!(ended.hosts[0].state, HostState::Exited);
    assert_eq!(ended.hosts[0].duration, 900);
}

#[test]
fn host_rules_and_streaming_flag() {
    let event = created();
    assert!(matches!(
        event.host_enter(host_request("stranger"), 1_100),
        Err(DomainError::NotAllowedToHost)
    ));
    let entered = event.host_enter(host_request("host-a"), 1_100).unwrap();
    let host_id = entered.hosts[0].host_id.clone();
    let event = entered.live_event;
    assert!(matches!(
        event.host_enter(host_request("host-b"), 1_200),
        Err(DomainError::LiveEventActionNotAllowed(_))
    ));
    let event = event.host_connected(&host_id, 1_300).unwrap().live_event;
    assert!(!event.is_host_streaming, "not ongoing yet");
    let event = event.set_ready(String::new(), 1_400).unwrap().live_event;
    let event = event.start(String::new(), 1_500).unwrap().live_event;
    assert!(event.is_host_streaming);
    // Connecting twice is a no-op without events.
    assert!(
        event
            .host_connected(&host_id, 1_550)
            .unwrap()
            .events
            .is_empty()
    );
    let event = event.host_disconnected(&host_id, 1_600).unwrap().live_event;
    assert!(!event.is_host_streaming);
    assert_eq!(event.host.as_ref().unwrap().disconnected_at, Some(1_600));
    let event = event.host_connected(&host_id, 1_700).unwrap().live_event;
    assert!(event.is_host_streaming);
    let exit = event.host_exit(&host_id, 2_100).unwrap();
    assert_eq!(exit.hosts[0].duration, 1_000);
    let event = exit.live_event;
    assert!(event.host.is_none() && !event.is_host_streaming);
    assert!(matches!(
        event.host_exit(&host_id, 2_200),
        Err(DomainError::NotInLiveEvent)
    ));
    // Once the first host left, another listed user may host.
    assert!(event.host_enter(host_request("host-b"), 2_300).is_ok());
}

#[test]
fn payloads_carry_the_resource_and_the_actor() {
    let event = ready();
    let change = event.participant_enter(viewer("v"), 2_100).unwrap();
    let payload = change.events[0].payload();
    assert_eq!(payload["live_event"]["participant_count"], 1);
    assert_eq!(payload["participant"]["user"]["user_id"], "v");
    let json = serde_json::to_value(created()).unwrap();
    assert_eq!(json["set_ready_at"], serde_json::Value::Null);
    assert_eq!(json["host"], serde_json::Value::Null);
    assert_eq!(json["is_host_streaming"], false);
    assert_eq!(json["host_type"], "single_host");
    assert_eq!(json["custom_items"], serde_json::json!({}));
}

#[test]
fn host_media_changes_only_the_present_host_and_emits_nothing() {
    let request = host_request("host-a");
    let host_id = request.host_id.clone();
    let event = ready().host_enter(request, 2_100).unwrap().live_event;
    let change = event.host_set_media(&host_id, Some(false), None).unwrap();
    assert!(change.events.is_empty());
    let host = change.live_event.host.as_ref().unwrap();
    assert_eq!((host.is_audio_on, host.is_video_on), (false, true));
    assert!(!change.hosts[0].is_audio_on);
    assert!(matches!(
        event.host_set_media(&host_id, None, None),
        Err(DomainError::MissingParameter(_))
    ));
    assert!(matches!(
        event.host_set_media(&HostId::generate(), Some(true), None),
        Err(DomainError::NotInLiveEvent)
    ));
}

#[test]
fn exiting_everyone_keeps_the_state_and_zeroes_the_count() {
    let request = host_request("host-a");
    let event = ready().host_enter(request, 2_100).unwrap().live_event;
    let a = event.participant_enter(viewer("a"), 2_200).unwrap();
    let b = a.live_event.participant_enter(viewer("b"), 2_300).unwrap();
    let active = [a.participants[0].clone(), b.participants[0].clone()];
    let change = b.live_event.exit_everyone(&active, 2_400).unwrap();
    let event = &change.live_event;
    assert_eq!(event.state, LiveEventState::Ready);
    assert_eq!(
        (event.participant_count, event.peak_participant_count),
        (0, 2)
    );
    assert!(event.host.is_none());
    assert_eq!(
        categories(&change),
        [
            "live_event:participant_exit",
            "live_event:participant_exit",
            "live_event:host_exit"
        ]
    );
}
