//! The JSON:API query parameters (`filter[...]`, `sort`, `page[...]`,
//! `include`, `fields[...]`) parsed against the resource schema into a
//! store [`ListQuery`]. Anything not allowed is a 400 with the
//! jsonapi-resources code clients know.

use super::error::{ApiError, ApiResult};
use domain::schema::{Default, Kind, Mode, Resource, Storage};
use domain::Value;
use std::collections::HashMap;
use store::{Cond, Cursor, ListQuery, Op};

pub const DEFAULT_PAGE_SIZE: u64 = 50;
pub const MAX_PAGE_SIZE: u64 = 100;
/// The highest `page[number]`: past it the offset (number × size) would
/// leave the 64-bit integers the databases take, and no list is that long.
pub const MAX_PAGE_NUMBER: u64 = 1_000_000;
/// Export and UI lists share the filter code but not the page cap.
pub const MAX_FILTER_LEN: usize = 1000;

#[derive(Debug, Default, Clone)]
pub struct Params {
    pub filters: Vec<(String, String)>,
    pub sort: Option<String>,
    pub page: HashMap<String, String>,
    pub include: Option<String>,
    pub fields: HashMap<String, Vec<String>>,
}

/// Splits `family[key]`, with brackets raw or percent-decoded already.
fn bracket<'a>(name: &'a str, family: &str) -> Option<&'a str> {
    name.strip_prefix(family)?.strip_prefix('[')?.strip_suffix(']')
}

pub fn parse(raw: Option<&str>) -> ApiResult<Params> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or("")).map_err(|_| ApiError::bad_request("The query string is not valid URL encoding."))?;
    let mut p = Params::default();
    let mut seen = std::collections::HashSet::new();
    for (k, v) in pairs {
        // Repeated, one value would silently win (or filters would AND).
        if !seen.insert(k.clone()) {
            return Err(ApiError::bad_param("Param given twice", "105", &k, format!("{k} is given more than once.")));
        }
        if let Some(f) = bracket(&k, "filter") {
            if v.len() > MAX_FILTER_LEN {
                return Err(ApiError::bad_param("Invalid filter value", "103", &k, format!("{v:.40}… is too long for filter {f}.")));
            }
            p.filters.push((f.to_owned(), v));
        } else if let Some(f) = bracket(&k, "page") {
            p.page.insert(f.to_owned(), v);
        } else if let Some(t) = bracket(&k, "fields") {
            p.fields.insert(t.to_owned(), fieldset(&k, t, &v)?);
        } else if k == "sort" {
            p.sort = Some(v);
        } else if k == "include" {
            p.include = Some(v);
        } else {
            // An unknown parameter is a client's mistake (a typo'd
            // `filters[name]` would otherwise list everything).
            return Err(ApiError::bad_param("Param not allowed", "105", &k, format!("{k} is not allowed.")));
        }
    }
    Ok(p)
}

/// The comma-separated names of `sort`, `include` or `fields[TYPE]`, taken
/// as written: a blank or empty one is no name, and refused by its caller.
pub fn names(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(',').filter(move |_| !raw.is_empty())
}

/// The names of `fields[TYPE]=a,b`: each an answered attribute or a
/// relationship of a known type, else a 400 (a typo would hide a member).
fn fieldset(param: &str, kind: &str, raw: &str) -> ApiResult<Vec<String>> {
    let res = domain::schema::resource(kind)
        .ok_or_else(|| ApiError::bad_param("Invalid resource", "101", param, format!("{kind} is not a valid resource.")))?;
    let mut out = Vec::new();
    for name in names(raw) {
        let field = res.fields.iter().skip(1).any(|f| f.name == name && (f.mode != Mode::Hashed || f.default == Default::Generated));
        if !field && res.rel(name).is_none() {
            return Err(ApiError::bad_param("Invalid field", "112", param, format!("{name:.40} is not a valid field for {kind}.")));
        }
        out.push(name.to_owned());
    }
    Ok(out)
}

const SUFFIXES: &[(&str, Op)] = &[
    ("_gteq", Op::Gte),
    ("_lteq", Op::Lte),
    ("_lted", Op::Lte),
    ("_gt", Op::Gt),
    ("_lt", Op::Lt),
    ("_contains", Op::Contains),
    ("_cont", Op::Contains),
    ("_starts_with", Op::StartsWith),
    ("_start", Op::StartsWith),
    ("_eq", Op::Eq),
];

