//! Other monitors' APIs, translated from our model: dashboards written for them read this one.

pub mod kuma;
