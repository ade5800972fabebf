//! NumPy `.npy` files: the header is parsed by [`npyz`]; the data block is decoded here with
//! one bounds-checked pass (the element-by-element reader of `npyz` is several times slower on
//! large tensors, and the whole point of `eval` is to keep up with the disk).
//!
//! Supported element types: float32, float16 (as `half::f16`), float64, and the integer and
//! bool types a label map is saved with. Either byte order. Fortran-order arrays are
//! transposed to C order, so callers always see row-major data.

use std::io::Write;

use npyz::{DType, Order, TypeChar, WriterBuilder};

/// A decoded array in C (row-major) order.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// The values.
    pub data: Data,
    /// The file's dtype as NumPy writes it, e.g. `<f4`.
    pub dtype: String,
}

/// Values of an [`Array`]: floats (f16 and f64 converted to f32) or integers.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// float16, float32 or float64 values, as f32.
    Float(Vec<f32>),
    /// Integer or bool values.
    Int(Vec<i64>),
}

/// The longest header accepted, NumPy's own limit for `np.load` (its `max_header_size`): a
/// real header is a few hundred bytes.
pub const MAX_HEADER: usize = 10_000;

/// The deepest nesting of brackets accepted in a header (a real one has 2: the dict and the
/// shape tuple).
const MAX_NESTING: usize = 8;

/// Checks the fixed part of a `.npy` file before the header is parsed: the magic, the version
/// and the declared header length against [`MAX_HEADER`] and the file's size, and the header's
/// nesting depth (the header parser recurses once per bracket).
fn check_prelude(bytes: &[u8]) -> Result<(), String> {
    if !bytes.starts_with(b"\x93NUMPY") {
        return Err("not a .npy file (no \\x93NUMPY magic)".into());
    }
    let (header_len, start) = match bytes.get(6..8) {
        Some([1, 0]) => (
            bytes
                .get(8..10)
                .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]]))),
            10,
        ),
        Some([2 | 3, 0]) => (
            bytes
                .get(8..12)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize),
            12,
        ),
        Some([major, minor]) => {
            return Err(format!(
                "bad .npy header: format version {major}.{minor} (1.0, 2.0 or 3.0 expected)"
            ));
        }
        _ => (None, 0),
    };
    let Some(header_len) = header_len else {
        return Err("truncated: the file ends inside its .npy preamble".into());
    };
    if header_len > MAX_HEADER {
        return Err(format!(
            "bad .npy header: declares {header_len} header bytes, more than the {MAX_HEADER} NumPy reads"
        ));
    }
    let Some(header) = bytes.get(start..start + header_len) else {
        return Err(format!(
            "truncated: declares {header_len} header bytes, file has {} after the preamble",
            bytes.len().saturating_sub(start)
        ));
    };
    let mut depth = 0usize;
    for &b in header {
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > MAX_NESTING {
            return Err(format!(
                "bad .npy header: brackets nested more than {MAX_NESTING} deep"
            ));
        }
    }
    declared_count(header)?;
    Ok(())
}

/// Checks that the `shape` tuple of a header, if it can be read as integers, has a product
/// that fits 64 bits (the header parser multiplies it unchecked). Anything else is left to the
/// parser to judge.
fn declared_count(header: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(header);
    let Some(key) = text.find("'shape'").or_else(|| text.find("\"shape\"")) else {
        return Ok(());
    };
    let rest = &text[key..];
    let (Some(open), Some(close)) = (rest.find('('), rest.find(')')) else {
        return Ok(());
    };
    let Some(inner) = rest.get(open + 1..close) else {
        return Ok(());
    };
    let mut product = 1u64;
    for dim in inner.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let Ok(d) = dim.trim_end_matches('L').parse::<u64>() else {
            return Ok(());
        };
        product = product.checked_mul(d).ok_or_else(|| {
            super::one_line(&format!("bad .npy header: shape ({inner}) overflows"), 200)
        })?;
    }
    Ok(())
}

