//! The system `git`, run as a child process, so users' SSH keys, credential helpers and
//! proxies work for indexes as they do for their own repositories. Every failure carries the
//! command and what git said. git runs without ocp's secrets in its environment
//! ([`crate::childenv`]), so hooks and credential helpers never see a signing key or token.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A git command that failed, or git that could not be started.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("could not run `git`; is it installed and on PATH?")]
    NotFound(#[source] std::io::Error),
    #[error("`git {command}` failed: {stderr}")]
    Failed { command: String, stderr: String },
    #[error("failed to prepare a scratch repository to fetch into")]
    Scratch(#[source] std::io::Error),
}

/// The outcome of a push.
#[derive(Debug, PartialEq, Eq)]
pub enum PushOutcome {
    Pushed,
    /// Someone else pushed first: fetch, re-apply, try again.
    Rejected,
}

/// What a quarantined fetch brought: a scratch repository (removed when this is dropped)
/// and the fetched branch head.
#[derive(Debug)]
pub struct Fetched {
    _scratch: tempfile::TempDir,
    /// The scratch repository, which holds the fetched commits and sees the clone's.
    pub repo: Repo,
    pub head: String,
}

/// How two commits of an index differ.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HistoryChange {
    /// `<short hash> <subject>` of commits only the old state has.
    pub dropped: Vec<String>,
    /// `<short hash> <subject>` of commits only the new state has.
    pub added: Vec<String>,
    /// Files that differ: status letter and path.
    pub files: Vec<(char, String)>,
}

/// A git working tree.
#[derive(Debug, Clone)]
pub struct Repo {
    root: PathBuf,
}

fn run(directory: Option<&Path>, args: &[&str]) -> Result<Output, GitError> {
    let mut command = Command::new("git");
    crate::childenv::without_secrets(&mut command);
    if let Some(directory) = directory {
        command.arg("-C").arg(directory);
    }
    // Never wait for a password prompt: a CI job has nobody to answer it.
    command
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C");
    command.output().map_err(GitError::NotFound)
}

