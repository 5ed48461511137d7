//! Versions that the lock file and a new resolution both name, but with other bytes or
//! another signer. A published version never changes, so `ocp install` refuses this even
//! without `--locked`, as cargo refuses a changed checksum; the caller decides which
//! packages the user let go (`ocp update NAME`).

use std::fmt;

use pep440_rs::Version;

use super::Lockfile;
use crate::model::{Checksum, KeyId};

/// One locked version whose tarball or signer changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    pub name: String,
    pub version: Version,
    /// (locked, new) when the sha256 changed.
    pub sha256: Option<(Checksum, Checksum)>,
    /// (locked, new) when the signer changed.
    pub key_id: Option<(KeyId, KeyId)>,
}

impl fmt::Display for Rewritten {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}:", self.name, self.version)?;
        if let Some((locked, new)) = &self.sha256 {
            write!(f, " sha256 {locked} is now {new}")?;
        }
        if let Some((locked, new)) = &self.key_id {
            let separator = if self.sha256.is_some() { "," } else { "" };
            write!(
                f,
                "{separator} signed by key {locked} is now signed by key {new}"
            )?;
        }
        Ok(())
    }
}

/// The packages locked at the same version in `old` and `new` whose sha256 or signer differ.
pub fn rewritten(old: &Lockfile, new: &Lockfile) -> Vec<Rewritten> {
    new.packages
        .iter()
        .filter_map(|package| {
            let locked = old.package(&package.name)?;
            if locked.version != package.version {
                return None;
            }
            let sha256 = (locked.sha256 != package.sha256)
                .then(|| (locked.sha256.clone(), package.sha256.clone()));
            let key_id =
                (locked.key_id != package.key_id).then_some((locked.key_id, package.key_id));
            (sha256.is_some() || key_id.is_some()).then(|| Rewritten {
                name: package.name.clone(),
                version: package.version.clone(),
                sha256,
                key_id,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::lockfile::{LockedEnvironment, LockedIndex, LockedPackage};

    fn lock(packages: &[(&str, &str, char, &str)]) -> Lockfile {
        Lockfile {
            index: LockedIndex {
                name: "default".into(),
                url: "https://example.com/index.git".into(),
            },
            environment: LockedEnvironment {
                osiris: Version::from_str("0.5.7").expect("version"),
                python: Version::from_str("3.11.7").expect("version"),
            },
            packages: packages
                .iter()
                .map(|(name, version, sha, key)| LockedPackage {
                    name: (*name).into(),
                    version: Version::from_str(version).expect("version"),
                    sha256: sha.to_string().repeat(64).parse().expect("sha"),
                    key_id: key.parse().expect("key id"),
                    download: String::new(),
                    components: Vec::new(),
                    dependencies: Vec::new(),
                    requested: true,
                })
                .collect(),
        }
    }

    #[test]
    fn only_the_same_version_with_other_bytes_or_signer_counts() {
        let old = lock(&[
            ("a-osiris", "1.0.0", 'a', "1A2B3C4D5E6F7A8B"),
            ("b-osiris", "1.0.0", 'a', "1A2B3C4D5E6F7A8B"),
            ("c-osiris", "1.0.0", 'a', "1A2B3C4D5E6F7A8B"),
        ]);
        let new = lock(&[
            ("a-osiris", "1.0.0", 'b', "1A2B3C4D5E6F7A8B"),
            ("b-osiris", "2.0.0", 'b', "FFFFFFFFFFFFFFFF"),
            ("c-osiris", "1.0.0", 'a', "FFFFFFFFFFFFFFFF"),
            ("d-osiris", "1.0.0", 'a', "FFFFFFFFFFFFFFFF"),
        ]);
        let found = rewritten(&old, &new);
        assert_eq!(
            found.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            vec!["a-osiris", "c-osiris"]
        );
        assert!(found[0].sha256.is_some() && found[0].key_id.is_none());
        assert_eq!(
            found[1].to_string(),
            "c-osiris 1.0.0: signed by key 1A2B3C4D5E6F7A8B is now signed by key FFFFFFFFFFFFFFFF"
        );
    }
}