/// Decodes a whole `.npy` file held in memory; with `max_values`, an array declaring more
/// values is refused before its data is decoded. Errors are one-line descriptions of the
/// problem (the caller adds the file name).
pub fn parse(bytes: &[u8], max_values: Option<usize>) -> Result<Array, String> {
    check_prelude(bytes)?;
    let mut rest = bytes;
    let file = npyz::NpyFile::new(&mut rest)
        .map_err(|e| format!("bad .npy header: {}", header_error(&e.to_string())))?;
    let dtype = file.dtype();
    let order = file.order();
    let shape = file
        .shape()
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| "dimension too large".to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    drop(file);
    let DType::Plain(ty) = &dtype else {
        return Err("structured dtype; expected a plain numeric array".into());
    };
    let descr = dtype.descr().trim_matches('\'').to_string();
    let size = ty.num_bytes().unwrap_or(0);
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or("shape overflows")?;
    let needed = count.checked_mul(size).ok_or("shape overflows")?;
    if let Some(max) = max_values
        && count > max
    {
        return Err(format!(
            "shape {shape:?} holds {count} values, more than the {max} of the predictions"
        ));
    }
    if rest.len() < needed {
        return Err(format!(
            "truncated: shape {shape:?} of {descr} needs {needed} data bytes, file has {}",
            rest.len()
        ));
    }
    let raw = rest.get(..needed).unwrap_or_default();
    let big = matches!(ty.endianness(), npyz::Endianness::Big);
    let data = match (ty.type_char(), size) {
        // float32 and float16 (the large prediction tensors) by fixed-size chunks, which the
        // compiler turns into a copy-speed loop; the generic `words` path is several times
        // slower.
        (TypeChar::Float, 4) => {
            let chunks = raw.as_chunks::<4>().0.iter().copied();
            Data::Float(if big {
                chunks.map(f32::from_be_bytes).collect()
            } else {
                chunks.map(f32::from_le_bytes).collect()
            })
        }
        (TypeChar::Float, 2) => {
            let chunks = raw.as_chunks::<2>().0.iter().copied();
            let f16 = if big {
                half::f16::from_be_bytes
            } else {
                half::f16::from_le_bytes
            };
            Data::Float(chunks.map(|b| f16(b).to_f32()).collect())
        }
        (TypeChar::Float, 8) => Data::Float(
            words::<8>(raw, big)
                .map(|b| f64::from_bits(b) as f32)
                .collect(),
        ),
        (TypeChar::Int, 1 | 2 | 4 | 8) => Data::Int(signed(raw, size, big)),
        (TypeChar::Uint | TypeChar::Bool, 1 | 2 | 4) => {
            Data::Int(unsigned(raw, size, big).map(|v| v as i64).collect())
        }
        (TypeChar::Uint, 8) => Data::Int(
            unsigned(raw, 8, big)
                .map(|v| i64::try_from(v).unwrap_or(i64::MAX))
                .collect(),
        ),
        _ => {
            return Err(format!(
                "unsupported dtype {descr}: expected float16/32/64 or an integer type"
            ));
        }
    };
    let data = if order == Order::Fortran && shape.len() > 1 {
        match data {
            Data::Float(v) => Data::Float(fortran_to_c(&v, &shape)),
            Data::Int(v) => Data::Int(fortran_to_c(&v, &shape)),
        }
    } else {
        data
    };
    Ok(Array {
        shape,
        data,
        dtype: descr,
    })
}

/// The header parser's message in one line: its first line (the position) and its last (what
/// was expected), without the excerpt of the header in between.
fn header_error(message: &str) -> String {
    let lines: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with('|')
                && !l
                    .chars()
                    .all(|c| c == '|' || c == '^' || c == '-' || c == ' ')
        })
        .collect();
    let text = match lines.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [first, .., last] => format!("{first}: {}", last.trim_start_matches("= ")),
    };
    let text = text.replace(":  --> ", " at ").replace(": --> ", " at ");
    super::one_line(&text, 200)
}

/// The unsigned words of width `N` bytes, as u64, in the given byte order.
fn words<const N: usize>(raw: &[u8], big: bool) -> impl Iterator<Item = u64> + '_ {
    raw.chunks_exact(N).map(move |c| {
        let mut b = [0u8; 8];
        if big {
            for (d, s) in b.iter_mut().zip(c.iter().rev()) {
                *d = *s;
            }
        } else {
            for (d, s) in b.iter_mut().zip(c) {
                *d = *s;
            }
        }
        u64::from_le_bytes(b)
    })
}

fn unsigned(raw: &[u8], size: usize, big: bool) -> Box<dyn Iterator<Item = u64> + '_> {
    match size {
        1 => Box::new(words::<1>(raw, big)),
        2 => Box::new(words::<2>(raw, big)),
        4 => Box::new(words::<4>(raw, big)),
        _ => Box::new(words::<8>(raw, big)),
    }
}

