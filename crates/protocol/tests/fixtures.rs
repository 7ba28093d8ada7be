//! Replays the frames recorded from the server before this crate existed (tests/fixtures,
//! see its README): each parses into its typed frame, and serializing the typed value gives
//! back exactly the recorded JSON. Every request type, response, error code, event, goodbye
//! reason and `hello` has a fixture.

use opencalls_protocol::request::{
    CallAccept, CallDial, CallEnd, LiveChat, LiveEnter, LiveExit, LiveSetMedia, LiveStart,
    MediaOffer, MediaSetLayerHint, Ping, RoomEnter, RoomExit, RoomSetMedia,
};
use opencalls_protocol::response::Reply;
use opencalls_protocol::{
    Call, ClientFrame, ErrorCode, EventFrame, GoodbyeReason, RequestKind, ResponseFrame,
    ServerFrame,
};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn dir(side: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(side)
}

/// `(file stem, recorded JSON)` of every fixture of one side.
fn fixtures(side: &str) -> Vec<(String, Value)> {
    let mut all: Vec<_> = std::fs::read_dir(dir(side))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            (stem, serde_json::from_str(&text).unwrap())
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

fn json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap()
}

#[test]
fn every_recorded_request_round_trips() {
    let mut kinds = Vec::new();
    for (name, recorded) in fixtures("client") {
        let frame: ClientFrame =
            serde_json::from_value(recorded.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(json(&frame), recorded, "{name}");
        assert_eq!(name.split('.').take(2).collect::<Vec<_>>().join("."), {
            let kind = frame.request.kind().as_str();
            kind.split('.').take(2).collect::<Vec<_>>().join(".")
        });
        kinds.push(frame.request.kind());
    }
    for kind in all_kinds() {
        assert!(kinds.contains(&kind), "no fixture for {}", kind.as_str());
    }
}

fn all_kinds() -> [RequestKind; 19] {
    use RequestKind::*;
    [
        Ping,
        RoomEnter,
        RoomExit,
        RoomSetMedia,
        MediaOffer,
        MediaSetLayerHint,
        LiveEnter,
        LiveExit,
        LiveSetReady,
        LiveStart,
        LiveEnd,
        LiveSetMedia,
        LiveChat,
        CallDial,
        CallAccept,
        CallDecline,
        CallCancel,
        CallEnd,
        CallSetMedia,
    ]
}

/// Decodes a recorded result as `C::Output`, renders it as the server does, and compares.
fn check_result<C: Call>(name: &str, recorded: &Value, wrap: fn(C::Output) -> Reply)
where
    C::Output: Serialize,
{
    let frame: ServerFrame = serde_json::from_value(recorded.clone()).unwrap();
    let ServerFrame::Response(ResponseFrame { id, result }) = frame else {
        panic!("{name}: not a response");
    };
    let typed: C::Output =
        serde_json::from_value(result.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(json(&typed), result, "{name}: result round trip");
    let rendered = ServerFrame::Response(ResponseFrame {
        id,
        result: wrap(typed),
    });
    let text = rendered.to_text();
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        *recorded,
        "{name}"
    );
}

#[test]
fn every_recorded_response_round_trips_through_its_typed_result() {
    let mut seen = Vec::new();
    for (name, recorded) in fixtures("server") {
        let Some(kind) = name.strip_prefix("response.") else {
            continue;
        };
        match kind {
            "ping" => check_result::<Ping>(&name, &recorded, Reply::Pong),
            "room.enter" => {
                check_result::<RoomEnter>(&name, &recorded, |r| Reply::RoomEntered(Box::new(r)))
            }
            "room.exit" => {
                check_result::<RoomExit>(&name, &recorded, |r| Reply::RoomExited(Box::new(r)))
            }
            "room.set_media" => {
                check_result::<RoomSetMedia>(&name, &recorded, |r| Reply::RoomMediaSet(Box::new(r)))
            }
            "media.set_layer_hint" => {
                check_result::<MediaSetLayerHint>(&name, &recorded, Reply::LayerHint)
            }
            "live.exit.participant" => {
                check_result::<LiveExit>(&name, &recorded, Reply::LiveMember)
            }
            "live.enter.host" | "live.enter.participant" => {
                check_result::<LiveEnter>(&name, &recorded, |r| Reply::LiveEntered(Box::new(r)))
            }
            "live.start" => {
                check_result::<LiveStart>(&name, &recorded, |r| Reply::LiveEvent(Box::new(r)))
            }
            "live.set_media" => {
                check_result::<LiveSetMedia>(&name, &recorded, |r| Reply::Host(Box::new(r)))
            }
            "live.chat" => check_result::<LiveChat>(&name, &recorded, |r| Reply::Chat(Box::new(r))),
            "call.dial" => check_result::<CallDial>(&name, &recorded, |r| Reply::Call(Box::new(r))),
            "call.accept" => {
                check_result::<CallAccept>(&name, &recorded, |r| Reply::Call(Box::new(r)))
            }
            "call.end" => check_result::<CallEnd>(&name, &recorded, |r| Reply::Call(Box::new(r))),
            offer if offer.starts_with("media.offer.") => {
                check_result::<MediaOffer>(&name, &recorded, Reply::Offer)
            }
            other => panic!("a response fixture nobody checks: {other}"),
        }
        seen.push(kind.to_owned());
    }
    assert_eq!(seen.len(), 18, "{seen:?}");
}

/// Parses a recorded server frame and renders it again.
fn round_trip(name: &str, recorded: &Value) -> ServerFrame {
    let frame: ServerFrame =
        serde_json::from_value(recorded.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let text = frame.to_text();
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        *recorded,
        "{name}"
    );
    frame
}

#[test]
fn every_recorded_push_round_trips() {
    let (mut events, mut reasons, mut codes, mut hellos) = (Vec::new(), Vec::new(), Vec::new(), 0);
    for (name, recorded) in fixtures("server") {
        if name.starts_with("response.") {
            continue;
        }
        match round_trip(&name, &recorded) {
            ServerFrame::Hello(hello) => {
                assert_eq!(hello.protocol, opencalls_protocol::PROTOCOL);
                hellos += 1;
            }
            ServerFrame::Event(frame) => {
                let scope = match &frame {
                    EventFrame::Room(_) => "room",
                    EventFrame::Live(_) => "live",
                    EventFrame::Call(_) => "call",
                };
                assert!(
                    name.starts_with(&format!("event.{}", frame.name())),
                    "{name}"
                );
                events.push(format!("{scope}:{}", frame.name()));
            }
            ServerFrame::Goodbye(goodbye) => {
                assert_eq!(name, format!("goodbye.{}", goodbye.reason.as_str()));
                reasons.push(goodbye.reason);
            }
            ServerFrame::Error(error) => {
                assert!(name.starts_with(&format!("error.{}", error.code)), "{name}");
                assert!(!matches!(error.code, ErrorCode::Other(_)), "{name}");
                codes.push(error.code);
            }
            ServerFrame::Response(_) => panic!("{name}: a response outside response.*"),
        }
    }
    assert_eq!(hellos, 2);
    assert_eq!(
        reasons.len(),
        6,
        "one fixture per goodbye reason: {reasons:?}"
    );
    assert_eq!(
        GoodbyeReason::TooSlow.close_code(),
        4004,
        "close codes are part of the protocol"
    );
    let client_codes = [400100, 400111, 400200, 429100, 1400120, 1400122, 1400126];
    let live_codes = [2800101, 2800102, 2800103];
    let call_codes = [1400101, 1400102, 1400103, 1400104, 1400105];
    for code in client_codes.into_iter().chain(live_codes).chain(call_codes) {
        assert!(
            codes.contains(&ErrorCode::from(code)),
            "no fixture for {code}"
        );
    }
    events.sort();
    events.dedup();
    assert_eq!(events.len(), 35, "{events:#?}");
}
