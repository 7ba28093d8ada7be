//! The core's commands (the control path): create/remove groups and peers, subscriptions,
//! pause, live forwarding. Every command validates first and changes nothing on error; its
//! effects (events, datagrams) are queued like those of any other input.

use std::time::Instant;

use str0m::bwe::Bitrate;
use str0m::change::SdpOffer;
use str0m::net::{Protocol, TcpType};
use str0m::rtp::{Extension, ExtensionMap};
use str0m::{Candidate, IceCreds, Rtc};

use super::SfuCore;
use super::group::Group;
use super::mirror::Placement;
use super::offer::{OfferedMedia, summarize};
use super::peer::{Peer, PeerKey, VideoSend};
use crate::api::{
    DisconnectReason, GroupId, KeyframeCause, Kind, PeerId, Policy, Role, SfuError, Subscriptions,
};
use crate::config::{INITIAL_ESTIMATE_KBPS, MAX_HINT_HEIGHT, MAX_OFFER_BYTES, MAX_SLOTS_PER_KIND};
use crate::handle::AddPeer;

impl SfuCore {
    /// Creates an empty group (`AudioOnly` with 0 speakers gets the configured default).
    pub fn create_group(&mut self, id: GroupId, policy: Policy) -> Result<(), SfuError> {
        self.create_group_at(id, policy, Placement::Whole)
    }

    /// Creates an empty group placed as `placement` says: whole here, or the home or a
    /// mirror of a live group spread over the workers (`super::mirror`; only live groups
    /// are spread, since only their viewers all receive one host).
    pub fn create_group_at(
        &mut self,
        id: GroupId,
        policy: Policy,
        placement: Placement,
    ) -> Result<(), SfuError> {
        if self.groups.contains_key(&id) {
            return Err(SfuError::GroupExists(id));
        }
        if self.groups.len() >= self.cfg.max_groups {
            return Err(SfuError::LimitReached("max_groups"));
        }
        let policy = match policy {
            Policy::AudioOnly {
                max_active_speakers: 0,
            } => Policy::AudioOnly {
                max_active_speakers: self.cfg.default_active_speakers,
            },
            other => other,
        };
        self.groups
            .insert(id.clone(), Group::new(id, policy, placement));
        Ok(())
    }

    /// Removes every peer of the group (each gets `PeerDisconnected { Removed }`), then it.
    pub fn remove_group(&mut self, id: &GroupId) -> Result<(), SfuError> {
        let group = self
            .groups
            .get(id)
            .ok_or_else(|| SfuError::GroupNotFound(id.clone()))?;
        for key in group.members.clone() {
            self.drop_peer(key, DisconnectReason::Removed);
        }
        self.groups.remove(id);
        self.remotes.retain(|_, group| group != id);
        Ok(())
    }

    fn check_offer(&self, req: &AddPeer, media: &[OfferedMedia]) -> Result<(), SfuError> {
        // A replaced peer that is already gone (it timed out and the event saying so was
        // lost on the way to the bridge) is no reason to refuse a valid offer.
        let replaced = req
            .replaces
            .as_ref()
            .and_then(|old| self.ids.get(old).copied());
        let group = self
            .groups
            .get(&req.group)
            .ok_or_else(|| SfuError::GroupNotFound(req.group.clone()))?;
        if self.ids.contains_key(&req.peer) {
            return Err(SfuError::PeerExists(req.peer.clone()));
        }
        if replaced
            .and_then(|k| self.peers.get(&k))
            .is_some_and(|old| old.group != req.group)
        {
            return Err(SfuError::InvalidOffer(
                "a peer can only replace a peer of its own group".into(),
            ));
        }
        if self.peers.len() - usize::from(replaced.is_some()) >= self.cfg.max_peers {
            return Err(SfuError::LimitReached("max_peers"));
        }
        match (group.policy, req.role) {
            (Policy::Live, Role::Participant)
            | (Policy::Video | Policy::AudioOnly { .. }, Role::Host) => {
                return Err(SfuError::RoleNotAllowed(req.role));
            }
            (Policy::Live, Role::Host) if group.host.is_some() && group.host != replaced => {
                return Err(SfuError::HostExists);
            }
            // The directory places hosts on their group's home; a mirror has its host there.
            (Policy::Live, Role::Host) if matches!(group.placement, Placement::Mirror { .. }) => {
                return Err(SfuError::RoleNotAllowed(req.role));
            }
            _ => {}
        }
        let enabled = media.iter().filter(|m| !m.disabled);
        if matches!(group.policy, Policy::AudioOnly { .. })
            && enabled.clone().any(|m| m.kind == Kind::Video)
        {
            return Err(SfuError::VideoNotAllowed);
        }
        if req.role == Role::Viewer && media.iter().any(OfferedMedia::sends) {
            return Err(SfuError::PublishNotAllowed);
        }
        for kind in [Kind::Audio, Kind::Video] {
            let slots = media
                .iter()
                .filter(|m| m.kind == kind && m.receives())
                .count();
            if slots > MAX_SLOTS_PER_KIND {
                return Err(SfuError::LimitReached("receive slots per kind"));
            }
            if media.iter().filter(|m| m.kind == kind && m.sends()).count() > 1 {
                return Err(SfuError::InvalidOffer(format!(
                    "more than one sending {kind:?} section"
                )));
            }
        }
        Ok(())
    }

