//! The files of one commit of an index clone, read through one long-running
//! `git cat-file --batch` (no working tree, so a clone that moves on does not change what is
//! read), and checked against a signed checkpoint's manifest: [`SnapshotReader`] is how ocp
//! reads a git index that publishes checkpoints, so a clone and an HTTP server give the same
//! verified state. [`CatFile`] and [`tree_files`] also serve `ocp index checkpoint` (the
//! manifest of a commit) and `ocp index verify` (the checkpoints in the history).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};

use super::IndexError;
use super::checkpoint::{self, Manifest, manifest};
use super::git::{GitError, Repo};
use super::reader::{IndexReader, check_relative, names_below};

/// A running `git cat-file --batch` in one repository.
#[derive(Debug)]
pub struct CatFile {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl CatFile {
    pub fn start(repo: &Path) -> Result<CatFile, GitError> {
        let mut command = Command::new("git");
        crate::childenv::without_secrets(&mut command);
        let mut child = command
            .arg("-C")
            .arg(repo)
            .args(["cat-file", "--batch"])
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(GitError::NotFound)?;
        let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(failed("the pipes to `git cat-file` could not be opened"));
        };
        Ok(CatFile {
            child,
            input,
            output: BufReader::new(output),
        })
    }

    /// The contents of the blob `object` names (`<commit>:<path>` or an object id): `None`
    /// when there is no such object, an error when it is not a blob or is larger than
    /// `limit` (the process is then of no further use).
    pub fn read(&mut self, object: &str, limit: u64) -> Result<Option<Vec<u8>>, CatFileError> {
        if object.contains(['\n', '\r']) {
            return Ok(None);
        }
        writeln!(self.input, "{object}").map_err(broken)?;
        self.input.flush().map_err(broken)?;
        let mut header = String::new();
        self.output.read_line(&mut header).map_err(broken)?;
        let header = header.trim_end();
        if header.ends_with(" missing") || header.ends_with(" ambiguous") {
            return Ok(None);
        }
        let mut parts = header.split(' ');
        let (Some(_), Some(kind), Some(size)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CatFileError::Broken(failed(&format!(
                "`git cat-file` answered `{header}`"
            ))));
        };
        let size: u64 = size.parse().map_err(|_| {
            CatFileError::Broken(failed(&format!("`git cat-file` answered `{header}`")))
        })?;
        if kind != "blob" {
            return Err(CatFileError::NotAFile {
                kind: kind.to_owned(),
            });
        }
        if size > limit {
            return Err(CatFileError::TooLarge { size, limit });
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        (&mut self.output)
            .take(size)
            .read_to_end(&mut bytes)
            .map_err(broken)?;
        let mut newline = [0u8; 1];
        self.output.read_exact(&mut newline).map_err(broken)?;
        if bytes.len() as u64 != size {
            return Err(CatFileError::Broken(failed("`git cat-file` stopped early")));
        }
        Ok(Some(bytes))
    }
}

impl Drop for CatFile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Why a blob could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CatFileError {
    #[error("it is a {kind}, not a file")]
    NotAFile { kind: String },
    #[error("it is {size} bytes long; ocp reads at most {limit} bytes of it")]
    TooLarge { size: u64, limit: u64 },
    #[error(transparent)]
    Broken(GitError),
}

fn failed(reason: &str) -> GitError {
    GitError::Failed {
        command: "cat-file --batch".to_owned(),
        stderr: reason.to_owned(),
    }
}

fn broken(error: std::io::Error) -> CatFileError {
    CatFileError::Broken(failed(&error.to_string()))
}

