//! Creates, updates and deletes, with the rules of SPEC.md that span rows:
//! defaults from the domain settings, customer ids (client-chosen or not,
//! never issued twice), the SIP account limit, relationships only within
//! one customer (or to shared gateways/routes), generated trunk domains,
//! the default trunk of a new customer, refusing deletes that would orphan
//! records or leave the operator no way in, capacity groups (`capacity`).
//! Each change and its audit entry commit together.

mod capacity;

use crate::error::Errors;
use crate::record::{fetch_one, id_list, parse_id_list, Input, Record, RelInput};
use crate::sql::Sql;
use crate::{audit, auth, Actor, Backend, Error, Result, Scope, Store};
use domain::access::{Denied, Openings, Policy};
use domain::schema::{self, Default, Mode, Rel, Resource, Storage};
use domain::{FieldError, Value};
use sqlx::{Any, Row as _, Transaction};

type Tx<'a> = Transaction<'a, Any>;

fn invalid(field: &str, msg: impl Into<String>) -> Error {
    Error::Invalid(FieldError::new(field, msg))
}

/// The actor's policy, for checking its input again here: the API and the
/// UI ask first, and no other caller may write what they would refuse.
fn policy(actor: &Actor, settings: Option<&Record>) -> Policy {
    match settings {
        Some(s) if actor.scope.is_customer() => Policy::new(actor.scope, Openings::from_settings(|n| s.get(n))),
        _ => Policy::operator(),
    }
}

fn check_input(policy: &Policy, res: &'static Resource, input: &Input, creating: bool, errs: &mut Errors) {
    let names = input.attrs.iter().map(|(f, _)| f.name).chain(input.rels.iter().map(|(r, _)| r.name));
    for name in names {
        match policy.may_set(res, name, creating) {
            Ok(()) => {}
            Err(Denied::NotWritable { .. }) => errs.add(name, if creating { "is read-only" } else { "can't be changed" }),
            Err(_) => errs.add(name, "can only be set by the operator"),
        }
    }
}

/// Creates the settings row and the server secrets on a fresh store.
pub(crate) async fn ensure_settings(store: &Store) -> Result<()> {
    let _guard = store.write_lock.lock().await;
    // No check-then-insert: two nodes starting together on PostgreSQL would
    // both see no row, and the second INSERT would fail that node's start.
    let res = &schema::DOMAIN_SETTINGS;
    let mut sql = Sql::new("INSERT INTO domain_settings (id");
    let mut vals = Sql::default();
    for f in res.fields.iter().skip(1) {
        sql.push(", ").push(f.column);
        let v = match f.default {
            Default::Int(i) => Value::Int(i),
            Default::Str(s) => Value::Text(s.into()),
            Default::Bool(b) => Value::Bool(b),
            _ => Value::Null,
        };
        let placeholder = sql.bind(v, f.kind.storage());
        vals.push(", ").push(&placeholder);
    }
    sql.push(") VALUES (1").push(&vals.text).push(") ON CONFLICT (id) DO NOTHING");
    sql.query().execute(&store.pool).await?;
    sqlx::query("INSERT INTO server_secrets (name, value) VALUES ('session_key', $1) ON CONFLICT (name) DO NOTHING")
        .bind(auth::random_token(48))
        .execute(&store.pool)
        .await?;
    Ok(())
}

/// Secrets generated or hashed before the write lock is taken (Argon2 is
/// slow by design and must not hold up other writers).
/// A dry run (`hash` false) skips the hashing: only the checks matter.
async fn prepare(res: &'static Resource, input: &mut Input, creating: bool, hash: bool) -> Result<Option<(&'static str, String)>> {
    let mut generated = None;
    for f in res.fields {
        let pos = input.attrs.iter().position(|(x, _)| x.name == f.name);
        if pos.is_none() && creating && f.default == Default::Generated {
            let s = auth::random_token(20);
            generated = Some((f.name, s.clone()));
            input.attrs.push((f, Value::Text(s)));
        }
        if f.mode == Mode::Hashed && hash {
            if let Some(i) = input.attrs.iter().position(|(x, _)| x.name == f.name) {
                if let Value::Text(plain) = &input.attrs[i].1 {
                    input.attrs[i].1 = Value::Text(auth::hash_password(plain.clone()).await?);
                }
            }
        }
    }
    Ok(generated)
}

