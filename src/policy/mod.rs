//! The plugin policy: which OCP versions a project lets ocp install, decided from the
//! `plugins:` settings (`enabled`, `allowlist`, `denylist`, `signature_verification`,
//! `trusted_signers`) as [`crate::settings`] resolved them.
//!
//! A version is judged on what its owner signed and ocp verified: its name, version,
//! components and the key id that signed it ([`Subject`]); the caller builds a subject only
//! from an index entry whose signature was checked, or from a local tarball whose `.minisig`
//! was. The rules, in order:
//!
//! 1. `enabled: false` refuses every plugin;
//! 2. a version on the denylist is refused, even when the allowlist matches it too: a
//!    denylist entry is a deliberate exclusion of something known, while an allowlist entry
//!    is often a broad range, so the narrower intent wins (as in firewall deny rules);
//! 3. with an allowlist, a version is allowed when a package entry matches it, or when it
//!    provides at least one component and every component it provides matches a component
//!    entry (a package cannot bring in an unlisted component beside a listed one);
//! 4. with `signature_verification: true`, the signing key must be one of
//!    `trusted_signers` (names in the trusted keys files), or any trusted key when that list
//!    is empty. Every index entry is signed by an owner, so "unsigned" can only be a local
//!    tarball without a `.minisig`, which ocp refuses whatever the policy says.
//!
//! Domain code: nothing here reads files or prints. Each rule keeps its [`Origin`]
//! (`osiris.yaml:7`), so every refusal says where the rule that made it is written.

mod rule;

use std::fmt;

use pep440_rs::Version;

pub use rule::{Rule, RuleError, Target};

use crate::index::format::IndexEntry;
use crate::model::KeyId;

/// Where a setting is written, as shown to the user: "`.osiris/config.yaml:7`",
/// "`OCP_PLUGINS_DENYLIST`", "the default".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(pub String);

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A rule and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub rule: Rule,
    pub origin: Origin,
}

/// A key the policy trusts to sign plugins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedSigner {
    /// The name in the trusted keys files (`keboola`).
    pub name: String,
    pub key_id: KeyId,
}

/// `signature_verification: true`, with the keys it trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerCheck {
    /// Where `signature_verification` is turned on.
    pub origin: Origin,
    pub trusted: Vec<TrustedSigner>,
    /// Where `trusted_signers` is written; `None` when it is empty and every trusted key
    /// counts.
    pub list: Option<Origin>,
}

/// An allowlist and where its key is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowlist {
    pub entries: Vec<Listed>,
    pub origin: Origin,
}

/// The plugin policy in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `Some(origin)` when plugins are disabled (`enabled: false`).
    pub disabled: Option<Origin>,
    pub allowlist: Option<Allowlist>,
    pub denylist: Vec<Listed>,
    pub signers: Option<SignerCheck>,
}

/// What is judged: the verified facts of one package version.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The normalized distribution name.
    pub name: &'a str,
    pub version: &'a Version,
    pub components: &'a [String],
    /// The key id that signed it, as written in the signed entry (16 hex digits).
    pub key_id: &'a str,
}

/// Why the policy refuses a version; completes "refused by the plugin policy: ...".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Disabled {
        origin: Origin,
    },
    Denied {
        entry: Box<Listed>,
        /// An allowlist entry that matches too, which the denylist overrides.
        also_allowed: Option<Box<Listed>>,
    },
    NotAllowed {
        allowlist: Origin,
        /// Allowlist entries about the same package or its components, for the message.
        near: Vec<Listed>,
    },
    UntrustedSigner {
        key_id: String,
        check: Box<SignerCheck>,
    },
}

impl Refusal {
    /// A short, stable name of the rule that refused (`disabled`, `denylist`, `allowlist`,
    /// `signer`), for JSON.
    pub fn rule(&self) -> &'static str {
        match self {
            Refusal::Disabled { .. } => "disabled",
            Refusal::Denied { .. } => "denylist",
            Refusal::NotAllowed { .. } => "allowlist",
            Refusal::UntrustedSigner { .. } => "signer",
        }
    }

    /// Where the rule that refused is written.
    pub fn origin(&self) -> &Origin {
        match self {
            Refusal::Disabled { origin } => origin,
            Refusal::Denied { entry, .. } => &entry.origin,
            Refusal::NotAllowed { allowlist, .. } => allowlist,
            Refusal::UntrustedSigner { check, .. } => check.list.as_ref().unwrap_or(&check.origin),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Disabled { origin } => {
                write!(f, "plugins are disabled (`enabled: false` at {origin})")
            }
            Refusal::Denied {
                entry,
                also_allowed,
            } => {
                write!(
                    f,
                    "the denylist entry `{}` at {} matches it",
                    entry.rule, entry.origin
                )?;
                if let Some(allowed) = also_allowed {
                    write!(
                        f,
                        "; the allowlist entry `{}` at {} matches it too, but the denylist wins: it excludes something known, while an allowlist entry is often a broad range",
                        allowed.rule, allowed.origin
                    )?;
                }
                Ok(())
            }
            Refusal::NotAllowed { allowlist, near } => {
                write!(f, "no entry of the allowlist at {allowlist} matches it")?;
                if !near.is_empty() {
                    let listed: Vec<String> = near
                        .iter()
                        .map(|entry| format!("`{}` ({})", entry.rule, entry.origin))
                        .collect();
                    write!(
                        f,
                        "; it allows only {}",
                        crate::diagnostics::join_words(&listed)
                    )?;
                }
                Ok(())
            }
            Refusal::UntrustedSigner { key_id, check } => match &check.list {
                Some(list) => {
                    let names: Vec<String> = check
                        .trusted
                        .iter()
                        .map(|signer| format!("{} ({})", signer.name, signer.key_id))
                        .collect();
                    write!(
                        f,
                        "it is signed by key {key_id}, which is not one of the trusted signers at {list} ({}), and `signature_verification` is on at {}",
                        crate::diagnostics::join_words(&names),
                        check.origin
                    )
                }
                None => write!(
                    f,
                    "it is signed by key {key_id}, which is not a trusted key (`ocp key trusted` lists them), and `signature_verification` is on at {}",
                    check.origin
                ),
            },
        }
    }
}

