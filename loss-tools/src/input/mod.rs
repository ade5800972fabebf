//! Inputs of `eval` and `sweep`: the options ([`InputArgs`]), which files ([`files`]), how a
//! prediction tensor is understood ([`geometry`](mod@geometry)), each pair decoded and checked
//! ([`pair`]), all pairs read in parallel ([`each_pair`]), the class names, and the built-in
//! sample ([`sample`]).

mod args;
pub mod files;
pub mod geometry;
pub mod pair;
mod parallel;
pub mod sample;

pub use args::InputArgs;
pub use files::{Job, jobs};
pub use geometry::{LayoutArg, geometry};
pub use pair::{Pair, TargetData, load};

/// Decodes the pair of every job and runs `f` on it, in parallel and with a progress bar: the
/// results in job order, or the first error in that order (see
/// `parallel::first_error_in_order`).
pub fn each_pair<T: Send>(
    jobs: &[Job],
    args: &InputArgs,
    f: impl Fn(Pair) -> Result<T, String> + Sync,
) -> Result<Vec<T>, String> {
    let bar = parallel::progress(jobs.len());
    let results = parallel::first_error_in_order(jobs, |job| f(load(job, args)?), &bar)?;
    bar.finish_and_clear();
    Ok(results)
}

/// The names of `classes` classes: `--class-names` (one per class), the built-in sample's, or
/// `foreground` for one channel and `class N` otherwise.
pub fn class_names(args: &InputArgs, classes: usize) -> Result<Vec<String>, String> {
    if let Some(names) = &args.class_names {
        if names.len() != classes {
            return Err(format!(
                "--class-names gives {} names for {classes} classes",
                names.len()
            ));
        }
        return Ok(names.clone());
    }
    if args.predictions.is_none() && classes == sample::CLASS_NAMES.len() {
        return Ok(sample::CLASS_NAMES.map(String::from).to_vec());
    }
    Ok(if classes == 1 {
        vec!["foreground".into()]
    } else {
        (0..classes).map(|c| format!("class {c}")).collect()
    })
}
