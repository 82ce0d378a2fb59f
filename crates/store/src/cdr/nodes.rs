//! Nodes of the SIP plane and their heartbeats. Several nodes may share
//! one database, each journalling its own live calls; each records every
//! few seconds that it (and so each of its calls) is still up. After a
//! crash its calls are closed at that last heartbeat, not at whenever
//! something noticed; a node silent for [`STALE_BEATS`] of its intervals
//! is taken for dead, and any node may close its calls.

use super::{LiveCall, LiveCallRow};
use crate::row::TableRow;
use crate::{Result, Store};

/// A node whose last heartbeat is older than this many of its intervals is dead.
pub const STALE_BEATS: i64 = 3;

/// A live call left open by a node that is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    pub call: LiveCall,
    /// Its node's last heartbeat (epoch ms); `None` when the node never
    /// recorded one (a row from before nodes kept heartbeats).
    pub last_heartbeat: Option<i64>,
}

impl Store {
    /// Records that `node` is up at `at` (epoch ms) and beats every
    /// `interval_ms`: one row per node, whatever its number of calls.
    pub async fn heartbeat(&self, node: &str, interval_ms: i64, at: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO switch_nodes (node_id, heartbeat_at, interval_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, interval_ms = excluded.interval_ms",
        )
        .bind(node)
        .bind(at)
        .bind(interval_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The live calls to close when `node` starts at `now`: its own (they
    /// died with its previous run), those of nodes silent for more than
    /// [`STALE_BEATS`] of their intervals, and those of no known node.
    /// Another node's calls are left alone while it beats.
    pub async fn orphaned_calls(&self, node: &str, now: i64) -> Result<Vec<Orphan>> {
        let columns: Vec<String> = LiveCallRow::COLUMNS.iter().map(|c| format!("l.{}", c.name)).collect();
        let sql = format!(
            "SELECT {}, n.heartbeat_at AS last_heartbeat FROM {} l LEFT JOIN switch_nodes n ON n.node_id = l.node_id \
             WHERE l.node_id = $1 OR n.node_id IS NULL OR n.heartbeat_at < $2 - {STALE_BEATS} * n.interval_ms \
             ORDER BY l.time_start, l.id",
            columns.join(", "),
            LiveCallRow::TABLE
        );
        let rows = sqlx::query(&sql).bind(node).bind(now).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let last_heartbeat = sqlx::Row::try_get::<Option<i64>, _>(r, "last_heartbeat")?;
                Ok(Orphan { call: LiveCallRow::from_row(r)?.into(), last_heartbeat })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdr::{Cdr, CdrOp, IncomingCdr};

    fn call(id: &str, node: &str) -> LiveCall {
        LiveCall {
            id: id.into(),
            customer_id: Some(1),
            incoming_trunk_id: None,
            time_start: 1_000,
            time_connect: None,
            src_name: None,
            src_number: None,
            dst_number: None,
            did_number: None,
            call_id: format!("{id}@carrier"),
            global_tag: None,
            termination: None,
            node_id: node.into(),
            dialog: None,
        }
    }

    fn ids(o: &[Orphan]) -> Vec<(&str, Option<i64>)> {
        o.iter().map(|o| (o.call.id.as_str(), o.last_heartbeat)).collect()
    }

    #[tokio::test]
    async fn a_restarting_node_takes_its_own_calls_and_dead_nodes_but_not_live_ones() {
        for (name, s, _db) in crate::testing::stores().await {
            let ops = [
                CdrOp::Open(Box::new(call("mine", "a"))),
                CdrOp::Open(Box::new(call("busy", "b"))),
                CdrOp::Open(Box::new(call("dead", "c"))),
                CdrOp::Open(Box::new(call("legacy", ""))),
                CdrOp::Connect { id: "mine".into(), at: 1_500, dialog: Some(r#"{"a":1}"#.into()) },
            ];
            s.apply_cdr_ops(&ops).await.unwrap();
            // a beat last at 10 s (then crashed); b beats every second and
            // did 2.5 s ago; c every second, last 10 s ago.
            s.heartbeat("a", 1_000, 9_000).await.unwrap();
            s.heartbeat("a", 1_000, 10_000).await.unwrap();
            s.heartbeat("b", 1_000, 17_500).await.unwrap();
            s.heartbeat("c", 1_000, 10_000).await.unwrap();
            let got = s.orphaned_calls("a", 20_000).await.unwrap();
            assert_eq!(ids(&got), [("dead", Some(10_000)), ("legacy", None), ("mine", Some(10_000))], "{name}");
            let mine = got.iter().find(|o| o.call.id == "mine").unwrap();
            assert_eq!((mine.call.time_connect, mine.call.dialog.as_deref()), (Some(1_500), Some(r#"{"a":1}"#)), "{name}");
            assert_eq!(mine.call.node_id, "a", "{name}");

            // b falls silent past three of its intervals: now its call is orphaned too.
            let got = s.orphaned_calls("a", 21_000).await.unwrap();
            assert_eq!(ids(&got).iter().map(|x| x.0).collect::<Vec<_>>(), ["busy", "dead", "legacy", "mine"], "{name}");
            // ... and it is not once it beats again.
            s.heartbeat("b", 1_000, 21_000).await.unwrap();
            assert!(!ids(&s.orphaned_calls("c", 21_000).await.unwrap()).iter().any(|x| x.0 == "busy"), "{name}");
        }
    }

    #[tokio::test]
    async fn a_call_closed_twice_leaves_one_cdr() {
        for (name, s, _db) in crate::testing::stores().await {
            s.apply_cdr_ops(&[CdrOp::Open(Box::new(call("x", "b")))]).await.unwrap();
            let cdr = |reason: &str| {
                Box::new(Cdr::Incoming(IncomingCdr { time_start: 1_000, internal_reason: Some(reason.into()), ..IncomingCdr::default() }))
            };
            // Another node recovered the call, then its own node ends it;
            // a CDR of no live row is written as always.
            s.apply_cdr_ops(&[CdrOp::Close { live_id: Some("x".into()), cdr: cdr("crashed") }]).await.unwrap();
            let late =
                [CdrOp::Close { live_id: Some("x".into()), cdr: cdr("hung up") }, CdrOp::Close { live_id: None, cdr: cdr("refused") }];
            s.apply_cdr_ops(&late).await.unwrap();
            let rows: Vec<(Option<String>,)> =
                sqlx::query_as("SELECT internal_reason FROM incoming_trunk_cdrs ORDER BY id").fetch_all(s.pool()).await.unwrap();
            let rows: Vec<_> = rows.into_iter().map(|r| r.0.unwrap()).collect();
            assert_eq!(rows, ["crashed", "refused"], "{name}: the second close of x wrote nothing");
        }
    }
}
