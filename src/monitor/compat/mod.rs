//! Other monitors' APIs, served over this monitor's store, for the clients that read them.

pub mod gatus;
