//! The git-backed package index: its format, and (in later steps) reading a checkout,
//! publishing into it and verifying it.

pub mod format;
