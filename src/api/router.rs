//! [`Router`]: an exact-match table of operations in front of poem-openapi's own router.
//!
//! poem-openapi serves each request through six nested endpoints (its service, the path router,
//! the method router, the operation), each boxing and moving the request again; on
//! `GET /health` those layers were a sixth of the CPU time. Every operation of this API has a
//! fixed path and takes no path, query or cookie parameters, so a request can go straight to its
//! operation by exact path and method. Anything the table does not hold (unknown paths, other
//! methods, `HEAD` without its own operation, and any future operation with parameters) goes to
//! poem-openapi's router, which answers exactly as it would without this table.
//!
//! Every operation but the health report and the probes, and the fallback, goes through
//! [`Compress`]: their answers may be large. The health report and the probes answer in under
//! 1 KB, thousands of times a second, and are called as they are: their hot path does not even
//! read `Accept-Encoding`. Those also skip poem-openapi's endpoint for the operation: each is
//! given as a [`Direct`] function, which answers what the operation answers without the boxed
//! future, the copy of the API value and the response extension that endpoint adds per request.

use std::collections::HashMap;

use poem::endpoint::BoxEndpoint;
use poem::http::Method;
use poem::{Endpoint, EndpointExt, IntoEndpoint, PathPattern, Request, Response, Result};
use poem_openapi::{OpenApi, Tags};

use super::ApiTags;
use crate::compression::Compress;

/// An operation answered by a plain function of the request: what the operation's own method
/// returns, turned into a response. Only for operations that take nothing but the request's
/// headers and cannot fail.
pub type Direct = Box<dyn Fn(&Request) -> Response + Send + Sync>;

/// Routes a request to its operation directly when it can, else to poem-openapi's router.
pub struct Router {
    /// Operations reachable by exact path, with the methods each path serves. A list searched
    /// in order rather than a `HashMap`: for the handful of fixed paths, comparing each one's
    /// length (and the path of the same length) costs less than SipHash of the request's path.
    exact: Vec<ExactPath>,
    /// poem-openapi's router over every operation.
    fallback: BoxEndpoint<'static>,
}

/// The operations of one fixed path.
struct ExactPath {
    /// The path as a route pattern, attached to responses for logs and metrics as the router does.
    pattern: PathPattern,
    methods: Vec<(Method, Operation)>,
}

/// How an operation is called.
enum Operation {
    /// Through poem-openapi's endpoint for it.
    Endpoint(BoxEndpoint<'static>),
    /// By the function given for it.
    Direct(Direct),
}

impl Router {
    /// A router for the operations of `apis`, falling back to `fallback`, which must route the
    /// same operations (poem-openapi's `OpenApiService` built from `apis`). Each of `direct`,
    /// `(path, method, function)`, answers that operation of `apis` in place of its endpoint;
    /// one that names no operation of `apis` is ignored, so that the spec documents every route.
    pub fn new<T: OpenApi>(
        apis: T,
        fallback: impl IntoEndpoint<Endpoint: 'static>,
        direct: Vec<(&str, Method, Direct)>,
    ) -> Self {
        let small = [ApiTags::Health.name(), ApiTags::Probes.name()];
        let fixed: Vec<(String, Method, bool)> = T::meta()
            .into_iter()
            .flat_map(|api| api.paths)
            .flat_map(|path| {
                path.operations
                    .into_iter()
                    // Parameters (path ones included) and security schemes rely on what
                    // poem-openapi's router adds to the request, so those operations keep going
                    // through it.
                    .filter(|op| op.params.is_empty() && op.security.is_empty())
                    .map(move |op| {
                        let compress = !op.tags.iter().any(|tag| small.contains(tag));
                        (path.path.clone(), op.method, compress)
                    })
            })
            .collect();

        let mut table = HashMap::new();
        apis.add_routes(&mut table);
        let mut exact: Vec<ExactPath> = Vec::new();
        let mut direct: HashMap<(String, Method), Direct> = direct
            .into_iter()
            .map(|(path, method, function)| ((path.to_owned(), method), function))
            .collect();
        for (path, method, compress) in fixed {
            let Some(endpoint) = table.get_mut(&path).and_then(|m| m.remove(&method)) else {
                continue;
            };
            let operation = match direct.remove(&(path.clone(), method.clone())) {
                Some(function) => Operation::Direct(function),
                None if compress => Operation::Endpoint(Compress { inner: endpoint }.boxed()),
                None => Operation::Endpoint(endpoint),
            };
            let index = match exact.iter().position(|p| *p.pattern.0 == *path) {
                Some(index) => index,
                None => {
                    exact.push(ExactPath {
                        pattern: PathPattern(path.into()),
                        methods: Vec::new(),
                    });
                    exact.len() - 1
                }
            };
            exact[index].methods.push((method, operation));
        }
        Self {
            exact,
            fallback: Compress {
                inner: fallback.map_to_response(),
            }
            .boxed(),
        }
    }

    /// The `(path, method)` pairs served without poem-openapi's router, sorted.
    #[must_use]
    pub fn direct_routes(&self) -> Vec<(String, Method)> {
        let mut routes: Vec<_> = self
            .exact
            .iter()
            .flat_map(|p| {
                p.methods
                    .iter()
                    .map(|(m, _)| (p.pattern.0.to_string(), m.clone()))
            })
            .collect();
        routes.sort_by(|a, b| (&a.0, a.1.as_str()).cmp(&(&b.0, b.1.as_str())));
        routes
    }

