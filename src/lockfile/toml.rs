//! The lock file's TOML: reading with a located error for every wrong field, and writing in
//! one fixed order so that writing what ocp read gives back the same bytes.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use pep440_rs::Version;
use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, value};

use super::{
    HEADER, LOCKFILE_VERSION, LockedEnvironment, LockedIndex, LockedPackage, Lockfile,
    LockfileError, Position,
};
use crate::model::{Checksum, ComponentName, KeyId, PackageName};
use crate::resolve::Requirement;

/// Reads lock file text.
pub fn parse(text: &str) -> Result<Lockfile, LockfileError> {
    let document = toml_edit::Document::parse(text).map_err(|error| LockfileError::Malformed {
        path: None,
        position: Position::at(text, error.span()),
        message: format!("invalid TOML: {}", error.message().trim()),
    })?;
    let reader = Reader { text };
    let root = document.as_table();
    reader.check_version(root)?;
    reader.only_keys(
        root,
        &["version", "index", "environment", "package"],
        "the lock file",
    )?;
    let index_table = reader.table(root, "index", "the lock file")?;
    reader.only_keys(index_table, &["name", "url"], "[index]")?;
    let index = LockedIndex {
        name: reader.string(index_table, "name", "[index]")?.0.to_owned(),
        url: reader.string(index_table, "url", "[index]")?.0.to_owned(),
    };
    let environment_table = reader.table(root, "environment", "the lock file")?;
    reader.only_keys(environment_table, &["osiris", "python"], "[environment]")?;
    let environment = LockedEnvironment {
        osiris: reader.parsed(
            environment_table,
            "osiris",
            "[environment]",
            Version::from_str,
        )?,
        python: reader.parsed(
            environment_table,
            "python",
            "[environment]",
            Version::from_str,
        )?,
    };
    let mut packages: Vec<LockedPackage> = Vec::new();
    let mut seen: BTreeMap<String, ()> = BTreeMap::new();
    if let Some(item) = root.get("package") {
        let Some(tables) = item.as_array_of_tables() else {
            return Err(reader.malformed(
                item.span(),
                "`package` must be an array of tables (`[[package]]`)".to_owned(),
            ));
        };
        for table in tables.iter() {
            let package = reader.package(table)?;
            if seen.insert(package.name.clone(), ()).is_some() {
                return Err(reader.malformed(
                    table.span(),
                    format!("package `{}` is listed twice", package.name),
                ));
            }
            packages.push(package);
        }
    }
    Ok(Lockfile {
        index,
        environment,
        packages,
    })
}

/// The lock file's text: header, `version`, `[index]`, `[environment]`, then one
/// `[[package]]` per package sorted by name.
pub fn to_toml(lockfile: &Lockfile) -> String {
    let mut document = DocumentMut::new();
    document["version"] = value(LOCKFILE_VERSION);

    let mut index = Table::new();
    index["name"] = value(&lockfile.index.name);
    index["url"] = value(&lockfile.index.url);
    document["index"] = Item::Table(index);

    let mut environment = Table::new();
    environment["osiris"] = value(lockfile.environment.osiris.to_string());
    environment["python"] = value(lockfile.environment.python.to_string());
    document["environment"] = Item::Table(environment);

    let mut packages: Vec<&LockedPackage> = lockfile.packages.iter().collect();
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    let mut tables = ArrayOfTables::new();
    for package in packages {
        let mut table = Table::new();
        table["name"] = value(&package.name);
        table["version"] = value(package.version.to_string());
        table["sha256"] = value(package.sha256.to_hex());
        table["key_id"] = value(package.key_id.to_string());
        table["download"] = value(&package.download);
        let mut components: Vec<&str> = package.components.iter().map(|c| c.as_str()).collect();
        components.sort_unstable();
        table["components"] = value(components.into_iter().collect::<Array>());
        let mut dependencies: Vec<String> =
            package.dependencies.iter().map(dependency_text).collect();
        dependencies.sort();
        table["dependencies"] = value(dependencies.into_iter().collect::<Array>());
        table["requested"] = value(package.requested);
        tables.push(table);
    }
    if !tables.is_empty() {
        document["package"] = Item::ArrayOfTables(tables);
    }
    format!("{HEADER}{document}")
}

/// `base-osiris >=1.0,<2`, or `base-osiris` for any version.
pub(super) fn dependency_text(requirement: &Requirement) -> String {
    let specifiers = requirement.specifiers();
    if specifiers.is_empty() {
        requirement.name().to_owned()
    } else {
        format!("{} {specifiers}", requirement.name())
    }
}

/// A string value and where it is in the file.
type Located<'t> = (&'t str, Option<Range<usize>>);

/// Reads typed fields out of the parsed document, turning every problem into a located error.
struct Reader<'a> {
    text: &'a str,
}

