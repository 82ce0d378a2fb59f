//! The rules of capacity groups that span rows: a customer is in one group
//! at most, and the groups' capacities add up to no more than the channels
//! ordered on the account (`total_channels`). Checked after the write,
//! inside its transaction, so a refusal rolls it back.

use super::{invalid, Tx};
use crate::record::{parse_id_list, Record};
use crate::Result;
use domain::schema;
use sqlx::Row as _;

/// Checks what a create or update of `rec` left: the rules of its resource.
pub(super) async fn after_write(tx: &mut Tx<'_>, rec: &Record) -> Result<()> {
    match rec.res.kind {
        "capacity_groups" => {
            one_group_per_customer(tx, rec).await?;
            within_total(tx, "capacity").await
        }
        "domain_settings" => within_total(tx, "total_channels").await,
        _ => Ok(()),
    }
}

async fn one_group_per_customer(tx: &mut Tx<'_>, group: &Record) -> Result<()> {
    let members: Vec<i64> = group.rel_ids(&schema::CAPACITY_GROUPS.rels[0]).into_iter().map(|(_, id)| id).collect();
    if members.is_empty() {
        return Ok(());
    }
    let others =
        sqlx::query("SELECT id, name, customer_ids FROM capacity_groups WHERE id <> $1").bind(group.id()).fetch_all(&mut **tx).await?;
    for row in others {
        let list: String = row.try_get("customer_ids")?;
        let shared = parse_id_list(&list).find(|c| members.contains(c));
        if let Some(c) = shared {
            let (id, name): (i64, String) = (row.try_get("id")?, row.try_get("name")?);
            return Err(invalid(
                "customer",
                format!("customer {c} is already in capacity group {id} ({name}); a customer is in one capacity group at most"),
            ));
        }
    }
    Ok(())
}

/// The groups may not hold more channels than the account has; the error
/// goes to `field`, the side that was just changed.
async fn within_total(tx: &mut Tx<'_>, field: &str) -> Result<()> {
    let total: Option<i64> =
        sqlx::query("SELECT total_channels FROM domain_settings WHERE id = 1").fetch_one(&mut **tx).await?.try_get("total_channels")?;
    let Some(total) = total else { return Ok(()) };
    // SUM of BIGINT is NUMERIC on PostgreSQL: cast back for the Any driver.
    let held: i64 = sqlx::query("SELECT CAST(COALESCE(SUM(capacity), 0) AS BIGINT) AS n FROM capacity_groups")
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?;
    if held > total {
        return Err(invalid(
            field,
            format!("the capacity groups would hold {held} channels, more than the {total} ordered on the account (total_channels)"),
        ));
    }
    Ok(())
}

/// Takes a deleted customer out of its capacity group.
pub(super) async fn drop_customer(tx: &mut Tx<'_>, customer: i64) -> Result<()> {
    let rows = sqlx::query("SELECT id, customer_ids FROM capacity_groups").fetch_all(&mut **tx).await?;
    super::drop_from_id_lists(tx, "capacity_groups", "customer_ids", rows, customer).await
}
