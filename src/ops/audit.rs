//! `ocp audit`: checks an environment under its shared lock, as a reader, and reports every
//! problem rather than stopping at the first:
//!
//! 1. the files ([`crate::audit::check_files`]): RECORD hashes, unclaimed files in an OCP's
//!    folders, `.pth` files added after install;
//! 2. for each index the packages came from (its receipt names it; `--index` overrides): the
//!    index is updated through the usual quarantine, and a history that is no longer a
//!    fast-forward of what this machine last saw, or an index that cannot be reached, is a
//!    finding; then each package's signed entry is checked against its owners' log and
//!    compared with what was installed (sha256, signer), and a yanked version is a finding;
//!    a package the index does not have must be signed by a trusted key (a local tarball);
//! 3. the plugin policy in force, on the verified facts of each package;
//! 4. each package's Osiris range (from its signed entry, else its METADATA) against the
//!    environment's Osiris.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};

use crate::activate::{self, Receipt};
use crate::audit::{self, Finding, InstalledOcp, Kind};
use crate::index::format::IndexEntry;
use crate::ops::environment;
use crate::ops::registry::{self, Freshness, Staleness};
use crate::policy::{Policy, REFUSED, Subject};
use crate::pyenv::PythonEnv;
use crate::resolve::{EntrySource, IndexDirSource};
use crate::shell::Shell;
use crate::signing::PublicKey;
use crate::signing::trusted::TrustedKeys;

pub struct AuditOpts {
    pub env: PythonEnv,
    /// `OCP_HOME`, where the index clones are.
    pub home: PathBuf,
    /// Check every package against this index instead of the one its receipt names.
    pub index: Option<String>,
    pub freshness: Freshness,
    pub policy: Policy,
    /// The trusted keys (user and project), which a package from no index must be signed by.
    pub trusted: TrustedKeys,
    /// The user's own public key, also trusted for local tarballs.
    pub own_key: Option<PublicKey>,
}

/// One audited package.
#[derive(Debug, Clone)]
pub struct AuditedPackage {
    pub name: String,
    pub version: String,
    /// The index checked against.
    pub index: String,
    pub key_id: String,
    /// The names under which its signing key is trusted (empty when it is not).
    pub trusted_as: Vec<String>,
    pub components: Vec<String>,
}

/// What the audit found.
#[derive(Debug)]
pub struct Audit {
    pub environment: PathBuf,
    pub osiris: Option<Version>,
    pub packages: Vec<AuditedPackage>,
    pub findings: Vec<Finding>,
}

