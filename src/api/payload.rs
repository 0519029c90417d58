//! [`SerdeJson`]: a JSON response body serialized straight from serde.
//!
//! poem-openapi's `Json<T>` first builds a `serde_json::Value` tree from `T` and then serializes
//! the tree; on `/health` that was a fifth of the CPU time per request. `SerdeJson<T>` documents
//! itself with `T`'s poem-openapi schema and serializes `T` with serde in one pass. The price is
//! that `T` derives both `Object` and `Serialize`, so their field names must agree: the tests
//! compare the two serializations of each type's example.

use poem::http::{HeaderValue, StatusCode, header};
use poem::{IntoResponse, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::Serialize;

/// A JSON body serialized directly with serde, documented with `T`'s schema.
#[derive(Debug, Clone, PartialEq)]
pub struct SerdeJson<T>(pub T);

impl<T: Type> Payload for SerdeJson<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// Room for a health report in one allocation; larger bodies grow the buffer as usual.
const INITIAL_BODY_BYTES: usize = 256;

impl<T: Type + Serialize> IntoResponse for SerdeJson<T> {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(INITIAL_BODY_BYTES);
        match serde_json::to_writer(&mut body, &self.0) {
            // A constant header value skips the parsing that `content_type()` does per response.
            Ok(()) => Response::builder()
                .header(
                    header::CONTENT_TYPE,
                    const { HeaderValue::from_static(<Self as Payload>::CONTENT_TYPE) },
                )
                .body(body),
            // Only a map with non-string keys fails to serialize, and none of our types has one.
            Err(err) => {
                tracing::error!(error = %err, "cannot serialize a response body");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use poem_openapi::types::{Example, ToJSON};
    use serde::Serialize;

    /// serde and poem-openapi turn `T`'s example into the same JSON.
    pub(crate) fn assert_serde_matches_schema<T: Example + ToJSON + Serialize>() {
        let example = T::example();
        assert_eq!(
            serde_json::to_value(&example).unwrap(),
            example.to_json().unwrap()
        );
    }
}
