//! What `ocp audit` finds in an environment, and the checks that need nothing but its files:
//!
//! - every file an OCP's `RECORD` lists is still there with the recorded sha256 and size
//!   ([`Kind::Modified`], [`Kind::Missing`]), and the RECORD itself lists only hashed paths
//!   inside site-packages ([`Kind::Record`]);
//! - no file sits inside an OCP's import package or component folder that no RECORD claims
//!   ([`Kind::Unclaimed`]: something dropped it there), except the bytecode Python writes
//!   for a claimed module, which it checks against that module before using it;
//! - no `.pth` file (code Python runs at every start) that no RECORD claims was added after
//!   ocp installed packages here ([`Kind::Pth`]).
//!
//! The checks that need the index, the trusted keys and the policy (signatures, yanked
//! versions, policy refusals, the Osiris range, the index's history) are made by
//! `ops::audit`, which adds its findings to these. Domain code: it reads files, never writes
//! or prints. Files are hashed in parallel, each read once, streaming.

mod files;
mod pyc;

use std::path::{Path, PathBuf};

use serde::Serialize;

/// What kind of problem a finding is; serialized as the stable names `ocp audit --format
/// json` documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A file its RECORD lists has other contents or another size, or is not a file now.
    Modified,
    /// A file its RECORD lists is gone.
    Missing,
    /// A file inside an OCP's folders that no RECORD lists.
    Unclaimed,
    /// A `.pth` file that no RECORD lists, added after ocp installed here.
    Pth,
    /// A RECORD (or receipt) that is missing, unreadable, or lists what it should not.
    Record,
    /// No signed index entry or trusted key vouches for what is installed.
    Signature,
    /// The installed version is yanked in its index.
    Yanked,
    /// The project's plugin policy refuses the installed version.
    Policy,
    /// The installed version's Osiris range excludes the environment's Osiris.
    Osiris,
    /// The index's history is no longer a fast-forward of what this machine last saw.
    IndexRewritten,
    /// The index could not be reached or read, so what depends on it was not checked.
    IndexUnavailable,
}

impl Kind {
    /// The stable name (`modified`, `index-rewritten`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Modified => "modified",
            Kind::Missing => "missing",
            Kind::Unclaimed => "unclaimed",
            Kind::Pth => "pth",
            Kind::Record => "record",
            Kind::Signature => "signature",
            Kind::Yanked => "yanked",
            Kind::Policy => "policy",
            Kind::Osiris => "osiris",
            Kind::IndexRewritten => "index-rewritten",
            Kind::IndexUnavailable => "index-unavailable",
        }
    }
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: Kind,
    /// The package it is about, when it is about one.
    pub package: Option<String>,
    pub version: Option<String>,
    /// The file it is about, relative to site-packages, when it is about one.
    pub path: Option<String>,
    /// What is wrong, in a sentence.
    pub message: String,
}

impl Finding {
    /// A finding about one package.
    pub fn about(ocp: &InstalledOcp, kind: Kind, message: impl Into<String>) -> Finding {
        Finding {
            kind,
            package: Some(ocp.name.clone()),
            version: Some(ocp.version.clone()),
            path: None,
            message: message.into(),
        }
    }

    /// The same finding, about `path` (relative to site-packages).
    pub fn at(mut self, path: impl Into<String>) -> Finding {
        self.path = Some(path.into());
        self
    }
}

/// An OCP installed in the environment, as the file checks see it.
#[derive(Debug, Clone)]
pub struct InstalledOcp {
    pub name: String,
    pub version: String,
    pub dist_info: PathBuf,
}

/// Everything the file checks look at.
pub struct Environment<'a> {
    pub site_packages: &'a Path,
    /// The OCPs ocp installed.
    pub ocps: &'a [InstalledOcp],
    /// The dist-info folders of every distribution installed (OCPs and the others), whose
    /// RECORDs may claim a file.
    pub dist_infos: &'a [PathBuf],
}

/// The findings about the environment's files, in a stable order (by package, kind, path).
pub fn check_files(environment: &Environment<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let records = files::read_records(environment.site_packages, environment.ocps, &mut findings);
    findings.extend(files::verify_hashes(environment.site_packages, &records));
    let mut claims = files::Claims::new(&records, environment.dist_infos);
    findings.extend(files::unclaimed(
        environment.site_packages,
        &records,
        &mut claims,
    ));
    findings.extend(files::added_pth(
        environment.site_packages,
        environment.ocps,
        &mut claims,
    ));
    sort(&mut findings);
    findings
}

/// Sorts findings by package, kind and path, environment-wide ones last.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (a.package.is_none(), &a.package, a.kind, &a.path).cmp(&(
            b.package.is_none(),
            &b.package,
            b.kind,
            &b.path,
        ))
    });
}

#[cfg(test)]
mod tests;