pub fn audit(shell: &mut Shell, opts: &AuditOpts) -> anyhow::Result<Audit> {
    let env = &opts.env;
    let _lock = environment::lock_shared(shell, env)?;
    let dist_infos: Vec<PathBuf> = env
        .installed()?
        .into_iter()
        .map(|installed| installed.dist_info)
        .collect();
    let mut ocps = Vec::new();
    let mut receipts: Vec<(InstalledOcp, Receipt)> = Vec::new();
    let mut findings = Vec::new();
    for (installed, receipt) in activate::ocp_installed(env)? {
        let ocp = InstalledOcp {
            name: crate::model::normalize_name(&installed.name),
            version: installed.version.clone(),
            dist_info: installed.dist_info.clone(),
        };
        match receipt {
            Some(receipt) => receipts.push((ocp.clone(), receipt)),
            None => findings.push(Finding::about(
                &ocp,
                Kind::Record,
                "ocp installed it, but its `ocp_install.json` is missing or unreadable, so where it came from cannot be checked",
            )),
        }
        ocps.push(ocp);
    }
    shell.status(
        "Auditing",
        format!(
            "{} in `{}`",
            crate::ops::install::packages(ocps.len()),
            env.root.display()
        ),
    )?;
    findings.extend(audit::check_files(&audit::Environment {
        site_packages: &env.site_packages,
        ocps: &ocps,
        dist_infos: &dist_infos,
    }));

    let osiris = env.osiris_version()?;
    if osiris.is_none() && !receipts.is_empty() {
        findings.push(Finding {
            kind: Kind::Osiris,
            package: None,
            version: None,
            path: None,
            message: "Osiris (`osiris-pipeline`) is not installed in this environment, so no installed component can run".to_owned(),
        });
    }
    let mut by_index: BTreeMap<String, Vec<(InstalledOcp, Receipt)>> = BTreeMap::new();
    for (ocp, receipt) in receipts {
        let index = opts.index.clone().unwrap_or_else(|| receipt.index.clone());
        by_index.entry(index).or_default().push((ocp, receipt));
    }
    let mut packages = Vec::new();
    for (index, group) in by_index {
        let source = open_index(opts, &index, &mut findings);
        for (ocp, receipt) in &group {
            let checked = Checked::new(source.as_ref(), ocp, receipt, opts, &index, &mut findings);
            findings.extend(checked.policy_finding(&opts.policy, ocp));
            if let Some(osiris) = &osiris {
                findings.extend(osiris_finding(ocp, checked.osiris_range(ocp), osiris));
            }
            packages.push(AuditedPackage {
                name: ocp.name.clone(),
                version: ocp.version.clone(),
                index: index.clone(),
                key_id: receipt.key_id.clone(),
                trusted_as: trusted_as(opts, &receipt.key_id),
                components: receipt.components.clone(),
            });
        }
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    audit::sort(&mut findings);
    Ok(Audit {
        environment: env.root.clone(),
        osiris,
        packages,
        findings,
    })
}

/// The index named `index`, brought up to date; a rewritten history or an unreachable index
/// is a finding, and `None` when not even a local copy can be read.
fn open_index(
    opts: &AuditOpts,
    index: &str,
    findings: &mut Vec<Finding>,
) -> Option<IndexDirSource> {
    let environment_finding = |kind: Kind, message: String| Finding {
        kind,
        package: None,
        version: None,
        path: None,
        message,
    };
    let opened = registry::locate(&opts.home, Some(index))
        .and_then(|location| registry::open_checked(&location, opts.freshness));
    let (open, staleness) = match opened {
        Ok(opened) => opened,
        Err(error) => {
            findings.push(environment_finding(
                Kind::IndexUnavailable,
                format!(
                    "the index `{index}` cannot be read, so the signatures, yanked versions and Osiris ranges of the packages installed from it were not checked: {}",
                    chain(&error)
                ),
            ));
            return None;
        }
    };
    match staleness {
        Some(Staleness::Rewritten(error)) => findings.push(environment_finding(
            Kind::IndexRewritten,
            format!(
                "the index `{index}` is no longer a fast-forward of what this machine last saw, so it was checked as last seen: {}",
                chain(&error)
            ),
        )),
        Some(Staleness::Unreachable(error)) => findings.push(environment_finding(
            Kind::IndexUnavailable,
            format!(
                "the index `{index}` could not be updated, so yanked versions are as of the last update (`--offline` accepts that): {}",
                chain(&error)
            ),
        )),
        None => {}
    }
    Some(IndexDirSource::new(open.index.root()))
}

fn chain(error: &anyhow::Error) -> String {
    let (message, causes) = crate::error::message_and_causes(error);
    std::iter::once(message)
        .chain(causes)
        .collect::<Vec<_>>()
        .join(": ")
}

/// A package's facts, from its signed index entry when there is one and it holds up.
struct Checked<'r> {
    receipt: &'r Receipt,
    /// The index entry of the installed version, when it verified and matches the install.
    entry: Option<IndexEntry>,
}

