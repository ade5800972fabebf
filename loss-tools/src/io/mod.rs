//! Files: reading model outputs and masks (`.npy` via `npyz`, PNG label masks via `png`, raw
//! little-endian float32 with a shape given on the command line), encoding PNG and `.npy`, and
//! replacing files atomically ([`atomic`]).

pub mod atomic;
pub mod npy;
pub mod png;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

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
            // Forward slashes on Windows too, so reports (and their snapshots) read the same
            // on every platform.
            Self::File(p) if cfg!(windows) => p.display().to_string().replace('\\', "/"),
            Self::File(p) => p.display().to_string(),
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

    /// All bytes of the input.
    pub fn read(&self) -> Result<Cow<'static, [u8]>, String> {
        match self {
            Self::File(p) => std::fs::read(p)
                .map(Cow::Owned)
                .map_err(|e| format!("cannot read: {e}")),
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
pub fn load(source: &Source, raw: Raw<'_>) -> Result<Loaded, String> {
    let bytes = source.read()?;
    match source.extension().as_str() {
        "npy" => {
            let a = npy::parse(&bytes)?;
            Ok(Loaded {
                shape: a.shape,
                data: a.data,
                kind: format!(".npy {}", a.dtype),
            })
        }
        "png" => {
            let m = png::read_mask(&bytes)?;
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