impl Store {
    pub async fn settings(&self) -> Result<Record> {
        self.get(&schema::DOMAIN_SETTINGS, Scope::Operator, 1).await
    }

    /// Creates a record; the audit entry is written in the same transaction.
    pub async fn create(&self, res: &'static Resource, actor: &Actor, mut input: Input) -> Result<Record> {
        let generated = prepare(res, &mut input, true, true).await?;
        let _guard = self.write_lock.lock().await;
        let settings = self.settings().await?;
        let mut tx = self.begin_write().await?;
        let mut rec = insert(self.backend, &mut tx, res, actor, input, &settings).await?;
        tx.commit().await?;
        self.changed(res.kind, rec.id());
        rec.generated = generated;
        Ok(rec)
    }

    /// A dry run of [`Store::create`]: every error the create would answer,
    /// nothing written (the transaction is rolled back). A form whose own
    /// parsing already failed uses it to show the store's errors too.
    pub async fn validate(&self, res: &'static Resource, actor: &Actor, mut input: Input) -> Result<()> {
        prepare(res, &mut input, true, false).await?;
        let _guard = self.write_lock.lock().await;
        let settings = self.settings().await?;
        let mut tx = self.begin_write().await?;
        let result = insert(self.backend, &mut tx, res, actor, input, &settings).await.map(drop);
        tx.rollback().await?;
        result
    }