fn checked(directory: Option<&Path>, args: &[&str]) -> Result<String, GitError> {
    let output = run(directory, args)?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(GitError::Failed {
            command: args.join(" "),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

impl Repo {
    pub fn at(root: &Path) -> Repo {
        Repo {
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// True when `path` is inside a git working tree.
    pub fn is_work_tree(path: &Path) -> bool {
        run(Some(path), &["rev-parse", "--is-inside-work-tree"])
            .is_ok_and(|o| o.status.success() && o.stdout.starts_with(b"true"))
    }

    /// `git init` with `main` as the first branch.
    pub fn init(root: &Path) -> Result<Repo, GitError> {
        checked(
            None,
            &[
                "init",
                "--quiet",
                "--initial-branch=main",
                &root.to_string_lossy(),
            ],
        )?;
        Ok(Repo::at(root))
    }

    /// Clones `remote` into `destination`.
    pub fn clone_from(remote: &str, destination: &Path) -> Result<Repo, GitError> {
        checked(
            None,
            &[
                "clone",
                "--quiet",
                "--",
                remote,
                &destination.to_string_lossy(),
            ],
        )?;
        Ok(Repo::at(destination))
    }

    pub fn git(&self, args: &[&str]) -> Result<String, GitError> {
        checked(Some(&self.root), args)
    }

    /// The checked-out branch.
    pub fn branch(&self) -> Result<String, GitError> {
        Ok(self
            .git(&["rev-parse", "--abbrev-ref", "HEAD"])?
            .trim()
            .to_owned())
    }

    pub fn head(&self) -> Result<String, GitError> {
        Ok(self.git(&["rev-parse", "HEAD"])?.trim().to_owned())
    }

    /// Fetches `branch` of `remote` into a scratch repository created in `scratch_parent`
    /// that borrows this clone's objects, so nothing in this clone changes until the caller
    /// has looked at what came and calls [`Repo::accept`].
    pub fn fetch_quarantined(
        &self,
        remote: &str,
        branch: &str,
        scratch_parent: &Path,
    ) -> Result<Fetched, GitError> {
        let scratch = tempfile::Builder::new()
            .prefix(".ocp-fetch-")
            .tempdir_in(scratch_parent)
            .map_err(GitError::Scratch)?;
        let quarantine = Repo::at(scratch.path());
        checked(
            None,
            &[
                "init",
                "--quiet",
                "--bare",
                &scratch.path().to_string_lossy(),
            ],
        )?;
        // Everything here works with git 2.15 (`--no-optional-locks`) and later.
        let git_dir = self.git(&["rev-parse", "--absolute-git-dir"])?;
        std::fs::write(
            scratch.path().join("objects/info/alternates"),
            format!("{}\n", Path::new(git_dir.trim()).join("objects").display()),
        )
        .map_err(GitError::Scratch)?;
        quarantine.git(&[
            "fetch",
            "--quiet",
            "--",
            remote,
            &format!("+refs/heads/{branch}:refs/heads/incoming"),
        ])?;
        let head = quarantine
            .git(&["rev-parse", "refs/heads/incoming"])?
            .trim()
            .to_owned();
        Ok(Fetched {
            _scratch: scratch,
            repo: quarantine,
            head,
        })
    }

    /// Takes what [`Repo::fetch_quarantined`] fetched as `origin/<branch>` and moves the
    /// working tree to it, dropping local changes.
    pub fn accept(&self, fetched: &Fetched) -> Result<(), GitError> {
        // Nothing new and nothing to clean: leave every file of the clone as it is.
        if self.is_clean_at(&fetched.head)? {
            return Ok(());
        }
        let branch = self.branch()?;
        self.git(&[
            "fetch",
            "--quiet",
            "--",
            &fetched.repo.root.to_string_lossy(),
            &format!("+refs/heads/incoming:refs/remotes/origin/{branch}"),
        ])?;
        self.reset_to_origin()
    }

    /// True when `ancestor` is a commit that `descendant` contains (a fast-forward from it);
    /// false when it is not, or is not a commit this repository has.
    pub fn contains(&self, descendant: &str, ancestor: &str) -> Result<bool, GitError> {
        let output = run(
            Some(&self.root),
            &["merge-base", "--is-ancestor", ancestor, descendant],
        )?;
        Ok(output.status.success())
    }

    /// What differs between `old` and `new`: commits only `old` has, commits only `new` has,
    /// and changed files (status letter, path). Commits this repository does not have give
    /// empty lists.
    pub fn history_change(&self, old: &str, new: &str) -> HistoryChange {
        let subjects = |range: &str| -> Vec<String> {
            self.git(&["log", "--format=%h %s", range])
                .map(|text| text.lines().map(str::to_owned).collect())
                .unwrap_or_default()
        };
        let files = self
            .git(&["diff", "--name-status", "--no-renames", old, new])
            .map(|text| {
                text.lines()
                    .filter_map(|line| {
                        let (status, path) = line.split_once('\t')?;
                        Some((status.chars().next()?, path.to_owned()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        HistoryChange {
            dropped: subjects(&format!("{new}..{old}")),
            added: subjects(&format!("{old}..{new}")),
            files,
        }
    }

    /// Drops uncommitted changes and unpushed commits, back to what `origin` had when last
    /// fetched. A clone already there is not touched at all.
    pub fn reset_to_origin(&self) -> Result<(), GitError> {
        let branch = self.branch()?;
        let origin = self
            .git(&["rev-parse", &format!("refs/remotes/origin/{branch}")])?
            .trim()
            .to_owned();
        if self.is_clean_at(&origin)? {
            return Ok(());
        }
        self.git(&["reset", "--quiet", "--hard", &format!("origin/{branch}")])?;
        self.git(&["clean", "--quiet", "-fd"])?;
        Ok(())
    }

    /// True when `HEAD` is `commit`, `origin/<branch>` too, and nothing is changed or
    /// untracked in the working tree.
    pub fn is_clean_at(&self, commit: &str) -> Result<bool, GitError> {
        let branch = self.branch()?;
        let at = |rev: &str| -> Result<bool, GitError> {
            Ok(
                run(Some(&self.root), &["rev-parse", "--verify", "--quiet", rev])?
                    .stdout
                    .trim_ascii()
                    == commit.as_bytes(),
            )
        };
        Ok(at("HEAD")?
            && at(&format!("refs/remotes/origin/{branch}"))?
            && self
                // Without optional locks, status never rewrites `.git/index`.
                .git(&[
                    "--no-optional-locks",
                    "status",
                    "--porcelain",
                    "--untracked-files=all",
                ])?
                .trim()
                .is_empty())
    }

    /// Stages `paths` and commits them with `message`, as the user's git identity or, when
    /// none is configured (a fresh CI machine), as `ocp`.
    pub fn commit(&self, paths: &[String], message: &str) -> Result<String, GitError> {
        let mut add = vec!["add", "--"];
        add.extend(paths.iter().map(String::as_str));
        self.git(&add)?;
        let has_identity = self
            .git(&["config", "user.email"])
            .is_ok_and(|email| !email.trim().is_empty());
        let mut args: Vec<&str> = Vec::new();
        if !has_identity {
            args.extend(["-c", "user.name=ocp", "-c", "user.email=ocp@localhost"]);
        }
        args.extend(["commit", "--quiet", "--no-verify", "-m", message]);
        self.git(&args)?;
        self.head()
    }

    /// Pushes the current branch to `origin`.
    pub fn push(&self) -> Result<PushOutcome, GitError> {
        let branch = self.branch()?;
        let output = run(
            Some(&self.root),
            &[
                "push",
                "--quiet",
                "--porcelain",
                "origin",
                &format!("HEAD:refs/heads/{branch}"),
            ],
        )?;
        if output.status.success() {
            return Ok(PushOutcome::Pushed);
        }
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if text.contains("[rejected]")
            || text.contains("non-fast-forward")
            || text.contains("fetch first")
            || text.contains("cannot lock ref")
        {
            Ok(PushOutcome::Rejected)
        } else {
            Err(GitError::Failed {
                command: format!("push origin {branch}"),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            })
        }
    }

    /// The text of `path` at `revision`, `None` when it did not exist there.
    pub fn show(&self, revision: &str, path: &str) -> Result<Option<String>, GitError> {
        let output = run(Some(&self.root), &["show", &format!("{revision}:{path}")])?;
        Ok(output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned()))
    }

    /// Files changed between `from` and `HEAD`: (status letter, path).
    pub fn changed_files(&self, from: &str) -> Result<Vec<(char, String)>, GitError> {
        let text = self.git(&["diff", "--name-status", "--no-renames", from, "HEAD"])?;
        Ok(text
            .lines()
            .filter_map(|line| {
                let (status, path) = line.split_once('\t')?;
                Some((status.chars().next()?, path.to_owned()))
            })
            .collect())
    }

    /// True when `path` (inside the work tree) has uncommitted changes or untracked files.
    pub fn is_dirty(&self, path: &Path) -> Result<bool, GitError> {
        let text = self.git(&["status", "--porcelain", "--", &path.to_string_lossy()])?;
        Ok(!text.trim().is_empty())
    }
}
