//! `loss-tools batch` and `loss-tools translate` (the logic is in `loss_tools::batch`).

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

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

/// Arguments of `loss-tools translate`.
#[derive(Debug, Args)]
pub struct TranslateArgs {
    /// One JSON request (inputs optional); default: standard input.
    #[arg(long)]
    input: Option<PathBuf>,
}

/// Writes through a temporary file in the destination's folder, renamed over it on success, so
/// an existing file is never left half-written.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    write(&mut tmp)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// `loss-tools batch`: exit 0 when every request succeeded, 1 when some failed, 2 on I/O errors.
pub fn run_batch(args: &BatchArgs) -> ExitCode {
    let input: Box<dyn io::BufRead> = match &args.input {
        Some(p) => match File::open(p) {
            Ok(f) => Box::new(BufReader::new(f)),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", p.display());
                return ExitCode::from(2);
            }
        },
        None => Box::new(io::stdin().lock()),
    };
    let mut counts = (0, 0);
    let result = match &args.output {
        Some(p) => write_atomically(p, |out| {
            counts = loss_tools::batch::run(input, &mut io::BufWriter::new(out))?;
            Ok(())
        })
        .map_err(|e| format!("cannot write {}: {e}", p.display())),
        None => loss_tools::batch::run(input, &mut io::stdout().lock())
            .map(|c| counts = c)
            .map_err(|e| e.to_string()),
    };
    match result {
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Ok(()) if counts.1 > 0 => {
            eprintln!("{} of {} requests failed", counts.1, counts.0);
            ExitCode::FAILURE
        }
        Ok(()) => ExitCode::SUCCESS,
    }
}

/// `loss-tools translate`.
pub fn run_translate(args: &TranslateArgs) -> ExitCode {
    let mut text = String::new();
    let read = match &args.input {
        Some(p) => std::fs::read_to_string(p)
            .map(|t| text = t)
            .map_err(|e| format!("cannot read {}: {e}", p.display())),
        None => io::stdin()
            .read_to_string(&mut text)
            .map(drop)
            .map_err(|e| e.to_string()),
    };
    match read.and_then(|()| loss_tools::batch::translate(&text)) {
        Ok(code) => {
            print!("{code}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
