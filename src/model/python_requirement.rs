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
        if trimmed.contains("${") {
            return Err(PythonRequirementError::NotPep508 {
                shown: shown(),
                reason: "`${...}` would be expanded from the environment by some installers"
                    .to_owned(),
            });
        }
        let parsed = parse_pep508(trimmed).map_err(|reason| PythonRequirementError::NotPep508 {
            shown: shown(),
            reason,
        })?;
        Ok(PythonRequirement {
            text: trimmed.to_owned(),
            name: parsed.name.as_ref().to_owned(),
        })
    }
}

/// Parses a PEP 508 requirement with `pep508_rs`, refusing first the names it would panic
/// on. Every requirement ocp reads (pyproject.toml, manifests) goes through here.
pub fn parse_pep508(text: &str) -> Result<pep508_rs::Requirement<pep508_rs::VerbatimUrl>, String> {
    check_names(text.trim())?;
    pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(text)
        .map_err(|error| error.message.to_string())
}

/// True for a character of a PEP 508 name (`[A-Za-z0-9._-]`).
fn is_name_character(character: char) -> bool {
    character.is_ascii_alphanumeric() || matches!(character, '.' | '-' | '_')
}

/// Refuses a distribution name or extra that ends in `.`, `-` or `_`. They are not PEP 508
/// names, and `pep508_rs` 0.9 panics on them when another character follows instead of
/// returning an error, so they must never reach it.
fn check_names(text: &str) -> Result<(), String> {
    let ends_badly = |token: &str| token.ends_with(['.', '-', '_']);
    let name_end = text
        .find(|c: char| !is_name_character(c))
        .unwrap_or(text.len());
    let name = &text[..name_end];
    if ends_badly(name) {
        return Err(format!(
            "the name `{name}` ends with `{}`",
            &name[name.len() - 1..]
        ));
    }
    if let Some(extras) = text[name_end..].trim_start().strip_prefix('[') {
        let extras = extras.split(']').next().unwrap_or(extras);
        for extra in extras.split(',') {
            let extra = extra.trim_start();
            let end = extra
                .find(|c: char| !is_name_character(c))
                .unwrap_or(extra.len());
            if ends_badly(&extra[..end]) {
                return Err(format!("the extra `{}` ends badly", &extra[..end]));
            }
        }
    }
    Ok(())
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
    fn names_that_crash_pep508_rs_are_errors() {
        // `pep508_rs` 0.9 panics on these instead of returning an error.
        for text in ["extractor..>=", "a_ >=1", "a[b_,c]", "a[b-]", "x.[y]"] {
            assert!(parse_pep508(text).is_err(), "{text}");
        }
        assert!(parse_pep508("a[b,c]>=1").is_ok());
    }

    #[test]
    fn refuses_options_paths_and_lines() {
        for (bad, expected) in [
            ("--no-build-isolation", "starts with `-`"),
            ("  -e .", "starts with `-`"),
            ("/path/to/evil", "not a PEP 508"),
            ("requests\n--index-url http://evil", "control character"),
            ("", "not a PEP 508"),
            ("extractor..>=1", "ends with `.`"),
            ("pkg[ex_ ]", "the extra `ex_`"),
            ("pkg- >=1", "ends with `-`"),
            (
                "pkg @ https://x/${OCP_SIGNING_KEY}",
                "expanded from the environment",
            ),
        ] {
            let error = bad.parse::<PythonRequirement>().expect_err(bad).to_string();
            assert!(error.contains(expected), "{bad:?}: {error}");
        }
    }
}
