//! `loss-tools`: the command line of the project. Each subcommand lives in its own module;
//! this file only parses and dispatches. With no subcommand it prints the report of the
//! built-in sample (`loss-tools eval` on `loss-tools/data/`).

mod batch_cmd;
mod eval;
mod evaluate;
mod explain;
mod input;
mod io;
mod monitor_baseline;
mod overlay;
mod plot;
mod report;
mod sample;
mod spec;
mod sweep;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Focal and dice losses on the host: reference output, golden vectors, evaluation.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Losses and metrics of model outputs against masks (files or directories), per class and
    /// overall. Without inputs: the built-in sample.
    Eval(Box<eval::EvalArgs>),
    /// The seed article's worked example (cross-entropy against focal loss), recomputed beside
    /// the article's figures.
    Explain(explain::ExplainArgs),
    /// Grids of alpha and gamma on data: the positives' share of the focal loss, the loss per
    /// class, weighted precision and recall; table and SVG/PNG plot.
    Sweep(Box<sweep::SweepArgs>),
    /// Regenerate (or `--check`) the built-in sample in `loss-tools/data/`.
    Sample(sample::SampleArgs),
    /// Framework parity: JSON Lines requests naming a framework loss (torchvision, MONAI, smp,
    /// kornia, Keras, the seed article) in, one JSON response per line out.
    Batch(batch_cmd::BatchArgs),
    /// The loss-core code that reproduces one framework request, for firmware.
    Translate(batch_cmd::TranslateArgs),
    /// Baselines and thresholds for `loss_core::monitor` from a directory of validation
    /// outputs, printed as Rust code (a `const` for firmware) and JSON.
    MonitorBaseline(monitor_baseline::MonitorBaselineArgs),
    /// Write the golden vectors (`golden/src/vectors.rs`) from this build of loss-core.
    Vectors {
        /// Only check that the committed file is current; exit 1 if it is stale.
        #[arg(long)]
        check: bool,
        /// The file to write or check.
        #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../", "golden/src/vectors.rs"))]
        path: std::path::PathBuf,
    },
}

/// `loss-tools vectors [--check]`.
fn vectors(check: bool, path: &std::path::Path) -> ExitCode {
    let fresh = loss_tools::golden::render();
    if check {
        match std::fs::read_to_string(path) {
            Ok(current) if current == fresh => {
                println!("{} is current", path.display());
                ExitCode::SUCCESS
            }
            Ok(_) => {
                eprintln!(
                    "{} is stale: run `cargo run -p loss-tools -- vectors`",
                    path.display()
                );
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("cannot read {}: {e}", path.display());
                ExitCode::FAILURE
            }
        }
    } else {
        match std::fs::write(path, &fresh) {
            Ok(()) => {
                println!("wrote {} ({} bytes)", path.display(), fresh.len());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cannot write {}: {e}", path.display());
                ExitCode::FAILURE
            }
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => eval::run(&eval::EvalArgs::sample_report()),
        Some(Command::Eval(args)) => eval::run(&args),
        Some(Command::Explain(args)) => explain::run(&args),
        Some(Command::Sweep(args)) => sweep::run(&args),
        Some(Command::Sample(args)) => sample::run(&args),
        Some(Command::Vectors { check, path }) => vectors(check, &path),
        Some(Command::MonitorBaseline(args)) => monitor_baseline::run(&args),
        Some(Command::Batch(args)) => batch_cmd::run_batch(&args),
        Some(Command::Translate(args)) => batch_cmd::run_translate(&args),
    }
}