    /// Tells a replacement transport which SSRC carries which simulcast layer of the peer
    /// it replaces. An ICE restart keeps the browser's peer connection and its SSRCs, and a
    /// browser stops tagging packets with their rid once they were acknowledged, so a new
    /// transport that was not told would drop every layer. (An offer from a fresh peer
    /// connection uses new SSRCs; str0m moves a layer to its new SSRC when it is tagged.)
    fn carry_simulcast_streams(&mut self, old: &PeerId, rtc: &mut Rtc) {
        let Some(peer) = self.ids.get(old).and_then(|k| self.peers.get_mut(k)) else {
            return;
        };
        let mut streams = Vec::new();
        for ingress in &peer.ingress {
            for rid in ingress.layers.rids() {
                let mut api = peer.rtc.direct_api();
                if let Some(rx) = api.stream_rx_by_mid(ingress.mid, Some(rid)) {
                    streams.push((rx.ssrc(), rx.rtx(), ingress.mid, rid));
                }
            }
        }
        for (ssrc, rtx, mid, rid) in streams {
            // `expect_stream_rx` needs the m-line in the new transport too.
            if rtc.media(mid).is_some() {
                rtc.direct_api().expect_stream_rx(ssrc, rtx, mid, Some(rid));
            }
        }
    }

