//! `loss-tools sample [--check]`: regenerates the built-in sample in `loss-tools/data/` with
//! [`generate`], or checks that the committed files are what it produces.

use std::path::{Path, PathBuf};

use clap::Args;

use super::Failure;
use crate::input::sample::generate;
use crate::io::atomic::write_atomically;

/// `loss-tools sample`: regenerate or check the committed sample files.
#[derive(Debug, Clone, Args)]
pub struct SampleArgs {
    /// Only check that the committed files equal what the generator produces.
    #[arg(long)]
    check: bool,
    /// Directory of the sample files.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data"))]
    dir: PathBuf,
}

/// Runs `loss-tools sample`. Every file is checked (or written) even after a problem with
/// another; the problems are reported together.
pub fn run(args: &SampleArgs) -> Result<(), Failure> {
    let (pred, mask) =
        generate().map_err(|e| Failure::error(format!("cannot generate the sample: {e}")))?;
    let files = [("sample_pred.npy", pred), ("sample_mask.png", mask)];
    let mut problems = Vec::new();
    for (name, bytes) in files {
        let path = args.dir.join(name);
        let done = if args.check {
            check(&path, &bytes)
        } else {
            write(&path, &bytes)
        };
        match done {
            Ok(line) => super::print(&format!("{line}\n"))?,
            Err(problem) => problems.push(problem),
        }
    }
    Failure::all(problems)
}

/// Whether the file at `path` holds `bytes`.
fn check(path: &Path, bytes: &[u8]) -> Result<String, Failure> {
    match std::fs::read(path) {
        Ok(current) if current == bytes => Ok(format!("{} is current", path.display())),
        Ok(_) => Err(Failure::message(format!(
            "{} is stale: run `cargo run -p loss-tools -- sample`",
            path.display()
        ))),
        Err(e) => Err(Failure::message(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// Writes `bytes` to `path`.
fn write(path: &Path, bytes: &[u8]) -> Result<String, Failure> {
    write_atomically(path, bytes)?;
    Ok(format!("wrote {} ({} bytes)", path.display(), bytes.len()))
}
