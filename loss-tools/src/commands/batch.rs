//! `loss-tools batch`: the command-line end of [`loss_tools::batch`] (JSON Lines requests in,
//! one response per line out). Exit code 0 when every request succeeded, 1 when some failed,
//! 2 on I/O errors, 141 when the reader of standard output went away.

use std::io::{self, BufReader};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use loss_tools::batch::RunError;

use super::Failure;
use crate::io::atomic::{StreamError, write_atomically_with};
use crate::io::{open_regular, path_text};

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
    let input_name = args
        .input
        .as_deref()
        .map_or_else(|| "standard input".to_owned(), path_text);
    let input: Box<dyn io::BufRead> = match &args.input {
        Some(p) => {
            if let Some(out) = &args.output
                && same_file::is_same_file(p, out).unwrap_or(false)
            {
                return Err(io_error(format!(
                    "--output {}: is the input; the responses would replace the requests",
                    path_text(out)
                )));
            }
            let (file, _) = open_regular(p).map_err(|e| io_error(format!("{input_name}: {e}")))?;
            Box::new(BufReader::new(file))
        }
        None => Box::new(io::stdin().lock()),
    };
    let read_error = |e: RunError| match e {
        RunError::Read { .. } => io_error(format!("{input_name}: {e}")),
        RunError::Write(e) => {
            Failure::stdout(&e).with_exit_code(if e.kind() == io::ErrorKind::BrokenPipe {
                ExitCode::from(super::CLOSED_PIPE)
            } else {
                ExitCode::from(2)
            })
        }
    };
    let (requests, failures) = match &args.output {
        Some(p) => {
            let mut counts = (0, 0);
            write_atomically_with(p, |out| {
                counts = loss_tools::batch::run(input, &mut io::BufWriter::new(out)).map_err(
                    |e| match e {
                        RunError::Write(e) => Err(e),
                        read => Ok(read),
                    },
                )?;
                Ok(())
            })
            .map(|()| counts)
            .map_err(|e| match e {
                StreamError::Producer(e) => read_error(e),
                StreamError::File(message) => io_error(message),
            })?
        }
        None => loss_tools::batch::run(input, &mut io::stdout().lock()).map_err(read_error)?,
    };
    if failures > 0 {
        return Err(Failure::message(format!(
            "{failures} of {requests} requests failed"
        )));
    }
    Ok(())
}
