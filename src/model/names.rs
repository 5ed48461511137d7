//! Component, distribution and import names, and the conventions that tie them together:
//! component `shopify.extractor` -> distribution `shopify-osiris` -> import `shopify_osiris`.

use std::fmt;
use std::str::FromStr;

/// Why a name was refused; the message states the rule and, where it can, the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("component name `{name}` is empty")]
    Empty { name: String },
    #[error(
        "component name `{name}` has uppercase letters; component names are lowercase, for example `{suggestion}`"
    )]
    Uppercase { name: String, suggestion: String },
    #[error(
        "component name `{name}` has no role; a component name is `family.role`, for example `{name}.extractor`"
    )]
    MissingRole { name: String },
    #[error(
        "component name `{name}` has an empty part; a component name is `family.role` with exactly one dot, for example `shopify.extractor`"
    )]
    EmptySegment { name: String },
    #[error(
        "component name `{name}` has more than one dot; a component name is `family.role` with exactly one dot, for example `shopify.extractor`"
    )]
    TooManySegments { name: String },
    #[error(
        "component name `{name}` has `{character}` in {part} `{segment}`; each part starts with a letter and holds only a-z, 0-9 and `_` (the family may also use `-`)"
    )]
    BadCharacter {
        name: String,
        character: char,
        part: &'static str,
        segment: String,
    },
    #[error(
        "distribution name `{name}` is not a valid Python project name; use letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit"
    )]
    BadPackageName { name: String },
}

/// A component name, `family.role`: lowercase, exactly one dot.
///
/// This is stricter than Osiris's schema pattern `^[a-z0-9_.-]+$` (every name accepted here
/// matches it) because the family also becomes the distribution and import names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ComponentName {
    full: String,
    dot: usize,
}

impl ComponentName {
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// The part before the dot (`shopify` in `shopify.extractor`).
    pub fn family(&self) -> &str {
        &self.full[..self.dot]
    }

    /// The part after the dot (`extractor` in `shopify.extractor`).
    pub fn role(&self) -> &str {
        &self.full[self.dot + 1..]
    }

    /// The conventional distribution name, `{family}-osiris`.
    pub fn default_package_name(&self) -> PackageName {
        PackageName::new_unchecked(format!("{}-osiris", self.family()))
    }
}

impl FromStr for ComponentName {
    type Err = NameError;

    fn from_str(name: &str) -> Result<Self, NameError> {
        if name.is_empty() {
            return Err(NameError::Empty {
                name: name.to_owned(),
            });
        }
        if name.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(NameError::Uppercase {
                name: name.to_owned(),
                suggestion: lowercase_suggestion(name),
            });
        }
        let parts: Vec<&str> = name.split('.').collect();
        match parts.len() {
            1 => {
                return Err(NameError::MissingRole {
                    name: name.to_owned(),
                });
            }
            2 => {}
            _ if parts.iter().any(|p| p.is_empty()) => {
                return Err(NameError::EmptySegment {
                    name: name.to_owned(),
                });
            }
            _ => {
                return Err(NameError::TooManySegments {
                    name: name.to_owned(),
                });
            }
        }
        if parts.iter().any(|p| p.is_empty()) {
            return Err(NameError::EmptySegment {
                name: name.to_owned(),
            });
        }
        check_segment(name, parts[0], "family", true)?;
        check_segment(name, parts[1], "role", false)?;
        Ok(ComponentName {
            full: name.to_owned(),
            dot: parts[0].len(),
        })
    }
}

/// A valid component name to suggest for one with uppercase letters: the name in lowercase,
/// with a role added when it has none (`Shopify` -> `shopify.extractor`), or the usual
/// example when neither is valid.
fn lowercase_suggestion(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    [lower.clone(), format!("{lower}.extractor")]
        .into_iter()
        .find(|candidate| ComponentName::from_str(candidate).is_ok())
        .unwrap_or_else(|| "shopify.extractor".to_owned())
}

