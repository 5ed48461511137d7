//! Python module paths and entry point values, as a package's manifest names them:
//! `shopify_osiris.driver.ShopifyExtractorDriver` (a driver) and `shopify_osiris:load_spec`
//! (an `osiris.components` entry point). Both are ASCII identifiers joined by dots, so they
//! can never hold a line break, a `[section]` or a path; the first part names the top-level
//! import package, which install compares with the packages the OCP itself ships.

use std::fmt;
use std::str::FromStr;

/// The longest module path or entry point ocp accepts, in bytes.
pub const MAX_MODULE_PATH_BYTES: usize = 256;

/// Why a module path or entry point was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryPointError {
    #[error(
        "{shown} is not a dotted Python name: each part is an ASCII identifier (letters, digits and `_`, not starting with a digit)"
    )]
    NotDotted { shown: String },
    #[error("{shown} is not an entry point value `module:function`")]
    NotEntryPoint { shown: String },
    #[error("a name of {length} bytes is longer than ocp accepts ({MAX_MODULE_PATH_BYTES} bytes)")]
    TooLong { length: usize },
}

fn shown(text: &str) -> String {
    format!("`{}`", text.escape_debug())
}

/// A dotted Python name (`shopify_osiris.driver`): ASCII identifiers joined by dots.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModulePath(String);

impl ModulePath {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The top-level package (`shopify_osiris` in `shopify_osiris.driver`).
    pub fn top(&self) -> &str {
        self.0.split('.').next().unwrap_or(&self.0)
    }

    /// How many dotted parts it has.
    pub fn len(&self) -> usize {
        self.0.split('.').count()
    }

    /// Never true: a module path has at least one part.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// True for an ASCII Python identifier.
pub fn is_identifier(text: &str) -> bool {
    let mut characters = text.chars();
    characters
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && characters.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl FromStr for ModulePath {
    type Err = EntryPointError;

    fn from_str(text: &str) -> Result<Self, EntryPointError> {
        if text.len() > MAX_MODULE_PATH_BYTES {
            return Err(EntryPointError::TooLong { length: text.len() });
        }
        if !text.split('.').all(is_identifier) {
            return Err(EntryPointError::NotDotted { shown: shown(text) });
        }
        Ok(ModulePath(text.to_owned()))
    }
}

impl fmt::Display for ModulePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An entry point value, `module:attribute` (`shopify_osiris:load_spec`); no extras, no
/// spaces, one line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryPoint {
    pub module: ModulePath,
    pub attribute: ModulePath,
}

impl FromStr for EntryPoint {
    type Err = EntryPointError;

    fn from_str(text: &str) -> Result<Self, EntryPointError> {
        if text.len() > MAX_MODULE_PATH_BYTES {
            return Err(EntryPointError::TooLong { length: text.len() });
        }
        let not_entry_point = || EntryPointError::NotEntryPoint { shown: shown(text) };
        let (module, attribute) = text.split_once(':').ok_or_else(not_entry_point)?;
        Ok(EntryPoint {
            module: module.parse().map_err(|_| not_entry_point())?,
            attribute: attribute.parse().map_err(|_| not_entry_point())?,
        })
    }
}

impl fmt::Display for EntryPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.module, self.attribute)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_modules_and_entry_points() {
        let path: ModulePath = "shop_osiris.driver.Driver".parse().expect("valid");
        assert_eq!(path.top(), "shop_osiris");
        assert_eq!(path.len(), 3);
        let entry: EntryPoint = "shop_osiris:load_spec".parse().expect("valid");
        assert_eq!(entry.module.top(), "shop_osiris");
        assert_eq!(entry.to_string(), "shop_osiris:load_spec");
    }

    #[test]
    fn refuses_lines_sections_and_paths() {
        for bad in [
            "x:y\n[console_scripts]\nevil = os:system",
            "x:y [extra]",
            "x",
            "x:",
            ":y",
            "../x:y",
            "1x:y",
            "x:y:z",
            "x :y",
        ] {
            let error = bad.parse::<EntryPoint>().expect_err(bad).to_string();
            assert!(!error.contains('\n'), "{error}");
        }
        for bad in ["", "a..b", "a.", "os.system\n", "a-b.c", "é.x"] {
            assert!(bad.parse::<ModulePath>().is_err(), "{bad:?}");
        }
    }
}
