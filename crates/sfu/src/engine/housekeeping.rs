//! The core's periodic work, run from `SfuCore::handle_timeout`: connect and transport
//! timeouts, stopped media, audio levels and the active-speaker selection of audio-only
//! groups.
//!
//! Invariants: a peer is removed at the first housekeeping after its deadline
//! (`connect_timeout` from creation until ICE+DTLS are up, then `transport_timeout` of
//! silence), so the precision is `housekeeping_interval`; speakers change only on a tick.

use std::time::Instant;

use super::SfuCore;
use crate::api::{DisconnectReason, Kind, Policy, SfuEvent};

impl SfuCore {
    /// Connect/transport timeouts, dead transports and stopped media.
    pub(super) fn housekeeping(&mut self, now: Instant) {
        let mut dead = Vec::new();
        let mut stopped = Vec::new();
        for peer in self.peers.values_mut() {
            if !peer.rtc.is_alive() {
                dead.push((peer.key, DisconnectReason::TransportLost));
            } else if !peer.transport_up
                && now.duration_since(peer.created) > self.cfg.connect_timeout
            {
                dead.push((peer.key, DisconnectReason::ConnectTimeout));
            } else if peer.transport_up
                && now.duration_since(peer.last_rx) > self.cfg.transport_timeout
            {
                dead.push((peer.key, DisconnectReason::TransportLost));
            }
            for ingress in &mut peer.ingress {
                let silent = ingress
                    .last_media
                    .is_none_or(|t| now.duration_since(t) > self.cfg.media_timeout);
                if ingress.active && silent {
                    ingress.active = false;
                    ingress.loudness = 0.0;
                    stopped.push(SfuEvent::MediaStopped {
                        group: peer.group.clone(),
                        peer: peer.id.clone(),
                        kind: ingress.kind,
                    });
                }
            }
        }
        for event in stopped {
            self.emit(event);
        }
        for (key, reason) in dead {
            self.drop_peer(key, reason);
        }
    }

    /// Audio levels and, for audio-only groups, the active speaker set.
    pub(super) fn speaker_tick(&mut self) {
        let mut levels = Vec::new();
        for peer in self.peers.values() {
            if let Some(audio) = peer
                .ingress_of(Kind::Audio)
                .filter(|i| i.active && !i.paused)
            {
                levels.push(SfuEvent::AudioLevel {
                    group: peer.group.clone(),
                    peer: peer.id.clone(),
                    level: audio.level(),
                });
            }
        }
        for event in levels {
            self.emit(event);
        }
        let mut changed = Vec::new();
        for group in self.groups.values_mut() {
            if let Policy::AudioOnly {
                max_active_speakers,
            } = group.policy
                && group.update_speakers(&self.peers, max_active_speakers)
            {
                changed.push(group.id.clone());
            }
        }
        for id in changed {
            let Some(group) = self.groups.get(&id) else {
                continue;
            };
            let speakers = group
                .speakers
                .iter()
                .filter_map(|k| self.peers.get(k))
                .map(|p| p.id.clone())
                .collect();
            self.emit(SfuEvent::ActiveSpeakersChanged {
                group: id.clone(),
                speakers,
            });
            self.reroute(&id);
        }
    }
}
