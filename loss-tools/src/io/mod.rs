//! Files: reading model outputs and masks (`.npy` via `npyz`, PNG label masks via `png`, raw
//! little-endian float32 with a shape given on the command line), encoding PNG and `.npy`, and
//! replacing files atomically ([`atomic`]).

pub mod atomic;
#[cfg(test)]
mod corpus;
pub mod npy;
pub mod png;

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A path as text for reports and messages: control characters (a newline in a file name)
/// escaped, so a name can never split a line.
pub fn path_text(path: &Path) -> String {
    let text = path.display().to_string();
    // Forward slashes on Windows too, so reports (and their snapshots) read the same on every
    // platform.
    let text = if cfg!(windows) {
        text.replace('\\', "/")
    } else {
        text
    };
    escape_controls(&text)
}

/// `text` with every control character escaped (`\n`, `\u{1b}`).
pub fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// One line of at most `max` characters: the text's lines joined with `; `, control characters
/// escaped, the rest cut with `...` (for messages of other libraries, which may be long or span
/// lines).
pub fn one_line(text: &str, max: usize) -> String {
    let joined = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let escaped = escape_controls(&joined);
    if escaped.chars().count() <= max {
        return escaped;
    }
    let mut cut: String = escaped.chars().take(max.saturating_sub(3)).collect();
    cut.push_str("...");
    cut
}

/// What a non-regular file is, for messages.
fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    let ft = meta.file_type();
    if ft.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

/// Opens a regular file for reading. A FIFO, a device or a directory is refused without
/// reading from it (and without waiting for a FIFO's writer: the file is opened non-blocking
/// and checked before any read). Errors are messages without the file name.
pub fn open_regular(path: &Path) -> Result<(File, u64), String> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options
        .open(path)
        .map_err(|e| format!("cannot read: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "cannot read: {}, not a regular file",
            kind_of(&meta)
        ));
    }
    Ok((file, meta.len()))
}

/// All bytes of a regular file, refused before reading when it holds more than `max` bytes.
pub fn read_regular(path: &Path, max: Option<u64>) -> Result<Vec<u8>, String> {
    let (file, len) = open_regular(path)?;
    let limit = max.unwrap_or(u64::MAX);
    if len > limit {
        return Err(format!(
            "{len} bytes, more than the {limit} this input can need"
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    // A file that grows while it is read stops at the limit (plus one byte, to notice).
    file.take(limit.saturating_add(1).min(len.saturating_add(1)))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > len {
        return Err("the file grew while it was read".into());
    }
    Ok(bytes)
}

/// Where an input comes from: a file, or bytes compiled into the binary (the built-in sample).
#[derive(Debug, Clone)]
pub enum Source {
    /// A file on disk.
    File(PathBuf),
    /// Bytes shipped in the binary, with the repository path they were built from.
    Embedded {
        /// Repository path of the file, for messages.
        name: &'static str,
        /// The file's bytes.
        bytes: &'static [u8],
    },
}

impl Source {
    /// The name used in reports and errors.
    pub fn name(&self) -> String {
        match self {
            Self::File(p) => path_text(p),
            Self::Embedded { name, .. } => (*name).to_string(),
        }
    }

    /// The file's extension, lower case.
    pub fn extension(&self) -> String {
        let path = match self {
            Self::File(p) => p.as_path(),
            Self::Embedded { name, .. } => Path::new(name),
        };
        path.extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default()
    }

    /// The file name without directory and extension (used to pair files and name overlays).
    pub fn stem(&self) -> String {
        let path = match self {
            Self::File(p) => p.as_path(),
            Self::Embedded { name, .. } => Path::new(name),
        };
        path.file_stem()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// All bytes of the input (a regular file of at most `max` bytes).
    pub fn read(&self, max: Option<u64>) -> Result<Cow<'static, [u8]>, String> {
        match self {
            Self::File(p) => read_regular(p, max).map(Cow::Owned),
            Self::Embedded { bytes, .. } => Ok(Cow::Borrowed(bytes)),
        }
    }
}

/// What a file held, after decoding: a float tensor or integer labels, with its shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Values.
    pub data: npy::Data,
    /// A short description: `.npy <f2`, `8-bit palette PNG`, `raw f32`.
    pub kind: String,
}

/// How to read a file that is neither `.npy` nor `.png`.
#[derive(Debug, Clone, Copy)]
pub enum Raw<'a> {
    /// Not allowed (no `--shape` given).
    No,
    /// Little-endian float32 of exactly this shape.
    Shape(&'a [usize]),
    /// Little-endian float32, any length (a target matched to the predictions by its count).
    Flat,
}

/// Decodes any supported file: `.npy`, `.png`, or raw little-endian f32 as `raw` allows.
///
/// `max_values`, when given, is the most values the file may hold (a target can hold no more
/// than its predictions): a file that declares more is refused before its data is read or
/// decoded, and so is a file larger than such an array can be.
pub fn load(source: &Source, raw: Raw<'_>, max_values: Option<usize>) -> Result<Loaded, String> {
    // 8 bytes per value (int64 / float64) and room for any header and PNG chunks.
    let max_bytes = max_values.map(|n| (n as u64).saturating_mul(8).saturating_add(1 << 20));
    let bytes = source.read(max_bytes)?;
    match source.extension().as_str() {
        "npy" => {
            let a = npy::parse(&bytes, max_values)?;
            Ok(Loaded {
                shape: a.shape,
                data: a.data,
                kind: format!(".npy {}", a.dtype),
            })
        }
        "png" => {
            let m = png::read_mask(&bytes, max_values)?;
            Ok(Loaded {
                shape: vec![m.height, m.width],
                data: npy::Data::Int(m.labels.into_iter().map(i64::from).collect()),
                kind: format!("{} PNG", m.kind),
            })
        }
        _ => {
            let shape = match raw {
                Raw::No => {
                    return Err(
                        "not .npy or .png: give --shape to read it as raw little-endian float32"
                            .into(),
                    );
                }
                Raw::Shape(s) => s.to_vec(),
                Raw::Flat if bytes.len() % 4 == 0 => vec![bytes.len() / 4],
                Raw::Flat => {
                    return Err(format!(
                        "raw float32 file has {} bytes, not a multiple of 4",
                        bytes.len()
                    ));
                }
            };
            let needed = shape
                .iter()
                .try_fold(4usize, |a, &d| a.checked_mul(d))
                .ok_or_else(|| format!("--shape {} is too large", shape_text(&shape)))?;
            if let Some(max) = max_values
                && needed / 4 > max
            {
                return Err(format!(
                    "raw float32 file of {} values, more than the {max} of the predictions",
                    needed / 4
                ));
            }
            if bytes.len() != needed {
                return Err(format!(
                    "raw float32 file has {} bytes but --shape {} needs {needed}",
                    bytes.len(),
                    shape_text(&shape),
                ));
            }
            let data = bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            Ok(Loaded {
                shape,
                data: npy::Data::Float(data),
                kind: "raw <f4".into(),
            })
        }
    }
}

/// `1x4x64x64`.
pub fn shape_text(shape: &[usize]) -> String {
    shape
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("x")
}
