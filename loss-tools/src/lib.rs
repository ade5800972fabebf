//! Host-side companions of `loss-core`: the pieces of the `loss-tools` command line that other
//! crates use too (the inputs of `eval`, its scoring with mergeable dataset totals, the file
//! formats, the framework mappings, the batch interface, the golden vectors and the loss and
//! gradient shares of `explain` and `sweep`). The f64 oracles the tests compare against live
//! beside the tests, in `loss-tests`.

pub mod batch;
pub mod frameworks;
pub mod golden;
pub mod input;
pub mod io;
pub mod scoring;
pub mod shares;
