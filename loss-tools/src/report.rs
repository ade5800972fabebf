//! Output helpers: fixed-precision numbers (so snapshots are the same on every platform),
//! plain-text tables, and atomic file writes.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, flushed, then
/// renamed over `path`. A failure leaves any existing file as it was.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.display();
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| format!("{name}: cannot create a temporary file beside it: {e}"))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| format!("{name}: cannot write: {e}"))?;
    // The temporary file is private (0600); give the result the permissions of the file it
    // replaces, or the usual 0644.
    let permissions = match std::fs::metadata(path) {
        Ok(m) => Some(m.permissions()),
        #[cfg(unix)]
        Err(_) => Some(std::os::unix::fs::PermissionsExt::from_mode(0o644)),
        #[cfg(not(unix))]
        Err(_) => None,
    };
    if let Some(p) = permissions {
        std::fs::set_permissions(tmp.path(), p)
            .map_err(|e| format!("{name}: cannot set permissions: {e}"))?;
    }
    tmp.persist(path)
        .map_err(|e| format!("{name}: cannot replace: {}", e.error))?;
    Ok(())
}

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
    fn atomic_write_replaces_or_leaves_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let missing = dir.path().join("no/such/dir/out.txt");
        assert!(write_atomically(&missing, b"x").is_err());
    }

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
