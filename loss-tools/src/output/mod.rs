//! What the commands produce besides their numbers: plain-text tables and fixed-precision
//! numbers ([`table`]), the sweep plot ([`plot`]) and the eval overlays ([`overlay`]).

pub mod overlay;
pub mod plot;
pub mod table;
