//! Markdown from third parties (READMEs, changelogs) made into HTML that is safe to put in a
//! page: hostile content is data, never markup.
//!
//! Two layers, so that one mistake is not enough:
//! 1. while parsing (pulldown-cmark), raw HTML becomes text (a `<script>` in a README shows as
//!    `<script>`), images become plain links (nothing is loaded from anywhere when the page
//!    opens), headings move down two levels (the page owns `h1` and `h2`), and nesting deeper
//!    than [`MAX_DEPTH`] is flattened (bounded recursion in the sanitizer);
//! 2. the HTML is then cleaned by ammonia with an allowlist: no scripts, styles, event
//!    handlers, forms, frames or images; links only to `http`, `https` and `mailto`, opened
//!    with `rel="nofollow noopener noreferrer ugc"`; relative links are dropped.
//!
//! [`SafeHtml`] can only be made here, so a template that prints HTML unescaped can only
//! print what went through both layers.

use std::collections::HashSet;
use std::fmt;

use pulldown_cmark::{Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};

/// Markdown beyond this many bytes is cut (with a note) before rendering.
pub const MAX_SOURCE_BYTES: usize = 512 * 1024;
/// Block and inline nesting deeper than this is flattened to its text.
pub const MAX_DEPTH: usize = 32;

/// The only tags that survive sanitizing.
pub const ALLOWED_TAGS: [&str; 23] = [
    "a",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
];

/// HTML that went through [`render`]: the only HTML a page prints unescaped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SafeHtml(String);

