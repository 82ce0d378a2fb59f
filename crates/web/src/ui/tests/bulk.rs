//! Bulk actions without a browser: the form is read strictly, a change is
//! confirmed before it is applied (and the confirmation names how many),
//! each record is written through the store (one audit entry each), and
//! the empty and error states say what is wrong.

use super::{Server, StatusCode};
use crate::ui::bulk::{parse, Action, Target, MAX};
use crate::ui::session::FormBody;
use domain::schema;
use store::{Actor, Input, ListQuery, RelInput, Scope};

fn form(pairs: &[(&str, &str)]) -> FormBody {
    FormBody(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
}

#[test]
fn bulk_forms_are_read_strictly() {
    let r = parse(&form(&[("action", "disable"), ("id", "3"), ("id", "1"), ("id", "3"), ("q", "filter[enabled]=true")])).unwrap();
    assert_eq!(r.action, Action::Disable);
    assert_eq!(r.target, Target::Ids(vec![1, 3]), "sorted, each once");
    assert_eq!(r.query, "filter[enabled]=true");
    assert!(!r.confirmed);
    // The confirmation page sends the ids as one list.
    let r = parse(&form(&[("action", "delete"), ("ids", "5,4,6"), ("confirm", "1")])).unwrap();
    assert_eq!((r.target, r.confirmed), (Target::Ids(vec![4, 5, 6]), true));
    let r = parse(&form(&[("action", "enable"), ("all", "1"), ("id", "9")])).unwrap();
    assert_eq!(r.target, Target::Matching, "select all matching wins over the ticked rows");
    let r = parse(&form(&[("action", "edit"), ("id", "2"), ("field", "forward_number"), ("value", "37060000001")])).unwrap();
    assert_eq!((r.field.as_deref(), r.value.as_str()), (Some("forward_number"), "37060000001"));

    let err = |pairs: &[(&str, &str)]| parse(&form(pairs)).unwrap_err();
    assert_eq!(err(&[("id", "1")]), "Choose an action.");
    assert_eq!(err(&[("action", "explode"), ("id", "1")]), "explode is not a bulk action.");
    assert_eq!(err(&[("action", "disable")]), "Select at least one record.");
    assert_eq!(err(&[("action", "disable"), ("id", "x1")]), "x1 is not a record id.");
    assert_eq!(err(&[("action", "disable"), ("id", "0")]), "0 is not a record id.");
    assert_eq!(err(&[("action", "edit"), ("id", "1")]), "Choose the field to change.");
    let many = (1..=MAX as i64 + 1).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    assert!(err(&[("action", "delete"), ("ids", &many)]).contains("at most 10000 records"));
}

fn op() -> Actor {
    Actor { scope: Scope::Operator, kind: "api_credential", id: "1".into(), name: "test".into() }
}

async fn audit_entries(srv: &Server) -> u64 {
    let q = ListQuery { count: true, limit: 1, ..ListQuery::default() };
    srv.store.list(&schema::AUDIT_LOG, Scope::Operator, &q).await.unwrap().total.unwrap()
}

pub(super) async fn bulk_changes_are_confirmed_then_applied_record_by_record(srv: Server) {
    let s = &srv.store;
    let c = s.create(&schema::CUSTOMERS, &op(), Input::default().with(&schema::CUSTOMERS, "name", "Bulk Co")).await.unwrap().id();
    let mut ids = Vec::new();
    for n in 0..4 {
        let i = Input::default().with(&schema::DID_NUMBERS, "number", format!("3706100000{n}")).with_rel(
            &schema::DID_NUMBERS,
            "customer",
            RelInput::To("customers", c),
        );
        ids.push(s.create(&schema::DID_NUMBERS, &op(), i).await.unwrap().id());
    }
    let mut ses = srv.operator().await;
    let (st, body, _) = srv.get(&mut ses, "/ui/numbers").await;
    assert_eq!(st, StatusCode::OK);
    assert!(body.contains("<form id=\"bulk\""), "the bulk form");
    assert!(body.contains("name=\"action\"><option value=\"\">— choose an action —</option>"), "no action until one is chosen");
    assert!(body.contains(&format!("value=\"{}\" form=\"bulk\" aria-label=\"Select 37061000000\"", ids[0])), "a row checkbox in the form");
    assert!(body.contains("aria-label=\"Select all on this page\""));
    assert!(body.contains("Select all 4 matching"));
    let csrf = ses.csrf.clone();

    // Asked first: nothing changes until confirmed.
    let before = audit_entries(&srv).await;
    let (a, b, d) = (ids[0].to_string(), ids[1].to_string(), ids[2].to_string());
    let pick = [("_csrf", csrf.as_str()), ("action", "disable"), ("id", &a), ("id", &b), ("id", &d), ("q", "")];
    let (st, page, _) = srv.post(&mut ses, "/ui/numbers/bulk", &pick).await;
    assert_eq!(st, StatusCode::OK);
    assert!(page.contains("<h1>Disable 3 available numbers?</h1>"), "{page}");
    assert!(page.contains("37061000000, 37061000001, 37061000002"), "names the records");
    assert!(page.contains("name=\"confirm\" value=\"1\""));
    assert_eq!(audit_entries(&srv).await, before, "not applied yet");

    let ids_list = format!("{a},{b},{d}");
    let confirm = [("_csrf", csrf.as_str()), ("action", "disable"), ("ids", &ids_list), ("confirm", "1"), ("q", "")];
    let (st, done, _) = srv.post(&mut ses, "/ui/numbers/bulk", &confirm).await;
    assert_eq!(st, StatusCode::OK);
    assert!(done.contains("Disabled 3 available numbers"), "{done}");
    assert_eq!(audit_entries(&srv).await, before + 3, "one audit entry per changed record");
    for (i, id) in ids.iter().enumerate() {
        let rec = s.get(&schema::DID_NUMBERS, Scope::Operator, *id).await.unwrap();
        assert_eq!(rec.get("enabled").as_bool(), Some(i == 3), "number {i}");
    }
    // Again: already so, no new audit entries.
    let (_, again, _) = srv.post(&mut ses, "/ui/numbers/bulk", &confirm).await;
    assert!(again.contains("Disabled 0 available numbers; 3 already so"), "{again}");
    assert_eq!(audit_entries(&srv).await, before + 3);

    // Edit a field, with the API's validation.
    let d4 = ids[3].to_string();
    let bad = [
        ("_csrf", csrf.as_str()),
        ("action", "edit"),
        ("ids", &d4),
        ("field", "forward_number"),
        ("value", "not-a-number"),
        ("confirm", "1"),
    ];
    let (st, page, _) = srv.post(&mut ses, "/ui/numbers/bulk", &bad).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("Forward to number: must contain digits only"), "names the field: {page}");
    let not_bulk = [("_csrf", csrf.as_str()), ("action", "edit"), ("ids", &d4), ("field", "controlled_via_ui"), ("value", "true")];
    assert_eq!(srv.post(&mut ses, "/ui/numbers/bulk", &not_bulk).await.0, StatusCode::UNPROCESSABLE_ENTITY, "a read-only field");
    let good = [
        ("_csrf", csrf.as_str()),
        ("action", "edit"),
        ("ids", &d4),
        ("field", "forward_number"),
        ("value", "37069999999"),
        ("confirm", "1"),
    ];
    let (_, page, _) = srv.post(&mut ses, "/ui/numbers/bulk", &good).await;
    assert!(page.contains("Changed 1 available numbers"), "{page}");
    let rec = s.get(&schema::DID_NUMBERS, Scope::Operator, ids[3]).await.unwrap();
    assert_eq!(rec.get("forward_number").as_str(), Some("37069999999"));

    // Bad input is a clear 4xx, never a panic; a POST needs its token.
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, StatusCode);
    let cases: [Case; 5] = [
        ("/ui/numbers/bulk", vec![("_csrf", csrf.as_str()), ("action", "explode"), ("id", "1")], StatusCode::BAD_REQUEST),
        ("/ui/numbers/bulk", vec![("_csrf", csrf.as_str()), ("action", "disable")], StatusCode::BAD_REQUEST),
        ("/ui/numbers/bulk", vec![("_csrf", csrf.as_str()), ("action", "disable"), ("id", "99999")], StatusCode::BAD_REQUEST),
        ("/ui/numbers/bulk", vec![("action", "disable"), ("id", a.as_str())], StatusCode::FORBIDDEN),
        // The audit log has no bulk actions.
        ("/ui/audit-log/bulk", vec![("_csrf", csrf.as_str()), ("action", "delete"), ("id", "1")], StatusCode::FORBIDDEN),
    ];
    for (path, pairs, want) in cases {
        let (st, body, _) = srv.post(&mut ses, path, &pairs).await;
        assert_eq!(st, want, "{path} {pairs:?}: {body}");
    }
    let (st, body, _) = srv.post(&mut ses, "/ui/no-such-tab/bulk", &[("_csrf", csrf.as_str()), ("action", "delete"), ("id", "1")]).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(body.contains("No such page."));
    let (_, body, _) = srv.post(&mut ses, "/ui/numbers/bulk", &[("_csrf", csrf.as_str()), ("action", "disable"), ("q", "sort=-id")]).await;
    assert!(body.contains("<a href=\"/ui/numbers?sort=-id\">Back to the list</a>"), "the way back to the list: {body}");
}

