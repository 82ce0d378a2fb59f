//! JSON:API error documents and the one mapping from failures to HTTP
//! statuses. A 500 reveals nothing; its cause goes to the log.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// One error answered as `{"errors":[{title, detail, code, status, source}]}`
/// (boxed: results stay small on the happy path).
#[derive(Debug)]
pub struct ApiError(Box<ErrorObject>);

#[derive(Debug)]
pub struct ErrorObject {
    pub status: StatusCode,
    pub title: String,
    pub detail: String,
    pub code: Option<&'static str>,
    pub pointer: Option<String>,
    pub parameter: Option<String>,
    /// Further errors answered in the same document (several invalid fields).
    pub more: Vec<ApiError>,
    /// Seconds for a `Retry-After` header (a 429).
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl std::ops::Deref for ApiError {
    type Target = ErrorObject;
    fn deref(&self) -> &ErrorObject {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ErrorObject {
        &mut self.0
    }
}

impl ApiError {
    pub fn new(status: StatusCode, title: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError(Box::new(ErrorObject {
            status,
            title: title.into(),
            detail: detail.into(),
            code: None,
            pointer: None,
            parameter: None,
            more: Vec::new(),
            retry_after: None,
        }))
    }

    pub fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub fn pointer(mut self, p: impl Into<String>) -> Self {
        self.pointer = Some(p.into());
        self
    }

    pub fn parameter(mut self, p: impl Into<String>) -> Self {
        self.parameter = Some(p.into());
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "Bad Request", detail)
    }

    /// A query parameter that is not allowed (jsonapi-resources' wording).
    pub fn bad_param(title: &str, code: &'static str, param: &str, detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, title, detail).code(code).parameter(param)
    }

    pub fn not_found(id: &str) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "Record not found", format!("The record identified by {id} could not be found.")).code("404")
    }

    pub fn route_not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "Not found", "No resource lives at this path.").code("404")
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "Forbidden", detail).code("403")
    }

    pub fn unauthorized() -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", "Valid credentials are required (HTTP Basic: API username and secret).")
            .code("401")
    }

    /// A login refused unchecked while its address backs off, with when to retry.
    pub fn too_many_failures(wait: std::time::Duration) -> Self {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed logins",
            format!("Too many failed logins for this username from this address; try again in {secs} s."),
        )
        .code("429");
        e.retry_after = Some(secs);
        e
    }

    /// A validation failure of one attribute or relationship.
    pub fn invalid(field: &str, message: &str, relationship: bool) -> Self {
        let section = if relationship { "relationships" } else { "attributes" };
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message, format!("{field} - {message}"))
            .code("100")
            .pointer(format!("/data/{section}/{field}"))
    }

    pub fn unprocessable(detail: impl Into<String>) -> Self {
        let d = detail.into();
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, d.clone(), d).code("422")
    }

    pub fn internal() -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error", "Internal Server Error").code("500")
    }
}

impl From<store::Error> for ApiError {
    fn from(e: store::Error) -> Self {
        match e {
            store::Error::NotFound => ApiError::route_not_found(),
            store::Error::Invalid(f) => field_error(&f),
            // One error object per field, each with its own pointer.
            store::Error::InvalidMany(list) => {
                let mut errors = list.iter().map(field_error);
                let mut first = errors.next().unwrap_or_else(|| ApiError::unprocessable("invalid input"));
                first.more = errors.collect();
                first
            }
            store::Error::IdTaken(id) => {
                ApiError::new(StatusCode::CONFLICT, "Conflict", format!("id {id} is already taken")).code("409").pointer("/data/id")
            }
            store::Error::Refused(m) => ApiError::unprocessable(m),
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::internal()
            }
        }
    }
}

/// The attribute errors of a request document joined by the store's
/// errors (from a dry run of the rest) for the fields not already named:
/// every error of a create in one answer.
pub fn with_store_errors(mut errors: Vec<ApiError>, dry_run: store::Result<()>) -> ApiError {
    if let Err(e) = dry_run {
        for f in e.field_errors() {
            let extra = field_error(f);
            if !errors.iter().any(|x| x.pointer == extra.pointer) {
                errors.push(extra);
            }
        }
    }
    let mut first = errors.remove(0);
    first.more = errors;
    first
}

fn field_error(f: &domain::FieldError) -> ApiError {
    let rel = domain::schema::RESOURCES.iter().any(|r| r.rel(&f.field).is_some());
    ApiError::invalid(&f.field, &f.message, rel)
}

impl ApiError {
    fn object(&self) -> serde_json::Value {
        let mut e = json!({ "title": self.title, "detail": self.detail, "status": self.status.as_u16().to_string() });
        if let Some(c) = self.code {
            e["code"] = json!(c);
        }
        if let Some(p) = &self.pointer {
            e["source"] = json!({ "pointer": p });
        } else if let Some(p) = &self.parameter {
            e["source"] = json!({ "parameter": p });
        }
        e
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let errors: Vec<_> = std::iter::once(&self).chain(self.more.iter()).map(ApiError::object).collect();
        let mut resp = (self.status, super::JsonApi(json!({ "errors": errors }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"Switchboard\""));
        }
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// The policy's refusals: a resource outside this API is no route at all, a
/// field nobody sets is a parameter not allowed (400), a customer's
/// attempt on the operator's part is forbidden (403).
impl From<domain::access::Denied> for ApiError {
    fn from(d: domain::access::Denied) -> Self {
        use domain::access::Denied;
        let section = |rel: bool| if rel { "relationships" } else { "attributes" };
        match &d {
            Denied::Hidden => ApiError::route_not_found(),
            Denied::NotWritable { name, rel } => ApiError::new(StatusCode::BAD_REQUEST, "Param not allowed", d.to_string())
                .code("105")
                .pointer(format!("/data/{}/{name}", section(*rel))),
            Denied::Field { name, rel } => ApiError::forbidden(d.to_string()).pointer(format!("/data/{}/{name}", section(*rel))),
            Denied::ClientId { .. } => ApiError::forbidden(d.to_string()).pointer("/data/id"),
            Denied::Owner => ApiError::invalid("customer", &d.to_string(), true),
            Denied::Method { .. } | Denied::Closed { .. } | Denied::Row(_) => ApiError::forbidden(d.to_string()),
        }
    }
}
