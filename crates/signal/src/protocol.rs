//! From the services' committed events to the client protocol's typed frames
//! (`opencalls-protocol`), and the rendering of every frame this crate sends.
//!
//! Invariants: the mapping from domain events is exhaustive: an event clients don't
//! receive (`room:create`, `live_event:create`) is named here as such, so a new domain event
//! fails to compile until it is given a client name or explicitly kept from clients.

use opencalls_domain::direct_call::{CallRecord, DirectCallBody};
use opencalls_domain::live_event::LiveEventBody;
use opencalls_domain::{
    DirectCallId, EndResult, Event, EventBody, LiveEvent, LiveEventId, Millis, RoomId,
};
use opencalls_protocol::response::Reply;
use opencalls_protocol::{
    CallEvent, CallEventFrame, ErrorFrame, EventFrame, Goodbye, GoodbyeReason, Hello,
    LiveEventEvent, LiveEventFrame, RequestId, ResponseFrame, RoomEvent, RoomEventFrame,
    ServerFrame, WireError,
};

type Frame = ServerFrame<Reply>;

/// The room event clients receive for a committed event, with its room; `None` for events
/// of no room client (`room:create`: nobody is in a room being created) and for live
/// events (routed by [`live_event`]).
pub fn room_event(event: &Event) -> Option<(RoomId, RoomEvent)> {
    let participant = |p: &opencalls_domain::Participant| Box::new(p.clone());
    Some(match &event.body {
        EventBody::RoomCreated { .. }
        | EventBody::LiveEvent { .. }
        | EventBody::DirectCall { .. } => return None,
        EventBody::ParticipantEntered { participant: p } => (
            p.room_id.clone(),
            RoomEvent::ParticipantEntered {
                participant: participant(p),
            },
        ),
        EventBody::ParticipantConnected { participant: p } => (
            p.room_id.clone(),
            RoomEvent::ParticipantConnected {
                participant: participant(p),
            },
        ),
        EventBody::ParticipantExited { participant: p } => (
            p.room_id.clone(),
            RoomEvent::ParticipantExited {
                participant: participant(p),
            },
        ),
        EventBody::ParticipantMediaChanged { participant: p } => (
            p.room_id.clone(),
            RoomEvent::ParticipantMediaChanged {
                participant: participant(p),
            },
        ),
        EventBody::RoomCustomItemsUpdated {
            room_id,
            custom_items,
            updated,
        } => (
            room_id.clone(),
            RoomEvent::CustomItemsUpdated {
                custom_items: custom_items.clone(),
                updated: updated.clone(),
            },
        ),
        EventBody::RoomCustomItemsDeleted {
            room_id,
            custom_items,
            deleted,
        } => (
            room_id.clone(),
            RoomEvent::CustomItemsDeleted {
                custom_items: custom_items.clone(),
                deleted: deleted.clone(),
            },
        ),
        EventBody::RoomDeleted { room } => (
            room.room_id.clone(),
            RoomEvent::Deleted {
                room: Box::new(room.clone()),
            },
        ),
    })
}

/// The live event clients receive for a committed change of a live event, carrying the
/// live event as it was right after; `None` for `live_event:create` (nobody can be in an
/// event being created).
pub fn live_event(live: &LiveEvent, body: &LiveEventBody) -> Option<LiveEventEvent> {
    let live_event = Box::new(live.clone());
    Some(match body {
        LiveEventBody::Created => return None,
        LiveEventBody::SetReady => LiveEventEvent::Ready { live_event },
        LiveEventBody::Started => LiveEventEvent::Started { live_event },
        LiveEventBody::Ended => LiveEventEvent::Ended { live_event },
        LiveEventBody::HostEntered { host } => LiveEventEvent::HostEntered {
            live_event,
            host: Box::new(host.clone()),
        },
        LiveEventBody::HostConnected { host } => LiveEventEvent::HostConnected {
            live_event,
            host: Box::new(host.clone()),
        },
        LiveEventBody::HostDisconnected { host } => LiveEventEvent::HostDisconnected {
            live_event,
            host: Box::new(host.clone()),
        },
        LiveEventBody::HostExited { host } => LiveEventEvent::HostExited {
            live_event,
            host: Box::new(host.clone()),
        },
        LiveEventBody::ParticipantEntered { participant } => LiveEventEvent::ParticipantEntered {
            live_event,
            participant: Box::new(participant.clone()),
        },
        LiveEventBody::ParticipantExited { participant } => LiveEventEvent::ParticipantExited {
            live_event,
            participant: Box::new(participant.clone()),
        },
    })
}

