//! [`NoStore`]: marks an operation's responses `Cache-Control: no-store`.
//!
//! A cached health or probe answer is a wrong one. The header is set where the response is built
//! rather than by a middleware around the operation, which would add a layer to every request,
//! and the spec documents it on every response of the operation.

use poem::http::{HeaderValue, header};
use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::registry::{MetaHeader, MetaResponses, Registry};
use poem_openapi::types::Type;

/// `T`'s responses, each with `Cache-Control: no-store`.
pub struct NoStore<T>(pub T);

impl<T: ApiResponse> ApiResponse for NoStore<T> {
    fn meta() -> MetaResponses {
        let mut meta = T::meta();
        for response in &mut meta.responses {
            response.headers.push(MetaHeader {
                name: "Cache-Control".to_owned(),
                description: Some(
                    "Always `no-store`: a cached answer would be a wrong one.".to_owned(),
                ),
                required: true,
                deprecated: false,
                schema: String::schema_ref(),
            });
        }
        meta
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: IntoResponse> IntoResponse for NoStore<T> {
    fn into_response(self) -> Response {
        let mut response = self.0.into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}
