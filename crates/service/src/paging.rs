//! Validation of the `limit` / `next` / `prev` parameters shared by every listing.

use opencalls_domain::DomainError;
use opencalls_store::{Cursor, CursorKind, Page, PageRequest};

pub const DEFAULT_LIMIT: i64 = 10;
pub const MAX_LIMIT: i64 = 100;

/// Paging parameters as received (already parsed as numbers / strings).
#[derive(Clone, Debug, Default)]
pub struct PageParams {
    pub limit: Option<i64>,
    pub next: Option<String>,
    pub prev: Option<String>,
}

impl PageParams {
    pub fn validate(&self, kind: CursorKind) -> Result<PageRequest, DomainError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(DomainError::invalid(format!(
                "limit must be between 1 and {MAX_LIMIT}, got {limit}"
            )));
        }
        let cursor = match (non_empty(&self.next), non_empty(&self.prev)) {
            (Some(_), Some(_)) => {
                return Err(DomainError::invalid("next and prev can't be used together"));
            }
            (Some(raw), None) | (None, Some(raw)) => Some(
                Cursor::decode(raw, kind)
                    .map_err(|_| DomainError::invalid("the pagination cursor is malformed"))?,
            ),
            (None, None) => None,
        };
        Ok(PageRequest {
            limit: limit as usize,
            cursor,
        })
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

/// A page ready for an adapter: items and encoded cursors.
#[derive(Clone, Debug)]
pub struct ListPage<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
    pub prev: Option<String>,
}

impl<T> ListPage<T> {
    pub fn from_page(page: Page<T>, kind: CursorKind) -> Self {
        Self {
            items: page.items,
            next: page.next.map(|c| c.encode(kind)),
            prev: page.prev.map(|c| c.encode(kind)),
        }
    }
}
