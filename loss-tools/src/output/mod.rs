//! What the commands show: the `eval` and `sweep` reports ([`eval_report`],
//! [`sweep_report`]), plain-text tables and fixed-precision numbers ([`table`]), the sweep plot
//! ([`plot`]) and the eval overlays ([`overlay`]).

pub mod eval_report;
pub mod overlay;
pub mod plot;
pub mod sweep_report;
pub mod table;

use clap::ValueEnum;

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A readable table.
    Table,
    /// One JSON document.
    Json,
    /// CSV: one row per class, then the overall row, then one row per file.
    Csv,
}