/// Renders a room event frame.
pub fn room_frame(room_id: &RoomId, occurred_at: Millis, event: RoomEvent) -> String {
    Frame::Event(EventFrame::Room(RoomEventFrame {
        room_id: room_id.clone(),
        occurred_at,
        event,
    }))
    .to_text()
}

/// The call events clients receive for a committed change of a direct call, each with
/// whom it goes to (see `hub::call`). Every change has a client name.
pub fn call_event(record: &CallRecord, body: &DirectCallBody) -> CallEvent {
    let call = Box::new(record.call.clone());
    match body {
        DirectCallBody::Dialed => CallEvent::Dialed { call },
        DirectCallBody::Accepted => CallEvent::Accepted { call },
        DirectCallBody::Connected => CallEvent::Connected { call },
        DirectCallBody::MediaChanged { user_id } => {
            let side = record
                .call
                .participants
                .iter()
                .find(|p| &p.user_id == user_id);
            CallEvent::MediaChanged {
                user_id: user_id.clone(),
                is_audio_on: side.is_some_and(|p| p.is_audio_on),
                is_video_on: side.is_some_and(|p| p.is_video_on),
                call,
            }
        }
        DirectCallBody::CustomItemsUpdated { updated } => CallEvent::CustomItemsUpdated {
            call,
            updated: updated.clone(),
        },
        DirectCallBody::CustomItemsDeleted { deleted } => CallEvent::CustomItemsDeleted {
            call,
            deleted: deleted.clone(),
        },
        DirectCallBody::Ended { .. } => CallEvent::Ended {
            end_result: record.call.end_result.unwrap_or(EndResult::Unknown),
            ended_by: record.call.ended_by.clone(),
            duration: record.call.duration,
            call,
        },
    }
}

/// Renders a call event frame.
pub fn call_frame(id: &DirectCallId, occurred_at: Millis, event: CallEvent) -> String {
    Frame::Event(EventFrame::Call(CallEventFrame {
        call_id: id.clone(),
        occurred_at,
        event,
    }))
    .to_text()
}

/// Renders a live event frame.
pub fn live_frame(id: &LiveEventId, occurred_at: Millis, event: LiveEventEvent) -> String {
    Frame::Event(EventFrame::Live(LiveEventFrame {
        live_event_id: id.clone(),
        occurred_at,
        event,
    }))
    .to_text()
}

pub fn hello(hello: Hello) -> String {
    Frame::Hello(Box::new(hello)).to_text()
}

pub fn response(id: RequestId, result: Reply) -> String {
    Frame::Response(ResponseFrame { id, result }).to_text()
}

pub fn error(id: Option<RequestId>, err: WireError) -> String {
    Frame::Error(ErrorFrame::new(id, err)).to_text()
}

/// Sent just before the server closes the socket on purpose.
pub fn goodbye(reason: GoodbyeReason) -> String {
    let message = "the server closed the connection".to_owned();
    Frame::Goodbye(Goodbye { reason, message }).to_text()
}

#[cfg(test)]
mod tests {
    use super::*;
    use opencalls_domain::{CustomItems, HostType, UserId};
    use serde_json::Value;

    #[test]
    fn every_live_change_but_create_has_a_client_name() {
        let change = LiveEvent::create(
            LiveEventId::generate(),
            HostType::SingleHost,
            vec![UserId::parse("h").unwrap()],
            CustomItems::default(),
            String::new(),
            1,
        )
        .unwrap();
        let live = change.live_event;
        assert_eq!(live_event(&live, &LiveEventBody::Created), None);
        let event = live_event(&live, &LiveEventBody::Ended).unwrap();
        assert_eq!(event.name(), "live.ended");
        let frame: Value =
            serde_json::from_str(&live_frame(&live.live_event_id, 5, event)).unwrap();
        assert_eq!(frame["type"], "event");
        assert_eq!(frame["event"], "live.ended");
        assert_eq!(frame["occurred_at"], 5);
        let id = live.live_event_id.as_str();
        assert_eq!(frame["live_event_id"], id);
        assert_eq!(frame["data"]["live_event"]["live_event_id"], id);
    }
}
