//! `loss-tools batch`: the command-line end of [`loss_tools::batch`] (JSON Lines requests in,
//! one response per line out). Exit code 0 when every request succeeded, 1 when some failed,
//! 2 on I/O errors.

use std::fs::File;
use std::io::{self, BufReader};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::Failure;
use crate::io::atomic::write_atomically_with;

/// Arguments of `loss-tools batch`.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// JSON Lines requests (default: standard input).
    #[arg(long)]
    input: Option<PathBuf>,
    /// Where to write the responses, atomically (default: standard output).
    #[arg(long)]
    output: Option<PathBuf>,
}

/// Runs `loss-tools batch`.
pub fn run(args: &BatchArgs) -> Result<(), Failure> {
    let io_error = |message: String| Failure::error(message).with_exit_code(ExitCode::from(2));
    let input: Box<dyn io::BufRead> = match &args.input {
        Some(p) => {
            Box::new(BufReader::new(File::open(p).map_err(|e| {
                io_error(format!("cannot read {}: {e}", p.display()))
            })?))
        }
        None => Box::new(io::stdin().lock()),
    };
    let (requests, failures) = match &args.output {
        Some(p) => {
            let mut counts = (0, 0);
            write_atomically_with(p, |out| {
                counts = loss_tools::batch::run(input, &mut io::BufWriter::new(out))?;
                Ok(())
            })
            .map(|()| counts)
            .map_err(|e| format!("cannot write {}: {e}", p.display()))
        }
        None => loss_tools::batch::run(input, &mut io::stdout().lock()).map_err(|e| e.to_string()),
    }
    .map_err(io_error)?;
    if failures > 0 {
        return Err(Failure::message(format!(
            "{failures} of {requests} requests failed"
        )));
    }
    Ok(())
}
