//! A static reader for the few facts `ocp check` needs from Python sources: top-level
//! functions, classes and their methods with parameter lists, and `__version__`. It never runs
//! the user's code. It understands strings, comments, brackets that span lines and
//! indentation, which is enough for the code a component package holds.

use std::ops::Range;

/// One logical line: brackets joined, strings and comments blanked out of `code`.
#[derive(Debug, Clone)]
pub(super) struct LogicalLine {
    pub(super) indent: usize,
    /// The code with string contents replaced by spaces and comments removed, so keywords
    /// inside strings are never mistaken for code. Offsets match the source.
    pub(super) code: String,
    pub(super) start: usize,
}

/// A parameter of a `def`, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parameter {
    /// A named parameter; `keyword_only` is true after `*` or `*args`.
    Named {
        name: String,
        keyword_only: bool,
        has_default: bool,
    },
    /// `*args` (or a bare `*`, with an empty name).
    VarPositional(String),
    /// `**kwargs`.
    VarKeyword(String),
    /// `/`, the end of positional-only parameters.
    PositionalOnlyMarker,
}

/// A function definition found in the source.
#[derive(Debug, Clone)]
pub struct Function {
    pub name: String,
    pub span: Range<usize>,
    pub parameters: Vec<Parameter>,
}

/// A class definition and the methods defined directly in its body.
#[derive(Debug, Clone)]
pub struct Class {
    pub name: String,
    pub span: Range<usize>,
    pub methods: Vec<Function>,
}

/// The top-level definitions of one module.
#[derive(Debug, Clone, Default)]
pub struct Module {
    pub functions: Vec<Function>,
    pub classes: Vec<Class>,
    /// Top-level names bound by `import` or assignment (for re-exports such as
    /// `from .driver import Driver`).
    pub imported_names: Vec<String>,
    /// `__version__ = "..."`: the literal and its span.
    pub version: Option<(String, Range<usize>)>,
    /// Every `import` and `from ... import` statement, at any depth.
    pub imports: Vec<super::imports::Import>,
}

impl Module {
    pub fn function(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.name == name)
    }

    pub fn class(&self, name: &str) -> Option<&Class> {
        self.classes.iter().find(|c| c.name == name)
    }
}

/// Reads the top-level structure of a Python module.
pub fn parse_module(source: &str) -> Module {
    let lines = logical_lines(source);
    let mut module = Module {
        imports: super::imports::read(&lines),
        ..Module::default()
    };
    let mut index = 0;
    while index < lines.len() {
        let line = &lines[index];
        if line.indent == 0 {
            let code = line.code.trim_start();
            if let Some(function) = parse_def(line, source) {
                module.functions.push(function);
            } else if let Some(rest) = code.strip_prefix("class ") {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let name_offset = line.start + line.code.find(&name).unwrap_or(0);
                let mut methods = Vec::new();
                let mut body_indent = None;
                let mut next = index + 1;
                while next < lines.len() && lines[next].indent > 0 {
                    let body_line = &lines[next];
                    let indent = *body_indent.get_or_insert(body_line.indent);
                    if body_line.indent == indent
                        && let Some(method) = parse_def(body_line, source)
                    {
                        methods.push(method);
                    }
                    next += 1;
                }
                module.classes.push(Class {
                    name: name.clone(),
                    span: name_offset..name_offset + name.len(),
                    methods,
                });
                index = next;
                continue;
            } else if code.starts_with("from ") || code.starts_with("import ") {
                module.imported_names.extend(imported_names(code));
            } else if let Some(version) = version_assignment(line, source) {
                module.version = Some(version);
            }
        }
        index += 1;
    }
    module
}

fn imported_names(code: &str) -> Vec<String> {
    let names = match code.split_once(" import ") {
        Some((_, names)) if code.starts_with("from ") => names,
        _ => code.trim_start_matches("import "),
    };
    names
        .trim_matches(|c: char| c == '(' || c == ')' || c.is_whitespace())
        .split(',')
        .filter_map(|part| {
            let part = part.trim();
            let bound = part.rsplit(" as ").next().unwrap_or(part).trim();
            let bound = bound.split('.').next().unwrap_or(bound);
            (!bound.is_empty()).then(|| bound.to_owned())
        })
        .collect()
}

