//! Listing requests and pages, already validated by the service layer.

use crate::Cursor;
use opencalls_domain::{Millis, RoomId, RoomState, RoomType};

/// Page size and position. `limit` is within 1..=100 (the services check it).
#[derive(Clone, Copy, Debug)]
pub struct PageRequest {
    pub limit: usize,
    pub cursor: Option<Cursor>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: 10,
            cursor: None,
        }
    }
}

/// One page of a listing, newest first, with cursors to the neighbouring pages.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
    pub prev: Option<Cursor>,
}

/// Filters of `GET /v1/rooms`; every field narrows the result, empty sets mean "any".
#[derive(Clone, Debug, Default)]
pub struct RoomQuery {
    pub types: Vec<RoomType>,
    pub states: Vec<RoomState>,
    pub room_ids: Vec<RoomId>,
    pub created_by: Vec<String>,
    /// Inclusive lower bound of `created_at`.
    pub created_at_start: Option<Millis>,
    /// Exclusive upper bound of `created_at`.
    pub created_at_end: Option<Millis>,
    pub participants_gte: Option<i64>,
    pub participants_lte: Option<i64>,
    pub page: PageRequest,
}
