//! `loss-tools vectors [--check]`: writes the golden vectors that [`loss_tools::golden`] renders
//! from this build of `loss-core` (`golden/src/vectors.rs`), or checks that the committed file
//! is current.

use std::path::PathBuf;

use clap::Args;

use super::Failure;
use crate::io::atomic::write_atomically;
use crate::io::path_text;

/// Options of `loss-tools vectors`.
#[derive(Debug, Clone, Args)]
pub struct VectorsArgs {
    /// Only check that the committed file is current; exit 1 if it is stale.
    #[arg(long)]
    check: bool,
    /// The file to write or check.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../", "golden/src/vectors.rs"))]
    path: PathBuf,
}

/// Runs `loss-tools vectors`.
pub fn run(args: &VectorsArgs) -> Result<(), Failure> {
    let fresh = loss_tools::golden::render();
    let path = path_text(&args.path);
    if args.check {
        let current = std::fs::read_to_string(&args.path)
            .map_err(|e| Failure::message(format!("cannot read {path}: {e}")))?;
        if current != fresh {
            return Err(Failure::message(format!(
                "{path} is stale: run `cargo run -p loss-tools -- vectors`"
            )));
        }
        super::print(&format!("{path} is current\n"))
    } else {
        write_atomically(&args.path, fresh.as_bytes())?;
        super::print(&format!("wrote {path} ({} bytes)\n", fresh.len()))
    }
}
