//! The totals strip above a CDR table: calls, answered, ASR, ACD and
//! minutes of everything the filters match (not just the page), from the
//! store's hourly rollup, as the API's `/totals` answers them.

use super::clock;
use super::html::Esc;
use super::session::Viewer;
use crate::api::error::ApiResult;
use crate::api::totals::SCAN_CAP;
use domain::schema::Resource;
use std::fmt::Write as _;
use store::cdr::CdrTotals;
use store::ListQuery;

/// The totals of a CDR list's filters, within the viewer's scope.
pub async fn of(v: &Viewer, res: &'static Resource, q: &ListQuery) -> ApiResult<CdrTotals> {
    Ok(v.app.store().cdr_totals(res, v.scope(), &q.conds, SCAN_CAP).await?)
}

/// The strip; a capped count reads "at least N".
pub fn strip(v: &Viewer, t: &CdrTotals, b: &mut String) {
    let calls = if t.capped { format!("{} {}", v.t("at least"), t.calls) } else { t.calls.to_string() };
    let asr = if t.calls > 0 { format!("{:.1} %", t.answered as f64 * 100.0 / t.calls as f64) } else { "—".into() };
    let acd = if t.answered > 0 { clock::duration(t.seconds / t.answered as i64) } else { "—".into() };
    let minutes = format!("{:.1}", t.seconds as f64 / 60.0);
    let _ = write!(b, "<section class=\"totals\" aria-label=\"{}\"><dl>", Esc(v.t("Totals")));
    for (key, label, value) in [
        ("calls", "Calls", calls),
        ("answered", "Answered", t.answered.to_string()),
        ("asr", "ASR", asr),
        ("acd", "ACD", acd),
        ("minutes", "Minutes", minutes),
    ] {
        let _ = write!(b, "<div><dt>{}</dt><dd data-total=\"{key}\">{}</dd></div>", Esc(v.t(label)), Esc(&value));
    }
    b.push_str("</dl>");
    if t.capped {
        let _ = write!(b, "<p class=\"hint\">{} {SCAN_CAP} {}</p>", Esc(v.t("Counted over the newest")), Esc(v.t("CDRs of the window.")));
    }
    b.push_str("</section>");
}
