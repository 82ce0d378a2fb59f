//! Capacity groups through the API (Operator API §5.10): the to-many
//! `customer` relationship (also accepted as `customers`), one group per
//! customer, capacity validation and the channels ordered on the account,
//! CSV and audit; operator only.

use super::{customer, OP};
use crate::support::spawn_apps;
use serde_json::{json, Value as Json};

fn members(ids: &[&str]) -> Json {
    json!({ "data": ids.iter().map(|id| json!({ "type": "customers", "id": id })).collect::<Vec<_>>() })
}

fn group(name: &str, capacity: Json, rel_name: &str, ids: &[&str]) -> Json {
    json!({ "data": { "type": "capacity_groups", "attributes": { "name": name, "capacity": capacity }, "relationships": { rel_name: members(ids) } } })
}

#[tokio::test]
async fn capacity_groups_pool_customers_one_group_each() {
    for app in spawn_apps().await {
        let be = app.backend;
        let (a, b, c) = (customer(&app, "A", json!({})).await, customer(&app, "B", json!({})).await, customer(&app, "C", json!({})).await);

        // Created with the Operator API's name for the relationship.
        let (s, body) = app.post(&format!("{OP}/capacity_groups?include=customer"), group("Office", json!(2), "customer", &[&a, &b])).await;
        assert_eq!(s, 201, "{be}: {body}");
        let g = body["data"]["id"].as_str().unwrap().to_owned();
        assert_eq!(body["data"]["attributes"]["capacity"], 2);
        assert_eq!(body["data"]["relationships"]["customer"]["data"], members(&[&a, &b])["data"], "{be}");
        assert_eq!(body["included"].as_array().map(Vec::len), Some(2), "{be}: {body}");
        let (s, related) = app.get(&format!("{OP}/capacity_groups/{g}/customer")).await;
        assert_eq!((s, related["data"].as_array().map(Vec::len)), (200, Some(2)), "{be}: {related}");

        // A customer already in a group: 422 on the relationship, nothing stored.
        let before = app.snapshot().await;
        let (s, err) = app.post(&format!("{OP}/capacity_groups"), group("Other", json!(5), "customers", &[&c, &b])).await;
        assert_eq!(s, 422, "{be}: {err}");
        assert_eq!(err["errors"][0]["source"]["pointer"], "/data/relationships/customer", "{be}: {err}");
        assert!(err["errors"][0]["detail"].as_str().unwrap().contains("already in capacity group"), "{be}: {err}");
        assert_eq!(app.snapshot().await, before, "{be}: a refused create stores nothing");

        // `customers` is accepted on input, and answered as `customer`.
        let (s, body) = app.post(&format!("{OP}/capacity_groups"), group("Other", json!(5), "customers", &[&c])).await;
        assert_eq!(s, 201, "{be}: {body}");
        let other = body["data"]["id"].as_str().unwrap().to_owned();
        assert_eq!(body["data"]["relationships"]["customer"]["data"], members(&[&c])["data"], "{be}");
        assert!(body["data"]["relationships"].get("customers").is_none());
        // Both names at once is one relationship given twice.
        let twice = json!({ "data": { "type": "capacity_groups", "id": other, "relationships": { "customer": members(&[&c]), "customers": members(&[]) } } });
        let (s, err) = app.patch(&format!("{OP}/capacity_groups/{other}"), twice).await;
        assert_eq!(s, 422, "{be}: {err}");

        // Moving a customer: out of one group (PATCH), into the other.
        let patch = |id: &str, rels: Json| json!({ "data": { "type": "capacity_groups", "id": id, "relationships": rels } });
        let (s, err) = app.patch(&format!("{OP}/capacity_groups/{other}"), patch(&other, json!({ "customer": members(&[&c, &a]) }))).await;
        assert_eq!(s, 422, "{be}: {err}");
        let (s, _) = app.patch(&format!("{OP}/capacity_groups/{g}"), patch(&g, json!({ "customer": members(&[&b]) }))).await;
        assert_eq!(s, 200, "{be}");
        let (s, body) =
            app.patch(&format!("{OP}/capacity_groups/{other}"), patch(&other, json!({ "customers": members(&[&c, &a]) }))).await;
        assert_eq!(s, 200, "{be}: {body}");

        // Bad input: 422 with the field; nothing changes.
        let before = app.snapshot().await;
        for (body, field) in [
            (group("Neg", json!(-1), "customer", &[]), "capacity"),
            (group("Text", json!("many"), "customer", &[]), "capacity"),
            (json!({ "data": { "type": "capacity_groups", "attributes": { "name": "No capacity" } } }), "capacity"),
            (json!({ "data": { "type": "capacity_groups", "attributes": { "capacity": 3 } } }), "name"),
            (group("Ghost", json!(1), "customer", &["999999"]), "customer"),
            (group("Twice", json!(1), "customer", &[&b, &b]), "customer"),
        ] {
            let (s, err) = app.post(&format!("{OP}/capacity_groups"), body.clone()).await;
            assert_eq!(s, 422, "{be}: {body} -> {err}");
            assert!(err["errors"][0]["source"]["pointer"].as_str().unwrap_or_default().ends_with(field), "{be}: {body} -> {err}");
        }
        let one =
            json!({ "data": { "type": "capacity_groups", "relationships": { "customer": { "data": { "type": "customers", "id": a } } } } });
        assert_eq!(app.post(&format!("{OP}/capacity_groups"), one).await.0, 422, "{be}: a to-many takes an array");
        assert_eq!(app.snapshot().await, before, "{be}");

        // The channels ordered on the account bound what the groups hold (2 + 5 now).
        let total = |n: Json| json!({ "data": { "type": "domain_settings", "id": "1", "attributes": { "total_channels": n } } });
        let (s, err) = app.patch(&format!("{OP}/domain_settings"), total(json!(6))).await;
        assert_eq!((s, err["errors"][0]["source"]["pointer"].as_str()), (422, Some("/data/attributes/total_channels")), "{be}: {err}");
        assert_eq!(app.patch(&format!("{OP}/domain_settings"), total(json!(8))).await.0, 200, "{be}");
        let grow = json!({ "data": { "type": "capacity_groups", "id": g, "attributes": { "capacity": 4 } } });
        let (s, err) = app.patch(&format!("{OP}/capacity_groups/{g}"), grow).await;
        assert_eq!((s, err["errors"][0]["source"]["pointer"].as_str()), (422, Some("/data/attributes/capacity")), "{be}: {err}");
        assert_eq!(app.patch(&format!("{OP}/domain_settings"), total(Json::Null)).await.0, 200, "{be}: unlimited again");

        // CSV and audit, like every resource.
        let (s, csv) = app.get_text(&format!("{OP}/capacity_groups.csv?sort=name")).await;
        assert_eq!(s, 200, "{be}");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "id,name,capacity,created_at,customer_ids", "{be}");
        assert!(lines[1].starts_with(&format!("{g},Office,2,")) && lines[1].ends_with(&format!(",{b}")), "{be}: {csv}");
        assert!(lines[2].ends_with(&format!(",{c} {a}")), "{be}: {csv}");
        let (_, log) = app.get(&format!("{OP}/audit_log_entries?filter[resource_type]=capacity_groups")).await;
        assert_eq!(log["data"].as_array().unwrap().len(), 4, "{be}: two creates, two updates: {log}");

        // Customers do not see groups at all.
        let (user, pass) = app.customer_credential(&b).await;
        let me = app.as_user(&user, &pass);
        assert_eq!(me.get("/api/rest/public/customer/capacity_groups").await.0, 404, "{be}");
        assert_eq!(me.get(&format!("/api/rest/public/customer/capacity_groups/{g}")).await.0, 404, "{be}");

        // Deleting a member customer takes it out; deleting the group frees the rest.
        assert_eq!(app.delete(&format!("{OP}/customers/{a}")).await.0, 204, "{be}");
        let (_, body) = app.get(&format!("{OP}/capacity_groups/{other}")).await;
        assert_eq!(body["data"]["relationships"]["customer"]["data"], members(&[&c])["data"], "{be}");
        assert_eq!(app.delete(&format!("{OP}/capacity_groups/{g}")).await.0, 204, "{be}");
        let (s, _) = app.patch(&format!("{OP}/capacity_groups/{other}"), patch(&other, json!({ "customer": members(&[&c, &b]) }))).await;
        assert_eq!(s, 200, "{be}: B is free to join once its group is gone");
    }
}
