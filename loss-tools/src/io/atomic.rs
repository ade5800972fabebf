//! Atomic file writes: a temporary file in the destination's folder, renamed over the
//! destination once complete, so an existing file is never left half-written.
//!
//! Two forms: [`write_atomically`] for reports held in memory (flushed to disk and given the
//! permissions of the file it replaces, errors as messages naming the file), and
//! [`write_atomically_with`] for output streamed while it is produced (`batch --output`).

use std::io::{self, Write};
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

/// Writes through a temporary file in the destination's folder, renamed over it on success, so
/// an existing file is never left half-written.
pub fn write_atomically_with(
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
}
