//! Host-side companions of `loss-core`: f64 reference implementations (the oracle the tests
//! compare against) and the pieces of the `loss-tools` command line.

pub mod batch;
pub mod frameworks;
pub mod golden;
pub mod oracle;
pub mod oracle_multiclass;
