//! YAML with positions. Loads one YAML document into a `serde_json::Value` (what the JSON
//! schema validates) and remembers, for every JSON pointer, where its key and value sit in the
//! source, so a finding about `/x-runtime/driver` can point at `spec.yaml:61:11`.
//!
//! Nesting is bounded before the document is built: the loader and the conversion below
//! recurse once per level, so a hostile file nested thousands of levels deep would exhaust
//! the stack. A streaming pass over the parser's events (which keeps its own stack on the
//! heap) refuses anything deeper than [`MAX_DEPTH`] first. This is the only place ocp builds a
//! YAML tree; install's scan of a spec's `name` and driver (`intake::spec`), which builds
//! none, holds to the same [`MAX_DEPTH`].

use std::collections::BTreeMap;
use std::ops::Range;

use saphyr::{LoadableYamlNode, MarkedYamlOwned, ScalarOwned, YamlDataOwned};
use serde_json::{Map, Number, Value};

use crate::diagnostics::offset_of;

/// Byte ranges of a mapping entry's key (absent for the root and sequence items) and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpan {
    pub key: Option<Range<usize>>,
    pub value: Range<usize>,
}

/// The deepest nesting of mappings and sequences ocp reads, wherever it reads YAML. Real
/// specs nest less than ten levels deep (the Osiris 0.5.7 specs six).
pub const MAX_DEPTH: usize = 64;

/// What the YAML loader reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum YamlError {
    /// Mappings and sequences nest deeper than [`MAX_DEPTH`]; `offset` is where the first
    /// level too deep starts.
    TooDeep { offset: usize },
    /// The text is not YAML; `offset` is where the parser stopped.
    Syntax { message: String, offset: usize },
    /// The file holds no document at all.
    Empty,
    /// More than one document (`---`); Osiris reads exactly one.
    MultipleDocuments { second_offset: usize },
}

/// A loaded YAML document: its value and the location of every node.
#[derive(Debug, Clone)]
pub struct LocatedYaml {
    pub value: Value,
    pub spans: BTreeMap<String, NodeSpan>,
    /// Pointers of YAML aliases, which are kept as `null` (the value is not resolved).
    pub aliases: Vec<String>,
    /// Plain scalars that YAML 1.1 (PyYAML, which Osiris reads specs with) takes as booleans
    /// but YAML 1.2 as strings (`yes`, `on`, `off`, ...): pointer and text. They are loaded as
    /// booleans, as Osiris sees them.
    pub yaml11_booleans: Vec<(String, String)>,
}

impl LocatedYaml {
    /// The span of the value at `pointer` (`""` is the whole document).
    pub fn value_span(&self, pointer: &str) -> Option<Range<usize>> {
        self.spans.get(pointer).map(|span| span.value.clone())
    }

    /// The key's span if the node is a mapping entry, else the value's span.
    pub fn key_span(&self, pointer: &str) -> Option<Range<usize>> {
        self.spans
            .get(pointer)
            .map(|span| span.key.clone().unwrap_or_else(|| span.value.clone()))
    }

    /// A one-line span that stands for the node at `pointer`: its key when it has one, else
    /// its first child's key (for the document root), else its value.
    pub fn header_span(&self, pointer: &str) -> Option<Range<usize>> {
        let node = self.spans.get(pointer)?;
        if let Some(key) = &node.key {
            return Some(key.clone());
        }
        let prefix = format!("{pointer}/");
        self.spans
            .iter()
            .filter(|(child, span)| {
                child.starts_with(&prefix)
                    && !child[prefix.len()..].contains('/')
                    && span.key.is_some()
            })
            .filter_map(|(_, span)| span.key.clone())
            .min_by_key(|span| span.start)
            .or_else(|| Some(node.value.clone()))
    }

    /// The nearest span for `pointer`, walking up to a parent that has one.
    pub fn nearest_span(&self, pointer: &str) -> Option<Range<usize>> {
        let mut current = pointer.to_owned();
        loop {
            if let Some(span) = self.spans.get(&current) {
                return Some(span.key.clone().unwrap_or_else(|| span.value.clone()));
            }
            let cut = current.rfind('/')?;
            current.truncate(cut);
        }
    }
}

