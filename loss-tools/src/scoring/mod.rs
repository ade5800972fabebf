//! The numbers of `eval`: which losses the options ask for ([`spec`]) and what `loss-core`
//! computes from each prediction/target pair ([`totals`]).

pub mod spec;
pub mod totals;
