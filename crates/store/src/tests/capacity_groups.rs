//! Capacity groups in the store: members, one group per customer, the
//! channels ordered on the account, and what the switch reads of them.

use super::{customer, field_of, op};
use crate::testing::stores;
use crate::{Error, Input, RelInput, Scope, Store};
use domain::schema;
use domain::Value;

fn group(name: &str, capacity: i64, customers: &[i64]) -> Input {
    Input::default().with(&schema::CAPACITY_GROUPS, "name", name).with(&schema::CAPACITY_GROUPS, "capacity", capacity).with_rel(
        &schema::CAPACITY_GROUPS,
        "customer",
        RelInput::Many(customers.to_vec()),
    )
}

async fn members(s: &Store, id: i64) -> Vec<i64> {
    let rec = s.get(&schema::CAPACITY_GROUPS, Scope::Operator, id).await.unwrap();
    rec.rel_ids(&schema::CAPACITY_GROUPS.rels[0]).into_iter().map(|(_, id)| id).collect()
}

#[tokio::test]
async fn a_group_pools_customers_each_in_one_group_at_most() {
    for (name, s, _db) in stores().await {
        let (a, b, c) = (customer(&s, "A", None).await, customer(&s, "B", None).await, customer(&s, "C", None).await);
        let g = s.create(&schema::CAPACITY_GROUPS, &op(), group("Pool", 2, &[a, b])).await.unwrap();
        assert_eq!((g.get("name"), g.get("capacity")), (&Value::Text("Pool".into()), &Value::Int(2)), "{name}");
        assert_eq!(members(&s, g.id()).await, vec![a, b], "{name}");

        // A customer already pooled is refused elsewhere, on create and update.
        let e = s.create(&schema::CAPACITY_GROUPS, &op(), group("Other", 5, &[c, b])).await.unwrap_err();
        match &e {
            Error::Invalid(f) => {
                assert!(f.field == "customer" && f.message.contains(&format!("customer {b} is already in")), "{name}: {f:?}")
            }
            other => panic!("{name}: {other:?}"),
        }
        let other = s.create(&schema::CAPACITY_GROUPS, &op(), group("Other", 5, &[c])).await.unwrap().id();
        let move_a = Input::default().with_rel(&schema::CAPACITY_GROUPS, "customer", RelInput::Many(vec![c, a]));
        assert_eq!(field_of(s.update(&schema::CAPACITY_GROUPS, &op(), other, move_a).await.unwrap_err()), "customer", "{name}");
        assert_eq!(members(&s, other).await, vec![c], "{name}: the refused update changed nothing");
        // Re-saving a group with its own members is no conflict.
        let same = Input::default().with_rel(&schema::CAPACITY_GROUPS, "customer", RelInput::Many(vec![b, a]));
        s.update(&schema::CAPACITY_GROUPS, &op(), g.id(), same).await.unwrap();
        // Out of one, into the other.
        let out = Input::default().with_rel(&schema::CAPACITY_GROUPS, "customer", RelInput::Many(vec![b]));
        s.update(&schema::CAPACITY_GROUPS, &op(), g.id(), out).await.unwrap();
        let move_a = Input::default().with_rel(&schema::CAPACITY_GROUPS, "customer", RelInput::Many(vec![c, a]));
        s.update(&schema::CAPACITY_GROUPS, &op(), other, move_a).await.unwrap();

        // Members exist and appear once.
        assert_eq!(field_of(s.create(&schema::CAPACITY_GROUPS, &op(), group("X", 1, &[999_999])).await.unwrap_err()), "customer");
        let twice = s.create(&schema::CAPACITY_GROUPS, &op(), group("X", 1, &[a, a])).await.unwrap_err();
        assert_eq!(field_of(twice), "customer", "{name}");
        // Name and capacity are required.
        let no_capacity = Input::default().with(&schema::CAPACITY_GROUPS, "name", "X");
        assert_eq!(field_of(s.create(&schema::CAPACITY_GROUPS, &op(), no_capacity).await.unwrap_err()), "capacity", "{name}");

        // A deleted customer leaves its group.
        s.delete(&schema::CUSTOMERS, &op(), a).await.unwrap();
        assert_eq!(members(&s, other).await, vec![c], "{name}");

        // Every change is audited.
        let audit = s.list(&schema::AUDIT_LOG, Scope::Operator, &crate::ListQuery::default()).await.unwrap().records;
        let groups = audit.iter().filter(|r| r.get("resource_type").as_str() == Some("capacity_groups")).count();
        assert_eq!(groups, 5, "{name}: two creates and the three updates that were kept");
    }
}

#[tokio::test]
async fn groups_hold_no_more_than_the_channels_ordered() {
    for (name, s, _db) in stores().await {
        let a = customer(&s, "A", None).await;
        let total = |n: Option<i64>| Input::default().with(&schema::DOMAIN_SETTINGS, "total_channels", n.map_or(Value::Null, Value::Int));
        s.update(&schema::DOMAIN_SETTINGS, &op(), 1, total(Some(10))).await.unwrap();
        let g = s.create(&schema::CAPACITY_GROUPS, &op(), group("Six", 6, &[a])).await.unwrap().id();
        let e = s.create(&schema::CAPACITY_GROUPS, &op(), group("Five", 5, &[])).await.unwrap_err();
        assert_eq!(field_of(e), "capacity", "{name}: 6 + 5 > 10");
        s.create(&schema::CAPACITY_GROUPS, &op(), group("Four", 4, &[])).await.unwrap();
        let grow = Input::default().with(&schema::CAPACITY_GROUPS, "capacity", 7i64);
        assert_eq!(field_of(s.update(&schema::CAPACITY_GROUPS, &op(), g, grow).await.unwrap_err()), "capacity", "{name}");
        // The account's channels cannot shrink under what the groups hold.
        assert_eq!(field_of(s.update(&schema::DOMAIN_SETTINGS, &op(), 1, total(Some(9))).await.unwrap_err()), "total_channels");
        assert_eq!(s.settings().await.unwrap().get("total_channels"), &Value::Int(10), "{name}: unchanged");
        s.update(&schema::DOMAIN_SETTINGS, &op(), 1, total(None)).await.unwrap();
        let grow = Input::default().with(&schema::CAPACITY_GROUPS, "capacity", 700i64);
        s.update(&schema::CAPACITY_GROUPS, &op(), g, grow).await.unwrap();

        // What the switch reads.
        s.update(&schema::DOMAIN_SETTINGS, &op(), 1, total(Some(1000))).await.unwrap();
        let cfg = s.call_config().await.unwrap();
        let mut groups: Vec<_> = cfg.capacity_groups.iter().map(|g| (g.capacity, g.customers.clone())).collect();
        groups.sort();
        assert_eq!(groups, vec![(4, vec![]), (700, vec![a])], "{name}");
        assert_eq!(cfg.total_channels, Some(1000), "{name}");
    }
}
