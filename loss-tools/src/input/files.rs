//! Which files to read: the prediction/target pairs the arguments name (two files, two
//! directories matched by file stem, or the built-in sample), in a stable order.

use std::path::{Path, PathBuf};

use crate::io::Source;

use super::args::InputArgs;
use super::sample;

/// A prediction source and its target source, before decoding.
#[derive(Debug, Clone)]
pub struct Job {
    /// Predictions.
    pub predictions: Source,
    /// Targets.
    pub targets: Source,
}

/// The jobs the arguments describe, in a stable (sorted) order.
pub fn jobs(args: &InputArgs) -> Result<Vec<Job>, String> {
    let (p, t) = match (&args.predictions, &args.targets) {
        (None, None) => {
            return Ok(vec![Job {
                predictions: sample::predictions(),
                targets: sample::mask(),
            }]);
        }
        (Some(p), Some(t)) => (p, t),
        _ => {
            return Err(
                "give both predictions and targets (or neither: the built-in sample)".into(),
            );
        }
    };
    if p.is_dir() != t.is_dir() {
        return Err(format!(
            "{} and {}: give two files or two directories",
            p.display(),
            t.display()
        ));
    }
    if !p.is_dir() {
        return Ok(vec![Job {
            predictions: Source::File(p.clone()),
            targets: Source::File(t.clone()),
        }]);
    }
    let targets = list_dir(t)?;
    let mut out = Vec::new();
    for pred in list_dir(p)? {
        let stem = pred.file_stem().map(|s| s.to_os_string());
        let matches: Vec<&PathBuf> = targets
            .iter()
            .filter(|t| t.file_stem().map(|s| s.to_os_string()) == stem)
            .collect();
        match matches.as_slice() {
            [one] => out.push(Job {
                predictions: Source::File(pred.clone()),
                targets: Source::File((*one).clone()),
            }),
            [] => {
                return Err(format!(
                    "{}: no target with the same name in {}",
                    pred.display(),
                    t.display()
                ));
            }
            _ => {
                return Err(format!(
                    "{}: several targets with the same name in {}",
                    pred.display(),
                    t.display()
                ));
            }
        }
    }
    if out.is_empty() {
        return Err(format!("{}: no prediction files", p.display()));
    }
    Ok(out)
}

/// The files (not directories) in `dir`, sorted by path.
pub fn list_dir(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: cannot list: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect::<Vec<_>>();
    files.sort();
    Ok(files)
}