    /// Adds a peer from its SDP offer and returns the SDP answer.
    pub fn add_peer(&mut self, now: Instant, req: AddPeer) -> Result<String, SfuError> {
        if req.offer.len() > MAX_OFFER_BYTES {
            return Err(SfuError::InvalidOffer("offer too large".into()));
        }
        let media = summarize(&req.offer);
        self.check_offer(&req, &media)?;
        let offer = SdpOffer::from_sdp_string(&req.offer)
            .map_err(|e| SfuError::InvalidOffer(e.to_string()))?;
        let estimate = self.wants_estimator(&req, &media);
        // Without the estimator, a peer that sends nothing has no use for transport-wide
        // congestion control: its TWCC feedback (several RTCP reports a second per viewer)
        // would only be parsed and dropped. A publisher keeps it: its own sender estimates
        // from the SFU's feedback.
        let twcc = estimate || media.iter().any(OfferedMedia::sends);
        let (mut rtc, creds) = self.build_rtc(now, estimate, twcc)?;
        let answer = rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| SfuError::InvalidOffer(e.to_string()))?;
        // The offer is accepted: only now does the peer it replaces go.
        if let Some(old) = req
            .replaces
            .as_ref()
            .filter(|old| self.ids.contains_key(*old))
        {
            self.carry_simulcast_streams(old, &mut rtc);
            self.remove_peer(old)?;
        }
        let key = PeerKey(self.next_key);
        self.next_key += 1;
        let peer = Peer::new(key, &req, &media, (rtc, creds.ufrag), estimate, now);
        self.admit(now, peer);
        Ok(answer.to_sdp_string())
    }

    /// Whether a peer with this offer gets the bandwidth estimator: only one that receives
    /// video it could be given another layer of needs it (its pacer costs str0m timeouts and
    /// TWCC work per packet).
    fn wants_estimator(&self, req: &AddPeer, media: &[OfferedMedia]) -> bool {
        let receives_video = media.iter().any(|m| m.kind == Kind::Video && m.receives());
        let replaced = req
            .replaces
            .as_ref()
            .and_then(|old| self.ids.get(old).copied());
        self.cfg.bandwidth_estimation && receives_video && self.could_adapt(&req.group, replaced)
    }

    /// Enters a newly built peer in the core's tables, the demux and its group, then
    /// routes the group.
    fn admit(&mut self, now: Instant, peer: Peer) {
        let (key, group_id, role) = (peer.key, peer.group.clone(), peer.role);
        self.ids.insert(peer.id.clone(), key);
        self.demux.add_ufrag(peer.ufrag.clone(), key);
        self.peers.insert(key, peer);
        if let Some(group) = self.groups.get_mut(&group_id) {
            group.members.push(key);
            if role == Role::Host {
                group.host = Some(key);
            }
        }
        // str0m reports the m-lines (MediaAdded) on this drain or a later one; either way
        // `process` routes the group once they are registered.
        self.drain(key);
        self.process(now);
        self.reroute(&group_id);
    }

    /// Whether a new subscriber of `group` could use a bandwidth estimate: some video
    /// publisher there (other than the peer being replaced) sends simulcast, or none sends
    /// video yet (unknown, so the estimator stays on). A peer built without it gets
    /// single-layer video as it comes; if a simulcast publisher joins later, it gets the
    /// tallest layer its hint allows (as with `bandwidth_estimation` off) until it offers
    /// again.
    fn could_adapt(&self, group: &GroupId, replaced: Option<PeerKey>) -> bool {
        let Some(group) = self.groups.get(group) else {
            return true;
        };
        let remote = group.remote.iter().map(|host| host.video_send);
        let mut publishers = group
            .members
            .iter()
            .filter(|key| Some(**key) != replaced)
            .filter_map(|key| self.peers.get(key))
            .map(|peer| peer.video_send)
            .chain(remote)
            .filter(|send| *send != VideoSend::None)
            .peekable();
        publishers.peek().is_none() || publishers.any(|send| send == VideoSend::Simulcast)
    }

    /// A fresh ICE-lite `Rtc` with random ICE credentials and the advertised host candidates;
    /// `bwe`: with the bandwidth estimator (and its pacer); `twcc`: with the transport-wide
    /// sequence number extension (str0m's standard map), else without it.
    fn build_rtc(&self, now: Instant, bwe: bool, twcc: bool) -> Result<(Rtc, IceCreds), SfuError> {
        let creds = IceCreds::new();
        let builder = Rtc::builder();
        let builder = if twcc {
            builder
        } else {
            builder.set_extension_map(without_twcc())
        };
        #[cfg(test)]
        let builder = match &self.dtls_cert {
            Some(cert) => builder.set_dtls_cert(cert.clone()),
            None => builder,
        };
        // The TWCC estimator of the downlink picks subscribers' simulcast layers.
        let initial = bwe.then_some(Bitrate::kbps(INITIAL_ESTIMATE_KBPS));
        let mut rtc = builder
            .enable_bwe(initial)
            .set_ice_lite(true)
            .set_local_ice_credentials(creds.clone())
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .set_reordering_size_audio(self.cfg.audio_reorder_packets)
            .set_reordering_timeout_audio(Some(self.cfg.audio_reorder_timeout))
            .build(now);
        for (proto, addr) in &self.candidates {
            let candidate = match proto {
                Protocol::Tcp => Candidate::builder()
                    .tcp()
                    .host(*addr)
                    .tcptype(TcpType::Passive)
                    .build(),
                _ => Candidate::host(*addr, *proto),
            };
            rtc.add_local_candidate(candidate.map_err(|e| SfuError::Io(e.to_string()))?);
        }
        Ok((rtc, creds))
    }

    fn key_of(&self, id: &PeerId) -> Result<PeerKey, SfuError> {
        self.ids
            .get(id)
            .copied()
            .ok_or_else(|| SfuError::PeerNotFound(id.clone()))
    }

    /// Removes a peer (`PeerDisconnected { Removed }`) and idles the slots it fed.
    pub fn remove_peer(&mut self, id: &PeerId) -> Result<(), SfuError> {
        let key = self.key_of(id)?;
        self.drop_peer(key, DisconnectReason::Removed);
        Ok(())
    }

    /// Whose tracks the peer receives (within the group's policy).
    pub fn set_subscriptions(&mut self, id: &PeerId, subs: Subscriptions) -> Result<(), SfuError> {
        let key = self.key_of(id)?;
        let Some(peer) = self.peers.get_mut(&key) else {
            return Err(SfuError::PeerNotFound(id.clone()));
        };
        peer.subscriptions = subs;
        let group = peer.group.clone();
        self.reroute(&group);
        Ok(())
    }

    /// The subscriber's hint for receive slot `mid`: render no taller than `max_height`
    /// pixels (`None` = no cap). Simulcast slots then get the tallest layer within it (the
    /// lowest if none is) from the next adaptation tick on; other slots ignore it.
    pub fn set_layer_hint(
        &mut self,
        id: &PeerId,
        mid: &str,
        max_height: Option<u32>,
    ) -> Result<(), SfuError> {
        if max_height.is_some_and(|h| h == 0 || h > MAX_HINT_HEIGHT) {
            return Err(SfuError::InvalidHint(format!(
                "max_height must be 1..={MAX_HINT_HEIGHT}"
            )));
        }
        let key = self.key_of(id)?;
        let Some(peer) = self.peers.get_mut(&key) else {
            return Err(SfuError::PeerNotFound(id.clone()));
        };
        let slot = peer
            .slots
            .iter_mut()
            .find(|s| s.kind == Kind::Video && s.mid.to_string() == mid)
            .ok_or_else(|| SfuError::InvalidHint(format!("no video receive slot {mid:?}")))?;
        slot.max_height = max_height;
        Ok(())
    }

    /// Stops or restarts forwarding of a publisher's `kind` track to everyone.
    pub fn set_paused(
        &mut self,
        now: Instant,
        id: &PeerId,
        kind: Kind,
        paused: bool,
    ) -> Result<(), SfuError> {
        let key = self.key_of(id)?;
        let Some(peer) = self.peers.get_mut(&key) else {
            return Err(SfuError::PeerNotFound(id.clone()));
        };
        let Some(ingress) = peer.ingress.iter_mut().find(|i| i.kind == kind) else {
            return Ok(());
        };
        let was = std::mem::replace(&mut ingress.paused, paused);
        let mid = ingress.mid;
        if was && !paused {
            // Subscribers' decoders lost the reference frames; wait for and ask for a keyframe.
            self.hold_for_keyframe(now, key, mid, KeyframeCause::Resumed);
        }
        Ok(())
    }

    /// Live groups: enables or disables forwarding of the host's media to viewers.
    pub fn set_forwarding(
        &mut self,
        now: Instant,
        id: &GroupId,
        enabled: bool,
    ) -> Result<(), SfuError> {
        let group = self
            .groups
            .get_mut(id)
            .ok_or_else(|| SfuError::GroupNotFound(id.clone()))?;
        let was = std::mem::replace(&mut group.forwarding, enabled);
        if !was && enabled {
            let sources: Vec<_> = group.routes.keys().copied().collect();
            for (key, mid) in sources {
                self.hold_for_keyframe(now, key, mid, KeyframeCause::NewSubscriber);
            }
        }
        Ok(())
    }
}

/// str0m's standard header extensions without the transport-wide sequence number.
fn without_twcc() -> ExtensionMap {
    let mut exts = ExtensionMap::empty();
    let standard = ExtensionMap::standard();
    for (id, ext) in standard.iter() {
        if *ext != Extension::TransportSequenceNumber {
            exts.set(id, ext.clone());
        }
    }
    exts
}
