//! A dataset's evaluation as mergeable pieces, for any front end (`eval`, the Python package,
//! a distributed run): one pair's [`Totals`] ([`evaluate`], [`evaluate_files`]), merged in
//! any order and grouping ([`Totals::merge`], exact), then the report's rows ([`summarise`]).
//! The same options give the same bits as `loss-tools eval` on the whole directory.

use std::path::Path;

use clap::Parser;

use super::spec::{LossArgs, Spec};
use super::summary::{ClassRow, OverallRow, summarise};
use super::totals::{self, Totals};
use crate::input::files::Job;
use crate::input::{self, InputArgs, Pair, TargetData};
use crate::io::Source;

/// The options that decide a dataset's numbers: `eval`'s flags but the files and the outputs.
#[derive(Debug, Clone, Parser)]
#[command(name = "options", no_binary_name = true, disable_help_flag = true)]
pub struct Options {
    /// How the predictions and targets are read (their paths are given per pair).
    #[command(flatten)]
    pub input: InputArgs,
    /// The losses.
    #[command(flatten)]
    pub loss: LossArgs,
}

impl Options {
    /// Options from `eval`'s flags, e.g. `["--from-logits", "--ignore-index", "255"]`: the
    /// same names, values and checks as the command line. Errors are clap's message.
    pub fn from_flags<I: IntoIterator<Item = S>, S: Into<std::ffi::OsString> + Clone>(
        flags: I,
    ) -> Result<Self, String> {
        let options = Self::try_parse_from(flags).map_err(|e| e.to_string().trim().to_string())?;
        if options.input.predictions.is_some() {
            return Err("give the files per pair, not among the options".into());
        }
        Ok(options)
    }
}

/// The totals of one decoded pair, under `eval`'s options. Errors name the file at fault.
pub fn evaluate(pair: &Pair, input: &InputArgs, loss: &LossArgs) -> Result<Totals, String> {
    let spec = Spec::new(loss, pair.geometry.classes).map_err(|e| format!("{}: {e}", pair.name))?;
    if matches!(pair.targets, TargetData::Dense(_)) && input.ignore_index.is_some() {
        return Err(format!(
            "{}: --ignore-index applies to label maps; these targets are dense",
            pair.target_name
        ));
    }
    totals::of_pair(pair, &spec, input.from_logits, input.ignore_index)
}

/// The prediction/target file pairs that `eval` reads from two directories (matched by file
/// stem, in its order) or from two files.
pub fn pairs(
    predictions: &Path,
    targets: &Path,
) -> Result<Vec<(std::path::PathBuf, std::path::PathBuf)>, String> {
    let mut args = Options::from_flags(std::iter::empty::<&str>())?.input;
    args.predictions = Some(predictions.to_path_buf());
    args.targets = Some(targets.to_path_buf());
    input::jobs(&args)?
        .into_iter()
        .map(|job| match (job.predictions, job.targets) {
            (Source::File(p), Source::File(t)) => Ok((p, t)),
            _ => Err("the built-in sample has no files".to_string()),
        })
        .collect()
}

/// The totals of a prediction file and its target file (the formats `eval` reads).
pub fn evaluate_files(
    predictions: &Path,
    targets: &Path,
    input: &InputArgs,
    loss: &LossArgs,
) -> Result<Totals, String> {
    let job = Job {
        predictions: Source::File(predictions.to_path_buf()),
        targets: Source::File(targets.to_path_buf()),
    };
    evaluate(&input::load(&job, input)?, input, loss)
}

/// The JSON of a pooled state, as `eval --state` writes it: `{"format": ..., "totals": ...}`
/// (every sum exact, so states merge into the bits of the whole dataset).
pub fn state_json(totals: &Totals) -> String {
    serde_json::json!({ "format": STATE_FORMAT, "totals": totals }).to_string() + "\n"
}

/// The state a [`state_json`] text holds. Errors say what is wrong with the text.
pub fn state_from_json(text: &str) -> Result<Totals, String> {
    #[derive(serde::Deserialize)]
    struct State {
        format: String,
        totals: Totals,
    }
    let state: State =
        serde_json::from_str(text).map_err(|e| format!("not a dataset state: {e}"))?;
    if state.format != STATE_FORMAT {
        return Err(format!(
            "dataset state format {:?}: this version reads {STATE_FORMAT:?}",
            state.format
        ));
    }
    Ok(state.totals)
}

/// The version tag of [`state_json`].
pub const STATE_FORMAT: &str = "loss-tools dataset state 1";

/// The report's per-class rows and overall row for pooled totals, with `eval`'s class names.
pub fn rows(
    totals: &Totals,
    input: &InputArgs,
    loss: &LossArgs,
) -> Result<(Vec<ClassRow>, OverallRow), String> {
    let classes = totals.classes.len();
    let spec = Spec::new(loss, classes)?;
    let names = input::class_names(input, classes)?;
    Ok(summarise(totals, &spec, &names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_like_the_command_line() {
        let o = Options::from_flags(["--from-logits", "--ignore-index", "255", "--loss", "dice"])
            .unwrap();
        assert!(o.input.from_logits);
        assert_eq!(o.input.ignore_index, Some(255));
        let none: [&str; 0] = [];
        assert!(!Options::from_flags(none).unwrap().input.from_logits);
        let err = Options::from_flags(["--gamma", "x"]).unwrap_err();
        assert!(err.contains("--gamma"), "{err}");
        assert!(Options::from_flags(["a.npy"]).is_err());
    }

    #[test]
    fn pairs_are_evals_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let (p, t) = (dir.path().join("p"), dir.path().join("t"));
        std::fs::create_dir_all(&p).unwrap();
        std::fs::create_dir_all(&t).unwrap();
        for n in ["b", "a"] {
            std::fs::write(p.join(format!("{n}.npy")), b"").unwrap();
            std::fs::write(t.join(format!("{n}.png")), b"").unwrap();
        }
        assert_eq!(
            pairs(&p, &t).unwrap(),
            vec![
                (p.join("a.npy"), t.join("a.png")),
                (p.join("b.npy"), t.join("b.png"))
            ]
        );
    }
}