impl<'r> Checked<'r> {
    fn new(
        source: Option<&IndexDirSource>,
        ocp: &InstalledOcp,
        receipt: &'r Receipt,
        opts: &AuditOpts,
        index: &str,
        findings: &mut Vec<Finding>,
    ) -> Checked<'r> {
        let mut checked = Checked {
            receipt,
            entry: None,
        };
        let Some(source) = source else {
            return checked;
        };
        let entries = match source.entries(&ocp.name) {
            Ok(entries) => entries,
            Err(error) => {
                findings.push(Finding::about(
                    ocp,
                    Kind::Signature,
                    format!("its index entries cannot be used: {error}"),
                ));
                return checked;
            }
        };
        let Some(entry) = entries.into_iter().find(|e| e.version == ocp.version) else {
            if trusted_as(opts, &receipt.key_id).is_empty() {
                findings.push(Finding::about(
                    ocp,
                    Kind::Signature,
                    format!(
                        "the index `{index}` has no version {}, and its signer {} is not a trusted key, so nothing vouches for what is installed",
                        ocp.version, receipt.key_id
                    ),
                ));
            }
            return checked;
        };
        if let Err(error) = source.vouch(&entry) {
            findings.push(Finding::about(
                ocp,
                Kind::Signature,
                format!("its index entry is not what its owners signed: {error}"),
            ));
            return checked;
        }
        if entry.sha256 != receipt.sha256 || entry.key_id != receipt.key_id {
            findings.push(Finding::about(
                ocp,
                Kind::Signature,
                format!(
                    "it was installed from a tarball with sha256 {} signed by {}, but the index `{index}` signs {} for this version, with sha256 {} signed by {}",
                    receipt.sha256, receipt.key_id, entry.version, entry.sha256, entry.key_id
                ),
            ));
            return checked;
        }
        if entry.yanked {
            findings.push(Finding::about(
                ocp,
                Kind::Yanked,
                format!(
                    "version {} is yanked in the index `{index}`; update to a version that is not (`ocp update {}`)",
                    entry.version, ocp.name
                ),
            ));
        }
        checked.entry = Some(entry);
        checked
    }

    /// The policy's verdict, on the signed entry's facts (the receipt's, for a package from
    /// no index, which a trusted key signed).
    fn policy_finding(&self, policy: &Policy, ocp: &InstalledOcp) -> Option<Finding> {
        let (components, key_id) = match &self.entry {
            Some(entry) => (&entry.components, &entry.key_id),
            None => (&self.receipt.components, &self.receipt.key_id),
        };
        let version = Version::from_str(&ocp.version).ok()?;
        let refusal = policy
            .check(&Subject {
                name: &ocp.name,
                version: &version,
                components,
                key_id,
            })
            .err()?;
        Some(Finding::about(
            ocp,
            Kind::Policy,
            format!("it is {REFUSED}: {refusal}"),
        ))
    }

    /// The Osiris versions it works with: the signed entry's range, else its METADATA's
    /// requirement on `osiris-pipeline`.
    fn osiris_range(&self, ocp: &InstalledOcp) -> Option<String> {
        match &self.entry {
            Some(entry) => Some(entry.osiris.clone()),
            None => metadata_osiris_range(ocp),
        }
    }
}

fn metadata_osiris_range(ocp: &InstalledOcp) -> Option<String> {
    let text = std::fs::read_to_string(ocp.dist_info.join("METADATA")).ok()?;
    text.lines()
        .take_while(|line| !line.is_empty())
        .filter_map(|line| line.strip_prefix("Requires-Dist:"))
        .map(str::trim)
        .filter(|requirement| !requirement.contains(';'))
        .find_map(|requirement| {
            let split = requirement
                .find(['<', '>', '=', '!', '~', ' ', '('])
                .unwrap_or(requirement.len());
            (crate::model::normalize_name(&requirement[..split]) == "osiris-pipeline").then(|| {
                requirement[split..]
                    .trim()
                    .trim_start_matches('(')
                    .trim_end_matches(')')
                    .to_owned()
            })
        })
}

fn osiris_finding(ocp: &InstalledOcp, range: Option<String>, osiris: &Version) -> Option<Finding> {
    let range = range?;
    if range.trim().is_empty() {
        return None;
    }
    let specifiers = VersionSpecifiers::from_str(&range).ok()?;
    (!specifiers.contains(osiris)).then(|| {
        Finding::about(
            ocp,
            Kind::Osiris,
            format!(
                "it needs osiris {range}, but this environment has osiris {osiris}; install a version built for it (`ocp update {}`)",
                ocp.name
            ),
        )
    })
}

/// The names under which `key_id` is a trusted key (`you` for the user's own key).
fn trusted_as(opts: &AuditOpts, key_id: &str) -> Vec<String> {
    let Ok(key_id) = key_id.parse() else {
        return Vec::new();
    };
    let mut names: Vec<String> = opts
        .trusted
        .by_key_id(key_id)
        .into_iter()
        .map(|signer| signer.name.clone())
        .collect();
    if opts
        .own_key
        .as_ref()
        .is_some_and(|own| own.key_id() == key_id)
    {
        names.push("you".to_owned());
    }
    names
}
