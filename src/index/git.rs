//! The system `git`, run as a child process, so users' SSH keys, credential helpers and
//! proxies work for indexes as they do for their own repositories. Every failure carries the
//! command and what git said.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A git command that failed, or git that could not be started.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("could not run `git`; is it installed and on PATH?")]
    NotFound(#[source] std::io::Error),
    #[error("`git {command}` failed: {stderr}")]
    Failed { command: String, stderr: String },
}

/// The outcome of a push.
#[derive(Debug, PartialEq, Eq)]
pub enum PushOutcome {
    Pushed,
    /// Someone else pushed first: fetch, re-apply, try again.
    Rejected,
}

/// A git working tree.
#[derive(Debug, Clone)]
pub struct Repo {
    root: PathBuf,
}

fn run(directory: Option<&Path>, args: &[&str]) -> Result<Output, GitError> {
    let mut command = Command::new("git");
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

    /// Fetches `origin` and moves the working tree to its state, dropping local changes.
    pub fn sync_to_origin(&self) -> Result<(), GitError> {
        let branch = self.branch()?;
        self.git(&["fetch", "--quiet", "origin"])?;
        self.git(&["reset", "--quiet", "--hard", &format!("origin/{branch}")])?;
        self.git(&["clean", "--quiet", "-fd"])?;
        Ok(())
    }

    /// Drops uncommitted changes and unpushed commits, back to what `origin` had when last fetched.
    pub fn reset_to_origin(&self) -> Result<(), GitError> {
        let branch = self.branch()?;
        self.git(&["reset", "--quiet", "--hard", &format!("origin/{branch}")])?;
        self.git(&["clean", "--quiet", "-fd"])?;
        Ok(())
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
