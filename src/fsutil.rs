//! Filesystem helpers: atomic writes (temp file in the same directory, fsync, rename), so a
//! crash or a full disk never leaves a half-written file under its final name.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// Writes `bytes` to `path` atomically; the directory must exist.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let directory = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(".ocp-tmp-")
        .tempfile_in(directory)
        .with_context(|| {
            format!(
                "failed to create a temporary file in `{}`",
                directory.display()
            )
        })?;
    temp.write_all(bytes)
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    temp.as_file()
        .sync_all()
        .with_context(|| format!("failed to flush `{}` to disk", path.display()))?;
    temp.persist(path)
        .map_err(|error| error.error)
        .with_context(|| {
            format!(
                "failed to move the new file into place at `{}`",
                path.display()
            )
        })?;
    Ok(())
}