/// Loads exactly one YAML document from `text`.
pub fn load(text: &str) -> Result<LocatedYaml, YamlError> {
    check_depth(text)?;
    let documents = MarkedYamlOwned::load_from_str(text).map_err(|error| {
        let marker = error.marker();
        YamlError::Syntax {
            message: error.info().to_owned(),
            offset: offset_of(text, marker.line(), marker.col()),
        }
    })?;
    let mut documents = documents.into_iter();
    let Some(document) = documents.next() else {
        return Err(YamlError::Empty);
    };
    if let Some(second) = documents.next() {
        let start = second.span.start;
        return Err(YamlError::MultipleDocuments {
            second_offset: offset_of(text, start.line(), start.col()),
        });
    }
    let mut located = LocatedYaml {
        value: Value::Null,
        spans: BTreeMap::new(),
        aliases: Vec::new(),
        yaml11_booleans: Vec::new(),
    };
    let value = convert(text, &document, String::new(), None, &mut located);
    if matches!(value, Value::Null)
        && text
            .trim()
            .lines()
            .all(|line| line.trim_start().starts_with('#') || line.trim().is_empty())
    {
        return Err(YamlError::Empty);
    }
    located.value = value;
    Ok(located)
}

/// Refuses nesting deeper than [`MAX_DEPTH`], streaming, before anything recursive runs.
/// A syntax error ends the pass quietly: the loader reports it with its position.
fn check_depth(text: &str) -> Result<(), YamlError> {
    let mut depth = 0usize;
    for event in saphyr_parser::Parser::new_from_str(text) {
        let (event, span) = match event {
            Ok(event) => event,
            // The parser has a nesting limit of its own for flow collections.
            Err(error) if error.info().contains("recursion limit") => {
                let marker = error.marker();
                return Err(YamlError::TooDeep {
                    offset: offset_of(text, marker.line(), marker.col()),
                });
            }
            Err(_) => return Ok(()),
        };
        match event {
            saphyr_parser::Event::MappingStart(..) | saphyr_parser::Event::SequenceStart(..) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(YamlError::TooDeep {
                        offset: offset_of(text, span.start.line(), span.start.col()),
                    });
                }
            }
            saphyr_parser::Event::MappingEnd | saphyr_parser::Event::SequenceEnd => {
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
    }
    Ok(())
}

fn span_of(text: &str, node: &MarkedYamlOwned) -> Range<usize> {
    let start = offset_of(text, node.span.start.line(), node.span.start.col());
    let end = offset_of(text, node.span.end.line(), node.span.end.col());
    // The parser's end of a quoted scalar can run on over a comment after it; a quoted
    // scalar ends at its closing quote.
    if let Some(quoted) = quoted_end(text, start) {
        return start..quoted;
    }
    // Block scalars and mappings can end on the next line; keep spans inside one line when the
    // value is a scalar so the rendered snippet shows the line that matters.
    start..end.max(start)
}

/// The end (after the closing quote) of a quoted scalar starting at `start`: `"` with `\`
/// escapes, or `'` with `''` for a quote inside.
fn quoted_end(text: &str, start: usize) -> Option<usize> {
    let rest = text.get(start..)?;
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let mut characters = rest.char_indices().skip(1).peekable();
    while let Some((at, character)) = characters.next() {
        match character {
            '\\' if quote == '"' => {
                characters.next();
            }
            c if c == quote => {
                if quote == '\'' && characters.peek().is_some_and(|(_, next)| *next == '\'') {
                    characters.next();
                    continue;
                }
                return Some(start + at + 1);
            }
            _ => {}
        }
    }
    None
}

fn convert(
    text: &str,
    node: &MarkedYamlOwned,
    pointer: String,
    key: Option<Range<usize>>,
    out: &mut LocatedYaml,
) -> Value {
    let value_span = span_of(text, node);
    let value = match &node.data {
        YamlDataOwned::Value(ScalarOwned::String(scalar)) => {
            let plain = !text
                .get(value_span.start..)
                .is_some_and(|rest| rest.starts_with(['"', '\'']));
            match yaml11_boolean(scalar).filter(|_| plain) {
                Some(boolean) => {
                    out.yaml11_booleans.push((pointer.clone(), scalar.clone()));
                    Value::Bool(boolean)
                }
                None => Value::String(scalar.clone()),
            }
        }
        YamlDataOwned::Value(scalar) => scalar_to_json(scalar),
        YamlDataOwned::Representation(raw, _, _) => Value::String(raw.clone()),
        YamlDataOwned::Sequence(items) => {
            let mut values = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                values.push(convert(text, item, format!("{pointer}/{index}"), None, out));
            }
            Value::Array(values)
        }
        YamlDataOwned::Mapping(entries) => {
            let mut map = Map::new();
            for (entry_key, entry_value) in entries {
                let key_text = match &entry_key.data {
                    YamlDataOwned::Value(scalar) => scalar_key(scalar),
                    YamlDataOwned::Representation(raw, _, _) => raw.clone(),
                    _ => String::from("<complex key>"),
                };
                let child = format!("{pointer}/{}", escape_pointer(&key_text));
                let key_span = span_of(text, entry_key);
                let converted = convert(text, entry_value, child, Some(key_span), out);
                map.insert(key_text, converted);
            }
            Value::Object(map)
        }
        YamlDataOwned::Tagged(_, inner) => return convert(text, inner, pointer, key, out),
        YamlDataOwned::Alias(_) => {
            out.aliases.push(pointer.clone());
            Value::Null
        }
        YamlDataOwned::BadValue => Value::Null,
    };
    // An empty value (`key:` with nothing after it) gets a zero-width span at the key's end.
    let value_span = if value_span.is_empty() {
        key.clone().map_or(value_span.clone(), |k| k.end..k.end)
    } else {
        value_span
    };
    out.spans.insert(
        pointer,
        NodeSpan {
            key,
            value: value_span,
        },
    );
    value
}

