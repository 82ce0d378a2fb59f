//! The generic JSON:API handlers: list, show, create, update, delete,
//! related records, relationship linkage and CSV export, for every resource
//! of the schema and both scopes.

use super::document::{self, Shape};
use super::error::{ApiError, ApiResult};
use super::params::{self, Params};
use super::{Ctx, JsonApi, JsonApiText};
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::access::Method;
use domain::schema::{self, Rel, Resource};
use futures_util::StreamExt;
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, HashSet};
use store::{Record, Scope};

const SETTINGS_ID: i64 = 1;

impl Ctx {
    /// The resource at a path segment, if this scope may see it at all.
    fn resource(&self, kind: &str) -> ApiResult<&'static Resource> {
        schema::resource(kind).filter(|r| self.scope().sees(r)).ok_or_else(ApiError::route_not_found)
    }

    fn shape<'a>(&'a self, p: &'a Params) -> Shape<'a> {
        Shape::new(&self.base, &p.fields)
    }

    async fn record(&self, res: &'static Resource, id: &str) -> ApiResult<Record> {
        let n = parse_id(id)?;
        self.app.store().get(res, self.scope(), n).await.map_err(|e| not_found_as(e, id))
    }
}

fn parse_id(id: &str) -> ApiResult<i64> {
    id.parse::<i64>().map_err(|_| ApiError::not_found(id))
}

fn not_found_as(e: store::Error, id: &str) -> ApiError {
    match e {
        store::Error::NotFound => ApiError::not_found(id),
        other => other.into(),
    }
}

/// Related records asked for with `include`, each once, as JSON text.
async fn included(ctx: &Ctx, res: &Resource, p: &Params, records: &[Record]) -> ApiResult<Vec<String>> {
    let Some(inc) = p.include.as_deref() else { return Ok(Vec::new()) };
    let mut wanted: BTreeMap<&'static str, Vec<i64>> = BTreeMap::new();
    for path in params::names(inc) {
        let rel = res.rel(path).ok_or_else(|| {
            ApiError::bad_param("Invalid field", "112", "include", format!("{path} is not a valid includable relationship of {}", res.kind))
        })?;
        for rec in records {
            for (t, id) in rec.rel_ids(rel) {
                if let Some(target) = schema::resource(t) {
                    wanted.entry(target.kind).or_default().push(id);
                }
            }
        }
    }
    let shape = ctx.shape(p);
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (kind, mut ids) in wanted {
        ids.sort_unstable();
        ids.dedup();
        let target = schema::resource(kind).expect("resolved above");
        if !ctx.scope().sees(target) {
            continue;
        }
        for rec in ctx.app.store().get_many(target, ctx.scope(), &ids).await? {
            if seen.insert((kind, rec.id())) {
                out.push(shape.object_text(&rec));
            }
        }
    }
    Ok(out)
}

/// A document from JSON texts: primary data, included resources and, for
/// lists, top-level links and meta.
fn document(data: &str, included: &[String], links: Option<&Json>, meta: Option<&Json>) -> JsonApiText {
    let mut doc = String::with_capacity(data.len() + 256);
    doc.push_str("{\"data\":");
    doc.push_str(data);
    if !included.is_empty() {
        doc.push_str(",\"included\":[");
        doc.push_str(&included.join(","));
        doc.push(']');
    }
    if let Some(l) = links {
        doc.push_str(",\"links\":");
        doc.push_str(&l.to_string());
    }
    if let Some(m) = meta {
        doc.push_str(",\"meta\":");
        doc.push_str(&m.to_string());
    }
    doc.push('}');
    JsonApiText(doc)
}

/// The query string without its `page[...]` parameters, for page links.
fn query_without_page(raw: Option<&str>) -> String {
    raw.unwrap_or("")
        .split('&')
        .filter(|kv| {
            let k = kv.split('=').next().unwrap_or("");
            !k.is_empty() && !k.starts_with("page[") && !k.to_ascii_lowercase().starts_with("page%5b")
        })
        .collect::<Vec<_>>()
        .join("&")
}

