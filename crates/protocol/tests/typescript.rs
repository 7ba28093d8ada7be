//! The TypeScript declarations of the protocol (web/sdk/protocol.d.ts) are generated from
//! the Rust types: this test regenerates them and fails if the committed file differs.
//! `OPENCALLS_BLESS_TS=1 cargo test -p opencalls-protocol --features ts --test typescript`
//! rewrites the file after a change of the protocol types or of the domain resources they carry.
#![cfg(feature = "ts")]

use opencalls_domain::{
    CallType, ClientId, CustomItems, DirectCall, DirectCallId, DirectCallParticipant,
    DirectCallRole, DirectCallState, EndResult, Host, HostId, HostState, HostType, LiveEvent,
    LiveEventId, LiveEventParticipant, LiveEventState, LiveParticipantState, Participant,
    ParticipantId, ParticipantState, Room, RoomId, RoomState, RoomType, User, UserId,
};
use opencalls_protocol::event::*;
use opencalls_protocol::frame::*;
use opencalls_protocol::request::*;
use opencalls_protocol::response::*;
use opencalls_protocol::session::*;
use opencalls_protocol::{MessageId, RequestId, WireError};
use std::path::Path;
use ts_rs::TS;

const HEADER: &str = "\
// The client protocol opencalls/1 (docs/protocol.md) as TypeScript declarations.
// GENERATED from crates/protocol and crates/domain by
//   OPENCALLS_BLESS_TS=1 cargo test -p opencalls-protocol --features ts --test typescript
// Do not edit by hand.

/** Any JSON value (a response's `result` before it is decoded for its request). */
export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;
";

fn declarations() -> String {
    // Timestamps and counts are `i64` (`Millis`); JSON carries them as plain numbers.
    let cfg = ts_rs::Config::default().with_large_int("number");
    let decls = [
        // Platform API resources (docs/api.md), carried as they are inside frames.
        Room::decl(&cfg),
        RoomType::decl(&cfg),
        RoomState::decl(&cfg),
        Participant::decl(&cfg),
        ParticipantState::decl(&cfg),
        LiveEvent::decl(&cfg),
        HostType::decl(&cfg),
        LiveEventState::decl(&cfg),
        Host::decl(&cfg),
        HostState::decl(&cfg),
        LiveEventParticipant::decl(&cfg),
        LiveParticipantState::decl(&cfg),
        User::decl(&cfg),
        CustomItems::decl(&cfg),
        RoomId::decl(&cfg),
        ParticipantId::decl(&cfg),
        LiveEventId::decl(&cfg),
        HostId::decl(&cfg),
        UserId::decl(&cfg),
        ClientId::decl(&cfg),
        DirectCall::decl(&cfg),
        CallType::decl(&cfg),
        DirectCallState::decl(&cfg),
        EndResult::decl(&cfg),
        DirectCallRole::decl(&cfg),
        DirectCallParticipant::decl(&cfg),
        DirectCallId::decl(&cfg),
        // Frames.
        ClientFrame::decl(&cfg),
        ServerFrame::<serde_json::Value>::decl(&cfg),
        Hello::decl(&cfg),
        IceServer::decl(&cfg),
        ResumedRoom::decl(&cfg),
        ResumedLive::decl(&cfg),
        ResponseFrame::<serde_json::Value>::decl(&cfg),
        ErrorFrame::decl(&cfg),
        Goodbye::decl(&cfg),
        GoodbyeReason::decl(&cfg),
        RequestId::decl(&cfg),
        WireError::decl(&cfg),
        // Requests.
        Request::decl(&cfg),
        Ping::decl(&cfg),
        RoomEnter::decl(&cfg),
        RoomExit::decl(&cfg),
        RoomSetMedia::decl(&cfg),
        MediaOffer::decl(&cfg),
        MediaSetLayerHint::decl(&cfg),
        LiveRoleName::decl(&cfg),
        LiveEnter::decl(&cfg),
        LiveExit::decl(&cfg),
        LiveSetReady::decl(&cfg),
        LiveStart::decl(&cfg),
        LiveEnd::decl(&cfg),
        LiveSetMedia::decl(&cfg),
        LiveChat::decl(&cfg),
        CallDial::decl(&cfg),
        CallAccept::decl(&cfg),
        CallDecline::decl(&cfg),
        CallCancel::decl(&cfg),
        CallEnd::decl(&cfg),
        CallSetMedia::decl(&cfg),
        // Results.
        Pong::decl(&cfg),
        RoomEntered::decl(&cfg),
        RoomExited::decl(&cfg),
        RoomMediaSet::decl(&cfg),
        LiveMember::decl(&cfg),
        LiveEntered::decl(&cfg),
        LiveEventResult::decl(&cfg),
        HostResult::decl(&cfg),
        MessageId::decl(&cfg),
        ChatMessage::decl(&cfg),
        ChatSent::decl(&cfg),
        MemberRef::decl(&cfg),
        OfferAnswer::decl(&cfg),
        LayerHintSet::decl(&cfg),
        LiveSeat::decl(&cfg),
        CallResult::decl(&cfg),
        // Events.
        EventFrame::decl(&cfg),
        RoomEventFrame::decl(&cfg),
        LiveEventFrame::decl(&cfg),
        RoomEvent::decl(&cfg),
        LiveEventEvent::decl(&cfg),
        CallEventFrame::decl(&cfg),
        CallEvent::decl(&cfg),
        MediaKind::decl(&cfg),
        MediaDisconnectReason::decl(&cfg),
        // The session exchange over HTTP.
        OpenSession::decl(&cfg),
        SessionOpened::decl(&cfg),
        HttpErrorBody::decl(&cfg),
    ];
    let mut out = HEADER.to_owned();
    for decl in decls {
        out.push_str("\nexport ");
        out.push_str(&decl);
        out.push('\n');
    }
    out
}

#[test]
fn the_committed_typescript_declarations_are_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/sdk/protocol.d.ts");
    let fresh = declarations();
    if std::env::var_os("OPENCALLS_BLESS_TS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "web/sdk/protocol.d.ts is stale: regenerate it with \
         OPENCALLS_BLESS_TS=1 cargo test -p opencalls-protocol --features ts --test typescript"
    );
}
