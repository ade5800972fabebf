//! The numbers the commands compute with `loss-core`. For `eval`, in the order they are made:
//! which losses the options ask for ([`spec`]), what each prediction/target pair gives, pooled
//! over the files exactly ([`totals`], [`exact`]), and the report's rows ([`summary`]);
//! [`dataset`] puts them together for any front end. For `sweep`: the focal loss over a grid
//! of alphas and gammas ([`grid`]).

pub mod dataset;
pub mod exact;
pub mod grid;
pub mod spec;
pub mod summary;
pub mod totals;
