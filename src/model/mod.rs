//! Newtypes for the nouns of ocp. Each is parsed once, at the edge, with an error that states
//! the rule; code that holds one can rely on it being valid. This module depends on nothing
//! else in the crate.

mod checksum;
mod entry_point;
mod key_id;
mod names;
mod python_requirement;
mod relative_path;
mod version;

pub use checksum::{Checksum, ChecksumError};
pub use entry_point::{EntryPoint, EntryPointError, ModulePath, is_identifier};
pub use key_id::{KeyId, KeyIdError};
pub use names::env_name;
pub use names::{ComponentName, ImportName, NameError, PackageName, normalize_name};
pub use python_requirement::{PythonRequirement, PythonRequirementError, parse_pep508};
pub use relative_path::{RelativePath, RelativePathError, shown_path};
pub use version::{
    PackageVersion, VersionError, format_specifiers, semver_to_pep440, single_bound_items,
};
