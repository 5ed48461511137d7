//! The `import` statements of a Python module, read statically: which modules it imports,
//! where, and whether the import is optional (inside `try:`/`except:`) or only for type
//! checkers (`if TYPE_CHECKING:`). `ocp check` uses them to find third-party modules a driver
//! needs but the package does not declare. The user's code is never run.

use std::ops::Range;

use super::python::LogicalLine;

/// One imported module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The dotted module as written, without leading dots (`boto3.session`; empty for
    /// `from . import x`).
    pub module: String,
    /// Leading dots of a relative import (`from ..x import y` is 2); 0 for absolute imports.
    pub level: usize,
    /// For `from m import a, b`: `a` and `b` (which may be submodules); empty for `import m`.
    pub names: Vec<String>,
    /// Where the module is written in the source.
    pub span: Range<usize>,
    /// Inside a `try:` or `except:` block: the code copes when the module is missing.
    pub optional: bool,
    /// Inside `if TYPE_CHECKING:`: never imported at run time.
    pub type_only: bool,
}

impl Import {
    /// The first part of an absolute import (`boto3` for `boto3.session`), if absolute.
    pub fn top_level(&self) -> Option<&str> {
        (self.level == 0).then(|| self.module.split('.').next().unwrap_or_default())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Try,
    TypeChecking,
    Other,
}

/// The imports of a module's logical lines, in source order.
pub(super) fn read(lines: &[LogicalLine]) -> Vec<Import> {
    let mut blocks: Vec<(usize, Block)> = Vec::new();
    let mut imports = Vec::new();
    for line in lines {
        while blocks
            .last()
            .is_some_and(|(indent, _)| *indent >= line.indent)
        {
            blocks.pop();
        }
        let optional = blocks.iter().any(|(_, block)| *block == Block::Try);
        let type_only = blocks
            .iter()
            .any(|(_, block)| *block == Block::TypeChecking);
        let mut offset = 0;
        for statement in line.code.split(';') {
            let start = line.start + offset + (statement.len() - statement.trim_start().len());
            for (module, level, names, at) in statement_imports(statement.trim()) {
                imports.push(Import {
                    span: start + at..start + at + module.len() + level,
                    module,
                    level,
                    names,
                    optional,
                    type_only,
                });
            }
            offset += statement.len() + 1;
        }
        let code = line.code.trim();
        if code.ends_with(':') {
            let head = code.split([' ', ':', '(']).next().unwrap_or_default();
            let block = match head {
                "try" | "except" => Block::Try,
                "if" if code.contains("TYPE_CHECKING") => Block::TypeChecking,
                _ => Block::Other,
            };
            blocks.push((line.indent, block));
        }
    }
    imports
}

/// `(module, level, names, offset of the module in the statement)` for each module a
/// statement imports.
fn statement_imports(statement: &str) -> Vec<(String, usize, Vec<String>, usize)> {
    if let Some(rest) = statement.strip_prefix("import ") {
        let mut found = Vec::new();
        let mut at = statement.len() - rest.len();
        for item in rest.split(',') {
            let lead = item.len() - item.trim_start().len();
            let module = item.split_whitespace().next().unwrap_or_default();
            if is_dotted_name(module) {
                found.push((module.to_owned(), 0, Vec::new(), at + lead));
            }
            at += item.len() + 1;
        }
        return found;
    }
    let Some(rest) = statement.strip_prefix("from ") else {
        return Vec::new();
    };
    let rest = rest.trim_start();
    let Some((source, names)) = rest.split_once(" import") else {
        return Vec::new();
    };
    let source = source.trim_end();
    let level = source.len() - source.trim_start_matches('.').len();
    let module = &source[level..];
    if !module.is_empty() && !is_dotted_name(module) {
        return Vec::new();
    }
    let names: Vec<String> = names
        .trim_matches(|c: char| c == '(' || c == ')' || c.is_whitespace())
        .split(',')
        .filter_map(|name| name.split_whitespace().next())
        .filter(|name| is_dotted_name(name) || *name == "*")
        .map(str::to_owned)
        .collect();
    let at = statement.len() - rest.len();
    vec![(module.to_owned(), level, names, at)]
}

fn is_dotted_name(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|part| {
            part.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::super::python::parse_module;

    #[test]
    fn reads_absolute_relative_optional_and_type_only_imports() {
        let source = "\
import os, boto3.session as s
from . import client
from ..util import helper
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    import pandas
try:
    import orjson
except ImportError:
    import json as orjson
def run():
    import requests; from google.cloud import bigquery
text = \"import nothing\"
";
        let module = parse_module(source);
        let seen: Vec<(String, usize, bool, bool)> = module
            .imports
            .iter()
            .map(|i| (i.module.clone(), i.level, i.optional, i.type_only))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("os".into(), 0, false, false),
                ("boto3.session".into(), 0, false, false),
                ("".into(), 1, false, false),
                ("util".into(), 2, false, false),
                ("typing".into(), 0, false, false),
                ("pandas".into(), 0, false, true),
                ("orjson".into(), 0, true, false),
                ("json".into(), 0, true, false),
                ("requests".into(), 0, false, false),
                ("google.cloud".into(), 0, false, false),
            ]
        );
        let boto = &module.imports[1];
        assert_eq!(&source[boto.span.clone()], "boto3.session");
        assert_eq!(boto.top_level(), Some("boto3"));
        let relative = &module.imports[3];
        assert_eq!(&source[relative.span.clone()], "..util");
        assert_eq!(module.imports[2].names, vec!["client".to_owned()]);
        let google = &module.imports[9];
        assert_eq!(&source[google.span.clone()], "google.cloud");
    }
}
