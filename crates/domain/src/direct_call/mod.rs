//! The direct call (1:1): one caller, one callee, `ringing → accepted → connected → ended`.
//!
//! [`DirectCall`] is the Platform API resource (`GET /v1/direct_calls/{call_id}`) and what
//! the client protocol carries in `call.*` frames. The server is the only authority for
//! `end_result`, `ended_by` and `duration` (milliseconds from accept to end).

mod events;
mod machine;
mod resource;

pub use machine::{
    CUSTOM_ITEMS_RULE, CallChange, CallRecord, CallTimeouts, CallTimer, DialRequest, DirectCallBody,
};
pub use resource::{
    CallType, DirectCall, DirectCallParticipant, DirectCallRole, DirectCallState, EndResult,
};
