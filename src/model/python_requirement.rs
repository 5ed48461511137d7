//! A package's own Python requirement (`requests>=2.31`), as ocp hands it to uv or pip. It
//! must be a PEP 508 requirement: never an option (`--no-build-isolation`), a bare path or
//! more than one line. ocp also passes requirements after `--`, so even a value that slipped
//! past this type could not be read as an option.

use std::fmt;
use std::str::FromStr;

/// The longest requirement ocp accepts, in bytes.
pub const MAX_REQUIREMENT_BYTES: usize = 1024;

/// Why a Python requirement was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PythonRequirementError {
    #[error("{shown} starts with `-`: a requirement is never an option to pip or uv")]
    Option { shown: String },
    #[error("{shown} holds a control character (a line break, tab or NUL)")]
    ControlCharacter { shown: String },
    #[error("{shown} is not a PEP 508 requirement: {reason}")]
    NotPep508 { shown: String, reason: String },
    #[error(
        "a requirement of {length} bytes is longer than ocp accepts ({MAX_REQUIREMENT_BYTES} bytes)"
    )]
    TooLong { length: usize },
}

/// A PEP 508 requirement, kept as written (trimmed).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PythonRequirement {
    text: String,
    name: String,
}

impl PythonRequirement {
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The normalized distribution name it requires.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl FromStr for PythonRequirement {
    type Err = PythonRequirementError;

    fn from_str(text: &str) -> Result<Self, PythonRequirementError> {
        let shown = || format!("`{}`", text.escape_debug());
        if text.len() > MAX_REQUIREMENT_BYTES {
            return Err(PythonRequirementError::TooLong { length: text.len() });
        }
        if text.chars().any(char::is_control) {
            return Err(PythonRequirementError::ControlCharacter { shown: shown() });
        }
        let trimmed = text.trim();
        if trimmed.starts_with('-') {
            return Err(PythonRequirementError::Option { shown: shown() });
        }
        let parsed = pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(trimmed).map_err(
            |error| PythonRequirementError::NotPep508 {
                shown: shown(),
                reason: error.message.to_string(),
            },
        )?;
        Ok(PythonRequirement {
            text: trimmed.to_owned(),
            name: parsed.name.as_ref().to_owned(),
        })
    }
}

impl fmt::Display for PythonRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_pep508_requirements() {
        for good in [
            "requests>=2.31",
            "PyYAML>=6.0,<7",
            "duckdb ; python_version >= '3.11'",
            "pandas[parquet]>=2",
        ] {
            let parsed: PythonRequirement = good.parse().expect(good);
            assert_eq!(parsed.as_str(), good);
        }
        let parsed: PythonRequirement = "PyYAML>=6".parse().expect("valid");
        assert_eq!(parsed.name(), "pyyaml");
    }

    #[test]
    fn refuses_options_paths_and_lines() {
        for (bad, expected) in [
            ("--no-build-isolation", "starts with `-`"),
            ("  -e .", "starts with `-`"),
            ("/path/to/evil", "not a PEP 508"),
            ("requests\n--index-url http://evil", "control character"),
            ("", "not a PEP 508"),
        ] {
            let error = bad.parse::<PythonRequirement>().expect_err(bad).to_string();
            assert!(error.contains(expected), "{bad:?}: {error}");
        }
    }
}
