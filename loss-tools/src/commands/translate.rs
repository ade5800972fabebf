//! `loss-tools translate`: the `loss-core` code that reproduces one framework request, from
//! [`loss_tools::batch::translate`].

use std::io::{self, Read};
use std::path::PathBuf;

use clap::Args;

use super::Failure;
use crate::io::{open_regular, path_text};

/// Arguments of `loss-tools translate`.
#[derive(Debug, Args)]
pub struct TranslateArgs {
    /// One JSON request (inputs optional); default: standard input.
    #[arg(long)]
    input: Option<PathBuf>,
}

/// Runs `loss-tools translate`.
pub fn run(args: &TranslateArgs) -> Result<(), Failure> {
    // One request: a few megabytes at most (its tensors are not needed here).
    let limit = loss_tools::batch::MAX_LINE as u64;
    let (name, mut reader): (String, Box<dyn Read>) = match &args.input {
        Some(p) => {
            let name = path_text(p);
            let (file, _) = open_regular(p).map_err(|e| format!("{name}: {e}"))?;
            (name, Box::new(file))
        }
        None => ("standard input".to_owned(), Box::new(io::stdin().lock())),
    };
    let mut bytes = Vec::new();
    reader
        .by_ref()
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{name}: cannot read: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!("{name}: longer than {limit} bytes").into());
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let text = std::str::from_utf8(bytes)
        .map_err(|e| format!("{name}: invalid UTF-8 at byte {}", e.valid_up_to() + 1))?;
    let code = loss_tools::batch::translate(text).map_err(|e| format!("{name}: {e}"))?;
    super::print(&code)
}