fn version_assignment(line: &LogicalLine, source: &str) -> Option<(String, Range<usize>)> {
    let code = line.code.trim_start();
    let rest = code.strip_prefix("__version__")?;
    let rest = rest.trim_start();
    let rest = rest.strip_prefix(':').map_or(rest, |annotated| {
        annotated.split_once('=').map_or("", |(_, v)| v)
    });
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
    let _ = rest;
    // The literal itself was blanked in `code`; read it from the source.
    let raw_line = &source[line.start..line.start + line.code.len()];
    let quote_at = raw_line.find(['"', '\''])?;
    let quote = raw_line[quote_at..].chars().next()?;
    let after = &raw_line[quote_at + 1..];
    let end = after.find(quote)?;
    let start = line.start + quote_at + 1;
    Some((after[..end].to_owned(), start..start + end))
}

fn parse_def(line: &LogicalLine, source: &str) -> Option<Function> {
    let code = line.code.trim_start();
    let lead = line.code.len() - code.len();
    let rest = code
        .strip_prefix("async ")
        .map(str::trim_start)
        .unwrap_or(code);
    let rest = rest.strip_prefix("def ")?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if name.is_empty() {
        return None;
    }
    let name_offset = line.start + lead + (code.len() - rest.len());
    let open = line.code.find('(')?;
    let close = matching_paren(&line.code, open)?;
    let raw = &source[line.start + open + 1..line.start + close];
    Some(Function {
        name: name.clone(),
        span: name_offset..name_offset + name.len(),
        parameters: parse_parameters(raw),
    })
}

fn matching_paren(code: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (index, character) in code[open..].char_indices() {
        match character {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(open + index);
                }
            }
            _ => {}
        }
    }
    None
}

fn split_top_level(text: &str, separator: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for character in text.chars() {
        if let Some(q) = quote {
            if character == q {
                quote = None;
            }
            current.push(character);
            continue;
        }
        match character {
            '\'' | '"' => quote = Some(character),
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            c if c == separator && depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(character);
    }
    parts.push(current);
    parts
}

fn parse_parameters(raw: &str) -> Vec<Parameter> {
    let without_comments: String = raw
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ");
    let mut keyword_only = false;
    let mut parameters = Vec::new();
    for part in split_top_level(&without_comments, ',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        if part == "/" {
            parameters.push(Parameter::PositionalOnlyMarker);
            continue;
        }
        let has_default = split_top_level(part, '=').len() > 1;
        let head = split_top_level(part, '=')
            .into_iter()
            .next()
            .unwrap_or_default();
        let head = split_top_level(&head, ':')
            .into_iter()
            .next()
            .unwrap_or_default();
        let head = head.trim();
        if let Some(name) = head.strip_prefix("**") {
            parameters.push(Parameter::VarKeyword(name.trim().to_owned()));
        } else if let Some(name) = head.strip_prefix('*') {
            keyword_only = true;
            parameters.push(Parameter::VarPositional(name.trim().to_owned()));
        } else {
            parameters.push(Parameter::Named {
                name: head.to_owned(),
                keyword_only,
                has_default,
            });
        }
    }
    parameters
}