pub(super) async fn lists_and_pages_say_what_is_empty_or_wrong(srv: Server) {
    let mut ses = srv.operator().await;
    let (st, body, _) = srv.get(&mut ses, "/ui/capacity-groups").await;
    assert_eq!(st, StatusCode::OK);
    assert!(body.contains("No capacity groups yet"), "{body}");
    assert!(body.contains("href=\"/ui/capacity-groups/new\">+ Create</a></td>"), "offers Create");
    let (_, body, _) = srv.get(&mut ses, "/ui/customers?filter%5Bname_cont%5D=nobody").await;
    assert!(body.contains("No customers match these filters"), "{body}");
    assert!(body.contains("href=\"/ui/customers\">Reset</a></td>"), "offers Reset");
    let (st, body, _) = srv.get(&mut ses, "/ui/customers?sort=bogus").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(body.contains("This sort cannot be used: bogus is not a valid sort criteria"), "{body}");
    assert!(!body.contains("match these filters") && !body.contains("Nothing matches"));
    let (st, body, _) = srv.get(&mut ses, "/ui/customers?filter%5Bbogus%5D=1").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(body.contains("This filter cannot be used: filter[bogus]"), "{body}");
    let (st, body, _) = srv.get(&mut ses, "/ui/no-such-tab").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(body.contains("No such page."));
    let (st, body, _) = srv.get(&mut ses, "/ui/customers/424242").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(body.contains("Customer #424242 does not exist."), "{body}");
    let (st, body, _) = srv.get(&mut ses, "/ui/numbers/77/edit").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(body.contains("Number #77 does not exist."), "{body}");
}