    /// The `(path, method)` pairs answered by a [`Direct`] function, sorted.
    #[cfg(test)]
    fn function_routes(&self) -> Vec<(String, Method)> {
        let mut routes: Vec<_> = self
            .exact
            .iter()
            .flat_map(|p| {
                p.methods
                    .iter()
                    .filter(|(_, op)| matches!(op, Operation::Direct(_)))
                    .map(|(m, _)| (p.pattern.0.to_string(), m.clone()))
            })
            .collect();
        routes.sort_by(|a, b| (&a.0, a.1.as_str()).cmp(&(&b.0, b.1.as_str())));
        routes
    }
}

impl Router {
    /// The answer to `req`, and the route it matched when the table held it. The fallback's
    /// answers carry their route as poem's router attaches it, a [`PathPattern`] in the response
    /// or error data; the table's do not, which spares every request the allocations of
    /// response data.
    pub async fn dispatch(&self, req: Request) -> (Result<Response>, Option<&PathPattern>) {
        let requested = req.uri().path();
        let Some(path) = self.exact.iter().find(|p| *p.pattern.0 == *requested) else {
            return (self.fallback.call(req).await, None);
        };
        let Some((_, operation)) = path.methods.iter().find(|(m, _)| m == req.method()) else {
            return (self.fallback.call(req).await, None);
        };
        let result = match operation {
            Operation::Direct(function) => Ok(function(&req)),
            Operation::Endpoint(endpoint) => endpoint.call(req).await,
        };
        (result, Some(&path.pattern))
    }
}

/// As a plain endpoint, every answer carries its route as poem's router attaches it.
impl Endpoint for Router {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        match self.dispatch(req).await {
            (Ok(mut response), Some(pattern)) => {
                response.set_data(pattern.clone());
                Ok(response)
            }
            (Err(mut err), Some(pattern)) => {
                err.set_data(pattern.clone());
                Err(err)
            }
            (result, None) => result,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use poem::http::{StatusCode, header};

    use super::*;
    use crate::api::{Apis, apis, describe, direct, documents};
    use crate::config::Identity;
    use crate::lifecycle::Lifecycle;

    /// The router and, separately, the poem-openapi router it falls back to.
    fn routers() -> (Router, BoxEndpoint<'static>) {
        let identity = Arc::new(Identity {
            nama: "A".to_owned(),
            nrp: "1".to_owned(),
        });
        let lifecycle = Arc::new(Lifecycle::new());
        let apis = apis(
            &identity,
            &lifecycle,
            documents(&identity, &lifecycle, ()),
            (),
        );
        let router = Router::new(apis.clone(), describe(apis.clone()), direct(&apis));
        let fallback = describe(apis).into_endpoint().map_to_response().boxed();
        (router, fallback)
    }

    fn request(method: &Method, path: &str) -> Request {
        Request::builder()
            .method(method.clone())
            .uri_str(path)
            .finish()
    }

    #[test]
    fn every_operation_of_this_api_is_served_directly() {
        let mut operations: Vec<(String, Method)> = <Apis as OpenApi>::meta()
            .into_iter()
            .flat_map(|api| api.paths)
            .flat_map(|p| {
                p.operations
                    .into_iter()
                    .map(move |o| (p.path.clone(), o.method))
            })
            .collect();
        operations.sort_by(|a, b| (&a.0, a.1.as_str()).cmp(&(&b.0, b.1.as_str())));
        assert_eq!(routers().0.direct_routes(), operations);
    }

    #[test]
    fn the_health_report_and_the_probes_are_answered_by_their_functions() {
        let routes: Vec<(String, Method)> = routers().0.function_routes();
        let expected = [
            ("/health", Method::GET),
            ("/health", Method::HEAD),
            ("/livez", Method::GET),
            ("/readyz", Method::GET),
        ]
        .map(|(path, method)| (path.to_owned(), method));
        assert_eq!(routes, expected);
    }

    #[tokio::test]
    async fn each_operation_answers_as_poem_openapi_routes_it() {
        let (router, fallback) = routers();
        for (path, method) in router.direct_routes() {
            let direct = router.get_response(request(&method, &path)).await;
            let routed = fallback.get_response(request(&method, &path)).await;
            let what = format!("{method} {path}");
            assert_eq!(direct.status(), routed.status(), "{what}");
            for name in [
                header::CONTENT_TYPE,
                header::CACHE_CONTROL,
                header::LOCATION,
            ] {
                assert_eq!(
                    direct.headers().get(&name),
                    routed.headers().get(&name),
                    "{what}: {name}"
                );
            }
            assert_eq!(
                direct.data::<PathPattern>().map(|p| p.0.clone()),
                routed.data::<PathPattern>().map(|p| p.0.clone()),
                "{what}"
            );
            let (direct, routed) = (
                direct.into_body().into_bytes().await.unwrap(),
                routed.into_body().into_bytes().await.unwrap(),
            );
            if path == "/health" {
                // The time and uptime move between the two calls; the rest must not.
                let fields = |body: &[u8]| -> Vec<String> {
                    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
                    json.as_object()
                        .map(|o| o.keys().cloned().collect())
                        .unwrap_or_default()
                };
                assert_eq!(fields(&direct), fields(&routed), "{what}");
            } else {
                assert_eq!(direct, routed, "{what}");
            }
        }
    }

    #[tokio::test]
    async fn what_the_table_lacks_goes_to_poem_openapi() {
        let (router, _) = routers();
        let unknown = router
            .call(request(&Method::GET, "/nope"))
            .await
            .unwrap_err();
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        let wrong_method = router
            .call(request(&Method::POST, "/health"))
            .await
            .unwrap_err();
        assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            wrong_method.data::<PathPattern>().map(|p| &*p.0),
            Some("/health")
        );
        // No HEAD operation on /livez: poem answers HEAD as GET without the body.
        let head = router.get_response(request(&Method::HEAD, "/livez")).await;
        assert_eq!(head.status(), StatusCode::OK);
        assert!(head.into_body().into_bytes().await.unwrap().is_empty());
    }
}
