//! Other monitors' APIs, served over this monitor's store, for the clients written for them
//! (Gatus's read API, Uptime Kuma's status-page API).

pub mod gatus;
pub mod kuma;