/// Fields a list may be filtered and sorted by: not secrets (no probing a
/// password by filter), not JSON blobs.
pub fn queryable(f: &domain::Field) -> bool {
    f.mode != Mode::Hashed && !matches!(f.kind, Kind::Json | Kind::Secret)
}

/// Fields a list may be sorted by: not secrets' hashes, not JSON blobs.
pub fn sortable(f: &domain::Field) -> bool {
    f.mode != Mode::Hashed && f.kind != Kind::Json
}

/// Resolves a filter name to (column, kind, operator).
fn resolve(res: &Resource, name: &str) -> Option<(&'static str, Kind, Op)> {
    if let Some(rel) = name.strip_suffix(".id").and_then(|r| res.rel(r)).filter(|r| !r.many) {
        return Some((rel.column, Kind::Int { min: 1, max: i64::MAX }, Op::Eq));
    }
    if let Some(f) = res.filter_field(name).filter(|f| queryable(f)) {
        return Some((f.column, f.kind, Op::Eq));
    }
    for (suffix, op) in SUFFIXES {
        if let Some(f) = name.strip_suffix(suffix).and_then(|base| res.filter_field(base)).filter(|f| queryable(f)) {
            let ok = match op {
                Op::Contains | Op::StartsWith => f.kind.is_text(),
                Op::Gte | Op::Lte | Op::Gt | Op::Lt => f.kind.storage() == Storage::Int || matches!(f.kind, Kind::Digits { .. }),
                _ => true,
            };
            return ok.then_some((f.column, f.kind, *op));
        }
    }
    None
}

fn filter_value(kind: Kind, name: &str, raw: &str) -> ApiResult<Value> {
    let bad = |what: &str| {
        ApiError::bad_param(
            "Invalid filter value",
            "103",
            &format!("filter[{name}]"),
            format!("{raw} is not a valid value for filter {name}: {what}."),
        )
    };
    Ok(match kind {
        Kind::Time => Value::Int(domain::time::parse(raw).ok_or_else(|| bad("expected YYYY-MM-DD hh:mm:ss (UTC)"))?),
        Kind::Int { .. } | Kind::IntOf(_) | Kind::Seconds { .. } => Value::Int(raw.trim().parse().map_err(|_| bad("expected an integer"))?),
        Kind::Bool => match raw.trim() {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            _ => return Err(bad("expected true or false")),
        },
        _ => Value::Text(raw.to_owned()),
    })
}

/// A list query from the parameters: filters, sort, page, keyset cursor.
pub fn list_query(res: &Resource, p: &Params, paged: bool) -> ApiResult<ListQuery> {
    let mut q = ListQuery { count: !res.cdr, ..ListQuery::default() };
    for (name, raw) in &p.filters {
        let (column, kind, op) = resolve(res, name).ok_or_else(|| {
            ApiError::bad_param("Filter not allowed", "102", &format!("filter[{name}]"), format!("{name} is not allowed."))
        })?;
        let st = kind.storage();
        let listable = op == Op::Eq && (!kind.is_text() || matches!(kind, Kind::Digits { .. }));
        let cond = if listable && raw.contains(',') {
            let values = raw.split(',').map(|v| filter_value(kind, name, v.trim())).collect::<ApiResult<Vec<_>>>()?;
            Cond { column, st, op: Op::In, values }
        } else {
            Cond { column, st, op, values: vec![filter_value(kind, name, raw)?] }
        };
        q.conds.push(cond);
    }
    if res.cdr && !q.conds.iter().any(|c| c.column == "time_start" && matches!(c.op, Op::Gte | Op::Gt | Op::Eq | Op::In)) {
        return Err(ApiError::bad_param(
            "Filter required",
            "102",
            "filter[time_start_gteq]",
            "filter[time_start_gteq] is required: CDR lists take a time window (YYYY-MM-DD hh:mm:ss, UTC).",
        ));
    }

    let default_sort = if res.cdr { "-time_start" } else { "id" };
    for item in names(p.sort.as_deref().unwrap_or(default_sort)) {
        let (desc, name) = item.strip_prefix('-').map_or((false, item), |n| (true, n));
        let f = res.field(name).filter(|f| sortable(f)).ok_or_else(|| {
            ApiError::bad_param("Invalid sort criteria", "114", "sort", format!("{name} is not a valid sort criteria for {}", res.kind))
        })?;
        q.sort.push((f.column, f.kind.storage(), desc));
    }

    if paged {
        let num = |key: &str, default: u64| -> ApiResult<u64> {
            match p.page.get(key) {
                None => Ok(default),
                Some(v) => v.parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    ApiError::bad_param(
                        "Invalid page value",
                        "118",
                        &format!("page[{key}]"),
                        format!("{v:.40} is not a valid value for page[{key}]: expected a whole number from 1."),
                    )
                }),
            }
        };
        for key in p.page.keys() {
            if !matches!(key.as_str(), "number" | "size" | "after" | "before") {
                return Err(ApiError::bad_param(
                    "Page parameter not allowed",
                    "105",
                    &format!("page[{key}]"),
                    format!("page[{key}] is not allowed."),
                ));
            }
        }
        let size = num("size", DEFAULT_PAGE_SIZE)?;
        if size > MAX_PAGE_SIZE {
            return Err(ApiError::bad_param("Invalid page value", "118", "page[size]", format!("page[size] is at most {MAX_PAGE_SIZE}.")));
        }
        let number = num("number", 1)?;
        if number > MAX_PAGE_NUMBER {
            return Err(ApiError::bad_param(
                "Invalid page value",
                "118",
                "page[number]",
                format!("page[number] is at most {MAX_PAGE_NUMBER}; CDR lists page further with page[after]."),
            ));
        }
        q.limit = size;
        q.offset = (number - 1) * size;
        for key in ["after", "before"] {
            let Some(c) = p.page.get(key) else { continue };
            let param = format!("page[{key}]");
            if !keyset_sort(&q) {
                return Err(ApiError::bad_param(
                    "Invalid page value",
                    "118",
                    &param,
                    format!("{param} needs a sort by a single time or id column."),
                ));
            }
            if key == "before" && q.after.is_some() {
                return Err(ApiError::bad_param("Invalid page value", "118", &param, "page[after] and page[before] do not go together."));
            }
            let cur = parse_cursor(c)
                .ok_or_else(|| ApiError::bad_param("Invalid page value", "118", &param, format!("{c:.40} is not a valid cursor.")))?;
            if key == "after" {
                q.after = Some(cur);
            } else {
                q.before = Some(cur);
            }
        }
    }
    Ok(q)
}

