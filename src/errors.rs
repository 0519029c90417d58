//! Error responses: a JSON body for every error, and `Allow` on 405.

use std::collections::HashMap;

use poem::http::{Method, StatusCode, header};
use poem::{Response, error::MethodNotAllowedError, error::NotFoundError};
use poem_openapi::OpenApi;
use serde::Serialize;

/// The JSON body of every error response.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// The status code, repeated so a logged body stands on its own.
    pub status: u16,
    /// The status code's reason phrase, e.g. "Not Found".
    pub error: &'static str,
    /// What was wrong and what is accepted instead.
    pub message: String,
}

/// The methods each route answers, for the `Allow` header of a 405.
#[derive(Debug, Default, Clone)]
pub struct AllowTable {
    /// Route template → its methods, comma-separated as `Allow` wants them.
    by_route: HashMap<String, String>,
}

impl AllowTable {
    /// Reads the methods from the API's own metadata, so the header cannot drift from the routes.
    #[must_use]
    pub fn from_meta<T: OpenApi>() -> Self {
        let mut methods: HashMap<String, Vec<Method>> = HashMap::new();
        for path in T::meta().into_iter().flat_map(|api| api.paths) {
            let entry = methods.entry(route_pattern(&path.path)).or_default();
            entry.extend(path.operations.into_iter().map(|op| op.method));
        }
        let by_route = methods
            .into_iter()
            .map(|(route, mut methods)| {
                // poem answers HEAD wherever GET is routed.
                if methods.contains(&Method::GET) && !methods.contains(&Method::HEAD) {
                    methods.push(Method::HEAD);
                }
                methods.sort_by(|a, b| a.as_str().cmp(b.as_str()));
                let list: Vec<&str> = methods.iter().map(Method::as_str).collect();
                (route, list.join(", "))
            })
            .collect();
        Self { by_route }
    }

    /// The `Allow` value for a route template, if the route exists.
    #[must_use]
    pub fn get(&self, route: &str) -> Option<&str> {
        self.by_route.get(route).map(String::as_str)
    }
}

/// The pattern poem-openapi routes an OpenAPI path under, which is what a 405 reports as its
/// route: `/ping/{token}/{signal}` is routed as `/ping/:param0/:param1`.
fn route_pattern(openapi_path: &str) -> String {
    let mut params = 0;
    openapi_path
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                params += 1;
                format!(":param{}", params - 1)
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Turns a poem error into its JSON response; `route` is the matched template, if any.
#[must_use]
pub fn into_response(
    err: &poem::Error,
    method: &Method,
    path: &str,
    route: Option<&str>,
    allow: &AllowTable,
) -> Response {
    if err.is::<NotFoundError>() {
        let message = format!("no route for {path}; the routes are listed at /openapi.json");
        return json(StatusCode::NOT_FOUND, message);
    }
    if err.is::<MethodNotAllowedError>() {
        let allowed = route.and_then(|r| allow.get(r)).unwrap_or("GET, HEAD");
        let message = format!("{method} is not allowed on {path}; allowed: {allowed}");
        let mut response = json(StatusCode::METHOD_NOT_ALLOWED, message);
        if let Ok(value) = allowed.parse() {
            response.headers_mut().insert(header::ALLOW, value);
        }
        return response;
    }
    json(err.status(), err.to_string())
}

fn json(status: StatusCode, message: String) -> Response {
    let body = ErrorBody {
        status: status.as_u16(),
        error: status.canonical_reason().unwrap_or("Error"),
        message,
    };
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(serde_json::to_vec(&body).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::route_pattern;

    #[test]
    fn openapi_paths_become_the_patterns_poem_openapi_routes() {
        assert_eq!(route_pattern("/"), "/");
        assert_eq!(route_pattern("/health"), "/health");
        assert_eq!(route_pattern("/ping/{token}"), "/ping/:param0");
        assert_eq!(
            route_pattern("/api/v1/endpoints/{key}/external"),
            "/api/v1/endpoints/:param0/external"
        );
        assert_eq!(
            route_pattern("/ping/{token}/{signal}"),
            "/ping/:param0/:param1"
        );
    }
}
