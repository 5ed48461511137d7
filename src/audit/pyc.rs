//! Bytecode in an OCP's folders. Python writes `__pycache__/<module>.<tag>.pyc` beside a
//! module it imports, and no RECORD lists it, so an audit after the first `osiris run` would
//! otherwise report every one. Python itself decides whether such a file is used (PEP 552):
//! a timestamp-based or a checked hash-based `.pyc` is used only when it matches its source,
//! whose own hash the RECORD check covers; an *unchecked* hash-based `.pyc` is used without
//! looking at the source at all, so it is reported, as is any `.pyc` with no claimed source
//! (Python imports a lone `.pyc` beside where a module would be).
//!
//! Limit: a timestamp-based `.pyc` forged to carry its source's modification time and size
//! is used by Python and not detected here; detecting it would mean compiling the source.

use std::io::Read;
use std::path::Path;

use super::files::Claims;

/// PEP 552 flags: bit 0 set means hash-based, bit 1 set means check the source.
const HASH_BASED: u32 = 0b01;
const CHECK_SOURCE: u32 = 0b10;

/// Why the unclaimed file `relative` is a finding, or `None` when it is bytecode Python
/// checks against a claimed module before using it.
pub(super) fn unclaimed_reason(
    site_packages: &Path,
    relative: &str,
    claims: &mut Claims<'_>,
) -> Option<String> {
    const NOT_LISTED: &str = "no RECORD lists this file: something put it there after install";
    let Some((folder, file)) = relative.rsplit_once('/') else {
        return Some(NOT_LISTED.to_owned());
    };
    let Some(cache_parent) = folder.strip_suffix("/__pycache__") else {
        return Some(NOT_LISTED.to_owned());
    };
    if !file.ends_with(".pyc") {
        return Some(NOT_LISTED.to_owned());
    }
    let module = file.split('.').next().unwrap_or_default();
    let source = format!("{cache_parent}/{module}.py");
    if module.is_empty() || !claims.contains(&source) {
        return Some(format!(
            "bytecode of `{source}`, which no RECORD lists: Python may run it as that module"
        ));
    }
    // Too short or unreadable: Python ignores it and compiles the source.
    let flags = flags(&site_packages.join(relative))?;
    if flags & HASH_BASED != 0 && flags & CHECK_SOURCE == 0 {
        return Some(format!(
            "unchecked hash-based bytecode of `{source}`: Python runs it without comparing it with the source"
        ));
    }
    None
}

/// The PEP 552 flags word of a `.pyc` (bytes 4 to 8, little-endian).
fn flags(path: &Path) -> Option<u32> {
    let mut header = [0u8; 8];
    std::fs::File::open(path)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    Some(u32::from_le_bytes([
        header[4], header[5], header[6], header[7],
    ]))
}
