//! Atomic file writes: a temporary file in the destination's folder, renamed over the
//! destination once complete, so an existing file is never left half-written.
//!
//! Two forms: [`write_atomically`] for reports held in memory and [`write_atomically_with`]
//! for output streamed while it is produced (`batch --output`). Both flush the file to disk,
//! give it the permissions of the file it replaces, and report errors as messages naming the
//! file. A temporary file left by a signal (SIGTERM, SIGINT, SIGHUP) is removed by
//! [`remove_pending_on_signals`].

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tempfile::NamedTempFile;

/// The temporary files of atomic writes under way. A signal handler
/// ([`remove_pending_on_signals`]) removes them, and a file is created, and renamed into place,
/// only while this lock is held, so a signal never leaves one behind.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn pending() -> MutexGuard<'static, Vec<PathBuf>> {
    PENDING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// On SIGTERM, SIGINT and SIGHUP: removes the temporary files of the writes under way and
/// exits with `128 + signal`, as the signal itself would have. Without this, the default
/// action ends the process before the temporary files can be removed.
pub fn remove_pending_on_signals() {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        // Without the handler (it cannot be installed) a signal may leave a temporary file,
        // which is all that is lost: go on.
        if let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP]) {
            std::thread::spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    // Held until the process is gone: no write can start or finish after this.
                    let files = pending();
                    for f in files.iter() {
                        let _ = std::fs::remove_file(f);
                    }
                    std::process::exit(128 + signal);
                }
            });
        }
    }
}

/// A temporary file beside `path`, registered in [`PENDING`] until [`Temp::commit`] renames
/// it over `path` or it is dropped (and deleted).
struct Temp {
    file: Option<NamedTempFile>,
}

impl Temp {
    fn new(path: &Path) -> io::Result<Self> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut files = pending();
        let file = NamedTempFile::new_in(dir)?;
        files.push(file.path().to_path_buf());
        Ok(Self { file: Some(file) })
    }

    fn file(&mut self) -> io::Result<&mut NamedTempFile> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("temporary file already committed"))
    }

    /// Flushes the data to disk, gives it the permissions of the file it replaces (or the
    /// usual 0644: the temporary file is private, 0600) and renames it over `path`.
    fn commit(mut self, path: &Path) -> Result<(), String> {
        let name = super::path_text(path);
        let file = self.file.take().ok_or("temporary file already committed")?;
        file.as_file()
            .sync_all()
            .map_err(|e| format!("{name}: cannot write: {e}"))?;
        let permissions = match std::fs::metadata(path) {
            Ok(m) => Some(m.permissions()),
            #[cfg(unix)]
            Err(_) => Some(std::os::unix::fs::PermissionsExt::from_mode(0o644)),
            #[cfg(not(unix))]
            Err(_) => None,
        };
        if let Some(p) = permissions {
            std::fs::set_permissions(file.path(), p)
                .map_err(|e| format!("{name}: cannot set permissions: {e}"))?;
        }
        let mut files = pending();
        let tmp = file.path().to_path_buf();
        let done = file.persist(path);
        files.retain(|f| *f != tmp);
        done.map(|_| ())
            .map_err(|e| format!("{name}: cannot replace: {}", e.error))
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            let mut files = pending();
            let tmp = file.path().to_path_buf();
            drop(file);
            files.retain(|f| *f != tmp);
        }
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, flushed, then
/// renamed over `path`. A failure leaves any existing file as it was.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let name = super::path_text(path);
    let mut tmp = Temp::new(path)
        .map_err(|e| format!("{name}: cannot create a temporary file beside it: {e}"))?;
    tmp.file()
        .and_then(|f| f.write_all(bytes))
        .map_err(|e| format!("{name}: cannot write: {e}"))?;
    tmp.commit(path)
}

/// Why a streamed write failed: the producer's own error, or the file's.
#[derive(Debug)]
pub enum StreamError<E> {
    /// The producer failed; nothing was written.
    Producer(E),
    /// Creating, writing or replacing the file failed (a message naming it).
    File(String),
}

/// Writes through a temporary file in the destination's folder, renamed over it on success
/// (with the permissions of the file it replaces), so an existing file is never left
/// half-written. `write` returns its own errors (`Err(Ok(e))`) or the file's (`Err(Err(e))`).
pub fn write_atomically_with<E>(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<(), Result<E, io::Error>>,
) -> Result<(), StreamError<E>> {
    let name = super::path_text(path);
    let mut tmp = Temp::new(path).map_err(|e| {
        StreamError::File(format!(
            "{name}: cannot create a temporary file beside it: {e}"
        ))
    })?;
    let file = tmp
        .file()
        .map_err(|e| StreamError::File(format!("{name}: {e}")))?;
    match write(file) {
        Ok(()) => {}
        Err(Ok(e)) => return Err(StreamError::Producer(e)),
        Err(Err(e)) => return Err(StreamError::File(format!("{name}: cannot write: {e}"))),
    }
    tmp.commit(path).map_err(StreamError::File)
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