impl SafeHtml {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SafeHtml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Renders third-party Markdown to sanitized HTML.
pub fn render(source: &str) -> SafeHtml {
    let (source, cut) = truncate(source, MAX_SOURCE_BYTES);
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut depth = 0usize;
    let mut skipped: Vec<bool> = Vec::new();
    let events = Parser::new_ext(source, options).filter_map(|event| match event {
        Event::Html(html) | Event::InlineHtml(html) => Some(Event::Text(html)),
        Event::Start(tag) => {
            depth += 1;
            let keep = depth <= MAX_DEPTH;
            skipped.push(!keep);
            keep.then(|| Event::Start(safer_tag(tag)))
        }
        Event::End(tag) => {
            depth = depth.saturating_sub(1);
            let keep = !skipped.pop().unwrap_or(false);
            keep.then(|| Event::End(safer_end(tag)))
        }
        other => Some(other),
    });
    let mut html = String::with_capacity(source.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    if cut {
        html.push_str("<p><em>(cut: the file is longer than the directory shows)</em></p>");
    }
    SafeHtml(sanitizer().clean(&html).to_string())
}

/// Plain text shown as a preformatted block (a README that is not Markdown).
pub fn preformatted(text: &str) -> SafeHtml {
    let (text, _) = truncate(text, MAX_SOURCE_BYTES);
    let events = [
        Event::Start(Tag::CodeBlock(pulldown_cmark::CodeBlockKind::Indented)),
        Event::Text(text.into()),
        Event::End(TagEnd::CodeBlock),
    ];
    let mut html = String::with_capacity(text.len() + 32);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    SafeHtml(sanitizer().clean(&html).to_string())
}

fn truncate(text: &str, limit: usize) -> (&str, bool) {
    if text.len() <= limit {
        return (text, false);
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], true)
}

/// Images become links to the image, headings move down two levels.
fn safer_tag(tag: Tag<'_>) -> Tag<'_> {
    match tag {
        Tag::Image {
            dest_url,
            title,
            id,
            ..
        } => Tag::Link {
            link_type: LinkType::Inline,
            dest_url,
            title,
            id,
        },
        Tag::Heading {
            level,
            id,
            classes,
            attrs,
        } => Tag::Heading {
            level: lower(level),
            id,
            classes,
            attrs,
        },
        other => other,
    }
}

fn safer_end(tag: TagEnd) -> TagEnd {
    match tag {
        TagEnd::Image => TagEnd::Link,
        TagEnd::Heading(level) => TagEnd::Heading(lower(level)),
        other => other,
    }
}

fn lower(level: HeadingLevel) -> HeadingLevel {
    match level {
        HeadingLevel::H1 => HeadingLevel::H3,
        HeadingLevel::H2 => HeadingLevel::H4,
        HeadingLevel::H3 => HeadingLevel::H5,
        _ => HeadingLevel::H6,
    }
}

fn sanitizer() -> ammonia::Builder<'static> {
    let tags: HashSet<&str> = ALLOWED_TAGS.into_iter().collect();
    let mut builder = ammonia::Builder::empty();
    builder
        .tags(tags)
        .add_tag_attributes("a", ["href", "title"])
        .add_tag_attributes("ol", ["start"])
        .add_tag_attributes("td", ["align"])
        .add_tag_attributes("th", ["align"])
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("nofollow noopener noreferrer ugc"))
        .strip_comments(true);
    builder
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = r#"# Totally normal

<script>alert('readme')</script>

<img src="https://evil.example/x.png" onerror="alert('img')">

Inline <b onmouseover="alert(1)">bold</b> and <iframe src="https://evil.example"></iframe>.

[click me](javascript:alert('link')) and [data](data:text/html,<script>alert(1)</script>)
and [ok](https://example.com/docs) and [relative](../../config.json).

![tracker](https://evil.example/pixel.gif)

<a href="javascript:alert(2)">raw link</a>
<style>body { display: none }</style>
"#;

    /// Every tag in `html` with its attributes. Text never holds a raw `<` (it is escaped as
    /// `&lt;`), so each `<` starts a tag.
    fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
        let mut out = Vec::new();
        for piece in html.split('<').skip(1) {
            let inside = &piece[..piece.find('>').expect("a closed tag")];
            if inside.starts_with('/') {
                continue;
            }
            let (name, mut rest) = inside.split_once(' ').unwrap_or((inside, ""));
            let mut attributes = Vec::new();
            while let Some((key, after)) = rest.trim_start().split_once("=\"") {
                let (value, next) = after.split_once('"').expect("a quoted value");
                attributes.push((key.to_owned(), value.to_owned()));
                rest = next;
            }
            out.push((name.to_owned(), attributes));
        }
        out
    }

    #[test]
    fn hostile_markdown_renders_as_text_without_active_content() {
        let html = render(HOSTILE).to_string();
        for (name, attributes) in tags(&html) {
            assert!(
                ALLOWED_TAGS.contains(&name.as_str()),
                "<{name}> survived:\n{html}"
            );
            for (key, value) in attributes {
                assert!(
                    ["href", "title", "rel", "start", "align"].contains(&key.as_str()),
                    "attribute `{key}` survived:\n{html}"
                );
                if key == "href" {
                    assert!(
                        value.starts_with("https://") || value.starts_with("http://"),
                        "href `{value}` survived:\n{html}"
                    );
                }
            }
        }
        assert!(
            html.contains("&lt;script&gt;alert('readme')&lt;/script&gt;"),
            "{html}"
        );
        assert!(html.contains("<h3>Totally normal</h3>"), "{html}");
        assert!(
            html.contains(
                r#"<a href="https://example.com/docs" rel="nofollow noopener noreferrer ugc">ok</a>"#
            ),
            "{html}"
        );
        // The image is a link to it now: nothing loads when the page opens.
        assert!(
            html.contains(
                r#"<a href="https://evil.example/pixel.gif" rel="nofollow noopener noreferrer ugc">tracker</a>"#
            ),
            "{html}"
        );
        assert!(html.contains(">click me</a>"), "{html}");
    }

    #[test]
    fn deep_nesting_is_flattened_and_long_input_cut() {
        let deep = format!("{}text", "> ".repeat(10_000));
        let html = render(&deep).to_string();
        assert!(
            html.matches("<blockquote>").count() <= MAX_DEPTH,
            "too deep"
        );
        assert!(html.contains("text"));
        let long = "word ".repeat(MAX_SOURCE_BYTES / 4);
        let html = render(&long).to_string();
        assert!(html.contains("(cut: the file is longer"), "not cut");
    }

    #[test]
    fn preformatted_text_is_escaped() {
        assert_eq!(
            preformatted("<b>x</b> & y").to_string(),
            "<pre><code>&lt;b&gt;x&lt;/b&gt; &amp; y</code></pre>\n"
        );
    }
}