pub async fn list(ctx: Ctx, Path(kind): Path<String>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    if let Some(kind) = kind.strip_suffix(".csv") {
        return export(ctx, kind, raw).await;
    }
    let res = ctx.resource(&kind)?;
    let p = params::parse(raw.as_deref())?;
    if res.kind == "domain_settings" {
        return show_record(&ctx, res, &SETTINGS_ID.to_string(), &p).await;
    }
    let q = params::list_query(res, &p, true)?;
    let page = ctx.app.store().list(res, ctx.scope(), &q).await?;
    let shape = ctx.shape(&p);
    let mut data = String::with_capacity(page.records.len() * 600 + 2);
    data.push('[');
    for (i, r) in page.records.iter().enumerate() {
        if i > 0 {
            data.push(',');
        }
        shape.write(r, &mut data);
    }
    data.push(']');
    let inc = included(&ctx, res, &p, &page.records).await?;

    let rest = query_without_page(raw.as_deref());
    let link = |page_params: String| {
        let sep = if rest.is_empty() { "" } else { "&" };
        format!("{}/{}?{rest}{sep}{page_params}", ctx.base, res.kind)
    };
    let size = q.limit;
    let number = q.offset / size + 1;
    let mut links = serde_json::Map::new();
    let mut meta = serde_json::Map::new();
    if q.after.is_some() || q.before.is_some() || (res.cdr && params::keyset_sort(&q)) {
        // Keyset paging: no counts, cursors to the next and previous pages.
        links.insert("first".into(), json!(link(format!("page[size]={size}"))));
        let cursor_of = |r: &Record| params::cursor(q.sort.first().filter(|s| s.0 != "id").and_then(|s| r.get(s.0).as_i64()), r.id());
        if let (true, Some(first)) = (page.has_before, page.records.first()) {
            links.insert("prev".into(), json!(link(format!("page[size]={size}&page[before]={}", cursor_of(first)))));
        }
        if let (true, Some(last)) = (page.has_more, page.records.last()) {
            links.insert("next".into(), json!(link(format!("page[size]={size}&page[after]={}", cursor_of(last)))));
        }
    } else {
        links.insert("first".into(), json!(link(format!("page[number]=1&page[size]={size}"))));
        if number > 1 {
            links.insert("prev".into(), json!(link(format!("page[number]={}&page[size]={size}", number - 1))));
        }
        if page.has_more {
            links.insert("next".into(), json!(link(format!("page[number]={}&page[size]={size}", number + 1))));
        }
        if let Some(total) = page.total {
            let pages = total.div_ceil(size).max(1);
            links.insert("last".into(), json!(link(format!("page[number]={pages}&page[size]={size}"))));
            meta.insert("record_count".into(), json!(total));
            meta.insert("page_count".into(), json!(pages));
        }
    }
    let meta = (!meta.is_empty()).then_some(Json::Object(meta));
    Ok(document(&data, &inc, Some(&Json::Object(links)), meta.as_ref()).into_response())
}

async fn show_record(ctx: &Ctx, res: &'static Resource, id: &str, p: &Params) -> ApiResult<Response> {
    let rec = ctx.record(res, id).await?;
    let inc = included(ctx, res, p, std::slice::from_ref(&rec)).await?;
    Ok(document(&ctx.shape(p).object_text(&rec), &inc, None, None).into_response())
}

pub async fn show(ctx: Ctx, Path((kind, id)): Path<(String, String)>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let res = ctx.resource(&kind)?;
    let p = params::parse(raw.as_deref())?;
    show_record(&ctx, res, &id, &p).await
}