/// Splits source into logical lines, blanking strings and comments.
pub(super) fn logical_lines(source: &str) -> Vec<LogicalLine> {
    let bytes = source.as_bytes();
    let mut blanked = String::with_capacity(source.len());
    let mut index = 0;
    // First pass: blank string contents and comments, keeping offsets.
    while index < bytes.len() {
        let character = source[index..].chars().next().unwrap_or(' ');
        let width = character.len_utf8();
        match character {
            '#' => {
                let end = source[index..]
                    .find('\n')
                    .map_or(source.len(), |i| index + i);
                blanked.extend(std::iter::repeat_n(' ', end - index));
                index = end;
            }
            '"' | '\'' => {
                let triple: String = std::iter::repeat_n(character, 3).collect();
                let (delimiter, open_len) = if source[index..].starts_with(&triple) {
                    (triple.as_str(), 3)
                } else {
                    (&source[index..index + 1], 1)
                };
                let mut end = index + open_len;
                loop {
                    match source[end..]
                        .find(|c: char| c == '\\' || c == character || (open_len == 1 && c == '\n'))
                    {
                        None => {
                            end = source.len();
                            break;
                        }
                        Some(found) => {
                            let at = end + found;
                            if source[at..].starts_with('\\') {
                                end = (at + 2).min(source.len());
                                while !source.is_char_boundary(end) {
                                    end += 1;
                                }
                                continue;
                            }
                            if source[at..].starts_with('\n') {
                                end = at;
                                break;
                            }
                            if source[at..].starts_with(delimiter) {
                                end = at + delimiter.len();
                                break;
                            }
                            end = at + 1;
                        }
                    }
                }
                blanked.push(character);
                for c in source[index + 1..end].chars() {
                    if c == '\n' {
                        blanked.push('\n');
                    } else {
                        blanked.extend(std::iter::repeat_n(' ', c.len_utf8()));
                    }
                }
                index = end;
            }
            _ => {
                blanked.push(character);
                index += width;
            }
        }
    }
    // Second pass: join lines inside brackets or after a backslash.
    let mut lines = Vec::new();
    let mut depth = 0i32;
    let mut current_start: Option<usize> = None;
    let mut offset = 0;
    for physical in blanked.split_inclusive('\n') {
        let start = *current_start.get_or_insert(offset);
        for character in physical.chars() {
            match character {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth = (depth - 1).max(0),
                _ => {}
            }
        }
        offset += physical.len();
        let continued = depth > 0 || physical.trim_end_matches(['\n', '\r']).ends_with('\\');
        if !continued {
            push_line(
                &mut lines,
                blanked[start..offset].trim_end_matches(['\n', '\r']),
                start,
            );
            current_start = None;
        }
    }
    if let Some(start) = current_start {
        push_line(&mut lines, &blanked[start..], start);
    }
    lines
}

fn push_line(lines: &mut Vec<LogicalLine>, code: &str, start: usize) {
    if !code.trim().is_empty() {
        let indent = code.len() - code.trim_start().len();
        lines.push(LogicalLine {
            indent,
            code: code.to_owned(),
            start,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DRIVER: &str = r#""""A driver. class Fake: def run(self): pass"""
import logging
from typing import Any

__version__ = "1.2.0"


class ShopifyExtractorDriver:
    """Docstring with def run(self) inside."""

    def __init__(self):
        self.x = "class Nope:"

    def run(
        self,
        *,
        step_id: str,
        config: dict,  # the step's config
        inputs: dict | None = None,
        ctx: Any = None,
    ) -> dict:
        return {}


def load_spec() -> dict:
    return {}
"#;

    #[test]
    fn finds_classes_methods_and_parameters() {
        let module = parse_module(DRIVER);
        assert_eq!(module.classes.len(), 1, "{:?}", module.classes);
        let class = module.class("ShopifyExtractorDriver").expect("class");
        assert_eq!(&DRIVER[class.span.clone()], "ShopifyExtractorDriver");
        let run = class.methods.iter().find(|m| m.name == "run").expect("run");
        let names: Vec<(String, bool)> = run
            .parameters
            .iter()
            .filter_map(|p| match p {
                Parameter::Named {
                    name, keyword_only, ..
                } => Some((name.clone(), *keyword_only)),
                _ => None,
            })
            .collect();
        assert_eq!(
            names,
            vec![
                ("self".into(), false),
                ("step_id".into(), true),
                ("config".into(), true),
                ("inputs".into(), true),
                ("ctx".into(), true)
            ]
        );
        assert!(module.function("load_spec").is_some());
        assert_eq!(module.version.as_ref().map(|v| v.0.as_str()), Some("1.2.0"));
        assert!(module.imported_names.contains(&"Any".to_owned()));
    }

    #[test]
    fn positional_run_is_not_keyword_only() {
        let module = parse_module(
            "class D:\n    def run(self, step_id, config, inputs=None, ctx=None):\n        pass\n",
        );
        let run = &module.class("D").expect("class").methods[0];
        assert!(run.parameters.iter().all(|p| !matches!(
            p,
            Parameter::Named {
                keyword_only: true,
                ..
            }
        )));
    }

    #[test]
    fn unterminated_strings_do_not_panic() {
        let module = parse_module("x = '''never closed\nclass A:\n");
        assert!(module.classes.is_empty());
        let _ = parse_module("def f(a, b=\"\\");
        let _ = parse_module("é = 'ü\\");
    }
}
