//! Who holds each device's seats (`device_holders`, migration 8), and a device's seats.
//! One process is one node, so the holder is always this node; the table keeps the
//! contract the same as on PostgreSQL (cluster.md, "Node failure"). Moves and releases run
//! on the single writer, so they are serialized.

use crate::SqliteStore;
use crate::error::Error;
use opencalls_domain::{
    ClientId, DeviceKey, HostId, LiveEventId, Millis, ParticipantId, RoomId, UserId,
};
use opencalls_store::StoreError;
use opencalls_store::cluster::{DeviceSeats, HeldLiveSeat, MAX_DEVICE_SEATS, NodeId};
use rusqlite::{Connection, OptionalExtension, params};

/// Migration 8: the holder of each device's seats, and the indexes that find a device's
/// seats that have not exited.
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE device_holders (
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    node_id    TEXT NOT NULL,
    held_since INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX device_holders_by_node ON device_holders (node_id, user_id, client_id);
CREATE INDEX room_participants_active_by_device ON room_participants (user_id, client_id)
    WHERE state <> 'exited';
CREATE INDEX live_event_hosts_active_by_device ON live_event_hosts (user_id, client_id)
    WHERE state <> 'exited';
CREATE INDEX live_event_participants_active_by_device
    ON live_event_participants (user_id, client_id) WHERE state <> 'exited';
"#;

fn corrupt(what: &str) -> Error {
    Error::Store(StoreError::Backend(format!("stored {what} is malformed")))
}

impl SqliteStore {
    pub(crate) async fn hold_device_row(
        &self,
        device: &DeviceKey,
        node: &NodeId,
        since: Millis,
    ) -> Result<Option<NodeId>, StoreError> {
        let (user, client) = (device.user_id.to_string(), device.client_id.to_string());
        let node = node.clone();
        self.write_outside_rooms(move |conn| {
            let previous = holder(conn, &user, &client)?;
            conn.prepare_cached(
                "INSERT INTO device_holders (user_id, client_id, node_id, held_since)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (user_id, client_id) DO UPDATE
                     SET node_id = excluded.node_id, held_since = excluded.held_since",
            )?
            .execute(params![user, client, node.as_str(), since])?;
            Ok(previous.filter(|p| *p != node))
        })
        .await
    }

    pub(crate) async fn device_holder_row(
        &self,
        device: &DeviceKey,
    ) -> Result<Option<NodeId>, StoreError> {
        let (user, client) = (device.user_id.to_string(), device.client_id.to_string());
        self.read_point(move |conn| Ok(holder(conn, &user, &client)?))
            .await
    }

    pub(crate) async fn release_device_row(
        &self,
        device: &DeviceKey,
        node: &NodeId,
    ) -> Result<bool, StoreError> {
        let (user, client) = (device.user_id.to_string(), device.client_id.to_string());
        let node = node.to_string();
        self.write_outside_rooms(move |conn| {
            let n = conn
                .prepare_cached(
                    "DELETE FROM device_holders
                     WHERE user_id = ?1 AND client_id = ?2 AND node_id = ?3",
                )?
                .execute(params![user, client, node])?;
            Ok(n == 1)
        })
        .await
    }

    pub(crate) async fn forget_holder_rows(&self) -> Result<u64, StoreError> {
        self.write_outside_rooms(move |conn| {
            let n = conn
                .prepare_cached("DELETE FROM device_holders")?
                .execute([])?;
            Ok(u64::try_from(n).unwrap_or(u64::MAX))
        })
        .await
    }

    pub(crate) async fn device_rows_held_by(
        &self,
        node: &NodeId,
        limit: usize,
    ) -> Result<Vec<DeviceKey>, StoreError> {
        let node = node.to_string();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT user_id, client_id FROM device_holders WHERE node_id = ?1
                 ORDER BY user_id, client_id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![node, limit], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            let mut keys = Vec::new();
            for row in rows {
                let (user, client) = row?;
                keys.push(DeviceKey::new(
                    UserId::parse(&user).ok_or_else(|| corrupt("user id"))?,
                    ClientId::parse(&client).ok_or_else(|| corrupt("client id"))?,
                ));
            }
            Ok(keys)
        })
        .await
    }

    pub(crate) async fn device_seat_rows(
        &self,
        device: &DeviceKey,
    ) -> Result<DeviceSeats, StoreError> {
        let (user, client) = (device.user_id.to_string(), device.client_id.to_string());
        self.read(move |conn| {
            let mut seats = DeviceSeats::default();
            let pairs = |sql: &str| seat_pairs(conn, sql, &user, &client);
            for (room, pid) in pairs(
                "SELECT r.room_id, p.participant_id FROM room_participants p
                 JOIN rooms r ON r.seq = p.room_seq
                 WHERE p.user_id = ?1 AND p.client_id = ?2 AND p.state <> 'exited'
                 ORDER BY r.room_id LIMIT ?3",
            )? {
                seats.rooms.push((
                    RoomId::parse(&room).ok_or_else(|| corrupt("room id"))?,
                    participant_id(&pid)?,
                ));
            }
            for (id, host) in pairs(
                "SELECT e.live_event_id, h.host_id FROM live_event_hosts h
                 JOIN live_events e ON e.seq = h.live_event_seq
                 WHERE h.user_id = ?1 AND h.client_id = ?2 AND h.state <> 'exited'
                 ORDER BY e.live_event_id LIMIT ?3",
            )? {
                let host = HostId::parse(&host).ok_or_else(|| corrupt("host id"))?;
                seats
                    .live
                    .push((live_event_id(&id)?, HeldLiveSeat::Host(host)));
            }
            for (id, pid) in pairs(
                "SELECT e.live_event_id, p.participant_id FROM live_event_participants p
                 JOIN live_events e ON e.seq = p.live_event_seq
                 WHERE p.user_id = ?1 AND p.client_id = ?2 AND p.state <> 'exited'
                 ORDER BY e.live_event_id LIMIT ?3",
            )? {
                let seat = HeldLiveSeat::Participant(participant_id(&pid)?);
                seats.live.push((live_event_id(&id)?, seat));
            }
            seats.live.sort();
            Ok(seats)
        })
        .await
    }
}

/// The `(id, seat id)` pairs `sql` selects for the device, at most [`MAX_DEVICE_SEATS`].
fn seat_pairs(
    conn: &Connection,
    sql: &str,
    user: &str,
    client: &str,
) -> Result<Vec<(String, String)>, Error> {
    let limit = i64::try_from(MAX_DEVICE_SEATS).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![user, client, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn participant_id(raw: &str) -> Result<ParticipantId, Error> {
    ParticipantId::parse(raw).ok_or_else(|| corrupt("participant id"))
}

fn live_event_id(raw: &str) -> Result<LiveEventId, Error> {
    LiveEventId::parse(raw).ok_or_else(|| corrupt("live event id"))
}

/// The node recorded as holding device (`user`, `client`), if any.
fn holder(conn: &Connection, user: &str, client: &str) -> rusqlite::Result<Option<NodeId>> {
    let node: Option<String> = conn
        .prepare_cached("SELECT node_id FROM device_holders WHERE user_id = ?1 AND client_id = ?2")?
        .query_row(params![user, client], |r| r.get(0))
        .optional()?;
    Ok(node.and_then(|n| NodeId::parse(&n)))
}
