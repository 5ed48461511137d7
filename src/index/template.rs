//! Creating a new index: the files from `registry-index/template/` (embedded), a
//! `config.json` for the chosen storage, and a git repository with one commit.

use std::fs;
use std::path::Path;

use include_dir::{Dir, include_dir};

use super::IndexError;
use super::format::{IndexConfig, Storage};
use super::git::Repo;

static TEMPLATE: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/registry-index/template");

/// Creates an index at `path` (which must not exist, or be an empty directory): template
/// files, `config.json`, a git repository on branch `main` with one commit. Pushes to a
/// checked-out branch of this repository update its working tree, so it can serve as a
/// remote as it is.
pub fn create(path: &Path, storage: Storage) -> Result<Repo, IndexError> {
    let write = |relative: &str, contents: &[u8]| -> Result<(), IndexError> {
        let target = path.join(relative);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|source| IndexError::Read {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        fs::write(&target, contents).map_err(|source| IndexError::Read {
            path: target,
            source,
        })
    };
    let mut files = Vec::new();
    collect(&TEMPLATE, &mut files);
    for (relative, contents) in &files {
        write(relative, contents)?;
    }
    let config = IndexConfig::new(storage);
    let mut text = serde_json::to_string_pretty(&config).unwrap_or_default();
    text.push('\n');
    write("config.json", text.as_bytes())?;
    let repo = Repo::init(path)?;
    repo.git(&["config", "receive.denyCurrentBranch", "updateInstead"])?;
    let mut paths: Vec<String> = files.into_iter().map(|(relative, _)| relative).collect();
    paths.push("config.json".to_owned());
    repo.commit(&paths, "Create the ocp index")?;
    Ok(repo)
}

fn collect(dir: &Dir<'_>, out: &mut Vec<(String, Vec<u8>)>) {
    for file in dir.files() {
        let relative = file.path().to_string_lossy().replace('\\', "/");
        // `_github` in the template becomes `.github`, so this repository's own tools do not
        // read the template's workflow as theirs.
        let relative = relative
            .split('/')
            .map(|part| {
                part.strip_prefix('_')
                    .map_or(part.to_owned(), |rest| format!(".{rest}"))
            })
            .collect::<Vec<_>>()
            .join("/");
        out.push((relative, file.contents().to_vec()));
    }
    for child in dir.dirs() {
        collect(child, out);
    }
}
