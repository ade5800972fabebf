//! `loss-tools`: the command line of the project.

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
enum Command {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => ExitCode::SUCCESS,
    }
}
