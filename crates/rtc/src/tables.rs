//! The bridge's bookkeeping: which SFU group carries which call, which SFU peer carries
//! which member, and how many peers each group has.
//!
//! Invariants: every SFU id is minted here from a counter (never derived from a room, a
//! participant or a live event), so the maps are the only link between the two worlds; a
//! peer id stays resolvable to its member until its group goes (late SFU events of a
//! replaced or removed peer still name the right member), then it is forgotten with it.

use crate::{MediaGroup, Member};
use opencalls_domain::DeviceKey;
use opencalls_sfu::{AddPeer, GroupId, PeerId, Policy, Role, SfuError, SfuHandle};
use std::collections::HashMap;

/// A group as the SFU knows it.
struct GroupEntry {
    sfu: GroupId,
    peers: usize,
}

/// A member's SDP offer, with where its peer goes and what it may do there.
#[derive(Clone)]
pub(crate) struct Offer {
    pub group: MediaGroup,
    /// The group's policy, used if this offer creates the group.
    pub policy: Policy,
    pub member: Member,
    pub role: Role,
    pub sdp: String,
    /// The device that offered, for live-event members (their `media.*` events go to it).
    pub owner: Option<DeviceKey>,
}

/// A member's current SFU peer.
pub(crate) struct PeerEntry {
    pub group: MediaGroup,
    pub peer: PeerId,
    pub role: Role,
    /// The device that offered, for live-event members (their `media.*` events go to it).
    pub owner: Option<DeviceKey>,
}

#[derive(Default)]
pub(crate) struct Tables {
    groups: HashMap<MediaGroup, GroupEntry>,
    calls: HashMap<GroupId, MediaGroup>,
    /// Member → its current SFU peer.
    pub peers: HashMap<Member, PeerEntry>,
    /// Every peer of a live group → its member (and group, to forget it with the group).
    members: HashMap<PeerId, (MediaGroup, Member)>,
    next_id: u64,
    /// Groups removed since the bridge last looked ([`Tables::take_emptied`]): their
    /// placements go (on a cluster node) before the tables lock is released.
    emptied: Vec<MediaGroup>,
}

impl Tables {
    pub fn group_of(&self, group: &GroupId) -> Option<&MediaGroup> {
        self.calls.get(group)
    }

    pub fn member_of(&self, peer: &PeerId) -> Option<&Member> {
        self.members.get(peer).map(|(_, member)| member)
    }

    /// The SFU's id of a call's group, while it has one.
    pub fn sfu_group(&self, group: &MediaGroup) -> Option<GroupId> {
        self.groups.get(group).map(|g| g.sfu.clone())
    }

    /// The members whose current peer is in `group`.
    pub fn members_in(&self, group: &MediaGroup) -> Vec<Member> {
        self.peers
            .iter()
            .filter(|(_, entry)| &entry.group == group)
            .map(|(member, _)| member.clone())
            .collect()
    }

    fn mint(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Adds (or replaces) the offering member's peer in its group and returns the SDP answer.
    pub async fn add(&mut self, sfu: &SfuHandle, offer: Offer) -> Result<String, SfuError> {
        let Offer {
            group,
            policy,
            member,
            role,
            sdp: offer,
            owner,
        } = offer;
        // A re-offer replaces the member's peer inside the SFU, which drops the old one
        // only once the new offer is accepted: a refused re-offer keeps the working one.
        let replaces = match self.peers.get(&member) {
            Some(old) if old.group == group => Some(old.peer.clone()),
            Some(_) => {
                self.remove(sfu, &member).await;
                None
            }
            None => None,
        };
        let sfu_group = self.ensure_group(sfu, &group, policy).await?;
        let peer = PeerId(format!("p{}", self.mint()));
        let request = AddPeer {
            group: sfu_group.clone(),
            peer: peer.clone(),
            role,
            offer,
            replaces: replaces.clone(),
        };
        match sfu.add_peer(request).await {
            Ok(answer) => {
                if let (None, Some(entry)) = (&replaces, self.groups.get_mut(&group)) {
                    entry.peers += 1;
                }
                self.members
                    .insert(peer.clone(), (group.clone(), member.clone()));
                let entry = PeerEntry {
                    group,
                    peer,
                    role,
                    owner,
                };
                self.peers.insert(member, entry);
                Ok(answer)
            }
            Err(err) => {
                // Only a group this refused offer created (still empty) goes away.
                if self.groups.get(&group).is_some_and(|g| g.peers == 0) {
                    self.forget_group(&group);
                    let _ = sfu.remove_group(sfu_group).await;
                }
                Err(err)
            }
        }
    }

    /// The SFU group of `group`, created on first use.
    async fn ensure_group(
        &mut self,
        sfu: &SfuHandle,
        group: &MediaGroup,
        policy: Policy,
    ) -> Result<GroupId, SfuError> {
        if let Some(existing) = self.sfu_group(group) {
            return Ok(existing);
        }
        let id = GroupId(format!("g{}", self.mint()));
        match sfu.create_group(id.clone(), policy).await {
            Ok(()) | Err(SfuError::GroupExists(_)) => {}
            Err(err) => return Err(err),
        }
        let entry = GroupEntry {
            sfu: id.clone(),
            peers: 0,
        };
        self.groups.insert(group.clone(), entry);
        self.calls.insert(id.clone(), group.clone());
        Ok(id)
    }

    /// Removes `member`'s peer, if any.
    pub async fn remove(&mut self, sfu: &SfuHandle, member: &Member) {
        if let Some(old) = self.peers.remove(member) {
            let _ = sfu.remove_peer(old.peer).await;
            self.release(sfu, &old.group).await;
        }
    }

    /// One peer fewer in `group`; the last one out removes the group.
    pub async fn release(&mut self, sfu: &SfuHandle, group: &MediaGroup) {
        let Some(entry) = self.groups.get_mut(group) else {
            return;
        };
        entry.peers = entry.peers.saturating_sub(1);
        if entry.peers == 0 {
            let id = entry.sfu.clone();
            self.forget_group(group);
            let _ = sfu.remove_group(id).await;
        }
    }

    /// The groups removed since the last call.
    pub fn take_emptied(&mut self) -> Vec<MediaGroup> {
        std::mem::take(&mut self.emptied)
    }

    fn forget_group(&mut self, group: &MediaGroup) {
        if let Some(entry) = self.groups.remove(group) {
            self.calls.remove(&entry.sfu);
            self.emptied.push(group.clone());
        }
        self.members.retain(|_, (g, _)| g != group);
    }
}
