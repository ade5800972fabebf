//! The numbers of `eval`, in the order they are made: which losses the options ask for
//! ([`spec`]), what `loss-core` computes from each prediction/target pair, pooled over the
//! files ([`totals`]), and the report's rows ([`summary`]).

pub mod spec;
pub mod summary;
pub mod totals;
