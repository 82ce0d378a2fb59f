//! Every field error of a request in one 422: one error object per field,
//! each pointing at its attribute or relationship.

use super::{customer, OP};
use crate::support::spawn_apps;
use serde_json::json;

#[tokio::test]
async fn a_post_with_two_bad_fields_gets_every_error() {
    for app in spawn_apps().await {
        let be = app.backend;
        // No username and no customer: both named at once.
        let body = json!({ "data": { "type": "sip_device_routes", "attributes": { "caller_id_name": "Desk" } } });
        let (s, b) = app.post(&format!("{OP}/sip_device_routes"), body).await;
        assert_eq!(s, 422, "{be}: {b}");
        let errors = b["errors"].as_array().unwrap();
        let pointers: Vec<&str> = errors.iter().map(|e| e["source"]["pointer"].as_str().unwrap()).collect();
        assert_eq!(pointers, ["/data/attributes/username", "/data/relationships/customer"], "{be}: {b}");
        assert_eq!(errors[0]["detail"], "username - can't be blank");
        assert_eq!(errors[1]["detail"], "customer - must exist");
        assert!(errors.iter().all(|e| e["status"] == "422" && e["code"] == "100"), "{be}: {b}");

        // A malformed attribute and a missing relationship: the document's
        // error and the store's, in one answer.
        let body =
            json!({ "data": { "type": "sip_device_routes", "attributes": { "username": "desk-1", "internal_caller_id": "12345" } } });
        let (s, b) = app.post(&format!("{OP}/sip_device_routes"), body).await;
        assert_eq!(s, 422, "{be}: {b}");
        let pointers: Vec<&str> = b["errors"].as_array().unwrap().iter().map(|e| e["source"]["pointer"].as_str().unwrap()).collect();
        assert_eq!(pointers, ["/data/attributes/internal_caller_id", "/data/relationships/customer"], "{be}: {b}");

        // One bad field is still one error.
        let c = customer(&app, "Acme", json!({})).await;
        let body = json!({ "data": { "type": "sip_device_routes", "attributes": {},
            "relationships": { "customer": { "data": { "type": "customers", "id": c } } } } });
        let (s, b) = app.post(&format!("{OP}/sip_device_routes"), body).await;
        assert_eq!(s, 422, "{be}: {b}");
        assert_eq!(b["errors"].as_array().unwrap().len(), 1, "{be}: {b}");
        assert_eq!(b["errors"][0]["source"]["pointer"], "/data/attributes/username");
    }
}