    pub async fn update(&self, res: &'static Resource, actor: &Actor, id: i64, mut input: Input) -> Result<Record> {
        prepare(res, &mut input, false, true).await?;
        let _guard = self.write_lock.lock().await;
        let settings = if actor.scope.is_customer() { Some(self.settings().await?) } else { None };
        let mut errs = Errors::default();
        check_input(&policy(actor, settings.as_ref()), res, &input, false, &mut errs);
        let mut tx = self.begin_write().await?;
        let before = fetch_one(&mut *tx, res, actor.scope, id).await?;
        let mut sql = Sql::new(format!("UPDATE {} SET ", res.table));
        let mut after = before.clone();
        let mut n = 0;
        for (f, v) in &input.attrs {
            if v.is_null() && !f.nullable {
                errs.add(f.name, "can't be blank");
                continue;
            }
            if n > 0 {
                sql.push(", ");
            }
            sql.push(f.column).push(" = ").arg(v.clone(), f.kind.storage());
            if f.mode != Mode::Hashed {
                after.set(f.column, v.clone());
            }
            n += 1;
        }
        for (r, to) in &input.rels {
            if n > 0 {
                sql.push(", ");
            }
            n += 1;
            if r.many {
                let Some(list) = errs.take(check_members(&mut tx, r, before.customer_id(), to).await)? else { continue };
                let list = Value::Text(list);
                sql.push(r.column).push(" = ").arg(list.clone(), Storage::Text);
                after.set(r.column, list);
                continue;
            }
            let (kind, id) = match to {
                RelInput::To(k, i) => (Value::Text((*k).into()), Value::Int(*i)),
                RelInput::None if r.required => {
                    errs.add(r.name, "can't be blank");
                    continue;
                }
                RelInput::None => (Value::Null, Value::Null),
                RelInput::Many(_) => {
                    errs.add(r.name, "takes one related record, not a list");
                    continue;
                }
            };
            if let RelInput::To(k, i) = to {
                if errs.take(check_rel(&mut tx, r, before.customer_id(), k, *i).await)?.is_none() {
                    continue;
                }
            }
            sql.push(r.column).push(" = ").arg(id.clone(), Storage::Int);
            after.set(r.column, id);
            if let Some(t) = r.type_column {
                sql.push(", ").push(t).push(" = ").arg(kind.clone(), Storage::Text);
                after.set(t, kind);
            }
        }
        errs.take(check_record(&after))?;
        if let Some((_, number)) = input.attrs.iter().find(|(f, _)| f.name == "external_caller_id" && res.kind == "sip_device_routes") {
            errs.take(check_caller_id(&mut tx, before.customer_id(), number).await)?;
        }
        errs.check()?;
        if n == 0 {
            return Ok(before);
        }
        sql.push(" WHERE id = ").arg(Value::Int(id), Storage::Int);
        sql.query().execute(&mut *tx).await.map_err(crate::error::from_db)?;
        let after = fetch_one(&mut *tx, res, Scope::Operator, id).await?;
        capacity::after_write(&mut tx, &after).await?;
        audit::write(&mut tx, actor, "update", res.kind, id, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        self.changed(res.kind, id);
        Ok(after)
    }

    pub async fn delete(&self, res: &'static Resource, actor: &Actor, id: i64) -> Result<()> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin_write().await?;
        let before = fetch_one(&mut *tx, res, actor.scope, id).await?;
        match res.kind {
            "termination_gateways" => {
                let used = count(&mut tx, "SELECT COUNT(*) AS n FROM termination_routes WHERE gateway_id = $1", id).await?;
                if used > 0 {
                    return Err(Error::Refused(format!("termination gateway {id} is used by {used} termination route(s); delete them or point them at another gateway first")));
                }
            }
            "sip_device_routes" | "ring_groups" => {
                sqlx::query("UPDATE did_numbers SET destination_type = NULL, destination_id = NULL WHERE destination_type = $1 AND destination_id = $2")
                    .bind(res.kind)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                if res.kind == "sip_device_routes" {
                    drop_member(&mut tx, before.customer_id(), id).await?;
                }
            }
            "customers" => capacity::drop_customer(&mut tx, id).await?,
            "operator_users" => {
                keep_a_way_in(self.backend, &mut tx, "operator_users", "", id, "the last operator user cannot be deleted").await?;
            }
            "api_credentials" if before.customer_id().is_none() => {
                let last = "the last operator API credential cannot be deleted";
                keep_a_way_in(self.backend, &mut tx, "api_credentials", " AND customer_id IS NULL", id, last).await?;
            }
            _ => {}
        }
        sqlx::query(&format!("DELETE FROM {} WHERE id = $1", res.table)).bind(id).execute(&mut *tx).await.map_err(crate::error::from_db)?;
        audit::write(&mut tx, actor, "delete", res.kind, id, Some(&before), None).await?;
        tx.commit().await?;
        self.changed(res.kind, id);
        Ok(())
    }
}

/// Refuses to delete row `id` of `table` when no other row (matching
/// `and`) is left: the operator keeps a way in. On PostgreSQL the table is
/// locked against other writers until commit, so two nodes deleting the
/// last two rows at once cannot both pass the count.
async fn keep_a_way_in(backend: Backend, tx: &mut Tx<'_>, table: &str, and: &str, id: i64, refusal: &str) -> Result<()> {
    if backend == Backend::Postgres {
        sqlx::query(&format!("LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")).execute(&mut **tx).await?;
    }
    if count(tx, &format!("SELECT COUNT(*) AS n FROM {table} WHERE id <> $1{and}"), id).await? == 0 {
        return Err(Error::Refused(refusal.into()));
    }
    Ok(())
}

async fn count(tx: &mut Tx<'_>, sql: &str, id: i64) -> Result<i64> {
    Ok(sqlx::query(sql).bind(id).fetch_one(&mut **tx).await?.try_get("n")?)
}

/// Inserts one record (and, for a customer, its default trunk).
async fn insert(
    backend: Backend,
    tx: &mut Tx<'_>,
    res: &'static Resource,
    actor: &Actor,
    input: Input,
    settings: &Record,
) -> Result<Record> {
    let now = domain::time::now_ms();
    let mut cols = Sql::new(format!("INSERT INTO {} (", res.table));
    let mut vals = Sql::default();
    let mut first = true;
    let mut add = |name: &str, v: Value, st: Storage| {
        if !first {
            cols.push(", ");
            vals.push(", ");
        }
        first = false;
        cols.push(name);
        let placeholder = cols.bind(v, st);
        vals.push(&placeholder);
    };

    // The record's customer: a customer actor can only create its own.
    let given_customer = input.rels.iter().find(|(r, _)| r.name == "customer").and_then(|(_, to)| match to {
        RelInput::To(_, id) => Some(*id),
        RelInput::None | RelInput::Many(_) => None,
    });
    // Every field error is gathered in one pass, relationships included,
    // so one submit learns all it got wrong.
    let mut errs = Errors::default();
    let customer = errs.take(actor.scope.owner(res, given_customer).map_err(|d| invalid("customer", d.to_string())))?.flatten();
    check_input(&policy(actor, Some(settings)), res, &input, true, &mut errs);

    let mut id = None;
    if res.kind == "customers" {
        let chosen = issue_customer_id(backend, tx, input.id).await?;
        id = Some(chosen);
        add("id", Value::Int(chosen), Storage::Int);
    }

    let mut rec_values: Vec<(&'static str, Value)> = Vec::new();
    for f in res.fields.iter().skip(1) {
        let given = input.attrs.iter().find(|(x, _)| x.name == f.name).map(|(_, v)| v.clone());
        let v = match (given, f.default) {
            (Some(v), _) => v,
            (None, Default::Int(i)) => Value::Int(i),
            (None, Default::Str(s)) => Value::Text(s.into()),
            (None, Default::Bool(b)) => Value::Bool(b),
            (None, Default::Setting(name)) => settings.get(name).clone(),
            (None, Default::Null | Default::Generated) => Value::Null,
        };
        let v = match f.name {
            "created_at" => Value::Int(now),
            "operator" => Value::Bool(actor.scope == Scope::Operator),
            "controlled_via_ui" => Value::Bool(actor.scope != Scope::Operator),
            _ => v,
        };
        if v.is_null() && f.required {
            errs.add(f.name, "can't be blank");
            continue;
        }
        rec_values.push((f.column, v.clone()));
        add(f.column, v, f.kind.storage());
    }

    for r in res.rels {
        if r.many {
            let none = RelInput::None;
            let to = input.rels.iter().find(|(x, _)| x.name == r.name).map_or(&none, |(_, to)| to);
            let Some(list) = errs.take(check_members(tx, r, customer, to).await)? else { continue };
            rec_values.push((r.column, Value::Text(list.clone())));
            add(r.column, Value::Text(list), Storage::Text);
            continue;
        }
        let to = if r.name == "customer" {
            customer.map(|c| ("customers", c))
        } else {
            match input.rels.iter().find(|(x, _)| x.name == r.name).map(|(_, to)| to) {
                Some(RelInput::To(k, i)) => Some((*k, *i)),
                Some(RelInput::None) | None => None,
                Some(RelInput::Many(_)) => {
                    errs.add(r.name, "takes one related record, not a list");
                    continue;
                }
            }
        };
        match to {
            None if r.required => errs.add(r.name, "must exist"),
            None => {}
            Some((k, i)) => {
                if errs.take(check_rel(tx, r, customer, k, i).await)?.is_none() {
                    continue;
                }
                rec_values.push((r.column, Value::Int(i)));
                add(r.column, Value::Int(i), Storage::Int);
                if let Some(t) = r.type_column {
                    rec_values.push((t, Value::Text(k.into())));
                    add(t, Value::Text(k.into()), Storage::Text);
                }
            }
        }
    }
    errs.take(check_values(res, &rec_values))?;
    if res.kind == "sip_device_routes" {
        let number = rec_values.iter().find(|(c, _)| *c == "external_caller_id").map_or(&Value::Null, |(_, v)| v);
        errs.take(check_caller_id(tx, customer, number).await)?;
    }
    errs.check()?;
    if res.kind == "sip_device_routes" {
        let c = customer.expect("required relationship");
        check_sip_account_limit(backend, tx, c).await?;
    }

    cols.push(") VALUES (").push(&vals.text).push(") RETURNING id");
    let row = cols.query().fetch_one(&mut **tx).await.map_err(crate::error::from_db)?;
    let new_id: i64 = id.unwrap_or(row.try_get("id")?);

    if res.kind == "incoming_trunks" {
        let domain = format!("{new_id}.in.{}", settings.get("sip_domain").as_str().unwrap_or("switchboard.local"));
        sqlx::query("UPDATE incoming_trunks SET domain = $1 WHERE id = $2")
            .bind(domain)
            .bind(new_id)
            .execute(&mut **tx)
            .await
            .map_err(crate::error::from_db)?;
    }

    let rec = fetch_one(&mut **tx, res, Scope::Operator, new_id).await?;
    capacity::after_write(tx, &rec).await?;
    audit::write(tx, actor, "create", res.kind, new_id, None, Some(&rec)).await?;

    if res.kind == "customers" && settings.get("create_default_incoming_trunk") == &Value::Bool(true) {
        let trunk = Input::default().with(&schema::INCOMING_TRUNKS, "name", "Default").with_rel(
            &schema::INCOMING_TRUNKS,
            "customer",
            RelInput::To("customers", new_id),
        );
        Box::pin(insert(backend, tx, &schema::INCOMING_TRUNKS, actor, trunk, settings)).await?;
    }
    Ok(rec)
}

/// A customer id never issued before, recorded as issued. A customer's id
/// is the tenant key of rows that outlive it (CDRs, live calls, the audit
/// log), so an id once given out is never given again, chosen or not: a
/// new customer cannot inherit a deleted one's records.
async fn issue_customer_id(backend: Backend, tx: &mut Tx<'_>, chosen: Option<i64>) -> Result<i64> {
    if backend == Backend::Postgres {
        // Other nodes create customers too: one at a time, so two never
        // pick the same next id (SQLite's BEGIN IMMEDIATE already serialises).
        sqlx::query("LOCK TABLE customer_ids IN EXCLUSIVE MODE").execute(&mut **tx).await?;
    }
    let id = match chosen {
        Some(i) if i < 1 => return Err(invalid("id", "must be a positive integer")),
        Some(i) => {
            if count(tx, "SELECT COUNT(*) AS n FROM customer_ids WHERE id = $1", i).await? > 0 {
                return Err(Error::IdTaken(i));
            }
            i
        }
        None => {
            let max: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) AS id FROM customer_ids").fetch_one(&mut **tx).await?.try_get("id")?;
            max.checked_add(1).ok_or_else(|| Error::Refused("no customer id is left after the largest one issued; choose an id".into()))?
        }
    };
    sqlx::query("INSERT INTO customer_ids (id, issued_at) VALUES ($1, $2)")
        .bind(id)
        .bind(domain::time::now_ms())
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

/// Rules across attributes of one record.
fn check_values(res: &Resource, values: &[(&str, Value)]) -> Result<()> {
    let get = |c: &str| values.iter().find(|(x, _)| *x == c).map_or(&Value::Null, |(_, v)| v);
    let mut errs = Errors::default();
    if res.kind == "incoming_trunks" && get("auth_name").is_null() != get("auth_password").is_null() {
        let missing = if get("auth_name").is_null() { "auth_name" } else { "auth_password" };
        errs.add(missing, "auth_name and auth_password go together: set both or neither");
    }
    if res.kind == "available_did_numbers" && !get("forward_number").is_null() && !get("destination_id").is_null() {
        errs.add("forward_number", "can't be set together with a destination: a number rings one thing");
    }
    for (rule, result) in [("src_rewrite_rule", "src_rewrite_result"), ("dst_rewrite_rule", "dst_rewrite_result")] {
        if let (Some(rule_text), Some(result_text)) = (get(rule).as_str(), get(result).as_str()) {
            if let Err(m) = domain::rewrite::RewriteRule::parse(rule_text, result_text) {
                errs.add(result, m);
            }
        }
    }
    errs.check()
}

fn check_record(rec: &Record) -> Result<()> {
    let cols: Vec<(&str, Value)> = [
        "forward_number",
        "destination_id",
        "src_rewrite_rule",
        "src_rewrite_result",
        "dst_rewrite_rule",
        "dst_rewrite_result",
        "auth_name",
        "auth_password",
    ]
    .into_iter()
    .map(|c| (c, rec.get(c).clone()))
    .collect();
    check_values(rec.res, &cols)
}

/// A relationship may point at a record of the same customer, or at a
/// shared (customer-less) gateway or route; never at another customer's.
async fn check_rel(tx: &mut Tx<'_>, r: &Rel, customer: Option<i64>, kind: &str, id: i64) -> Result<()> {
    let target_res = schema::resource(kind).ok_or_else(|| invalid(r.name, "has an unknown type"))?;
    let target = match fetch_one(&mut **tx, target_res, Scope::Operator, id).await {
        Err(Error::NotFound) => return Err(invalid(r.name, format!("{kind} {id} does not exist"))),
        other => other?,
    };
    if r.name == "customer" {
        return Ok(());
    }
    let tc = target.customer_id();
    let shared_ok = tc.is_none() && target_res.rel("customer").is_some_and(|c| !c.required);
    if tc != customer && !shared_ok {
        // Same wording as a missing record: never reveal another tenant's ids.
        return Err(invalid(r.name, format!("{kind} {id} does not exist")));
    }
    Ok(())
}

/// Checks the members of a to-many relationship (each exists, belongs to
/// the customer, appears once, not too many) and answers the stored list.
async fn check_members(tx: &mut Tx<'_>, r: &Rel, customer: Option<i64>, to: &RelInput) -> Result<String> {
    let ids: &[i64] = match to {
        RelInput::Many(ids) => ids,
        RelInput::None => &[],
        RelInput::To(..) => return Err(invalid(r.name, "takes a list of related records")),
    };
    if ids.len() > r.max {
        return Err(invalid(r.name, format!("can have at most {} members", r.max)));
    }
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            return Err(invalid(r.name, format!("lists {} {id} twice", r.targets[0])));
        }
        check_rel(tx, r, customer, r.targets[0], *id).await?;
    }
    Ok(id_list(ids))
}

