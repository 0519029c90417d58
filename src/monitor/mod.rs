//! Monitor mode: `health-service monitor` probes HTTP targets and judges each probe.
//!
//! - [`conditions`]: Gatus-style conditions (`[STATUS] == 200`, `[BODY].status == UP`) that judge
//!   a probe.

pub mod conditions;