fn signed(raw: &[u8], size: usize, big: bool) -> Vec<i64> {
    let shift = 64 - 8 * size as u32;
    // Sign-extend by shifting the value to the top and back.
    unsigned(raw, size, big)
        .map(|v| ((v << shift) as i64) >> shift)
        .collect()
}

/// Reorders a Fortran-order (first index fastest) buffer into C order.
fn fortran_to_c<T: Copy + Default>(values: &[T], shape: &[usize]) -> Vec<T> {
    let mut out = vec![T::default(); values.len()];
    // Fortran strides: stride[k] = prod(shape[..k]).
    let mut strides = vec![1usize; shape.len()];
    for k in 1..shape.len() {
        strides[k] = strides[k - 1] * shape[k - 1];
    }
    let mut index = vec![0usize; shape.len()];
    for o in &mut out {
        let offset: usize = index.iter().zip(&strides).map(|(i, s)| i * s).sum();
        *o = values.get(offset).copied().unwrap_or_default();
        // Odometer over C order: the last index moves fastest.
        for k in (0..shape.len()).rev() {
            index[k] += 1;
            if index[k] < shape[k] {
                break;
            }
            index[k] = 0;
        }
    }
    out
}

/// Writes a C-order float16 array (the built-in sample's predictions).
pub fn write_f16(out: &mut impl Write, shape: &[u64], values: &[f32]) -> std::io::Result<()> {
    let mut w = npyz::WriteOptions::<half::f16>::new()
        .default_dtype()
        .shape(shape)
        .writer(out)
        .begin_nd()?;
    w.extend(values.iter().map(|&v| half::f16::from_f32(v)))?;
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(bytes: &[u8]) -> Result<Array, String> {
        parse(bytes, None)
    }

    fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
        let dict = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
            if fortran { "True" } else { "False" }
        );
        let mut header = dict.into_bytes();
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(b' ');
        }
        header.push(b'\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn reads_every_float_width_and_byte_order() {
        let le: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let be: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let h: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect();
        let hb: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_be_bytes())
            .collect();
        for (descr, bytes) in [("<f4", le), (">f4", be), ("<f2", h), (">f2", hb)] {
            let a = parse_all(&npy(descr, false, "(2,)", &bytes)).unwrap();
            assert_eq!(a.data, Data::Float(vec![1.5, -2.0]), "{descr}");
        }
    }

    #[test]
    fn sign_extends_integers() {
        let a = parse_all(&npy("|i1", false, "(2,)", &[0xff, 3])).unwrap();
        assert_eq!(a.data, Data::Int(vec![-1, 3]));
        let a = parse_all(&npy(">u2", false, "(1,)", &[1, 0])).unwrap();
        assert_eq!(a.data, Data::Int(vec![256]));
    }

    #[test]
    fn transposes_fortran_order() {
        // 2 x 3 array [[0, 1, 2], [3, 4, 5]] stored column by column.
        let data: Vec<u8> = [0i64, 3, 1, 4, 2, 5]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let a = parse_all(&npy("<i8", true, "(2, 3)", &data)).unwrap();
        assert_eq!(a.data, Data::Int(vec![0, 1, 2, 3, 4, 5]));
        assert_eq!(a.shape, vec![2, 3]);
    }

    #[test]
    fn reports_truncation_and_garbage() {
        let e = parse_all(&npy("<f4", false, "(4,)", &[0; 12])).unwrap_err();
        assert!(e.starts_with("truncated"), "{e}");
        assert!(
            parse_all(b"PK\x03\x04 zip")
                .unwrap_err()
                .contains("not a .npy")
        );
        let e = parse_all(&npy("<c8", false, "(1,)", &[0; 8])).unwrap_err();
        assert!(e.contains("unsupported dtype"), "{e}");
    }

    #[test]
    fn never_panics_on_damaged_files() {
        let mut good = Vec::new();
        write_f16(&mut good, &[2, 3], &[0.5; 6]).unwrap();
        for cut in 0..good.len() {
            let _ = parse_all(&good[..cut]);
        }
        for i in 0..good.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] ^= flip;
                let _ = parse_all(&bad);
            }
        }
    }

    #[test]
    fn round_trips_the_writers() {
        let mut buf = Vec::new();
        write_f16(&mut buf, &[2, 1], &[0.25, 1.0]).unwrap();
        assert_eq!(parse_all(&buf).unwrap().data, Data::Float(vec![0.25, 1.0]));
    }
}
