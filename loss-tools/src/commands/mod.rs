//! The subcommands, one module each. Every command returns `Result<(), Failure>`: what it
//! prints on success is its own business, a failure goes back to `main`, the one place that
//! writes failures to stderr and turns them into exit codes.

pub mod batch;
pub mod eval;
pub mod explain;
pub mod monitor_baseline;
pub mod sample;
pub mod sweep;
pub mod translate;
pub mod vectors;

use std::io::{self, Write};
use std::process::ExitCode;

/// The exit code after the reader of standard output went away (`loss-tools eval | head -1`):
/// 141, what a shell reports for a process ended by SIGPIPE.
pub const CLOSED_PIPE: u8 = 141;

/// Writes `text` to standard output and flushes it. A closed pipe ends the command quietly
/// (nothing on stderr, exit code [`CLOSED_PIPE`]); any other failure, such as a full disk, is
/// a one-line error.
pub fn print(text: &str) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::stdout(&e))
}

/// Why a command failed: the lines it leaves on stderr and the process's exit code.
#[derive(Debug)]
pub struct Failure {
    /// Complete lines for stderr, in order.
    pub lines: Vec<String>,
    /// The exit code: 1 unless the command says otherwise.
    pub exit_code: ExitCode,
}

impl Failure {
    /// An error: `error: {message}`, exit code 1.
    pub fn error(message: impl std::fmt::Display) -> Self {
        Self::message(format!("error: {message}"))
    }

    /// The failure to write standard output: quiet with exit code [`CLOSED_PIPE`] for a
    /// closed pipe, else `error: standard output: cannot write: {e}`.
    pub fn stdout(e: &io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            Self {
                lines: Vec::new(),
                exit_code: ExitCode::from(CLOSED_PIPE),
            }
        } else {
            Self::error(format!("standard output: cannot write: {e}"))
        }
    }

    /// A line printed as it is (a check's finding, a summary), exit code 1.
    pub fn message(line: String) -> Self {
        Self {
            lines: vec![line],
            exit_code: ExitCode::FAILURE,
        }
    }

    /// The same failure with another exit code.
    pub fn with_exit_code(self, exit_code: ExitCode) -> Self {
        Self { exit_code, ..self }
    }

    /// `Ok` when there is no failure, else all of them as one: their lines in order, exit
    /// code 1 (a command that goes on after a problem, such as a check of several files).
    pub fn all(failures: Vec<Self>) -> Result<(), Self> {
        if failures.is_empty() {
            return Ok(());
        }
        Err(Self {
            lines: failures.into_iter().flat_map(|f| f.lines).collect(),
            exit_code: ExitCode::FAILURE,
        })
    }
}

/// Most errors are a message: `error: {message}`, exit code 1.
impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self::error(message)
    }
}
