//! The options that say where the predictions and targets come from and how to read them.

use std::path::PathBuf;

use clap::Args;

use super::geometry::LayoutArg;

/// Where the predictions and targets come from.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Predictions: a `.npy` file (float32/float16), a raw little-endian float32 file (with
    /// `--shape`), or a directory of them. Omitted: the built-in sample.
    pub predictions: Option<PathBuf>,
    /// Targets: a `.png` label mask, a `.npy` label map or one-hot/soft tensor, a raw float32
    /// file, or a directory holding one file with the same stem per prediction.
    pub targets: Option<PathBuf>,
    /// The predictions are logits (softmax / sigmoid applied here), not probabilities.
    #[arg(long)]
    pub from_logits: bool,
    /// Memory layout of the predictions; `auto` guesses from the shape and says so.
    #[arg(long, value_enum, default_value_t = LayoutArg::Auto)]
    pub layout: LayoutArg,
    /// Shape of raw float32 prediction files, e.g. `1,4,512,512`.
    #[arg(long, value_delimiter = ',')]
    pub shape: Option<Vec<usize>>,
    /// Label value to leave out of every statistic (e.g. 255).
    #[arg(long)]
    pub ignore_index: Option<i32>,
    /// Class names, comma separated, one per class.
    #[arg(long, value_delimiter = ',')]
    pub class_names: Option<Vec<String>>,
    /// Proceed when predictions hold NaN or infinity (otherwise an error naming the first).
    #[arg(long)]
    pub allow_nonfinite: bool,
    /// Scale of int8 / uint8 predictions, TFLite's `real = scale * (q - zero_point)`: one value,
    /// or one per class, comma separated.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub scale: Option<Vec<f32>>,
    /// Zero point of int8 / uint8 predictions: one value, or one per class.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub zero_point: Option<Vec<i32>>,
}