/// Takes a deleted SIP account out of its customer's ring groups.
async fn drop_member(tx: &mut Tx<'_>, customer: Option<i64>, id: i64) -> Result<()> {
    let rows = sqlx::query("SELECT id, member_ids FROM ring_groups WHERE customer_id = $1").bind(customer).fetch_all(&mut **tx).await?;
    drop_from_id_lists(tx, "ring_groups", "member_ids", rows, id).await
}

/// Takes `id` out of the id list in `column` of these `rows` of `table`
/// (each selected with its `id` and that column), rewriting only the rows
/// that held it.
async fn drop_from_id_lists(
    tx: &mut Tx<'_>,
    table: &'static str,
    column: &'static str,
    rows: Vec<sqlx::any::AnyRow>,
    id: i64,
) -> Result<()> {
    let update = format!("UPDATE {table} SET {column} = $1 WHERE id = $2");
    for row in rows {
        let (row_id, list): (i64, String) = (row.try_get("id")?, row.try_get(column)?);
        let before: Vec<i64> = parse_id_list(&list).collect();
        if before.contains(&id) {
            let after: Vec<i64> = before.into_iter().filter(|&m| m != id).collect();
            sqlx::query(&update).bind(id_list(&after)).bind(row_id).execute(&mut **tx).await?;
        }
    }
    Ok(())
}

