//! PNG label masks (read) and overlays (write), through the `png` crate.
//!
//! A label mask stores one class index per pixel: 8- or 16-bit greyscale (the value is the
//! class; 1/2/4-bit grey too), or a palette image (the palette *index* is the class, whatever
//! colour the palette gives it, as in Pascal VOC). Colour and alpha images are rejected: their
//! pixel values are not class indices.

use png::{BitDepth, ColorType, Transformations};

/// A decoded label mask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mask {
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Class index per pixel, row-major.
    pub labels: Vec<i32>,
    /// What the file was, e.g. `8-bit grey`.
    pub kind: String,
}

/// The most a deflate stream can expand (its best case, runs of 258 bytes, is 1032 : 1), with a
/// margin: a PNG declaring more pixel bytes than this times its size cannot hold them.
const MAX_EXPANSION: usize = 1100;

/// Decodes a label mask held in memory; with `max_pixels`, a mask declaring more pixels is
/// refused before its data is decoded. A mask declaring more pixel data than its file can
/// hold compressed is refused too.
pub fn read_mask(bytes: &[u8], max_pixels: Option<usize>) -> Result<Mask, String> {
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err("not a PNG file".into());
    }
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    // No expansion: palette indices and 16-bit values are what we want.
    decoder.set_transformations(Transformations::IDENTITY);
    let mut reader = decoder
        .read_info()
        .map_err(|e| format!("bad PNG: {}", super::one_line(&e.to_string(), 200)))?;
    let (declared_w, declared_h) = (reader.info().width, reader.info().height);
    let pixels = u64::from(declared_w) * u64::from(declared_h);
    if let Some(max) = max_pixels
        && pixels > max as u64
    {
        return Err(format!(
            "PNG of {declared_w}x{declared_h} pixels, more than the {max} of the predictions"
        ));
    }
    let (color, depth) = reader.output_color_type();
    if !matches!(color, ColorType::Grayscale | ColorType::Indexed) {
        return Err(format!(
            "{color:?} PNG: a label mask must be greyscale or palette (one class index per pixel)"
        ));
    }
    let size = reader
        .output_buffer_size()
        .ok_or("PNG too large for this machine")?;
    if size > bytes.len().saturating_mul(MAX_EXPANSION) {
        return Err(format!(
            "PNG declares {declared_w}x{declared_h} pixels ({size} bytes), more than its {} bytes can hold",
            bytes.len()
        ));
    }
    let mut buf = vec![0u8; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("bad PNG data: {}", super::one_line(&e.to_string(), 200)))?;
    let (width, height) = (info.width as usize, info.height as usize);
    let bits = match depth {
        BitDepth::One => 1,
        BitDepth::Two => 2,
        BitDepth::Four => 4,
        BitDepth::Eight => 8,
        BitDepth::Sixteen => 16,
    };
    let mut labels = Vec::with_capacity(width * height);
    for row in buf.chunks(info.line_size).take(height) {
        match bits {
            16 => labels.extend(
                row.chunks_exact(2)
                    .take(width)
                    .map(|b| i32::from(u16::from_be_bytes([b[0], b[1]]))),
            ),
            8 => labels.extend(row.iter().take(width).map(|&b| i32::from(b))),
            _ => {
                let per_byte = 8 / bits;
                let mask = (1u8 << bits) - 1;
                labels.extend(
                    row.iter()
                        .flat_map(|&b| {
                            (0..per_byte).map(move |k| (b >> (8 - bits * (k + 1))) & mask)
                        })
                        .take(width)
                        .map(i32::from),
                );
            }
        }
    }
    if labels.len() != width * height {
        return Err("truncated PNG data".into());
    }
    let kind = format!(
        "{bits}-bit {}",
        if color == ColorType::Indexed {
            "palette"
        } else {
            "grey"
        }
    );
    Ok(Mask {
        height,
        width,
        labels,
        kind,
    })
}

/// Encodes an 8-bit RGB image (`rgb.len() == 3 * width * height`).
pub fn write_rgb(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(ColorType::Rgb);
    encoder.set_depth(BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(rgb).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// Encodes a palette label mask (8-bit indices; `palette` holds RGB triples).
pub fn write_palette_mask(
    width: u32,
    height: u32,
    labels: &[u8],
    palette: &[u8],
) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(ColorType::Indexed);
    encoder.set_depth(BitDepth::Eight);
    encoder.set_palette(palette.to_vec());
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(labels).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_mask_all(bytes: &[u8]) -> Result<Mask, String> {
        read_mask(bytes, None)
    }

    fn encode(color: ColorType, depth: BitDepth, w: u32, h: u32, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut e = png::Encoder::new(&mut out, w, h);
        e.set_color(color);
        e.set_depth(depth);
        if color == ColorType::Indexed {
            e.set_palette(vec![0u8; 3 * 16]);
        }
        let mut wr = e.write_header().unwrap();
        wr.write_image_data(data).unwrap();
        wr.finish().unwrap();
        out
    }

    #[test]
    fn reads_grey_8_and_16_bit() {
        let m = read_mask_all(&encode(
            ColorType::Grayscale,
            BitDepth::Eight,
            2,
            1,
            &[3, 255],
        ))
        .unwrap();
        assert_eq!(m.labels, vec![3, 255]);
        let m = read_mask_all(&encode(
            ColorType::Grayscale,
            BitDepth::Sixteen,
            2,
            1,
            &[1, 2, 0, 7],
        ))
        .unwrap();
        assert_eq!(m.labels, vec![258, 7]);
        assert_eq!(m.kind, "16-bit grey");
    }

    #[test]
    fn reads_packed_palette_indices() {
        // 3 pixels of 4-bit indices 1, 2, 15 packed as 0x12, 0xf0.
        let m = read_mask_all(&encode(
            ColorType::Indexed,
            BitDepth::Four,
            3,
            1,
            &[0x12, 0xf0],
        ))
        .unwrap();
        assert_eq!(m.labels, vec![1, 2, 15]);
        let palette = [0u8; 12];
        let bytes = write_palette_mask(2, 2, &[0, 1, 2, 3], &palette).unwrap();
        assert_eq!(read_mask_all(&bytes).unwrap().labels, vec![0, 1, 2, 3]);
    }

    #[test]
    fn never_panics_on_damaged_files() {
        let good = write_palette_mask(3, 2, &[0, 1, 2, 3, 4, 5], &[0u8; 18]).unwrap();
        for cut in 0..good.len() {
            // Cut inside the header or the pixel data: an error; only the trailing IEND
            // chunk may be missing.
            if let Ok(m) = read_mask_all(&good[..cut]) {
                assert_eq!(m.labels, vec![0, 1, 2, 3, 4, 5], "cut at {cut}");
            }
        }
        for i in 8..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x5a;
            let _ = read_mask_all(&bad);
        }
    }

    #[test]
    fn rejects_colour_and_garbage() {
        let rgb = write_rgb(1, 1, &[1, 2, 3]).unwrap();
        assert!(
            read_mask_all(&rgb)
                .unwrap_err()
                .contains("greyscale or palette")
        );
        assert_eq!(read_mask_all(b"GIF89a").unwrap_err(), "not a PNG file");
        assert!(read_mask_all(&rgb[..rgb.len() - 20]).is_err());
    }
}
