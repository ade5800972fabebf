//! Which files to read: the prediction/target pairs the arguments name (two files, two
//! directories matched by file stem, or the built-in sample), in a stable order.

use std::path::{Path, PathBuf};

use crate::io::{Source, path_text};

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
            path_text(p),
            path_text(t)
        ));
    }
    if !p.is_dir() {
        return Ok(vec![Job {
            predictions: Source::File(p.clone()),
            targets: Source::File(t.clone()),
        }]);
    }
    let targets = list_dir(t)?;
    let predictions = list_dir(p)?;
    // Two predictions with one stem (`a.npy`, `a.bin`) would pair with the same target and
    // write the same overlay.
    let mut stems: Vec<(std::ffi::OsString, &PathBuf)> = predictions
        .iter()
        .map(|f| (f.file_stem().unwrap_or_default().to_os_string(), f))
        .collect();
    stems.sort();
    if let Some(w) = stems.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(format!(
            "{} and {}: two predictions with the same name; they would share a target and an overlay",
            path_text(w[0].1),
            path_text(w[1].1)
        ));
    }
    let mut out = Vec::new();
    for pred in predictions {
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
                    path_text(&pred),
                    path_text(t)
                ));
            }
            _ => {
                return Err(format!(
                    "{}: several targets with the same name in {}",
                    path_text(&pred),
                    path_text(t)
                ));
            }
        }
    }
    if out.is_empty() {
        return Err(format!("{}: no prediction files", path_text(p)));
    }
    Ok(out)
}

/// The files (not directories) in `dir`, sorted by path.
pub fn list_dir(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: cannot list: {e}", path_text(dir)))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect::<Vec<_>>();
    files.sort();
    Ok(files)
}

/// Refuses outputs that would replace an input: none of `files` (option, path) may be an input
/// file, and none of `dirs` (option, directory written into) may hold one. Compared by file
/// identity, so another spelling of the same path is caught too.
pub fn refuse_overwriting_inputs(
    jobs: &[Job],
    files: &[(&str, &Path)],
    dirs: &[(&str, &Path)],
) -> Result<(), String> {
    let inputs: Vec<&PathBuf> = jobs
        .iter()
        .flat_map(|j| [&j.predictions, &j.targets])
        .filter_map(|s| match s {
            Source::File(p) => Some(p),
            Source::Embedded { .. } => None,
        })
        .collect();
    for (option, out) in files {
        let Ok(handle) = same_file::Handle::from_path(out) else {
            continue; // does not exist yet: it cannot be an input
        };
        if let Some(input) = inputs
            .iter()
            .find(|i| same_file::Handle::from_path(i).is_ok_and(|h| h == handle))
        {
            return Err(format!(
                "{option} {}: is the input {}; refusing to replace it",
                path_text(out),
                path_text(input)
            ));
        }
    }
    let mut parents: Vec<&Path> = inputs
        .iter()
        .map(|p| match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        })
        .collect();
    parents.sort();
    parents.dedup();
    for (option, dir) in dirs {
        let Ok(handle) = same_file::Handle::from_path(dir) else {
            continue;
        };
        if let Some(parent) = parents
            .iter()
            .find(|p| same_file::Handle::from_path(p).is_ok_and(|h| h == handle))
        {
            return Err(format!(
                "{option} {}: holds input files ({}); its files could replace them: choose another directory",
                path_text(dir),
                path_text(parent)
            ));
        }
    }
    Ok(())
}