impl Reader<'_> {
    fn malformed(&self, span: Option<Range<usize>>, message: String) -> LockfileError {
        LockfileError::Malformed {
            path: None,
            position: Position::at(self.text, span),
            message,
        }
    }

    fn check_version(&self, root: &Table) -> Result<(), LockfileError> {
        let Some(item) = root.get("version") else {
            return Err(self.malformed(
                Some(0..0),
                format!(
                    "the lock file has no `version`; ocp writes `version = {LOCKFILE_VERSION}`"
                ),
            ));
        };
        match item.as_integer() {
            Some(LOCKFILE_VERSION) => Ok(()),
            _ => Err(LockfileError::UnknownVersion {
                path: None,
                position: Position::at(self.text, item.span()),
                found: item.as_value().map_or_else(
                    || "(a table)".to_owned(),
                    |v| v.to_string().trim().to_owned(),
                ),
            }),
        }
    }

    /// Refuses keys this version of the format does not have (a typo, or a newer writer).
    fn only_keys(&self, table: &Table, allowed: &[&str], what: &str) -> Result<(), LockfileError> {
        for (key, _) in table.iter() {
            if !allowed.contains(&key) {
                let span = table.key(key).and_then(|k| k.span());
                return Err(self.malformed(
                    span,
                    format!(
                        "unknown key `{key}` in {what}; expected one of {}",
                        allowed
                            .iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    fn table<'t>(
        &self,
        parent: &'t Table,
        key: &str,
        what: &str,
    ) -> Result<&'t Table, LockfileError> {
        match parent.get(key) {
            Some(item) => item.as_table().ok_or_else(|| {
                self.malformed(item.span(), format!("`{key}` must be a table (`[{key}]`)"))
            }),
            None => Err(self.malformed(parent.span(), format!("{what} has no `[{key}]` table"))),
        }
    }

    fn string<'t>(
        &self,
        table: &'t Table,
        key: &str,
        what: &str,
    ) -> Result<Located<'t>, LockfileError> {
        match table.get(key) {
            Some(item) => item
                .as_str()
                .map(|text| (text, item.span()))
                .ok_or_else(|| self.malformed(item.span(), format!("`{key}` must be a string"))),
            None => Err(self.malformed(table.span(), format!("{what} has no `{key}`"))),
        }
    }

    fn parsed<T, E: fmt::Display>(
        &self,
        table: &Table,
        key: &str,
        what: &str,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Result<T, LockfileError> {
        let (text, span) = self.string(table, key, what)?;
        parse(text).map_err(|error| self.malformed(span, format!("invalid `{key}`: {error}")))
    }

    fn strings<'t>(
        &self,
        table: &'t Table,
        key: &str,
        what: &str,
    ) -> Result<Vec<Located<'t>>, LockfileError> {
        let Some(item) = table.get(key) else {
            return Err(self.malformed(table.span(), format!("{what} has no `{key}`")));
        };
        let Some(array) = item.as_array() else {
            return Err(self.malformed(item.span(), format!("`{key}` must be an array of strings")));
        };
        array
            .iter()
            .map(|element| {
                element
                    .as_str()
                    .map(|text| (text, element.span()))
                    .ok_or_else(|| {
                        self.malformed(element.span(), format!("`{key}` must hold only strings"))
                    })
            })
            .collect()
    }

    fn package(&self, table: &Table) -> Result<LockedPackage, LockfileError> {
        const KEYS: &[&str] = &[
            "name",
            "version",
            "sha256",
            "key_id",
            "download",
            "components",
            "dependencies",
            "requested",
        ];
        let what = "[[package]]";
        self.only_keys(table, KEYS, what)?;
        let (name, name_span) = self.string(table, "name", what)?;
        let valid_name = PackageName::from_str(name)
            .map_err(|error| self.malformed(name_span.clone(), error.to_string()))?;
        if valid_name.normalized() != name {
            return Err(self.malformed(
                name_span,
                format!(
                    "package name `{name}` is not normalized; ocp writes `{}`",
                    valid_name.normalized()
                ),
            ));
        }
        let components = self
            .strings(table, "components", what)?
            .into_iter()
            .map(|(text, span)| {
                ComponentName::from_str(text)
                    .map_err(|error| self.malformed(span, error.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let dependencies = self
            .strings(table, "dependencies", what)?
            .into_iter()
            .map(|(text, span)| {
                Requirement::from_str(text).map_err(|error| {
                    self.malformed(span, format!("invalid dependency `{text}`: {error}"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let requested = match table.get("requested") {
            Some(item) => item.as_bool().ok_or_else(|| {
                self.malformed(
                    item.span(),
                    "`requested` must be `true` or `false`".to_owned(),
                )
            })?,
            None => return Err(self.malformed(table.span(), format!("{what} has no `requested`"))),
        };
        Ok(LockedPackage {
            name: name.to_owned(),
            version: self.parsed(table, "version", what, Version::from_str)?,
            sha256: self.parsed(table, "sha256", what, Checksum::from_str)?,
            key_id: self.parsed(table, "key_id", what, KeyId::from_str)?,
            download: self.string(table, "download", what)?.0.to_owned(),
            components,
            dependencies,
            requested,
        })
    }
}
