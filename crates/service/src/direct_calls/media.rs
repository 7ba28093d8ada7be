//! The media sides of direct calls, as the media bridge reports them: which side's
//! transport is up, and which is lost (waiting out the media grace). In memory only: after
//! a restart every open call ends `unknown`, so nothing here needs to survive one.
//!
//! Invariants: the call becomes `connected` the first time both sides are up while it is
//! `accepted`; a lost side ends the call `connection_lost` only if it is still lost (same
//! loss generation) when its grace runs out.

use super::DirectCallService;
use opencalls_domain::{DirectCallId, DirectCallRole, UserId};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Default)]
struct Side {
    up: bool,
    /// Lost and waiting out the media grace.
    lost: bool,
}

#[derive(Default)]
struct Sides {
    caller: Side,
    callee: Side,
    /// Bumped on every loss and recovery; a grace timer acts only on its own.
    generation: u64,
}

impl Sides {
    fn side(&mut self, role: DirectCallRole) -> &mut Side {
        match role {
            DirectCallRole::Caller => &mut self.caller,
            DirectCallRole::Callee => &mut self.callee,
        }
    }
}

#[derive(Default)]
pub(super) struct MediaSides {
    calls: Mutex<HashMap<DirectCallId, Sides>>,
}

impl MediaSides {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<DirectCallId, Sides>) -> T) -> T {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut calls)
    }

    pub(super) fn forget(&self, id: &DirectCallId) {
        self.with(|calls| calls.remove(id));
    }

    /// The side whose media is not up (the callee when neither is).
    pub(super) fn lagging(&self, id: &DirectCallId) -> Option<DirectCallRole> {
        self.with(|calls| match calls.get(id) {
            Some(s) if s.callee.up && !s.caller.up => Some(DirectCallRole::Caller),
            _ => Some(DirectCallRole::Callee),
        })
    }
}

/// What a media report changed, for the bridge to tell the devices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaReport {
    /// Nothing a client needs to hear.
    Quiet,
    /// The side's media came back within its grace.
    Recovered,
    /// The side's media was lost; the grace timer runs.
    Lost,
}

impl DirectCallService {
    /// `user`'s media transport in call `id` is up. Marks the call `connected` once both
    /// sides are; returns whether this was a recovery.
    pub async fn media_up(&self, id: &DirectCallId, user: &UserId) -> MediaReport {
        let Ok(record) = self.record(id).await else {
            return MediaReport::Quiet;
        };
        let Some(role) = record.call.role_of(user) else {
            return MediaReport::Quiet;
        };
        let (both, recovered) = self.media.with(|calls| {
            let sides = calls.entry(id.clone()).or_default();
            let side = sides.side(role);
            let recovered = std::mem::take(&mut side.lost);
            side.up = true;
            if recovered {
                sides.generation += 1;
            }
            (sides.caller.up && sides.callee.up, recovered)
        });
        if both && record.call.accepted_at.is_some() && record.call.connected_at.is_none() {
            let result = self.transition(id, |r, now| r.mark_connected(now)).await;
            if let Err(err) = result {
                tracing::debug!(%id, %err, "marking a call connected");
            }
        }
        if recovered {
            MediaReport::Recovered
        } else {
            MediaReport::Quiet
        }
    }

    /// `user`'s media transport in call `id` was lost: unless it comes back within the
    /// media grace, the call ends `connection_lost` with `user` as `ended_by`.
    pub async fn media_lost(&self, id: &DirectCallId, user: &UserId) -> MediaReport {
        let Ok(record) = self.record(id).await else {
            return MediaReport::Quiet;
        };
        let Some(role) = record.call.role_of(user).filter(|_| !record.is_ended()) else {
            return MediaReport::Quiet;
        };
        let generation = self.media.with(|calls| {
            let sides = calls.entry(id.clone()).or_default();
            *sides.side(role) = Side {
                up: false,
                lost: true,
            };
            sides.generation += 1;
            sides.generation
        });
        let (service, id, user) = (self.clone(), id.clone(), user.clone());
        let grace = Duration::from_millis(self.timeouts().media_grace_ms.max(0) as u64);
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            let still_lost = service
                .media
                .with(|calls| calls.get(&id).is_some_and(|s| s.generation == generation));
            if still_lost {
                let result = service
                    .transition(&id, move |r, now| r.lose(&user, now))
                    .await;
                if let Err(err) = result {
                    tracing::debug!(%id, %err, "ending a call whose media was lost");
                }
            }
        });
        MediaReport::Lost
    }
}
