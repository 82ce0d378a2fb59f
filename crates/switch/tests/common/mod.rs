//! What every switch test needs: a SIP account in a store, and its presence
//! as the API would show it.

use domain::schema;
use store::{Actor, Input, RelInput, Scope, Store};

/// A new customer with one SIP account; the account's id.
pub async fn account(store: &Store, username: &str, password: &str) -> i64 {
    let actor = Actor::system();
    let c = store.create(&schema::CUSTOMERS, &actor, Input::default().with(&schema::CUSTOMERS, "name", "Acme")).await.unwrap().id();
    let input = Input::default()
        .with(&schema::SIP_ACCOUNTS, "username", username)
        .with(&schema::SIP_ACCOUNTS, "password", password)
        .with_rel(&schema::SIP_ACCOUNTS, "customer", RelInput::To("customers", c));
    store.create(&schema::SIP_ACCOUNTS, &actor, input).await.unwrap().id()
}

/// (`is_online`, `user_agent`) of an account.
pub async fn presence(store: &Store, id: i64) -> (bool, Option<String>) {
    let r = store.get(&schema::SIP_ACCOUNTS, Scope::Operator, id).await.unwrap();
    (r.get("is_online").as_bool().unwrap(), r.get("user_agent").as_str().map(str::to_owned))
}