/// Keyset paging works on one never-NULL sort key (CDR `time_start`, or `id`).
pub fn keyset_sort(q: &ListQuery) -> bool {
    match q.sort.as_slice() {
        [] => true,
        [(col, _, _)] | [(col, _, _), ("id", _, _)] => matches!(*col, "time_start" | "id"),
        _ => false,
    }
}

/// `<sort value>.<id>` or just `<id>`.
pub fn cursor(sort_value: Option<i64>, id: i64) -> String {
    sort_value.map_or_else(|| id.to_string(), |v| format!("{v}.{id}"))
}

fn parse_cursor(s: &str) -> Option<Cursor> {
    match s.split_once('.') {
        Some((v, id)) => Some(Cursor { value: Value::Int(v.parse().ok()?), id: id.parse().ok()? }),
        None => Some(Cursor { value: Value::Null, id: s.parse().ok()? }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::schema;

    #[test]
    fn brackets_raw_and_encoded() {
        let p = parse(Some("filter%5Bname%5D=Acme&fields[customers]=name,language&page[size]=10")).unwrap();
        assert_eq!(p.filters, vec![("name".to_owned(), "Acme".to_owned())]);
        assert_eq!(p.fields["customers"], vec!["name", "language"]);
        let q = list_query(&schema::CUSTOMERS, &p, true).unwrap();
        assert_eq!(q.limit, 10);
    }

    #[test]
    fn cdr_lists_need_a_window() {
        let p = parse(Some("filter[src_number]=44")).unwrap();
        assert_eq!(list_query(&schema::TERMINATION_CDRS, &p, true).unwrap_err().status.as_u16(), 400);
        let p = parse(Some("filter[time_start_gteq]=2026-01-01 00:00:00&filter[aleg_code]=200&filter[customer.id]=3,4")).unwrap();
        let q = list_query(&schema::TERMINATION_CDRS, &p, true).unwrap();
        assert_eq!(q.conds.len(), 3);
        assert_eq!(q.conds[2].op, Op::In);
        assert_eq!(q.sort, vec![("time_start", Storage::Int, true)]);
        assert!(keyset_sort(&q));
    }

    #[test]
    fn refuses_unknown_names() {
        for bad in
            ["filter[nope]=1", "sort=nope", "page[size]=101", "page[number]=0", "filter[password]=x", "page[foo]=1", "filter[name_gteq]=a"]
        {
            let p = parse(Some(bad)).unwrap();
            assert_eq!(list_query(&schema::SIP_ACCOUNTS, &p, true).unwrap_err().status.as_u16(), 400, "{bad}");
        }
    }
}
