//! Who holds each device's seats (`device_holders`, migration 4), and a device's seats
//! (cluster.md, "Node failure").
//!
//! A holder row is moved in one transaction that reads the previous holder under the row
//! lock (`FOR UPDATE`) and then upserts, so concurrent moves and releases of one device are
//! serialized; a release is a `DELETE` conditioned on the holder.

use crate::PostgresStore;
use crate::error::Error;
use opencalls_domain::{
    ClientId, DeviceKey, HostId, LiveEventId, Millis, ParticipantId, RoomId, UserId,
};
use opencalls_store::cluster::{DeviceSeats, HeldLiveSeat, MAX_DEVICE_SEATS, NodeId};

/// Migration 4: the holder of each device's seats, and the indexes that find a device's
/// seats that have not exited.
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE device_holders (
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    node_id    TEXT NOT NULL,
    held_since BIGINT NOT NULL,
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

impl PostgresStore {
    pub(crate) async fn hold_device_row(
        &self,
        device: &DeviceKey,
        node: &NodeId,
        since: Millis,
    ) -> Result<Option<NodeId>, Error> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let (user, client) = (device.user_id.as_str(), device.client_id.as_str());
        // The row lock serializes this move with other moves and releases of the device.
        let previous = tx
            .query_opt(
                "SELECT node_id FROM device_holders
                 WHERE user_id = $1 AND client_id = $2 FOR UPDATE",
                &[&user, &client],
            )
            .await?
            .map(|row| row.try_get::<_, String>(0))
            .transpose()?;
        tx.execute(
            "INSERT INTO device_holders (user_id, client_id, node_id, held_since)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id, client_id) DO UPDATE
                 SET node_id = EXCLUDED.node_id, held_since = EXCLUDED.held_since",
            &[&user, &client, &node.as_str(), &since],
        )
        .await?;
        tx.commit().await?;
        Ok(previous
            .and_then(|p| NodeId::parse(&p))
            .filter(|p| p != node))
    }

    pub(crate) async fn device_holder_row(
        &self,
        device: &DeviceKey,
    ) -> Result<Option<NodeId>, Error> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                "SELECT node_id FROM device_holders WHERE user_id = $1 AND client_id = $2",
                &[&device.user_id.as_str(), &device.client_id.as_str()],
            )
            .await?;
        Ok(row
            .map(|r| r.try_get::<_, String>(0))
            .transpose()?
            .and_then(|h| NodeId::parse(&h)))
    }

    pub(crate) async fn release_device_row(
        &self,
        device: &DeviceKey,
        node: &NodeId,
    ) -> Result<bool, Error> {
        let conn = self.conn().await?;
        let n = conn
            .execute(
                "DELETE FROM device_holders WHERE user_id = $1 AND client_id = $2 AND node_id = $3",
                &[
                    &device.user_id.as_str(),
                    &device.client_id.as_str(),
                    &node.as_str(),
                ],
            )
            .await?;
        Ok(n == 1)
    }

    pub(crate) async fn forget_holder_rows(&self) -> Result<u64, Error> {
        let conn = self.conn().await?;
        Ok(conn.execute("DELETE FROM device_holders", &[]).await?)
    }

    pub(crate) async fn device_rows_held_by(
        &self,
        node: &NodeId,
        limit: usize,
    ) -> Result<Vec<DeviceKey>, Error> {
        let conn = self.conn().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = conn
            .query(
                "SELECT user_id, client_id FROM device_holders WHERE node_id = $1
                 ORDER BY user_id, client_id LIMIT $2",
                &[&node.as_str(), &limit],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let user: &str = row.try_get(0)?;
                let client: &str = row.try_get(1)?;
                device_key(user, client)
            })
            .collect()
    }

    pub(crate) async fn device_seat_rows(&self, device: &DeviceKey) -> Result<DeviceSeats, Error> {
        let conn = self.conn().await?;
        let limit = i64::try_from(MAX_DEVICE_SEATS).unwrap_or(i64::MAX);
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
            [&device.user_id.as_str(), &device.client_id.as_str(), &limit];
        let rooms = conn
            .query(
                "SELECT r.room_id, p.participant_id FROM room_participants p
                 JOIN rooms r ON r.seq = p.room_seq
                 WHERE p.user_id = $1 AND p.client_id = $2 AND p.state <> 'exited'
                 ORDER BY r.room_id LIMIT $3",
                &params,
            )
            .await?;
        let hosts = conn
            .query(
                "SELECT e.live_event_id, h.host_id FROM live_event_hosts h
                 JOIN live_events e ON e.seq = h.live_event_seq
                 WHERE h.user_id = $1 AND h.client_id = $2 AND h.state <> 'exited'
                 ORDER BY e.live_event_id LIMIT $3",
                &params,
            )
            .await?;
        let viewers = conn
            .query(
                "SELECT e.live_event_id, p.participant_id FROM live_event_participants p
                 JOIN live_events e ON e.seq = p.live_event_seq
                 WHERE p.user_id = $1 AND p.client_id = $2 AND p.state <> 'exited'
                 ORDER BY e.live_event_id LIMIT $3",
                &params,
            )
            .await?;
        let mut seats = DeviceSeats::default();
        for row in &rooms {
            let (room, pid): (&str, &str) = (row.try_get(0)?, row.try_get(1)?);
            seats.rooms.push((
                RoomId::parse(room).ok_or(Error::Corrupt("room id"))?,
                ParticipantId::parse(pid).ok_or(Error::Corrupt("participant id"))?,
            ));
        }
        for row in &hosts {
            let (id, host): (&str, &str) = (row.try_get(0)?, row.try_get(1)?);
            let host = HostId::parse(host).ok_or(Error::Corrupt("host id"))?;
            seats
                .live
                .push((live_event_id(id)?, HeldLiveSeat::Host(host)));
        }
        for row in &viewers {
            let (id, pid): (&str, &str) = (row.try_get(0)?, row.try_get(1)?);
            let pid = ParticipantId::parse(pid).ok_or(Error::Corrupt("participant id"))?;
            seats
                .live
                .push((live_event_id(id)?, HeldLiveSeat::Participant(pid)));
        }
        seats.live.sort();
        Ok(seats)
    }
}

fn device_key(user: &str, client: &str) -> Result<DeviceKey, Error> {
    Ok(DeviceKey::new(
        UserId::parse(user).ok_or(Error::Corrupt("user id"))?,
        ClientId::parse(client).ok_or(Error::Corrupt("client id"))?,
    ))
}

fn live_event_id(raw: &str) -> Result<LiveEventId, Error> {
    LiveEventId::parse(raw).ok_or(Error::Corrupt("live event id"))
}
