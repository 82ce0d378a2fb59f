//! `GET /{termination_cdrs|incoming_cdrs}/totals`: calls, answered calls,
//! ASR, ACD and billed minutes of the CDRs a list with the same filters
//! would page through, answered from the store's hourly rollup (see
//! `store::cdr::CdrTotals`) so a month of traffic costs no scan.

use super::error::{ApiError, ApiResult};
use super::{params, Ctx, JsonApi};
use axum::extract::{Path, RawQuery};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value as Json};
use store::cdr::CdrTotals;

/// How many CDRs a filter the rollup cannot answer is counted over.
pub const SCAN_CAP: u64 = 10_000;

/// The totals as the API answers them: ASR in percent of calls, ACD in
/// seconds per answered call, both to one decimal (`null` when undefined).
/// The UI's strip (`ui/totals.rs`) formats the same ratios its own way
/// (ACD as m:ss).
pub fn figures(t: &CdrTotals) -> Json {
    let asr = (t.calls > 0).then(|| (t.answered as f64 * 1000.0 / t.calls as f64).round() / 10.0);
    let acd = (t.answered > 0).then(|| (t.seconds as f64 * 10.0 / t.answered as f64).round() / 10.0);
    json!({
        "calls": t.calls,
        "answered": t.answered,
        "asr": asr,
        "acd": acd,
        "seconds": t.seconds,
        "minutes": (t.seconds as f64 / 6.0).round() / 10.0,
        "capped": t.capped,
        "cap": SCAN_CAP,
    })
}

pub async fn totals(ctx: Ctx, Path(kind): Path<String>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let res = domain::schema::resource(&kind).filter(|r| r.cdr && ctx.scope().sees(r)).ok_or_else(ApiError::route_not_found)?;
    let p = params::parse(raw.as_deref())?;
    if let Some(k) = p.page.keys().next() {
        return Err(ApiError::bad_param("Page parameter not allowed", "105", &format!("page[{k}]"), "Totals are not paged."));
    }
    let q = params::list_query(res, &p, false)?;
    let t = ctx.app.store().cdr_totals(res, ctx.scope(), &q.conds, SCAN_CAP).await?;
    Ok(JsonApi(json!({ "meta": figures(&t) })).into_response())
}
