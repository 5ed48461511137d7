//! Stage 5, staging in the store: every verified tarball unpacked once into the read-only
//! store under `OCP_HOME/store/v1`, where activation copies from. The store guards itself
//! with its own lock; nothing in the environment changes here.

use anyhow::Context;

use super::Change;
use super::verify::Verified;
use crate::store::{Store, StoredPackage};

/// A change of the plan with its package in the store.
#[derive(Debug, Clone)]
pub struct Stored<'p> {
    pub change: &'p Change,
    pub package: StoredPackage,
}

pub fn stage_in_store<'p>(
    store: &Store,
    verified: Vec<Verified<'p>>,
) -> anyhow::Result<Vec<Stored<'p>>> {
    verified
        .into_iter()
        .map(|Verified { change, tarball }| {
            let package = store
                .ensure(
                    &change.name,
                    &change.version,
                    &change.entry.sha256,
                    &tarball,
                )
                .with_context(|| {
                    format!(
                        "failed to unpack {} {} into the store",
                        change.name, change.version
                    )
                })?;
            Ok(Stored { change, package })
        })
        .collect()
}
