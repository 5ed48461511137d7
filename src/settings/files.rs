//! The two settings files: the `plugins:` section of an Osiris project's YAML
//! (`osiris.yaml` or `.osiris/config.yaml`) and the user's `OCP_HOME/config.toml`. Each is
//! read into a [`Layer`] of raw values with the line each came from; a value of the wrong
//! type is an error that points at it, an unknown key a warning that does.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::keys::{self, Key, Kind};
use super::{Raw, SettingsError, Source, Spot};
use crate::diagnostics::line_column;
use crate::package::yaml::{self, LocatedYaml, YamlError};
use crate::project::{self, Project};

/// The largest settings file ocp reads. Real ones are a few KiB; `osiris.yaml` as `osiris
/// init` writes it is about 12 KiB.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Raw values by key name, each with where it was written.
pub(super) type Layer = BTreeMap<&'static str, (Raw, Source)>;

/// A file's text and how to name places in it.
struct File {
    path: PathBuf,
    shown: String,
    text: String,
    project: bool,
}

impl File {
    fn read(path: &Path, cwd: &Path, project: bool) -> Result<Option<File>, SettingsError> {
        let read_error = |source| SettingsError::Read {
            path: path.to_path_buf(),
            source,
        };
        let metadata = match std::fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(read_error(error)),
        };
        if metadata.len() > MAX_FILE_BYTES {
            return Err(SettingsError::TooLarge {
                path: path.to_path_buf(),
                limit: MAX_FILE_BYTES,
            });
        }
        let bytes = std::fs::read(path).map_err(read_error)?;
        let text = String::from_utf8(bytes).map_err(|error| SettingsError::NotUtf8 {
            path: path.to_path_buf(),
            offset: error.utf8_error().valid_up_to(),
        })?;
        Ok(Some(File {
            path: path.to_path_buf(),
            shown: project::shown(path, cwd),
            text,
            project,
        }))
    }

    fn spot(&self, span: Option<Range<usize>>) -> Spot {
        let located = line_column(&self.text, span.map_or(0, |s| s.start));
        Spot {
            file: self.shown.clone(),
            line: located.line,
            column: located.column,
            source_line: located.source_line,
        }
    }

    fn source(&self, span: Option<Range<usize>>) -> Source {
        let spot = self.spot(span);
        Source::File {
            path: self.path.clone(),
            shown: spot.file,
            line: spot.line,
            source_line: spot.source_line,
            project: self.project,
        }
    }
}

/// The `plugins:` section of the project's configuration, and the file it came from. When
/// both files have one, `osiris.yaml` (the file Osiris reads) wins and a warning says so.
pub(super) fn project_layer(
    project: &Project,
    cwd: &Path,
    warnings: &mut Vec<String>,
) -> Result<(Layer, Option<PathBuf>), SettingsError> {
    let mut found: Vec<(File, LocatedYaml)> = Vec::new();
    for path in project.config_files() {
        let Some(file) = File::read(&path, cwd, true)? else {
            continue;
        };
        let document = match yaml::load(&file.text) {
            Ok(document) => document,
            Err(YamlError::Empty) => continue,
            Err(error) => return Err(yaml_error(&file, &error)),
        };
        if document.value.get("plugins").is_some() {
            found.push((file, document));
        }
    }
    let mut found = found.into_iter();
    let Some((file, document)) = found.next() else {
        return Ok((Layer::new(), None));
    };
    if let Some((ignored, _)) = found.next() {
        warnings.push(format!(
            "both `{}` and `{}` have a `plugins:` section; ocp uses `{}`, the file Osiris itself reads, and ignores the other",
            file.shown, ignored.shown, file.shown
        ));
    }
    let mut layer = Layer::new();
    read_yaml_section(
        &file, &document, "plugins", "/plugins", &mut layer, warnings,
    )?;
    Ok((layer, Some(file.path)))
}

fn yaml_error(file: &File, error: &YamlError) -> SettingsError {
    let (offset, message) = match error {
        YamlError::Syntax { message, offset } => (*offset, message.clone()),
        YamlError::TooDeep { offset } => (
            *offset,
            format!("nested deeper than {} levels", yaml::MAX_DEPTH),
        ),
        YamlError::MultipleDocuments { second_offset } => (
            *second_offset,
            "holds more than one YAML document (`---`)".to_owned(),
        ),
        YamlError::Empty => (0, "is empty".to_owned()),
    };
    SettingsError::Syntax {
        at: Box::new(file.spot(Some(offset..offset))),
        message,
    }
}

/// Reads the mapping at `pointer` (the key `prefix`) into `layer`.
fn read_yaml_section(
    file: &File,
    document: &LocatedYaml,
    prefix: &str,
    pointer: &str,
    layer: &mut Layer,
    warnings: &mut Vec<String>,
) -> Result<(), SettingsError> {
    let map = match document.value.pointer(pointer) {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(SettingsError::Type {
                at: Box::new(file.spot(document.value_span(pointer))),
                key: prefix.to_owned(),
                expected: "a mapping of settings".to_owned(),
                found: json_kind(other),
            });
        }
    };
    for (name, value) in map {
        let child_pointer = format!("{pointer}/{}", yaml::escape_pointer(name));
        let dotted = format!("{prefix}.{name}");
        if keys::children(&dotted).is_empty() {
            match keys::find(&dotted).filter(|key| key.in_project) {
                Some(key) => {
                    if let Some(raw) = yaml_value(file, document, &child_pointer, key, value)? {
                        layer.insert(
                            key.name,
                            (raw, file.source(document.key_span(&child_pointer))),
                        );
                    }
                }
                None => warnings.push(unknown_key(
                    &file.spot(document.key_span(&child_pointer)),
                    &dotted,
                    prefix,
                )),
            }
        } else {
            read_yaml_section(file, document, &dotted, &child_pointer, layer, warnings)?;
        }
    }
    Ok(())
}