/// The words YAML 1.1 reads as booleans (PyYAML's resolver), when written plain.
fn yaml11_boolean(text: &str) -> Option<bool> {
    match text {
        "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

fn scalar_to_json(scalar: &ScalarOwned) -> Value {
    match scalar {
        ScalarOwned::Null => Value::Null,
        ScalarOwned::Boolean(b) => Value::Bool(*b),
        ScalarOwned::Integer(i) => Value::Number(Number::from(*i)),
        ScalarOwned::FloatingPoint(f) => Number::from_f64(f.into_inner())
            .map_or_else(|| Value::String(f.to_string()), Value::Number),
        ScalarOwned::String(s) => Value::String(s.clone()),
    }
}

fn scalar_key(scalar: &ScalarOwned) -> String {
    match scalar_to_json(scalar) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Escapes one JSON pointer segment (RFC 6901).
pub fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_keys_and_values() {
        let text = "name: a.b\nx-runtime:\n  driver: a.b:C\nmodes:\n  - extract\n";
        let yaml = load(text).expect("valid");
        let span = yaml.value_span("/x-runtime/driver").expect("span");
        assert_eq!(&text[span], "a.b:C");
        let key = yaml.key_span("/x-runtime/driver").expect("key");
        assert_eq!(&text[key], "driver");
        assert_eq!(&text[yaml.value_span("/modes/0").expect("item")], "extract");
        assert_eq!(yaml.value["x-runtime"]["driver"], "a.b:C");
    }

    #[test]
    fn quoted_scalars_end_at_their_closing_quote() {
        for (text, pointer, expected) in [
            ("version: \"0.1.0\"  # c\nx: 1\n", "/version", "\"0.1.0\""),
            ("version: 'it''s'  # c\n", "/version", "'it''s'"),
            ("v: \"a\\\"b\" # c\n", "/v", "\"a\\\"b\""),
            ("version: 0.1.0  # c\n", "/version", "0.1.0"),
        ] {
            let yaml = load(text).expect("valid");
            let span = yaml.value_span(pointer).expect("span");
            assert_eq!(&text[span], expected, "{text:?}");
        }
    }

    #[test]
    fn a_float_version_stays_a_number() {
        let yaml = load("version: 1.0\n").expect("valid");
        assert!(yaml.value["version"].is_number());
    }

    #[test]
    fn plain_yaml11_booleans_load_as_osiris_reads_them() {
        let yaml = load("a: yes\nb: \"yes\"\nc: Off\nd: yesterday\n").expect("valid");
        assert_eq!(yaml.value["a"], true);
        assert_eq!(yaml.value["b"], "yes");
        assert_eq!(yaml.value["c"], false);
        assert_eq!(yaml.value["d"], "yesterday");
        assert_eq!(
            yaml.yaml11_booleans,
            vec![
                ("/a".to_owned(), "yes".to_owned()),
                ("/c".to_owned(), "Off".to_owned())
            ]
        );
    }

    #[test]
    fn reports_syntax_errors_with_an_offset() {
        let text = "name: a\n  bad: [\n";
        match load(text) {
            Err(YamlError::Syntax { offset, .. }) => assert!(offset <= text.len()),
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn deep_nesting_is_refused_before_it_is_built() {
        let at_limit = format!("{}x{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(load(&at_limit).is_ok());
        for deep in [
            format!("{}x{}", "[".repeat(14_000), "]".repeat(14_000)),
            format!("{}x\n", "- ".repeat(14_000)),
            (0..200)
                .map(|level| format!("{}a:\n", " ".repeat(level)))
                .collect::<String>(),
        ] {
            let started = std::time::Instant::now();
            let outcome = load(&deep);
            assert!(
                matches!(outcome, Err(YamlError::TooDeep { .. })),
                "{}: {:?}",
                &deep[..20],
                outcome.map(|_| ())
            );
            assert!(started.elapsed() < std::time::Duration::from_secs(2));
        }
    }

    #[test]
    fn refuses_empty_and_multi_document_files() {
        assert_eq!(load("# nothing\n").expect_err("empty"), YamlError::Empty);
        assert!(matches!(
            load("a: 1\n---\nb: 2\n"),
            Err(YamlError::MultipleDocuments { .. })
        ));
    }
}