fn check_segment(
    name: &str,
    segment: &str,
    part: &'static str,
    allow_hyphen: bool,
) -> Result<(), NameError> {
    for (index, character) in segment.chars().enumerate() {
        let ok = if index == 0 {
            character.is_ascii_lowercase()
        } else {
            character.is_ascii_lowercase()
                || character.is_ascii_digit()
                || character == '_'
                || (allow_hyphen && character == '-')
        };
        if !ok {
            return Err(NameError::BadCharacter {
                name: name.to_owned(),
                character,
                part,
                segment: segment.to_owned(),
            });
        }
    }
    if segment.ends_with(['-', '_']) {
        let character = segment.chars().last().unwrap_or('-');
        return Err(NameError::BadCharacter {
            name: name.to_owned(),
            character,
            part,
            segment: segment.to_owned(),
        });
    }
    Ok(())
}

impl fmt::Display for ComponentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

/// A Python distribution name (`shopify-osiris`), as written by the author.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageName(String);

impl PackageName {
    fn new_unchecked(name: String) -> Self {
        PackageName(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The PEP 503 normalized form: lowercase, runs of `-_.` become one `-`.
    pub fn normalized(&self) -> String {
        normalize_name(&self.0)
    }

    /// The name as it appears in sdist and wheel file names (PEP 625): normalized, with `_`.
    pub fn file_stem(&self) -> String {
        self.normalized().replace('-', "_")
    }

    /// The conventional import package (`shopify_osiris`).
    pub fn import_name(&self) -> ImportName {
        ImportName(self.file_stem())
    }
}

impl FromStr for PackageName {
    type Err = NameError;

    fn from_str(name: &str) -> Result<Self, NameError> {
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name.ends_with(|c: char| c.is_ascii_alphanumeric());
        if valid {
            Ok(PackageName(name.to_owned()))
        } else {
            Err(NameError::BadPackageName {
                name: name.to_owned(),
            })
        }
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The spelling of a name inside an environment variable's name: ASCII letters and digits
/// uppercased, everything else `_` (`acme-corp` -> `ACME_CORP`, `api_key` -> `API_KEY`).
pub fn env_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// PEP 503 normalization of any distribution name: lowercase, runs of `-`, `_` and `.`
/// become one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_was_separator = false;
    for character in name.chars() {
        if matches!(character, '-' | '_' | '.') {
            if !last_was_separator {
                out.push('-');
            }
            last_was_separator = true;
        } else {
            out.push(character.to_ascii_lowercase());
            last_was_separator = false;
        }
    }
    out
}

/// A Python import package name (`shopify_osiris`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImportName(String);

impl ImportName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ImportName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_family_role() {
        let name: ComponentName = "shopify.extractor".parse().expect("valid");
        assert_eq!(name.family(), "shopify");
        assert_eq!(name.role(), "extractor");
        assert_eq!(name.default_package_name().as_str(), "shopify-osiris");
        assert_eq!(
            name.default_package_name().import_name().as_str(),
            "shopify_osiris"
        );
        let name: ComponentName = "google-sheets.csv_writer".parse().expect("valid");
        assert_eq!(
            name.default_package_name().import_name().as_str(),
            "google_sheets_osiris"
        );
    }

    #[test]
    fn refuses_bad_names_with_the_rule() {
        for (bad, expected) in [
            ("Shopify", "lowercase"),
            ("shopify", "has no role"),
            ("shop..x", "empty part"),
            (".extractor", "empty part"),
            ("a.b.c", "more than one dot"),
            ("1shop.extractor", "starts with a letter"),
            ("shop.ex tractor", "starts with a letter"),
            ("", "empty"),
        ] {
            let error = bad.parse::<ComponentName>().expect_err(bad).to_string();
            assert!(error.contains(expected), "{bad}: {error}");
        }
    }

    #[test]
    fn the_uppercase_suggestion_is_itself_a_valid_name() {
        for (bad, suggestion) in [
            ("Shopify", "shopify.extractor"),
            ("Shopify.Writer", "shopify.writer"),
            ("Shop.Ex.Tra", "shopify.extractor"),
        ] {
            let error = bad.parse::<ComponentName>().expect_err(bad).to_string();
            assert!(
                error.ends_with(&format!("for example `{suggestion}`")),
                "{bad}: {error}"
            );
            assert!(suggestion.parse::<ComponentName>().is_ok());
        }
    }

    #[test]
    fn normalizes_package_names() {
        let name: PackageName = "Shopify_Osiris".parse().expect("valid");
        assert_eq!(name.normalized(), "shopify-osiris");
        assert_eq!(name.file_stem(), "shopify_osiris");
        assert!("-bad".parse::<PackageName>().is_err());
    }
}
