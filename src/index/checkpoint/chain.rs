//! The chain of checkpoints in an index's git history, as `ocp index verify` checks it: every
//! checkpoint signed by the index key of its time (a new key only after the old one signed
//! it, and the key history only growing), versions that only increase, one identity, each
//! naming a commit that is in the history before it and that contains the commit of the
//! checkpoint before it. The manifest is compared with the files of the commit it names for
//! the newest checkpoint and for those added since a given revision (older ones were compared
//! when they were added; comparing every one again would hash the whole history).

use std::collections::HashSet;

use super::keys::KeyHistory;
use super::{
    CheckpointError, KEYS_FILE, MANIFEST_FILE, MAX_KEYS_BYTES, MAX_SIGNATURE_BYTES, SIGNATURE_FILE,
    SignedCheckpoint, duration_words, manifest::MAX_MANIFEST_BYTES,
};
use crate::index::IndexError;
use crate::index::git::Repo;
use crate::index::snapshot::{self, CatFile};

/// What kind of problem a link of the chain has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// Unreadable, or not signed by the index key of its time.
    Signature,
    /// Out of order: a version that does not increase, another identity, a commit outside
    /// the history, a manifest that does not match its commit's files.
    Order,
    /// The newest checkpoint has expired (a warning: the checkpoint job has stopped).
    Expired,
}

/// One problem, at the commit that added the checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub commit: String,
    pub message: String,
}

/// What the chain holds.
#[derive(Debug, Default)]
pub struct ChainReport {
    /// How many checkpoints the history holds.
    pub checkpoints: usize,
    /// How many manifests were compared with the files of their commit.
    pub manifests_compared: usize,
    pub problems: Vec<Problem>,
}

/// A checkpoint accepted so far, with the key history of its commit.
struct Link {
    signature: String,
    signed: SignedCheckpoint,
    keys: KeyHistory,
}

/// Checks the checkpoints in the history of `head`; `since` (a revision) names the ones to
/// compare with their commit's files besides the newest; `now` is seconds since 1970.
pub fn verify(
    repo: &Repo,
    head: &str,
    since: Option<&str>,
    now: u64,
) -> Result<ChainReport, IndexError> {
    // Every commit that changed a checkpoint file: a manifest or key history edited without
    // a new signature is caught too.
    let commits: Vec<String> = repo
        .git(&["log", "--format=%H", "--reverse", head, "--", super::FOLDER])?
        .lines()
        .map(str::to_owned)
        .collect();
    let recent: HashSet<String> = match since {
        Some(since) => repo
            .git(&["rev-list", &format!("{since}..{head}"), "--", super::FOLDER])?
            .lines()
            .map(str::to_owned)
            .collect(),
        None => HashSet::new(),
    };
    let mut report = ChainReport::default();
    let mut cat = CatFile::start(repo.root())?;
    let mut last: Option<Link> = None;
    for (position, commit) in commits.iter().enumerate() {
        let newest = position + 1 == commits.len();
        let problem = |kind: ProblemKind, message: String| Problem {
            kind,
            commit: commit.clone(),
            message,
        };
        let mut read = |path: &str, limit: u64| -> Result<Option<String>, String> {
            match cat.read(&format!("{commit}:{path}"), limit) {
                Ok(Some(bytes)) => String::from_utf8(bytes)
                    .map(Some)
                    .map_err(|_| format!("`{path}` is not UTF-8")),
                Ok(None) => Ok(None),
                Err(error) => Err(format!("`{path}`: {error}")),
            }
        };
        let files = (|| -> Result<Option<(String, String, String)>, String> {
            let Some(signature) = read(SIGNATURE_FILE, MAX_SIGNATURE_BYTES)? else {
                return Ok(None);
            };
            let keys = read(KEYS_FILE, MAX_KEYS_BYTES)?
                .ok_or_else(|| format!("`{KEYS_FILE}` is missing"))?;
            let manifest = read(MANIFEST_FILE, MAX_MANIFEST_BYTES)?
                .ok_or_else(|| format!("`{MANIFEST_FILE}` is missing"))?;
            Ok(Some((signature, keys, manifest)))
        })();
        let (signature, keys, manifest) = match files {
            Ok(Some(files)) => files,
            Ok(None) => {
                if last.is_some() {
                    report.problems.push(problem(
                        ProblemKind::Order,
                        "the checkpoint was removed; an index that has checkpoints keeps them"
                            .to_owned(),
                    ));
                }
                continue;
            }
            Err(reason) => {
                report
                    .problems
                    .push(problem(ProblemKind::Signature, reason));
                continue;
            }
        };
        let again = last
            .as_ref()
            .is_some_and(|last| last.signature == signature);
        if !again {
            report.checkpoints += 1;
        }
        let link = match check_link(&signature, &keys, manifest.clone(), last.as_ref(), again) {
            Ok(link) => link,
            Err((kind, error)) => {
                report.problems.push(problem(kind, error.to_string()));
                continue;
            }
        };
        let stated = &link.signed.checkpoint;
        if !repo.contains(commit, &stated.commit)? {
            report.problems.push(problem(
                ProblemKind::Order,
                CheckpointError::CommitNotInHistory {
                    commit: stated.commit.clone(),
                    head: commit.clone(),
                }
                .to_string(),
            ));
        }
        if let Some(previous) = &last
            && !repo.contains(&stated.commit, &previous.signed.checkpoint.commit)?
        {
            report.problems.push(problem(
                ProblemKind::Order,
                CheckpointError::CommitNotDescendant {
                    commit: stated.commit.clone(),
                    seen: previous.signed.checkpoint.commit.clone(),
                }
                .to_string(),
            ));
        }
        if newest || recent.contains(commit) {
            report.manifests_compared += 1;
            let actual = snapshot::manifest_of(repo, &stated.commit)?;
            if actual.text() != manifest {
                report.problems.push(problem(
                    ProblemKind::Order,
                    format!(
                        "the manifest of checkpoint {} does not list the files of commit {}: {}",
                        stated.version,
                        stated.commit,
                        first_difference(&manifest, actual.text())
                    ),
                ));
            }
        }
        if newest && let Err(error) = stated.check_fresh(now) {
            let message = match error {
                CheckpointError::Expired { expired_ago, .. } => format!(
                    "the newest checkpoint ({}) expired {} ago; the checkpoint job signs a new one on every push and on a schedule",
                    stated.version,
                    duration_words(expired_ago)
                ),
                other => other.to_string(),
            };
            report.problems.push(problem(ProblemKind::Expired, message));
        }
        last = Some(link);
    }
    Ok(report)
}

