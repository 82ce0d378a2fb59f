//! UI preferences: per identity, one key at a time, on both backends.

use crate::testing::stores;
use serde_json::json;

#[tokio::test]
async fn preferences_are_kept_per_identity_and_key() {
    for (name, s, _db) in stores().await {
        assert!(s.ui_preferences("operator_user", "1").await.unwrap().is_empty(), "{name}");
        s.set_ui_preference("operator_user", "1", "time_zone", Some(json!("Europe/Vilnius"))).await.unwrap();
        s.set_ui_preference("operator_user", "1", "columns", Some(json!({ "termination-cdrs": ["id", "duration"] }))).await.unwrap();
        // The same id of another kind of user is someone else.
        s.set_ui_preference("customer_user", "1", "time_zone", Some(json!("UTC"))).await.unwrap();

        let p = s.ui_preferences("operator_user", "1").await.unwrap();
        assert_eq!(p["time_zone"], json!("Europe/Vilnius"), "{name}");
        assert_eq!(p["columns"]["termination-cdrs"], json!(["id", "duration"]), "{name}");
        assert_eq!(s.ui_preferences("customer_user", "1").await.unwrap()["time_zone"], json!("UTC"), "{name}");

        // Changing one key keeps the others; None removes a key.
        s.set_ui_preference("operator_user", "1", "time_zone", Some(json!("UTC"))).await.unwrap();
        s.set_ui_preference("operator_user", "1", "columns", None).await.unwrap();
        let p = s.ui_preferences("operator_user", "1").await.unwrap();
        assert_eq!(p.len(), 1, "{name}: {p:?}");
        assert_eq!(p["time_zone"], json!("UTC"), "{name}");

        // Oversized input is refused and leaves what was stored.
        let huge = "x".repeat(20_000);
        assert!(matches!(s.set_ui_preference("operator_user", "1", "junk", Some(json!(huge))).await, Err(crate::Error::Refused(_))));
        assert_eq!(s.ui_preferences("operator_user", "1").await.unwrap().len(), 1, "{name}");
    }
}
