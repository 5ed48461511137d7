//! Stage 5, staging in the store: every verified tarball unpacked once into the read-only
//! store under `OCP_HOME/store/v1`, where activation copies from. Each archive is read
//! through the bounded reader and checked against its entry ([`crate::intake`]), and every
//! package is checked against the environment ([`crate::intake::placement`]) before any of
//! them enters the store. The store guards itself with its own lock; nothing in the
//! environment changes here.

use anyhow::Context;

use super::Change;
use super::verify::Verified;
use crate::error::HelpExt;
use crate::pyenv::PythonEnv;
use crate::store::{Store, StoredPackage};

/// A change of the plan with its package in the store.
#[derive(Debug, Clone)]
pub struct Stored<'p> {
    pub change: &'p Change,
    pub package: StoredPackage,
}

pub fn stage_in_store<'p>(
    store: &Store,
    env: &PythonEnv,
    verified: Vec<Verified<'p>>,
) -> anyhow::Result<Vec<Stored<'p>>> {
    let session = store
        .session()
        .context("failed to open the package store")?;
    let mut staged = Vec::new();
    for Verified { change, tarball } in verified {
        let package = session
            .stage(&change.entry, &tarball)
            .with_context(|| format!("refusing to install {} {}", change.name, change.version))
            .help("nothing was installed; the tarball is not the package its index entry describes, or not one ocp installs")?;
        staged.push((change, package));
    }
    for (change, package) in &staged {
        crate::intake::placement::check_environment(env, package.manifest())
            .with_context(|| format!("refusing to install {} {}", change.name, change.version))?;
    }
    // Every package was checked before any enters the store.
    staged
        .into_iter()
        .map(|(change, package)| {
            let package = session.publish(package).with_context(|| {
                format!(
                    "failed to unpack {} {} into the store",
                    change.name, change.version
                )
            })?;
            Ok(Stored { change, package })
        })
        .collect()
}
