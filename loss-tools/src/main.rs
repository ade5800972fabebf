//! `loss-tools`: the command line of the project. This file parses the arguments, dispatches to
//! the subcommand and reports its failure, if any: the one place that prints errors and picks
//! the exit code. With no subcommand it prints the report of the built-in sample
//! (`loss-tools eval` on `loss-tools/data/`).
//!
//! - `commands/`: one module per subcommand, each returning `Result<(), Failure>`;
//! - `output/`: tables, the sweep plot, the overlays;
//!
//! The inputs (`input/`: which files, how predictions and targets pair up), the scoring
//! (`scoring/`: what `eval` and `sweep` compute with `loss-core`, pooled exactly), the file
//! formats (`io/`: `.npy`, PNG, raw float32, atomic writes), the framework mappings (`batch`,
//! `translate`) and the golden vectors are in the library (`lib.rs`), which the cross-crate
//! tests, the fuzz targets and the bindings use too.

mod commands;
mod output;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
// The file formats live in the library, where the fuzz targets reach them too.
use loss_tools::{input, io, scoring};

use commands::{batch, eval, explain, monitor_baseline, sample, sweep, translate, vectors};

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
    #[command(allow_negative_numbers = true)]
    Eval(Box<eval::EvalArgs>),
    /// The seed article's worked example (cross-entropy against focal loss), recomputed beside
    /// the article's figures.
    #[command(allow_negative_numbers = true)]
    Explain(explain::ExplainArgs),
    /// Grids of alpha and gamma on data: the positives' share of the focal loss, the loss per
    /// class, weighted precision and recall; table and SVG/PNG plot.
    #[command(allow_negative_numbers = true)]
    Sweep(Box<sweep::SweepArgs>),
    /// Regenerate (or `--check`) the built-in sample in `loss-tools/data/`.
    Sample(sample::SampleArgs),
    /// Framework parity: JSON Lines requests naming a framework loss (torchvision, MONAI, smp,
    /// kornia, Keras, the seed article) in, one JSON response per line out.
    Batch(batch::BatchArgs),
    /// The loss-core code that reproduces one framework request, for firmware.
    Translate(translate::TranslateArgs),
    /// Baselines and thresholds for `loss_core::monitor` from a directory of validation
    /// outputs, printed as Rust code (a `const` for firmware) and JSON.
    #[command(allow_negative_numbers = true)]
    MonitorBaseline(monitor_baseline::MonitorBaselineArgs),
    /// Write the golden vectors (`golden/src/vectors.rs`) from this build of loss-core.
    Vectors(vectors::VectorsArgs),
}

/// The longest line written to stderr, in characters; longer messages are cut.
const MAX_MESSAGE: usize = 1000;

fn main() -> ExitCode {
    let cli = Cli::parse();
    io::atomic::remove_pending_on_signals();
    let result = match cli.command {
        None => eval::run(&eval::EvalArgs::sample_report()),
        Some(Command::Eval(args)) => eval::run(&args),
        Some(Command::Explain(args)) => explain::run(&args),
        Some(Command::Sweep(args)) => sweep::run(&args),
        Some(Command::Sample(args)) => sample::run(&args),
        Some(Command::Vectors(args)) => vectors::run(&args),
        Some(Command::MonitorBaseline(args)) => monitor_baseline::run(&args),
        Some(Command::Batch(args)) => batch::run(&args),
        Some(Command::Translate(args)) => translate::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            // Every message one line of bounded length, whatever a file name or a library's
            // message holds; a closed stderr is no reason to panic.
            let mut err = std::io::stderr().lock();
            for line in &failure.lines {
                let _ = writeln!(err, "{}", io::one_line(line, MAX_MESSAGE));
            }
            failure.exit_code
        }
    }
}
