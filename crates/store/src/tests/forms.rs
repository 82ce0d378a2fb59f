//! What forms rely on: every field error of a submit at once (relationships
//! included), a dry run that writes nothing, and the dependants a delete
//! confirmation announces, checked against what the delete then does.

use super::{customer, op, sip};
use crate::dependants::Effect;
use crate::testing::stores;
use crate::{Error, Input, ListQuery, RelInput, Scope};
use domain::schema;

fn fields(e: &Error) -> Vec<(String, String)> {
    e.field_errors().iter().map(|f| (f.field.clone(), f.message.clone())).collect()
}

#[tokio::test]
async fn a_create_reports_every_field_error_at_once() {
    for (name, s, _db) in stores().await {
        // No username, no customer: both are named by the one submit.
        let input = Input::default().with(&schema::SIP_ACCOUNTS, "caller_id_name", "Desk");
        let e = s.create(&schema::SIP_ACCOUNTS, &op(), input.clone()).await.unwrap_err();
        assert!(matches!(e, Error::InvalidMany(_)), "{name}: {e:?}");
        let got = fields(&e);
        assert!(got.contains(&("username".into(), "can't be blank".into())), "{name}: {got:?}");
        assert!(got.contains(&("customer".into(), "must exist".into())), "{name}: {got:?}");
        assert_eq!(got.len(), 2, "{name}: {got:?}");
        // The dry run answers the same and writes nothing.
        let dry = s.validate(&schema::SIP_ACCOUNTS, &op(), input).await.unwrap_err();
        assert_eq!(fields(&dry), got, "{name}");

        // A related record that does not exist is named with the blank field.
        let ghost = Input::default().with_rel(&schema::SIP_ACCOUNTS, "customer", RelInput::To("customers", 999_999));
        let got = fields(&s.create(&schema::SIP_ACCOUNTS, &op(), ghost).await.unwrap_err());
        assert_eq!(got.len(), 2, "{name}: {got:?}");
        assert!(got.iter().any(|(f, m)| f == "customer" && m.contains("does not exist")), "{name}: {got:?}");

        // One error stays the single-error kind (the API's old answer).
        let c = customer(&s, "Acme", None).await;
        let one = Input::default().with_rel(&schema::SIP_ACCOUNTS, "customer", RelInput::To("customers", c));
        let e = s.create(&schema::SIP_ACCOUNTS, &op(), one).await.unwrap_err();
        assert!(matches!(&e, Error::Invalid(f) if f.field == "username"), "{name}: {e:?}");
        assert!(s.validate(&schema::SIP_ACCOUNTS, &op(), sip("ok-1", c, None)).await.is_ok(), "{name}");
        let listed = s.list(&schema::SIP_ACCOUNTS, Scope::Operator, &ListQuery::default()).await.unwrap().records;
        assert!(listed.is_empty(), "{name}: a dry run and refused creates write nothing");

        // Two broken rewrite rules of a gateway: both reported.
        let gw = Input::default()
            .with(&schema::GATEWAYS, "name", "gw")
            .with(&schema::GATEWAYS, "host", "10.0.0.1")
            .with(&schema::GATEWAYS, "src_rewrite_rule", "(")
            .with(&schema::GATEWAYS, "src_rewrite_result", "x")
            .with(&schema::GATEWAYS, "dst_rewrite_rule", "(")
            .with(&schema::GATEWAYS, "dst_rewrite_result", "x");
        let got = fields(&s.create(&schema::GATEWAYS, &op(), gw).await.unwrap_err());
        let names: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(names, ["src_rewrite_result", "dst_rewrite_result"], "{name}: {got:?}");
    }
}

#[tokio::test]
async fn an_update_reports_every_field_error_at_once() {
    for (name, s, _db) in stores().await {
        let c = customer(&s, "Acme", None).await;
        let acc = s.create(&schema::SIP_ACCOUNTS, &op(), sip("desk-1", c, None)).await.unwrap().id();
        let input = Input::default().with(&schema::SIP_ACCOUNTS, "username", domain::Value::Null).with(
            &schema::SIP_ACCOUNTS,
            "external_caller_id",
            "441174090316",
        );
        let got = fields(&s.update(&schema::SIP_ACCOUNTS, &op(), acc, input).await.unwrap_err());
        let names: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(names, ["username", "external_caller_id"], "{name}: {got:?}");
    }
}

