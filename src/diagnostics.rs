//! Findings about a user's files: severity, stable code, location, message and help. Domain
//! modules produce [`Diagnostic`]s; this module renders them as rustc-style text (through
//! `annotate-snippets`) or as the JSON described by `schemas/check-report.schema.json`.

use std::collections::BTreeMap;
use std::ops::Range;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// Where a finding points: a file relative to the package root, and a byte range in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub span: Option<Range<usize>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable code, listed in `docs/check-codes.md`.
    pub code: &'static str,
    pub message: String,
    pub location: Option<Location>,
    /// A short label under the highlighted source.
    pub label: Option<String>,
    pub help: Option<String>,
    /// The highlighted text is a credential: show it as `*` in every rendering.
    pub masked: bool,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            location: None,
            label: None,
            help: None,
            masked: false,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.location = Some(Location {
            file: file.into(),
            span: None,
        });
        self
    }

    pub fn at(mut self, file: impl Into<String>, span: Range<usize>) -> Self {
        self.location = Some(Location {
            file: file.into(),
            span: Some(span),
        });
        self
    }

    pub fn at_opt(self, file: impl Into<String>, span: Option<Range<usize>>) -> Self {
        match span {
            Some(span) => self.at(file, span),
            None => self.in_file(file),
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Hides the highlighted text (a secret) wherever the finding is shown.
    pub fn masked(mut self) -> Self {
        self.masked = true;
        self
    }

    /// The source text to show for this finding, with a masked span replaced by `*`.
    fn shown_source<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        match (&self.location, self.masked) {
            (
                Some(Location {
                    span: Some(span), ..
                }),
                true,
            ) => {
                let span = clamp_span(text, span.clone());
                let mut masked = text.to_owned();
                masked.replace_range(span.clone(), &"*".repeat(span.len()));
                std::borrow::Cow::Owned(masked)
            }
            _ => std::borrow::Cow::Borrowed(text),
        }
    }
}

/// A list in words: `a`, `a and b`, `a, b and c`.
pub fn join_words(words: &[impl AsRef<str>]) -> String {
    match words {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [rest @ .., last] => {
            let rest: Vec<&str> = rest.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", rest.join(", "), last.as_ref())
        }
    }
}

/// The text of every file a report points into, keyed by the path used in [`Location`].
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    files: BTreeMap<String, String>,
}

impl SourceMap {
    pub fn insert(&mut self, file: impl Into<String>, text: impl Into<String>) {
        self.files.insert(file.into(), text.into());
    }

    pub fn get(&self, file: &str) -> Option<&str> {
        self.files.get(file).map(String::as_str)
    }
}

/// A 1-based line and column (in characters), with the text of that line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineColumn {
    pub line: usize,
    pub column: usize,
    pub source_line: String,
}

/// Converts a byte offset into a 1-based line and column.
pub fn line_column(text: &str, offset: usize) -> LineColumn {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    LineColumn {
        line: text[..offset].matches('\n').count() + 1,
        column: text[line_start..offset].chars().count() + 1,
        source_line: text[line_start..line_end].trim_end_matches('\r').to_owned(),
    }
}

/// Converts a 1-based line and 0-based character column into a byte offset.
pub fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut line_start = 0;
    for _ in 1..line {
        match text[line_start..].find('\n') {
            Some(i) => line_start += i + 1,
            None => return text.len(),
        }
    }
    let rest = &text[line_start..];
    let end_of_line = rest.find('\n').unwrap_or(rest.len());
    rest[..end_of_line]
        .char_indices()
        .nth(column)
        .map_or(line_start + end_of_line, |(i, _)| line_start + i)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Renders one diagnostic the way rustc does, with the offending line shown.
pub fn render(diagnostic: &Diagnostic, sources: &SourceMap, color: bool) -> String {
    let level = match diagnostic.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let title = level
        .primary_title(diagnostic.message.as_str())
        .id(diagnostic.code);
    let mut group: Group<'_> = match &diagnostic.location {
        Some(Location {
            file,
            span: Some(span),
        }) if sources.get(file).is_some() => {
            let text = sources.get(file).unwrap_or_default();
            let span = clamp_span(text, span.clone());
            let text = diagnostic.shown_source(text);
            let mut annotation = AnnotationKind::Primary.span(span);
            if let Some(label) = &diagnostic.label {
                annotation = annotation.label(label.as_str());
            }
            title.element(
                Snippet::source(text)
                    .path(file.as_str())
                    .fold(true)
                    .annotation(annotation),
            )
        }
        Some(Location { file, .. }) => {
            title.element(annotate_snippets::Origin::path(file.as_str()))
        }
        None => Group::with_title(title),
    };
    if let Some(help) = &diagnostic.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    renderer.render(&[group])
}

fn clamp_span(text: &str, span: Range<usize>) -> Range<usize> {
    let start = floor_char_boundary(text, span.start.min(text.len()));
    let end = floor_char_boundary(text, span.end.min(text.len())).max(start);
    start..end
}

/// One finding as it appears in `--format json` output.
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic<'a> {
    pub severity: Severity,
    pub code: &'a str,
    pub message: &'a str,
    pub file: Option<&'a str>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub end_line: Option<usize>,
    pub end_column: Option<usize>,
    pub source_line: Option<String>,
    pub label: Option<&'a str>,
    pub help: Option<&'a str>,
}

impl<'a> JsonDiagnostic<'a> {
    pub fn new(diagnostic: &'a Diagnostic, sources: &SourceMap) -> Self {
        let file = diagnostic
            .location
            .as_ref()
            .map(|location| location.file.as_str());
        let span = diagnostic
            .location
            .as_ref()
            .and_then(|location| location.span.clone());
        let text = file.and_then(|file| sources.get(file));
        let shown = text.map(|text| diagnostic.shown_source(text));
        let (start, end) = match (shown.as_deref(), span) {
            (Some(text), Some(span)) => (
                Some(line_column(text, span.start)),
                Some(line_column(text, span.end)),
            ),
            _ => (None, None),
        };
        JsonDiagnostic {
            severity: diagnostic.severity,
            code: diagnostic.code,
            message: &diagnostic.message,
            file,
            line: start.as_ref().map(|lc| lc.line),
            column: start.as_ref().map(|lc| lc.column),
            end_line: end.as_ref().map(|lc| lc.line),
            end_column: end.as_ref().map(|lc| lc.column),
            source_line: start.map(|lc| lc.source_line),
            label: diagnostic.label.as_deref(),
            help: diagnostic.help.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_in_characters() {
        let text = "a: 1\nnäme: x\n";
        let offset = text.find('x').expect("x");
        let lc = line_column(text, offset);
        assert_eq!(
            (lc.line, lc.column, lc.source_line.as_str()),
            (2, 7, "näme: x")
        );
        assert_eq!(offset_of(text, 2, 6), offset);
    }

    #[test]
    fn renders_code_location_and_help() {
        let mut sources = SourceMap::default();
        sources.insert("spec.yaml", "name: x\nfamily: shopify\n");
        let diagnostic = Diagnostic::error("S010", "Osiris 0.5.7 rejects `family`")
            .at("spec.yaml", 8..14)
            .label("not allowed here")
            .help("remove this line");
        let text = render(&diagnostic, &sources, false);
        assert!(
            text.contains("error[S010]: Osiris 0.5.7 rejects `family`"),
            "{text}"
        );
        assert!(text.contains("spec.yaml:2:1"), "{text}");
        assert!(text.contains("family: shopify"), "{text}");
        assert!(text.contains("help: remove this line"), "{text}");
    }
}