fn yaml_value(
    file: &File,
    document: &LocatedYaml,
    pointer: &str,
    key: Key,
    value: &Value,
) -> Result<Option<Raw>, SettingsError> {
    let wrong = |at_pointer: &str, found: &Value| SettingsError::Type {
        at: Box::new(file.spot(document.value_span(at_pointer))),
        key: key.name.to_owned(),
        expected: key.kind.expected(),
        found: json_kind(found),
    };
    let raw = match (key.kind, value) {
        (_, Value::Null) => return Ok(None),
        (Kind::Bool, Value::Bool(flag)) => Raw::Bool(*flag),
        (Kind::Text | Kind::Choice(_), Value::String(text)) => Raw::Text(text.clone()),
        (Kind::List, Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                let item_pointer = format!("{pointer}/{index}");
                let Value::String(text) = item else {
                    return Err(wrong(&item_pointer, item));
                };
                out.push((
                    text.clone(),
                    file.source(document.value_span(&item_pointer)),
                ));
            }
            Raw::List(out)
        }
        (_, other) => return Err(wrong(pointer, other)),
    };
    Ok(Some(raw))
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn unknown_key(at: &Spot, dotted: &str, parent: &str) -> String {
    format!(
        "`{}:{}`: unknown setting `{dotted}` is ignored; `{parent}` knows `{}`",
        at.file,
        at.line,
        keys::children(parent).join("`, `")
    )
}

/// The user's `OCP_HOME/config.toml`: `index`, `offline` and a `[plugins]` table (with
/// `[plugins.sandbox]`). `[registries.NAME]` is read by [`crate::ops::registry`].
pub(super) fn user_layer(
    path: &Path,
    cwd: &Path,
    warnings: &mut Vec<String>,
) -> Result<Layer, SettingsError> {
    let mut layer = Layer::new();
    let Some(file) = File::read(path, cwd, false)? else {
        return Ok(layer);
    };
    let document =
        toml_edit::Document::parse(file.text.as_str()).map_err(|error| SettingsError::Syntax {
            at: Box::new(file.spot(error.span())),
            message: error.message().trim().to_owned(),
        })?;
    read_toml_table(&file, document.as_table(), "", &mut layer, warnings)?;
    Ok(layer)
}

fn read_toml_table(
    file: &File,
    table: &dyn toml_edit::TableLike,
    prefix: &str,
    layer: &mut Layer,
    warnings: &mut Vec<String>,
) -> Result<(), SettingsError> {
    for (name, item) in table.iter() {
        let dotted = if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        };
        let key_span = table.key(name).and_then(|key| key.span());
        if dotted == "registries" {
            continue;
        }
        if !keys::children(&dotted).is_empty() {
            let Some(child) = item.as_table_like() else {
                return Err(SettingsError::Type {
                    at: Box::new(file.spot(item.span().or(key_span))),
                    key: dotted,
                    expected: "a table".to_owned(),
                    found: "a value",
                });
            };
            read_toml_table(file, child, &dotted, layer, warnings)?;
            continue;
        }
        let Some(key) = keys::find(&dotted) else {
            let parent = if prefix.is_empty() {
                "the file"
            } else {
                prefix
            };
            let known = if prefix.is_empty() {
                "index`, `offline`, `plugins`, `registries".to_owned()
            } else {
                keys::children(prefix).join("`, `")
            };
            let spot = file.spot(key_span);
            warnings.push(format!(
                "`{}:{}`: unknown setting `{dotted}` is ignored; {parent} knows `{known}`",
                spot.file, spot.line
            ));
            continue;
        };
        let raw = toml_value(file, key, item)?;
        layer.insert(key.name, (raw, file.source(key_span.or(item.span()))));
    }
    Ok(())
}

fn toml_value(file: &File, key: Key, item: &toml_edit::Item) -> Result<Raw, SettingsError> {
    let wrong = |span: Option<Range<usize>>, found: &'static str| SettingsError::Type {
        at: Box::new(file.spot(span)),
        key: key.name.to_owned(),
        expected: key.kind.expected(),
        found,
    };
    let found = |item: &toml_edit::Item| match item {
        toml_edit::Item::Value(value) => toml_kind(value),
        toml_edit::Item::Table(_) | toml_edit::Item::ArrayOfTables(_) => "a table",
        toml_edit::Item::None => "nothing",
    };
    match key.kind {
        Kind::Bool => item
            .as_bool()
            .map(Raw::Bool)
            .ok_or_else(|| wrong(item.span(), found(item))),
        Kind::Text | Kind::Choice(_) => item
            .as_str()
            .map(|text| Raw::Text(text.to_owned()))
            .ok_or_else(|| wrong(item.span(), found(item))),
        Kind::List => {
            let array = item
                .as_array()
                .ok_or_else(|| wrong(item.span(), found(item)))?;
            let mut out = Vec::with_capacity(array.len());
            for value in array.iter() {
                let text = value
                    .as_str()
                    .ok_or_else(|| wrong(value.span(), toml_kind(value)))?;
                out.push((text.to_owned(), file.source(value.span())));
            }
            Ok(Raw::List(out))
        }
    }
}

fn toml_kind(value: &toml_edit::Value) -> &'static str {
    match value {
        toml_edit::Value::String(_) => "a string",
        toml_edit::Value::Integer(_) => "an integer",
        toml_edit::Value::Float(_) => "a number",
        toml_edit::Value::Boolean(_) => "a boolean",
        toml_edit::Value::Datetime(_) => "a date",
        toml_edit::Value::Array(_) => "a list",
        toml_edit::Value::InlineTable(_) => "a table",
    }
}