/// Checks one commit's checkpoint files against the checkpoint before; `again` when its
/// signature is the one before (only the manifest or key history changed).
fn check_link(
    signature: &str,
    keys: &str,
    manifest: String,
    last: Option<&Link>,
    again: bool,
) -> Result<Link, (ProblemKind, CheckpointError)> {
    let signature_problem = |error| (ProblemKind::Signature, error);
    let signed = SignedCheckpoint::parse(signature).map_err(signature_problem)?;
    let keys = KeyHistory::parse(keys, &signed.checkpoint.identity).map_err(signature_problem)?;
    if let Some(last) = last
        && !keys.extends(&last.keys)
    {
        return Err(signature_problem(CheckpointError::Keys {
            reason: "it does not keep the keys it listed before; the history only grows".to_owned(),
        }));
    }
    signed
        .verify_manifest(keys.current(), manifest)
        .map_err(signature_problem)?;
    signed
        .checkpoint
        .check_succession(last.map(|link| &link.signed.checkpoint))
        .map_err(|error| (ProblemKind::Order, error))?;
    if let Some(last) = last
        && !again
        && signed.checkpoint.version == last.signed.checkpoint.version
    {
        return Err((
            ProblemKind::Order,
            CheckpointError::Malformed {
                reason: format!(
                    "version {} was signed again; every checkpoint has a new version",
                    signed.checkpoint.version
                ),
            },
        ));
    }
    Ok(Link {
        signature: signature.to_owned(),
        signed,
        keys,
    })
}

/// The first line where two manifests differ, in words.
fn first_difference(stated: &str, actual: &str) -> String {
    let mut stated_lines = stated.lines();
    let mut actual_lines = actual.lines();
    loop {
        match (stated_lines.next(), actual_lines.next()) {
            (Some(a), Some(b)) if a == b => continue,
            (Some(a), Some(b)) => {
                return format!("it lists `{a}` where the commit has `{b}`");
            }
            (Some(a), None) => return format!("it lists `{a}`, which the commit does not have"),
            (None, Some(b)) => return format!("the commit has `{b}`, which it does not list"),
            (None, None) => return "the manifests differ in their line endings".to_owned(),
        }
    }
}