#[tokio::test]
async fn dependants_announce_what_a_delete_does() {
    for (name, s, _db) in stores().await {
        let c = customer(&s, "Acme", None).await;
        let desk = s.create(&schema::SIP_ACCOUNTS, &op(), sip("desk-1", c, None)).await.unwrap().id();
        let did = Input::default()
            .with(&schema::DID_NUMBERS, "number", "441174090316")
            .with_rel(&schema::DID_NUMBERS, "customer", RelInput::To("customers", c))
            .with_rel(&schema::DID_NUMBERS, "destination", RelInput::To("sip_device_routes", desk));
        let did = s.create(&schema::DID_NUMBERS, &op(), did).await.unwrap().id();
        let rg = Input::default()
            .with(&schema::RING_GROUPS, "name", "Sales")
            .with_rel(&schema::RING_GROUPS, "customer", RelInput::To("customers", c))
            .with_rel(&schema::RING_GROUPS, "members", RelInput::Many(vec![desk]));
        let rg = s.create(&schema::RING_GROUPS, &op(), rg).await.unwrap().id();

        // The SIP account: its number loses the destination, the ring group the member.
        let deps = s.dependants(&schema::SIP_ACCOUNTS, desk).await.unwrap();
        let seen: Vec<(&str, Effect, i64)> = deps.iter().map(|d| (d.res.kind, d.effect, d.count)).collect();
        assert_eq!(seen, [("available_did_numbers", Effect::Cleared, 1), ("ring_groups", Effect::Removed, 1)], "{name}");
        assert_eq!(deps[0].names, [(did, "441174090316".to_owned())], "{name}");
        assert_eq!(deps[1].names, [(rg, "Sales".to_owned())], "{name}");

        // The customer: everything it owns goes with it (its default trunk too).
        let deps = s.dependants(&schema::CUSTOMERS, c).await.unwrap();
        let seen: Vec<(&str, Effect, i64)> = deps.iter().map(|d| (d.res.kind, d.effect, d.count)).collect();
        for kind in ["sip_device_routes", "available_did_numbers", "ring_groups", "incoming_trunks"] {
            assert!(seen.contains(&(kind, Effect::Deleted, 1)), "{name}: {kind} in {seen:?}");
        }

        // A gateway used by a route: the route blocks, and the delete is refused.
        let gw = Input::default().with(&schema::GATEWAYS, "name", "gw").with(&schema::GATEWAYS, "host", "10.0.0.1");
        let gw = s.create(&schema::GATEWAYS, &op(), gw).await.unwrap().id();
        let route = Input::default().with(&schema::ROUTES, "name", "All").with_rel(
            &schema::ROUTES,
            "gateway",
            RelInput::To("termination_gateways", gw),
        );
        s.create(&schema::ROUTES, &op(), route).await.unwrap();
        let deps = s.dependants(&schema::GATEWAYS, gw).await.unwrap();
        assert_eq!(deps.iter().map(|d| (d.res.kind, d.effect)).collect::<Vec<_>>(), [("termination_routes", Effect::Blocks)], "{name}");
        assert!(matches!(s.delete(&schema::GATEWAYS, &op(), gw).await, Err(Error::Refused(_))), "{name}");

        // What was announced is what the delete does.
        s.delete(&schema::SIP_ACCOUNTS, &op(), desk).await.unwrap();
        let number = s.get(&schema::DID_NUMBERS, Scope::Operator, did).await.unwrap();
        assert!(number.rel_ids(&schema::DID_NUMBERS.rels[1]).is_empty(), "{name}");
        let group = s.get(&schema::RING_GROUPS, Scope::Operator, rg).await.unwrap();
        assert!(group.rel_ids(&schema::RING_GROUPS.rels[1]).is_empty(), "{name}");
        assert!(s.dependants(&schema::SIP_ACCOUNTS, desk).await.unwrap().is_empty(), "{name}");
        s.delete(&schema::CUSTOMERS, &op(), c).await.unwrap();
        assert!(matches!(s.get(&schema::RING_GROUPS, Scope::Operator, rg).await, Err(Error::NotFound)), "{name}");
    }
}