/// The files of `commit` that a checkpoint's manifest covers: (path, blob id), sorted. A
/// symbolic link or a submodule among them is an error: an index holds plain files only.
pub fn tree_files(repo: &Repo, commit: &str) -> Result<Vec<(String, String)>, IndexError> {
    let mut args = vec![
        "ls-tree",
        "-r",
        "-z",
        "--full-tree",
        commit,
        "--",
        "config.json",
    ];
    args.extend(manifest::COVERED_FOLDERS);
    let listing = repo.git(&args)?;
    let mut files = Vec::new();
    for record in listing.split('\0').filter(|record| !record.is_empty()) {
        let Some((meta, path)) = record.split_once('\t') else {
            continue;
        };
        let mut meta = meta.split(' ');
        let (Some(mode), Some(_), Some(object)) = (meta.next(), meta.next(), meta.next()) else {
            continue;
        };
        if mode != "100644" && mode != "100755" {
            return Err(IndexError::Symlink {
                path: repo.root().join(path),
            });
        }
        if manifest::covers(path) {
            files.push((path.to_owned(), object.to_owned()));
        }
    }
    files.sort();
    Ok(files)
}

/// The manifest of the covered files of `commit`.
pub fn manifest_of(repo: &Repo, commit: &str) -> Result<Manifest, IndexError> {
    let files = tree_files(repo, commit)?;
    let mut cat = CatFile::start(repo.root())?;
    let mut rows = Vec::with_capacity(files.len());
    for (path, object) in files {
        let bytes = cat
            .read(&object, manifest::MAX_MANIFEST_BYTES)
            .map_err(|error| blob_error(repo.root(), &path, error))?
            .unwrap_or_default();
        rows.push((path, crate::model::Checksum::of_bytes(&bytes).to_hex()));
    }
    Ok(Manifest::from_hashes(&mut rows))
}

fn blob_error(root: &Path, path: &str, error: CatFileError) -> IndexError {
    match error {
        CatFileError::Broken(error) => IndexError::Git(error),
        CatFileError::TooLarge { size, limit } => IndexError::TooLarge {
            path: root.join(path),
            size,
            limit,
        },
        CatFileError::NotAFile { .. } => IndexError::Symlink {
            path: root.join(path),
        },
    }
}

/// The files of one commit of a clone, as a checkpoint's manifest lists them: a file the
/// manifest does not list does not exist, and a file whose sha256 differs is refused.
#[derive(Debug)]
pub struct SnapshotReader {
    root: PathBuf,
    commit: String,
    manifest: Arc<Manifest>,
    cat: Mutex<Option<CatFile>>,
}

impl SnapshotReader {
    pub fn new(root: &Path, commit: &str, manifest: Arc<Manifest>) -> SnapshotReader {
        SnapshotReader {
            root: root.to_path_buf(),
            commit: commit.to_owned(),
            manifest,
            cat: Mutex::new(None),
        }
    }
}

impl IndexReader for SnapshotReader {
    fn read(&self, relative: &str, limit: u64) -> Result<Option<String>, IndexError> {
        check_relative(relative)?;
        let Some(expected) = self.manifest.hash_of(relative) else {
            return Ok(None);
        };
        let mut cat = self
            .cat
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cat.is_none() {
            *cat = Some(CatFile::start(&self.root)?);
        }
        let Some(process) = cat.as_mut() else {
            return Ok(None);
        };
        let read = process.read(&format!("{}:{relative}", self.commit), limit);
        if read.is_err() {
            // A refused or broken read leaves the process mid-answer: start a new one next time.
            *cat = None;
        }
        let location = self.location(relative).display().to_string();
        let bytes = read
            .map_err(|error| blob_error(&self.root, relative, error))?
            .ok_or_else(|| checkpoint::CheckpointError::ListedFileMissing {
                location: location.clone(),
            })?;
        checkpoint::check_file(&location, expected, &bytes)?;
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| IndexError::Read {
                path: self.location(relative),
                source: std::io::Error::from(std::io::ErrorKind::InvalidData),
            })
    }

    fn file_names(&self, folder: &str) -> Result<Vec<String>, IndexError> {
        Ok(names_below(self.manifest.paths(), folder))
    }

    fn location(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }
}
