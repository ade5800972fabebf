//! Hard binary masks: bytes, `bool`s or bits.

use crate::{Error, Operand};

/// A hard binary target: one 0/1 value per element.
///
/// A firmware usually holds a mask as a byte map (a `u8` label map of 0s and 1s) or packed,
/// eight pixels to a byte. [`Mask::bits`] reads element `i` from bit `i % 8` of byte `i / 8`
/// (least significant bit first, as numpy's `packbits(..., bitorder="little")`); bits past
/// `len` in the last byte are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Mask<'a> {
    /// One byte per element, each 0 or 1.
    Bytes(&'a [u8]),
    /// One `bool` per element.
    Bools(&'a [bool]),
    /// `len` elements packed eight to a byte, least significant bit first.
    Bits {
        /// The packed bytes, at least `len.div_ceil(8)` of them.
        bytes: &'a [u8],
        /// The number of elements.
        len: usize,
    },
}

impl<'a> Mask<'a> {
    /// One byte per element, each 0 or 1.
    pub const fn bytes(values: &'a [u8]) -> Self {
        Self::Bytes(values)
    }

    /// One `bool` per element.
    pub const fn bools(values: &'a [bool]) -> Self {
        Self::Bools(values)
    }

    /// `len` elements packed eight to a byte, least significant bit first.
    pub const fn bits(bytes: &'a [u8], len: usize) -> Self {
        Self::Bits { bytes, len }
    }

    /// The number of elements.
    pub const fn len(&self) -> usize {
        match *self {
            Self::Bytes(v) => v.len(),
            Self::Bools(v) => v.len(),
            Self::Bits { len, .. } => len,
        }
    }

    /// Whether the mask has no elements.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i` (0 or 1 for a valid mask; the byte itself for [`Mask::Bytes`]).
    pub(crate) fn get(&self, i: usize) -> Option<u8> {
        match *self {
            Self::Bytes(v) => v.get(i).copied(),
            Self::Bools(v) => v.get(i).map(|&b| u8::from(b)),
            Self::Bits { bytes, len } if i < len => bytes.get(i / 8).map(|b| (b >> (i % 8)) & 1),
            Self::Bits { .. } => None,
        }
    }

    /// The checks every reader makes: one target per prediction, and bytes for every bit.
    pub(crate) const fn check_len(&self, predictions: usize) -> Result<(), Error> {
        if let Self::Bits { bytes, len } = *self
            && bytes.len() < len.div_ceil(8)
        {
            return Err(Error::LengthMismatch {
                predictions: len,
                targets: bytes.len().saturating_mul(8),
            });
        }
        if self.len() != predictions {
            return Err(Error::LengthMismatch {
                predictions,
                targets: self.len(),
            });
        }
        Ok(())
    }

    /// [`Error::OutOfRange`] for the first byte of a [`Mask::Bytes`] that is not 0 or 1.
    pub(crate) fn check_values(&self) -> Result<(), Error> {
        match *self {
            Self::Bytes(v) => match v.iter().position(|&t| t > 1) {
                Some(index) => Err(Error::OutOfRange {
                    operand: Operand::Targets,
                    index,
                }),
                None => Ok(()),
            },
            Self::Bools(_) | Self::Bits { .. } => Ok(()),
        }
    }
}
