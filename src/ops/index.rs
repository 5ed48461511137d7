//! `ocp index init` and `ocp index verify`.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::error::helped;
use crate::index::format::Storage;
use crate::index::verify::{self, VerifyOptions, VerifyReport};
use crate::index::{Index, template};
use crate::shell::Shell;

/// Creates a new index at `path` as a git repository.
pub fn init(shell: &mut Shell, path: &Path, storage: Storage) -> anyhow::Result<()> {
    if path.exists()
        && std::fs::read_dir(path)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(helped(
            format!("`{}` already exists and is not empty", path.display()),
            "choose a new directory for the index",
        ));
    }
    let described = match &storage {
        Storage::Index => "tarballs stored in the index".to_owned(),
        Storage::Directory { path } => format!("tarballs stored in `{path}`"),
        Storage::Http { upload, .. } => format!("tarballs uploaded to `{upload}`"),
    };
    template::create(path, storage)
        .with_context(|| format!("failed to create an index at `{}`", path.display()))?;
    shell.status(
        "Created",
        format!("index at `{}` ({described})", path.display()),
    )?;
    Ok(())
}

pub struct VerifyIndexOpts {
    pub path: PathBuf,
    pub options: VerifyOptions,
}

/// Checks the index checked out at `opts.path`.
pub fn verify_index(opts: &VerifyIndexOpts) -> anyhow::Result<(Index, VerifyReport)> {
    let index = Index::open(&opts.path)
        .with_context(|| format!("failed to open the index at `{}`", opts.path.display()))?;
    let report = verify::verify(&index, &opts.options);
    Ok((index, report))
}