/// What the PSTN trusts is the caller's number: an external caller id must
/// be one of the customer's own DID numbers, unless the operator lets the
/// customer show any (`allow_any_caller_id`, for wholesale). The SIP plane
/// checks again at call time, for numbers that left the customer since.
async fn check_caller_id(tx: &mut Tx<'_>, customer: Option<i64>, number: &Value) -> Result<()> {
    let (Some(customer), Some(number)) = (customer, number.as_str()) else { return Ok(()) };
    let owner = fetch_one(&mut **tx, &schema::CUSTOMERS, Scope::Operator, customer).await?;
    if owner.get("allow_any_caller_id").as_bool() == Some(true) {
        return Ok(());
    }
    let owned: i64 = sqlx::query("SELECT COUNT(*) AS n FROM did_numbers WHERE customer_id = $1 AND number = $2")
        .bind(customer)
        .bind(number)
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?;
    if owned == 0 {
        return Err(invalid("external_caller_id", "must be one of the customer's own DID numbers"));
    }
    Ok(())
}

async fn check_sip_account_limit(backend: Backend, tx: &mut Tx<'_>, customer: i64) -> Result<()> {
    let lock = if backend == Backend::Postgres { " FOR UPDATE" } else { "" };
    let limit: Option<i64> = sqlx::query(&format!("SELECT sip_account_limit FROM customers WHERE id = $1{lock}"))
        .bind(customer)
        .fetch_one(&mut **tx)
        .await?
        .try_get("sip_account_limit")?;
    if let Some(limit) = limit {
        let n = count(tx, "SELECT COUNT(*) AS n FROM sip_accounts WHERE customer_id = $1", customer).await?;
        if n >= limit {
            return Err(Error::Refused(format!(
                "the customer has reached its SIP account limit ({limit}); no more SIP accounts can be created"
            )));
        }
    }
    Ok(())
}
