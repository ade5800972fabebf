//! Text helpers of the reports: fixed-precision numbers (so snapshots are the same on every
//! platform) and plain-text tables.

/// A number with `digits` decimals; `-` for none, `nan`, `inf`.
pub fn num(v: Option<f64>, digits: usize) -> String {
    match v {
        None => "-".into(),
        Some(x) if x.is_nan() => "nan".into(),
        Some(x) if x.is_infinite() => if x > 0.0 { "inf" } else { "-inf" }.into(),
        Some(x) => {
            let s = format!("{x:.digits$}");
            // A negative number that rounds to zero prints as 0, not -0.
            match s.strip_prefix('-') {
                Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
                _ => s,
            }
        }
    }
}

/// Rounds for JSON output: 6 significant decimals keep snapshots stable; NaN and infinity
/// become `null`.
pub fn round(v: f64) -> Option<f64> {
    v.is_finite().then(|| (v * 1e6).round() / 1e6 + 0.0)
}

/// A plain-text table: first column left-aligned, the others right-aligned.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&str]) -> Self {
        Self {
            rows: vec![headers.iter().map(ToString::to_string).collect()],
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Renders with two spaces between columns and no trailing spaces.
    pub fn render(&self) -> String {
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let width: Vec<usize> = (0..cols)
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for r in &self.rows {
            let mut line = String::new();
            for (c, w) in width.iter().enumerate() {
                let cell = r.get(c).map_or("", String::as_str);
                if c == 0 {
                    line.push_str(&format!("{cell:<w$}"));
                } else {
                    line.push_str(&format!("  {cell:>w$}"));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_fixed_precision() {
        assert_eq!(num(Some(-0.00001), 4), "0.0000");
        assert_eq!(num(Some(f64::NAN), 4), "nan");
        assert_eq!(num(None, 4), "-");
        assert_eq!(round(0.123_456_789), Some(0.123_457));
        assert_eq!(round(f64::INFINITY), None);
    }

    #[test]
    fn tables_align() {
        let mut t = Table::new(&["a", "bb"]);
        t.row(vec!["long".into(), "1".into()]);
        assert_eq!(t.render(), "a     bb\nlong   1\n");
    }
}