impl Policy {
    /// The policy with nothing set: every plugin allowed, signers not checked.
    pub fn allow_all() -> Policy {
        Policy {
            disabled: None,
            allowlist: None,
            denylist: Vec::new(),
            signers: None,
        }
    }

    /// Whether the policy can refuse anything at all.
    pub fn is_permissive(&self) -> bool {
        self == &Policy::allow_all()
    }

    /// Judges one version.
    pub fn check(&self, subject: &Subject<'_>) -> Result<(), Refusal> {
        if let Some(origin) = &self.disabled {
            return Err(Refusal::Disabled {
                origin: origin.clone(),
            });
        }
        let allowed_by = self
            .allowlist
            .as_ref()
            .map(|allowlist| allowlist_match(&allowlist.entries, subject));
        if let Some(entry) = self
            .denylist
            .iter()
            .find(|entry| matches_subject(&entry.rule, subject))
        {
            return Err(Refusal::Denied {
                entry: Box::new(entry.clone()),
                also_allowed: allowed_by.flatten().map(Box::new),
            });
        }
        if let (Some(allowlist), Some(None)) = (&self.allowlist, &allowed_by) {
            let near = allowlist
                .entries
                .iter()
                .filter(|entry| match entry.rule.target() {
                    Target::Package(name) => name == subject.name,
                    Target::Component(component) => {
                        subject.components.iter().any(|c| c == component.as_str())
                    }
                })
                .cloned()
                .collect();
            return Err(Refusal::NotAllowed {
                allowlist: allowlist.origin.clone(),
                near,
            });
        }
        if let Some(check) = &self.signers {
            let signer = subject.key_id.parse::<KeyId>().ok();
            let trusted = check
                .trusted
                .iter()
                .any(|trusted| Some(trusted.key_id) == signer);
            if !trusted {
                return Err(Refusal::UntrustedSigner {
                    key_id: subject.key_id.to_owned(),
                    check: Box::new(check.clone()),
                });
            }
        }
        Ok(())
    }
}

impl Policy {
    /// Judges the version an index entry describes. The caller checked the entry's
    /// signature first; an entry whose version does not parse never got that far.
    pub fn check_entry(&self, entry: &IndexEntry) -> Result<(), Refusal> {
        let Ok(version) = entry.version.parse::<Version>() else {
            return Ok(());
        };
        let name = crate::model::normalize_name(&entry.name);
        self.check(&Subject {
            name: &name,
            version: &version,
            components: &entry.components,
            key_id: &entry.key_id,
        })
    }
}

/// The words a refusal is introduced with, wherever it is shown.
pub const REFUSED: &str = "refused by the plugin policy";

impl crate::resolve::Admission for Policy {
    fn refuse(&self, entry: &IndexEntry) -> Option<String> {
        self.check_entry(entry)
            .err()
            .map(|refusal| format!("{REFUSED}: {refusal}"))
    }
}

/// A denylist entry matches a version of its package, or a version that provides its
/// component.
fn matches_subject(rule: &Rule, subject: &Subject<'_>) -> bool {
    rule.matches_package(subject.name, subject.version)
        || subject
            .components
            .iter()
            .any(|component| rule.matches_component(component, subject.version))
}

/// The allowlist entry that admits `subject`: a package entry, or (when every component it
/// provides is listed) the first component entry.
fn allowlist_match(entries: &[Listed], subject: &Subject<'_>) -> Option<Listed> {
    if let Some(entry) = entries
        .iter()
        .find(|entry| entry.rule.matches_package(subject.name, subject.version))
    {
        return Some(entry.clone());
    }
    let mut first = None;
    for component in subject.components {
        let entry = entries
            .iter()
            .find(|entry| entry.rule.matches_component(component, subject.version))?;
        first.get_or_insert(entry);
    }
    first.cloned()
}

#[cfg(test)]
mod tests;
