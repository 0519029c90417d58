//! [`SerdeJson`]: a JSON response body serialized straight from serde.
//!
//! poem-openapi's `Json<T>` first builds a `serde_json::Value` tree from `T` and then serializes
//! the tree; on `/health` that was a fifth of the CPU time per request. `SerdeJson<T>` documents
//! itself with `T`'s poem-openapi schema and serializes `T` with serde in one pass. The price is
//! that `T` derives both `Object` and `Serialize`, so their field names must agree: the tests
//! compare the two serializations of each type's example.

use std::marker::PhantomData;

use bytes::Bytes;
use poem::http::{HeaderValue, StatusCode, header};
use poem::{IntoResponse, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::Serialize;

/// A JSON body serialized from a `T` with serde, documented with `T`'s schema.
///
/// It holds the serialized text rather than the `T`, so a body can be kept and served again at
/// the cost of a reference count (`api::health` does, within a millisecond).
#[derive(Debug, PartialEq)]
pub struct SerdeJson<T> {
    /// The JSON text, or `None` when `T` did not serialize, which is answered with a 500.
    body: Option<Bytes>,
    /// The type serialized, for the schema; `fn() -> T` keeps `SerdeJson` `Send` for any `T`.
    of: PhantomData<fn() -> T>,
}

/// Room for a health report in one allocation; larger bodies grow the buffer as usual.
const INITIAL_BODY_BYTES: usize = 256;

impl<T: Serialize> SerdeJson<T> {
    /// Serializes `value`.
    pub fn new(value: &T) -> Self {
        let mut body = Vec::with_capacity(INITIAL_BODY_BYTES);
        let body = match serde_json::to_writer(&mut body, value) {
            Ok(()) => Some(Bytes::from(body)),
            // Only a map with non-string keys fails to serialize, and none of our types has one.
            Err(err) => {
                tracing::error!(error = %err, "cannot serialize a response body");
                None
            }
        };
        Self {
            body,
            of: PhantomData,
        }
    }
}

impl<T> SerdeJson<T> {
    /// The JSON text; `None` if serialization failed.
    #[must_use]
    pub fn bytes(&self) -> Option<&Bytes> {
        self.body.as_ref()
    }
}

// Derived `Clone` would require `T: Clone`; only the bytes are cloned.
impl<T> Clone for SerdeJson<T> {
    fn clone(&self) -> Self {
        Self {
            body: self.body.clone(),
            of: PhantomData,
        }
    }
}

impl<T: Type> Payload for SerdeJson<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type> IntoResponse for SerdeJson<T> {
    fn into_response(self) -> Response {
        match self.body {
            // A constant header value skips the parsing that `content_type()` does per response.
            Some(body) => Response::builder()
                .header(
                    header::CONTENT_TYPE,
                    const { HeaderValue::from_static(<Self as Payload>::CONTENT_TYPE) },
                )
                .body(body),
            None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
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
