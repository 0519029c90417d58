//! `GET /livez` and `GET /readyz`: the probes an orchestrator polls.
//!
//! Liveness asks "should this process be restarted?" and stays 200 while the process serves at all,
//! shutdown included. Readiness asks "should traffic come here?" and turns 503 the moment a shutdown
//! signal arrives, so load balancers drain this instance during the drain delay.

use std::sync::{Arc, LazyLock};

use poem::{IntoResponse, Response};
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::health::Status;
use serde::Serialize;

use super::ApiTags;
use super::no_store::NoStore;
use super::payload::SerdeJson;
use crate::lifecycle::Lifecycle;

/// A probe's answer.
#[derive(Object, Serialize, Debug, Clone, PartialEq)]
#[oai(example)]
pub struct Probe {
    /// `UP`, or `DOWN` once shutting down (readiness only). Example: `UP`.
    pub status: Status,
}

impl poem_openapi::types::Example for Probe {
    fn example() -> Self {
        Self { status: Status::Up }
    }
}

/// Outcome of the liveness probe.
#[derive(ApiResponse)]
pub enum LivezResponse {
    /// The process can serve requests.
    #[oai(status = 200)]
    Alive(SerdeJson<Probe>),
}

/// Outcome of the readiness probe.
#[derive(ApiResponse)]
pub enum ReadyzResponse {
    /// Ready for traffic.
    #[oai(status = 200)]
    Ready(SerdeJson<Probe>),
    /// Shutting down, or (monitor mode) the monitor's store has not committed for three commit
    /// periods: send no new traffic here.
    #[oai(status = 503)]
    Stopping(SerdeJson<Probe>),
}

/// Serves the probes.
#[derive(Clone)]
pub struct ProbeApi {
    /// Whether the process is stopping.
    pub lifecycle: Arc<Lifecycle>,
}

#[OpenApi(tag = "ApiTags::Probes")]
impl ProbeApi {
    /// Liveness probe
    ///
    /// 200 as long as the process can answer; a failure means "restart me".
    #[oai(path = "/livez", method = "get", operation_id = "getLivez")]
    async fn livez(&self) -> NoStore<LivezResponse> {
        Self::alive()
    }

    /// Readiness probe
    ///
    /// 200 while ready for traffic; 503 from the moment a shutdown signal arrives, and in
    /// monitor mode while the monitor's store cannot commit (a monitor that cannot record is
    /// blind).
    #[oai(path = "/readyz", method = "get", operation_id = "getReadyz")]
    async fn readyz(&self) -> NoStore<ReadyzResponse> {
        self.ready()
    }
}

impl ProbeApi {
    /// What `GET /livez` answers, for [`super::router::Direct`].
    #[must_use]
    pub fn livez_answer() -> Response {
        Self::alive().into_response()
    }

    /// What `GET /readyz` answers, for [`super::router::Direct`].
    #[must_use]
    pub fn readyz_answer(&self) -> Response {
        self.ready().into_response()
    }

    fn alive() -> NoStore<LivezResponse> {
        NoStore(LivezResponse::Alive(probe(Status::Up)))
    }

    fn ready(&self) -> NoStore<ReadyzResponse> {
        let failing = self
            .lifecycle
            .component()
            .is_some_and(|c| c.failure.is_some());
        NoStore(if self.lifecycle.is_stopping() || failing {
            ReadyzResponse::Stopping(probe(Status::Down))
        } else {
            ReadyzResponse::Ready(probe(Status::Up))
        })
    }
}

/// A probe's body with `status`: one of two constant texts, serialized once per process.
fn probe(status: Status) -> SerdeJson<Probe> {
    static UP: LazyLock<SerdeJson<Probe>> =
        LazyLock::new(|| SerdeJson::new(&Probe { status: Status::Up }));
    static DOWN: LazyLock<SerdeJson<Probe>> = LazyLock::new(|| {
        SerdeJson::new(&Probe {
            status: Status::Down,
        })
    });
    match status {
        Status::Up => UP.clone(),
        Status::Down => DOWN.clone(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn serde_and_the_schema_agree_on_field_names() {
        crate::api::payload::tests::assert_serde_matches_schema::<super::Probe>();
    }
}
