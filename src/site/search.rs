//! The prebuilt search index, `search-index.js`: one compact record per component (name,
//! package, version, title, summary, family, modes, capabilities, the Osiris releases some
//! installable version admits, status, page), assigned to `window.OCP_SEARCH_INDEX`.
//!
//! A script rather than a JSON file so that it loads from `file://` too (browsers refuse
//! `fetch` there). The client side (`assets/search.js`) matches words against these fields
//! and applies the filters; compatibility is decided here, with PEP 440 semantics, not in
//! JavaScript.

use serde::Serialize;

use super::catalog::Catalog;
use super::pages::component_summary;

/// Summaries in the index are cut to this many characters.
const MAX_SUMMARY_CHARS: usize = 200;

#[derive(Serialize)]
struct SearchIndex<'a> {
    format_version: u32,
    osiris: &'a [String],
    components: Vec<Record<'a>>,
}

#[derive(Serialize)]
struct Record<'a> {
    /// Component name.
    n: &'a str,
    /// Package name.
    p: &'a str,
    /// Featured version.
    v: &'a str,
    /// Title.
    t: String,
    /// Summary.
    d: String,
    /// Family.
    f: &'a str,
    /// Modes.
    m: Vec<String>,
    /// Capabilities the component has.
    c: Vec<String>,
    /// Indexes into `osiris` of the releases some installable version admits.
    o: Vec<usize>,
    /// Status.
    s: &'static str,
    /// The page, relative to the site root.
    u: String,
}

/// The text of `search-index.js`.
pub fn render(catalog: &Catalog) -> String {
    let components = catalog
        .components()
        .into_iter()
        .map(|(component, package)| {
            let summary = component_summary(component.as_str(), package);
            Record {
                n: component.as_str(),
                p: &package.name,
                v: &package.featured().entry.version,
                t: summary.title,
                d: summary
                    .description
                    .chars()
                    .take(MAX_SUMMARY_CHARS)
                    .collect(),
                f: component.family(),
                m: summary.modes,
                c: summary.capabilities,
                o: package
                    .compatible
                    .iter()
                    .enumerate()
                    .filter(|(_, fits)| **fits)
                    .map(|(at, _)| at)
                    .collect(),
                s: package.status.as_str(),
                u: format!("components/{component}.html"),
            }
        })
        .collect();
    let index = SearchIndex {
        format_version: 1,
        osiris: &catalog.osiris_releases,
        components,
    };
    let json = serde_json::to_string(&index).unwrap_or_else(|_| "{}".to_owned());
    format!("window.OCP_SEARCH_INDEX = {json};\n")
}