pub(super) async fn a_customer_acts_in_bulk_only_on_its_own_records(srv: Server) {
    let (c1, c2) = (super::customer(&srv, "Own Co").await, super::customer(&srv, "Other Co").await);
    let number = |c: i64, n: &str| {
        Input::default().with(&schema::DID_NUMBERS, "number", n.to_owned()).with_rel(
            &schema::DID_NUMBERS,
            "customer",
            RelInput::To("customers", c),
        )
    };
    // The operator's numbers: the customer may not delete its own one, nor see the other's.
    let kept = srv.store.create(&schema::DID_NUMBERS, &op(), number(c1, "37063000001")).await.unwrap().id();
    let foreign = srv.store.create(&schema::DID_NUMBERS, &op(), number(c2, "37063000002")).await.unwrap().id();
    super::set(&srv, "customers_may_add_numbers", true).await;
    let mut opses = srv.operator().await;
    let mut cust = super::open_ui(&srv, &mut opses, c1).await;
    let csrf = cust.csrf.clone();
    for n in ["37063000003", "37063000004"] {
        let (st, _, _) = srv.post(&mut cust, "/customer/numbers", &[("_csrf", &csrf), ("number", n)]).await;
        assert_eq!(st, StatusCode::SEE_OTHER);
    }
    let (_, body, _) = srv.get(&mut cust, "/customer/numbers").await;
    assert!(body.contains("<form id=\"bulk\" class=\"bulk\" method=\"post\" action=\"/customer/numbers/bulk\""), "{body}");
    assert!(!body.contains("37063000002"), "not the other customer's number");
    let q = ListQuery { limit: 10, ..ListQuery::default() };
    let own: Vec<String> =
        srv.store.list(&schema::DID_NUMBERS, Scope::Customer(c1), &q).await.unwrap().records.iter().map(|r| r.id().to_string()).collect();
    assert_eq!(own.len(), 3);
    let ids = format!("{},{foreign}", own.join(","));
    let (st, page, _) = srv.post(&mut cust, "/customer/numbers/bulk", &[("_csrf", &csrf), ("action", "delete"), ("ids", &ids)]).await;
    assert_eq!(st, StatusCode::OK);
    assert!(page.contains("<h1>Delete 3 available numbers?</h1>"), "the other customer's id is not counted: {page}");
    let confirm = [("_csrf", csrf.as_str()), ("action", "delete"), ("ids", &ids), ("confirm", "1")];
    let (_, done, _) = srv.post(&mut cust, "/customer/numbers/bulk", &confirm).await;
    assert!(done.contains("Deleted 2 available numbers; 1 refused:"), "{done}");
    assert!(done.contains("<strong>37063000001</strong>"), "the refused one by name: {done}");
    for id in [kept, foreign] {
        assert!(srv.store.get(&schema::DID_NUMBERS, Scope::Operator, id).await.is_ok(), "number {id} is still there");
    }
}
