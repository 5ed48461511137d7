//! Filesystem helpers: atomic writes (temp file in the same directory, fsync, rename), so a
//! crash or a full disk never leaves a half-written file under its final name.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// A temporary file beside `path` holding `bytes`, with permission bits `mode`, flushed to
/// disk and ready to be renamed into place.
fn staged(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<tempfile::NamedTempFile> {
    let directory = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // tempfile creates the file readable by its owner only, so a secret never sits on disk
    // with wider permissions, even for a moment; the mode is set before anything is written.
    let mut temp = tempfile::Builder::new()
        .prefix(".ocp-tmp-")
        .tempfile_in(directory)
        .with_context(|| {
            format!(
                "failed to create a temporary file in `{}`",
                directory.display()
            )
        })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(temp.path(), fs::Permissions::from_mode(mode))
            .with_context(|| format!("failed to set the permissions of `{}`", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    temp.write_all(bytes)
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    temp.as_file()
        .sync_all()
        .with_context(|| format!("failed to flush `{}` to disk", path.display()))?;
    Ok(temp)
}

/// Writes `bytes` to `path` atomically; the directory must exist. A file it replaces keeps
/// its permissions; a new one is readable by everyone (0644), as cargo's outputs are.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o644)
    };
    #[cfg(not(unix))]
    let mode = 0o644;
    staged(path, bytes, mode)?
        .persist(path)
        .map_err(|error| error.error)
        .with_context(|| {
            format!(
                "failed to move the new file into place at `{}`",
                path.display()
            )
        })?;
    Ok(())
}

/// Reads a file as UTF-8 text, saying which file and why when it cannot.
pub fn read_text(path: &Path) -> anyhow::Result<String> {
    let bytes = fs::read(path).with_context(|| format!("failed to read `{}`", path.display()))?;
    String::from_utf8(bytes).map_err(|error| {
        anyhow::anyhow!(
            "`{}` is not valid UTF-8 (invalid byte at offset {})",
            path.display(),
            error.utf8_error().valid_up_to()
        )
    })
}

/// Writes a new file atomically with permission bits `mode` (on Unix), and fails if `path`
/// already exists: for files such as secret keys that must never replace another.
pub fn write_new_atomic(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    staged(path, bytes, mode)?
        .persist_noclobber(path)
        .map_err(|error| error.error)
        .with_context(|| format!("failed to create `{}`", path.display()))?;
    Ok(())
}

/// Makes every folder below `dir` writable by its owner (and files readable), so a tree of
/// read-only files, such as a package in the store, can be removed.
pub fn make_writable(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut stack = vec![dir.to_path_buf()];
        while let Some(current) = stack.pop() {
            let _ = fs::set_permissions(&current, fs::Permissions::from_mode(0o755));
            for entry in fs::read_dir(&current).into_iter().flatten().flatten() {
                if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                    stack.push(entry.path());
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Sets a file's permission bits. Where there are none (Windows), only the owner's write bit
/// counts: without it the file becomes read-only.
pub fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let mut permissions = fs::metadata(path)?.permissions();
        permissions.set_readonly(mode & 0o200 == 0);
        fs::set_permissions(path, permissions)
    }
}

/// A file's permission bits; where there are none (Windows), 0o444 for a read-only file and
/// 0o644 for another.
pub fn mode_of(metadata: &fs::Metadata) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        metadata.permissions().mode() & 0o7777
    }
    #[cfg(not(unix))]
    {
        if metadata.permissions().readonly() {
            0o444
        } else {
            0o644
        }
    }
}

/// Whether a file has an executable bit (never, where there are no such bits).
pub fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// Creates a symbolic link at `target` pointing at `link`; refused where ocp does not make
/// links (Windows, where making one needs special rights).
pub fn symlink(link: &Path, target: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(link, target)
    }
    #[cfg(not(unix))]
    {
        let _ = (link, target);
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "symbolic links in packages are not supported on this platform",
        ))
    }
}
