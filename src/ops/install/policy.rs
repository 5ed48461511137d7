//! The plugin policy in the install pipeline ([`crate::policy`] decides; this module says
//! where it is asked and how a refusal reads). It is asked at three points, all before
//! anything is downloaded, so `--dry-run` and `ocp lock` refuse exactly what an install
//! would:
//!
//! 1. before the request: `enabled: false` refuses every install ([`refuse_if_disabled`]);
//!    a local tarball is judged once its `.minisig` is checked ([`check_local`]);
//! 2. during the resolution: the [`Gate`] is the resolver's [`Admission`], judging each
//!    version after its owner's signature is checked, so an allowed version is chosen when
//!    one fits, and remembering what it refused, for the explanation and the notes;
//! 3. after the resolution: every package of the plan is judged once more
//!    ([`Gate::check_resolution`]), so nothing the policy refuses reaches the download.

use std::cell::RefCell;

use pep440_rs::Version;

use super::request::LocalTarball;
use crate::error::helped;
use crate::index::format::IndexEntry;
use crate::policy::{Policy, REFUSED, Refusal};
use crate::resolve::{Admission, Resolution};

const HELP: &str = "nothing was installed; `ocp config show` shows the plugin policy in force and where each rule is written";

/// Refuses every install when the policy disables plugins.
pub fn refuse_if_disabled(policy: &Policy, what: &str) -> anyhow::Result<()> {
    match &policy.disabled {
        Some(origin) => Err(helped(
            format!(
                "cannot install {what}: plugins are disabled for this project (`enabled: false` at {origin})"
            ),
            "nothing was installed; set `enabled: true` in the project's `plugins:` section to allow plugins that pass the rest of the policy",
        )),
        None => Ok(()),
    }
}

/// Judges a local tarball, whose signature was checked against the trusted keys.
pub fn check_local(policy: &Policy, local: &LocalTarball) -> anyhow::Result<()> {
    policy.check_entry(&local.entry).map_err(|refusal| {
        helped(
            format!(
                "refusing to install `{}`: {} {} is {REFUSED}: {refusal}",
                local.path.display(),
                local.entry.name,
                local.entry.version
            ),
            HELP,
        )
    })
}

/// One version the gate refused.
#[derive(Debug, Clone)]
pub struct Refused {
    pub name: String,
    pub version: String,
    pub refusal: Refusal,
}

/// The policy as the resolver's admission, remembering what it refused.
pub struct Gate<'p> {
    policy: &'p Policy,
    refused: RefCell<Vec<Refused>>,
}

impl<'p> Gate<'p> {
    pub fn new(policy: &'p Policy) -> Self {
        Gate {
            policy,
            refused: RefCell::new(Vec::new()),
        }
    }

    /// Every version refused so far, each once.
    pub fn refused(&self) -> Vec<Refused> {
        self.refused.borrow().clone()
    }

    /// The help for a resolution that failed: where the rules are, when the policy refused
    /// anything on the way.
    pub fn help(&self) -> Option<String> {
        let refused = self.refused.borrow();
        let first = refused.first()?;
        Some(format!(
            "nothing was installed; the plugin policy refused {} {} and maybe more, by the rule at {}; `ocp config show` shows the policy in force",
            first.name,
            first.version,
            first.refusal.origin()
        ))
    }

    /// Why the chosen versions are not the newest: the newer versions the policy refused.
    pub fn notes(&self, resolution: &Resolution) -> Vec<String> {
        let refused = self.refused.borrow();
        let mut notes = Vec::new();
        for (name, package) in &resolution.packages {
            let newer: Vec<&Refused> = refused
                .iter()
                .filter(|r| &r.name == name)
                .filter(|r| {
                    r.version
                        .parse::<Version>()
                        .is_ok_and(|version| version > package.version)
                })
                .collect();
            if let Some(newest) = newer.first() {
                notes.push(format!(
                    "{name} {} is chosen because the plugin policy refuses {name} {}: {}",
                    package.version, newest.version, newest.refusal
                ));
            }
        }
        notes
    }

    /// Judges every package of a resolution once more before anything is downloaded.
    pub fn check_resolution(&self, resolution: &Resolution) -> anyhow::Result<()> {
        for package in resolution.packages.values() {
            self.check(&package.entry)?;
        }
        Ok(())
    }

    fn check(&self, entry: &IndexEntry) -> anyhow::Result<()> {
        self.policy.check_entry(entry).map_err(|refusal| {
            helped(
                format!(
                    "refusing to install {} {}: {REFUSED}: {refusal}",
                    entry.name, entry.version
                ),
                HELP,
            )
        })
    }
}

impl Admission for Gate<'_> {
    fn refuse(&self, entry: &IndexEntry) -> Option<String> {
        let refusal = self.policy.check_entry(entry).err()?;
        let reason = format!("{REFUSED}: {refusal}");
        let mut refused = self.refused.borrow_mut();
        if !refused
            .iter()
            .any(|r| r.name == entry.name && r.version == entry.version)
        {
            // Newest first, so the notes name the newest version passed over.
            let position = refused
                .iter()
                .position(|r| {
                    r.name == entry.name
                        && r.version.parse::<Version>().ok() < entry.version.parse().ok()
                })
                .unwrap_or(refused.len());
            refused.insert(
                position,
                Refused {
                    name: entry.name.clone(),
                    version: entry.version.clone(),
                    refusal,
                },
            );
        }
        Some(reason)
    }
}
