//! The direct-call resource and its enums, in the spec sheet's JSON shape
//! (`../shared/spec/direct-calls.md` §1).
//!
//! Invariants: exactly two participants, the caller first; `end_result`, `ended_by` and
//! `ended_at` are set together, once, when the state becomes `ended`; `duration` is 0 until
//! an accepted call ends.

use crate::{CustomItems, DirectCallId, Millis, UserId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The kind of a call; a direct call is always `"direct"`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CallType {
    #[default]
    Direct,
}

/// Where a direct call is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum DirectCallState {
    /// Dialed; the callee's devices ring.
    Ringing,
    /// A callee device accepted; media is being set up.
    Accepted,
    /// Media flows both ways.
    Connected,
    Ended,
}

impl DirectCallState {
    pub const ALL: [DirectCallState; 4] = [
        DirectCallState::Ringing,
        DirectCallState::Accepted,
        DirectCallState::Connected,
        DirectCallState::Ended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ringing => "ringing",
            Self::Accepted => "accepted",
            Self::Connected => "connected",
            Self::Ended => "ended",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// How a direct call ended (the server's values of the spec sheet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum EndResult {
    /// Accepted, then either side hung up.
    Completed,
    /// The caller hung up before an answer.
    Canceled,
    /// The callee refused.
    Declined,
    /// Nobody answered within the ring timeout.
    NoAnswer,
    /// Accepted, but media did not connect within the connect timeout.
    TimedOut,
    /// Media was lost for longer than the grace period, or a side's device went away.
    ConnectionLost,
    /// Anything else (e.g. a server restart during the call).
    Unknown,
}

impl EndResult {
    pub const ALL: [EndResult; 7] = [
        EndResult::Completed,
        EndResult::Canceled,
        EndResult::Declined,
        EndResult::NoAnswer,
        EndResult::TimedOut,
        EndResult::ConnectionLost,
        EndResult::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Canceled => "canceled",
            Self::Declined => "declined",
            Self::NoAnswer => "no_answer",
            Self::TimedOut => "timed_out",
            Self::ConnectionLost => "connection_lost",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == raw)
    }
}

/// A user's side of a direct call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum DirectCallRole {
    #[serde(rename = "dc_caller")]
    Caller,
    #[serde(rename = "dc_callee")]
    Callee,
}

impl DirectCallRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Caller => "dc_caller",
            Self::Callee => "dc_callee",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "dc_caller" => Some(Self::Caller),
            "dc_callee" => Some(Self::Callee),
            _ => None,
        }
    }
}

/// One side of a direct call: the user's profile as of the dial, its role, and its media
/// flags as last set (dial, accept, `call.set_media`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DirectCallParticipant {
    #[schema(value_type = String)]
    pub user_id: UserId,
    pub nickname: String,
    pub profile_url: String,
    #[schema(value_type = Object)]
    pub metadata: BTreeMap<String, String>,
    pub is_active: bool,
    pub role: DirectCallRole,
    pub is_audio_on: bool,
    pub is_video_on: bool,
}

/// A direct call, as the Platform API and the client protocol show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DirectCall {
    #[schema(value_type = String)]
    pub call_id: DirectCallId,
    pub call_type: CallType,
    pub is_video_call: bool,
    pub state: DirectCallState,
    /// `null` until the call ends.
    pub end_result: Option<EndResult>,
    /// The requesting user's side; only present when a request is scoped to a user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub user_role: Option<DirectCallRole>,
    /// The caller, then the callee.
    pub participants: Vec<DirectCallParticipant>,
    #[schema(value_type = String)]
    pub started_by: UserId,
    /// Dial time.
    pub started_at: Millis,
    /// When a callee device accepted (`null` if it never did).
    pub accepted_at: Option<Millis>,
    /// When media first flowed both ways (`null` if it never did).
    pub connected_at: Option<Millis>,
    /// The user whose action (or whose lost device) ended the call; `null` while ongoing.
    #[schema(value_type = Option<String>)]
    pub ended_by: Option<UserId>,
    pub ended_at: Option<Millis>,
    /// Milliseconds from accept to end; 0 until an accepted call ends.
    pub duration: Millis,
    pub custom_items: CustomItems,
}

impl DirectCall {
    /// The caller's side.
    pub fn caller(&self) -> Option<&DirectCallParticipant> {
        self.side(DirectCallRole::Caller)
    }

    /// The callee's side.
    pub fn callee(&self) -> Option<&DirectCallParticipant> {
        self.side(DirectCallRole::Callee)
    }

    /// The participant with `role`.
    pub fn side(&self, role: DirectCallRole) -> Option<&DirectCallParticipant> {
        self.participants.iter().find(|p| p.role == role)
    }

    /// `user`'s side of the call, if it takes part.
    pub fn side_of(&self, user: &UserId) -> Option<&DirectCallParticipant> {
        self.participants.iter().find(|p| &p.user_id == user)
    }

    /// `user`'s role in this call, if it takes part.
    pub fn role_of(&self, user: &UserId) -> Option<DirectCallRole> {
        self.participants
            .iter()
            .find(|p| &p.user_id == user)
            .map(|p| p.role)
    }

    /// The call as seen by `user` (`user_role` set when `user` takes part).
    pub fn for_user(mut self, user: &UserId) -> Self {
        self.user_role = self.role_of(user);
        self
    }
}
