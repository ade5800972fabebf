//! `loss-tools translate`: the `loss-core` code that reproduces one framework request, from
//! [`loss_tools::batch::translate`].

use std::io::{self, Read};
use std::path::PathBuf;

use clap::Args;

use super::Failure;

/// Arguments of `loss-tools translate`.
#[derive(Debug, Args)]
pub struct TranslateArgs {
    /// One JSON request (inputs optional); default: standard input.
    #[arg(long)]
    input: Option<PathBuf>,
}

/// Runs `loss-tools translate`.
pub fn run(args: &TranslateArgs) -> Result<(), Failure> {
    let text = match &args.input {
        Some(p) => {
            std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?
        }
        None => {
            let mut text = String::new();
            io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| e.to_string())?;
            text
        }
    };
    let code = loss_tools::batch::translate(&text)?;
    print!("{code}");
    Ok(())
}