pub async fn create(ctx: Ctx, Path(kind): Path<String>, RawQuery(raw): RawQuery, body: Bytes) -> ApiResult<Response> {
    let res = ctx.resource(&kind)?;
    let p = params::parse(raw.as_deref())?;
    let policy = ctx.policy().await?;
    policy.may(res, Method::Create)?;
    let (input, errors) = document::parse_body_partial(res, &body, None, &policy)?;
    if !errors.is_empty() {
        return Err(super::error::with_store_errors(errors, ctx.app.store().validate(res, &ctx.actor, input).await));
    }
    let rec = ctx.app.store().create(res, &ctx.actor, input).await?;
    let shape = ctx.shape(&p);
    let inc = included(&ctx, res, &p, std::slice::from_ref(&rec)).await?;
    let mut resp = (StatusCode::CREATED, document(&shape.object_text(&rec), &inc, None, None)).into_response();
    if let Ok(v) = HeaderValue::from_str(&shape.self_link(res, rec.id())) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

pub async fn update_singleton(ctx: Ctx, Path(kind): Path<String>, RawQuery(raw): RawQuery, body: Bytes) -> ApiResult<Response> {
    let res = ctx.resource(&kind)?;
    if res.kind != "domain_settings" {
        return Err(super::method_not_allowed().await);
    }
    update(ctx, Path((kind, SETTINGS_ID.to_string())), RawQuery(raw), body).await
}

pub async fn update(ctx: Ctx, Path((kind, id)): Path<(String, String)>, RawQuery(raw): RawQuery, body: Bytes) -> ApiResult<Response> {
    let res = ctx.resource(&kind)?;
    let p = params::parse(raw.as_deref())?;
    let policy = ctx.policy().await?;
    policy.may(res, Method::Update)?;
    let n = parse_id(&id)?;
    let current = ctx.record(res, &id).await?;
    policy.may_change(res, Method::Update, &current)?;
    let input = document::parse_body(res, &body, Some(n), &policy)?;
    let rec = ctx.app.store().update(res, &ctx.actor, n, input).await.map_err(|e| not_found_as(e, &id))?;
    let inc = included(&ctx, res, &p, std::slice::from_ref(&rec)).await?;
    Ok(document(&ctx.shape(&p).object_text(&rec), &inc, None, None).into_response())
}

pub async fn delete(ctx: Ctx, Path((kind, id)): Path<(String, String)>) -> ApiResult<Response> {
    let res = ctx.resource(&kind)?;
    let policy = ctx.policy().await?;
    policy.may(res, Method::Delete)?;
    let n = parse_id(&id)?;
    policy.may_change(res, Method::Delete, &ctx.record(res, &id).await?)?;
    ctx.app.store().delete(res, &ctx.actor, n).await.map_err(|e| not_found_as(e, &id))?;
    // No body bytes at all: some clients choke on an empty string.
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The related records of one relationship (one or none for a to-one),
/// in the relationship's order.
async fn related_records(ctx: &Ctx, kind: &str, id: &str, rel: &str) -> ApiResult<(&'static Rel, Vec<Record>)> {
    let res = ctx.resource(kind)?;
    let rec = ctx.record(res, id).await?;
    let r = res.rel(rel).ok_or_else(ApiError::route_not_found)?;
    let targets = rec.rel_ids(r);
    let Some((t, _)) = targets.first() else { return Ok((r, Vec::new())) };
    let target = schema::resource(t).filter(|x| ctx.scope().sees(x)).ok_or_else(ApiError::route_not_found)?;
    let ids: Vec<i64> = targets.iter().map(|(_, id)| *id).collect();
    let mut found = ctx.app.store().get_many(target, ctx.scope(), &ids).await?;
    found.sort_by_key(|x| ids.iter().position(|&i| i == x.id()));
    Ok((r, found))
}

pub async fn related(ctx: Ctx, Path((kind, id, rel)): Path<(String, String, String)>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let p = params::parse(raw.as_deref())?;
    let (r, recs) = related_records(&ctx, &kind, &id, &rel).await?;
    let shape = ctx.shape(&p);
    let data = match (r.many, recs.first()) {
        (true, _) => format!("[{}]", recs.iter().map(|x| shape.object_text(x)).collect::<Vec<_>>().join(",")),
        (false, Some(x)) => shape.object_text(x),
        (false, None) => "null".to_owned(),
    };
    Ok(document(&data, &[], None, None).into_response())
}

pub async fn relationship(ctx: Ctx, Path((kind, id, rel)): Path<(String, String, String)>) -> ApiResult<Response> {
    let res = ctx.resource(&kind)?;
    let rec = ctx.record(res, &id).await?;
    let r = res.rel(&rel).ok_or_else(ApiError::route_not_found)?;
    let linkage = |(t, rid): (&str, i64)| json!({ "type": t, "id": rid.to_string() });
    let data = if r.many { Json::Array(rec.rel_ids(r).into_iter().map(linkage).collect()) } else { rec.rel(r).map_or(Json::Null, linkage) };
    Ok(JsonApi(json!({ "links": { "self": format!("{}/{kind}/{id}/relationships/{rel}", ctx.base) }, "data": data })).into_response())
}

/// The filtered list as CSV, streamed row by row from the store.
async fn export(ctx: Ctx, kind: &str, raw: Option<String>) -> ApiResult<Response> {
    let res = ctx.resource(kind)?;
    let p = params::parse(raw.as_deref())?;
    let q = params::list_query(res, &p, false)?;
    Ok(export_csv(ctx.app.store(), res, ctx.scope(), &q))
}

/// Streams the records of `q` as CSV (the API's export and the UIs' "Export
/// CSV" button share it, so both answer the same file).
pub(crate) fn export_csv(store: &store::Store, res: &'static Resource, scope: Scope, q: &store::ListQuery) -> Response {
    export_csv_in(store, res, scope, q, None)
}

/// [`export_csv`] with, given a zone, time columns as the UIs show them
/// (`2026-12-04 19:05:09 EET`) instead of UTC RFC 3339: the UIs' export.
pub(crate) fn export_csv_in(
    store: &store::Store,
    res: &'static Resource,
    scope: Scope,
    q: &store::ListQuery,
    tz: Option<chrono_tz::Tz>,
) -> Response {
    let rx = store.stream(res, scope, q);
    let mut head = String::new();
    document::csv_line(&document::csv_header(res), &mut head);
    let rows =
        futures_util::stream::unfold(rx, |mut rx| async { rx.recv().await.map(|item| (item, rx)) }).ready_chunks(512).map(move |chunk| {
            let mut out = String::with_capacity(chunk.len() * 160);
            for item in chunk {
                match item {
                    Ok(rec) => {
                        let mut row = document::csv_row(&rec);
                        if let Some(tz) = tz {
                            // csv_row lists the fields that are not hashed first, in order.
                            let fields = res.fields.iter().filter(|f| f.mode != domain::schema::Mode::Hashed);
                            for (cell, f) in row.iter_mut().zip(fields) {
                                if let (domain::Kind::Time, domain::Value::Int(ms)) = (f.kind, rec.field(f)) {
                                    *cell = crate::ui::clock::show(*ms, tz);
                                }
                            }
                        }
                        document::csv_line(&row, &mut out)
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "CSV export failed mid-stream");
                        return Err(std::io::Error::other("export failed"));
                    }
                }
            }
            Ok(Bytes::from(out))
        });
    let body = futures_util::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(head)) }).chain(rows);
    let disposition = format!("attachment; filename=\"{}.csv\"", res.kind);
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)], Body::from_stream(body))
        .into_response()
}
