//! Reading many pairs at once: jobs run in parallel (rayon), one pair per worker at a time, so
//! memory is bounded by a few files whatever the size of the dataset; results come back in job
//! order, so the output does not depend on scheduling.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use super::files::Job;

/// A progress bar on stderr, drawn only when stderr is a terminal and there is more than one
/// file (so redirected output and snapshots never contain it).
pub fn progress(len: usize) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::hidden());
    if len > 1 && std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{bar:40} {pos}/{len} files  {elapsed} elapsed, {eta} left",
        ) {
            bar.set_style(style);
        }
    }
    bar
}

/// Runs `f` on every job in parallel and returns the results in job order, or the error of
/// the first failing job in that order. After a failure, jobs later in the order are skipped
/// (an earlier job may still fail and win), so a bad file stops a long run early and the
/// reported error does not depend on scheduling.
pub fn first_error_in_order<T: Send>(
    jobs: &[Job],
    f: impl Fn(&Job) -> Result<T, String> + Sync,
    bar: &ProgressBar,
) -> Result<Vec<T>, String> {
    let first_failure = AtomicUsize::new(usize::MAX);
    let results: Vec<Option<Result<T, String>>> = jobs
        .par_iter()
        .enumerate()
        .map(|(i, job)| {
            if i > first_failure.load(Ordering::Relaxed) {
                return None;
            }
            let r = f(job);
            if r.is_err() {
                first_failure.fetch_min(i, Ordering::Relaxed);
            }
            bar.inc(1);
            Some(r)
        })
        .collect();
    let mut out = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Some(Ok(v)) => out.push(v),
            Some(Err(e)) => return Err(e),
            // Skipped only after a failure at a lower index, which the loop meets first.
            None => return Err("internal error: a job was skipped without a failure".into()),
        }
    }
    Ok(out)
}
