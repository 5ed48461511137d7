//! The HTML pages, rendered with askama templates from `src/site/templates/` (checked at
//! compile time, every value HTML-escaped unless it is [`SafeHtml`]):
//!
//! - `index.html`: search and filters (with JavaScript) over the first components, and
//!   links to browse everything without it;
//! - `browse/*.html`: lists of components, all of them and by family, mode, capability,
//!   Osiris release and status, [`PAGE_SIZE`] to a page;
//! - `components/<component>.html`: one page per component.
//!
//! Every link is relative, so the site works from `file://` and below any path of a static
//! host. Pages are rendered and written in parallel.

use askama::Template;
use rayon::prelude::*;

use super::catalog::{Catalog, PackageView, Status, VersionView};
use super::markdown::{self, SafeHtml};
use super::output::SiteWriter;
use super::spec::{self, ConfigRow, Example, SpecView};
use super::{SiteError, SiteInfo, search};
use crate::model::ComponentName;

/// Components on one list page.
pub const PAGE_SIZE: usize = 100;

/// What every page's frame needs.
struct Layout<'a> {
    /// `""` at the root, `"../"` one level down.
    root: &'static str,
    site: &'a SiteInfo,
}

/// A component in a list.
struct Row {
    component: String,
    href: String,
    title: String,
    description: String,
    package: String,
    version: String,
    modes: Vec<String>,
    osiris: String,
    status: &'static str,
}

/// A link in a page navigation or facet list.
struct Link {
    label: String,
    href: String,
    count: usize,
    current: bool,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    layout: Layout<'a>,
    rows: Vec<Row>,
    total: usize,
    releases: Vec<String>,
    modes: Vec<Link>,
    capabilities: Vec<Link>,
    osiris: Vec<Link>,
    statuses: Vec<Link>,
    families: usize,
    more: bool,
}

#[derive(Template)]
#[template(path = "listing.html")]
struct ListingPage<'a> {
    layout: Layout<'a>,
    heading: String,
    rows: Vec<Row>,
    total: usize,
    pages: Vec<Link>,
}

#[derive(Template)]
#[template(path = "families.html")]
struct FamiliesPage<'a> {
    layout: Layout<'a>,
    families: Vec<Link>,
}

/// One version in the versions table and the compatibility matrix.
struct VersionRow {
    version: String,
    osiris: String,
    python: String,
    date: String,
    yanked: bool,
    key_id: String,
    verified: bool,
    reason: String,
    fits: Vec<bool>,
}

#[derive(Template)]
#[template(path = "component.html")]
struct ComponentPage<'a> {
    layout: Layout<'a>,
    component: String,
    package: String,
    version: String,
    status: &'static str,
    featured_yanked: bool,
    install: String,
    summary: String,
    license: String,
    author: String,
    spec: Option<SpecView>,
    spec_problem: String,
    rows: Vec<ConfigRow>,
    examples: Vec<Example>,
    versions: Vec<VersionRow>,
    releases: Vec<String>,
    owners: Vec<(String, String)>,
    owners_problem: String,
    siblings: Vec<String>,
    dependencies: Vec<(String, String)>,
    python_dependencies: Vec<String>,
    readme: Option<SafeHtml>,
    changelog: Option<SafeHtml>,
    details_problem: String,
}

/// Title, description, modes and capabilities of a component for lists and the search index:
/// from its spec when the tarball could be read, else from the package.
pub struct Summary {
    pub title: String,
    pub description: String,
    pub modes: Vec<String>,
    pub capabilities: Vec<String>,
}

pub fn component_summary(component: &str, package: &PackageView) -> Summary {
    let details = package.details.as_ref().ok();
    let spec = details
        .and_then(|d| d.specs.get(component))
        .and_then(|s| s.as_ref().ok());
    let package_summary = details.and_then(|d| d.summary.clone()).unwrap_or_default();
    match spec {
        Some(spec) => {
            let text = |key: &str| {
                spec.get(key)
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let modes = spec
                .get("modes")
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(serde_json::Value::as_str)
                .filter(|m| spec::MODES.contains(m))
                .map(str::to_owned)
                .collect();
            let capabilities = spec::CAPABILITIES
                .iter()
                .filter(|name| {
                    spec.get("capabilities")
                        .and_then(|c| c.get(**name))
                        .and_then(serde_json::Value::as_bool)
                        .unwrap_or(false)
                })
                .map(|name| (*name).to_owned())
                .collect();
            let description = text("description");
            Summary {
                title: text("title"),
                description: if description.is_empty() {
                    package_summary
                } else {
                    description
                },
                modes,
                capabilities,
            }
        }
        None => Summary {
            title: String::new(),
            description: package_summary,
            modes: Vec::new(),
            capabilities: Vec::new(),
        },
    }
}

fn row(component: &ComponentName, package: &PackageView, root: &str) -> Row {
    let summary = component_summary(component.as_str(), package);
    Row {
        component: component.to_string(),
        href: format!("{root}components/{component}.html"),
        title: summary.title,
        description: summary.description,
        package: package.name.clone(),
        version: package.featured().entry.version.clone(),
        modes: summary.modes,
        osiris: package.featured().entry.osiris.clone(),
        status: package.status.as_str(),
    }
}

/// A list of components with a name, written as pages of [`PAGE_SIZE`].
struct Listing<'c> {
    /// The file name stem below `browse/` (`all`, `family-shopify`, `osiris-0.5.7`).
    stem: String,
    heading: String,
    members: Vec<(&'c ComponentName, &'c PackageView)>,
}

impl Listing<'_> {
    fn page_file(&self, page: usize) -> String {
        if page == 1 {
            format!("{}.html", self.stem)
        } else {
            format!("{}.page-{page}.html", self.stem)
        }
    }

    fn page_count(&self) -> usize {
        self.members.len().div_ceil(PAGE_SIZE).max(1)
    }

    fn link(&self, label: String, root: &str) -> Link {
        Link {
            label,
            href: format!("{root}browse/{}", self.page_file(1)),
            count: self.members.len(),
            current: false,
        }
    }
}

/// Renders every page and the search index into `writer`.
pub fn render_all(
    catalog: &Catalog,
    site: &SiteInfo,
    writer: &SiteWriter,
) -> Result<(), SiteError> {
    let components = catalog.components();
    let listings = listings(catalog, &components);
    let find = |prefix: &str| -> Vec<&Listing<'_>> {
        listings
            .iter()
            .filter(|l| l.stem.starts_with(prefix))
            .collect()
    };
    let links = |prefix: &str| -> Vec<Link> {
        find(prefix)
            .into_iter()
            .map(|l| l.link(l.heading.clone(), ""))
            .collect()
    };
    let home = HomePage {
        layout: Layout { root: "", site },
        rows: components
            .iter()
            .take(PAGE_SIZE)
            .map(|(c, p)| row(c, p, ""))
            .collect(),
        total: components.len(),
        releases: catalog.osiris_releases.iter().rev().cloned().collect(),
        modes: links("mode-"),
        capabilities: links("capability-"),
        osiris: links("osiris-").into_iter().rev().collect(),
        statuses: links("status-"),
        families: find("family-").len(),
        more: components.len() > PAGE_SIZE,
    };
    writer.write("index.html", render(&home, "index.html")?.as_bytes())?;
    writer.write("search-index.js", search::render(catalog).as_bytes())?;
    for (name, bytes) in super::ASSETS {
        writer.write(&format!("assets/{name}"), bytes)?;
    }
    let families = FamiliesPage {
        layout: Layout { root: "../", site },
        families: find("family-")
            .into_iter()
            .map(|l| l.link(l.heading.clone(), "../"))
            .collect(),
    };
    writer.write(
        "browse/families.html",
        render(&families, "families")?.as_bytes(),
    )?;
    listings
        .par_iter()
        .flat_map(|listing| {
            (1..=listing.page_count())
                .into_par_iter()
                .map(move |page| (listing, page))
        })
        .try_for_each(|(listing, page)| {
            let file = listing.page_file(page);
            let count = listing.page_count();
            let body = ListingPage {
                layout: Layout { root: "../", site },
                heading: listing.heading.clone(),
                rows: listing
                    .members
                    .iter()
                    .skip((page - 1) * PAGE_SIZE)
                    .take(PAGE_SIZE)
                    .map(|(c, p)| row(c, p, "../"))
                    .collect(),
                total: listing.members.len(),
                pages: if count > 1 {
                    (1..=count)
                        .map(|at| Link {
                            label: at.to_string(),
                            href: listing.page_file(at),
                            count: 0,
                            current: at == page,
                        })
                        .collect()
                } else {
                    Vec::new()
                },
            };
            writer.write(&format!("browse/{file}"), render(&body, &file)?.as_bytes())
        })?;
    components.par_iter().try_for_each(|(component, package)| {
        let page = component_page(component, package, catalog, site);
        let file = format!("components/{component}.html");
        writer.write(&file, render(&page, &file)?.as_bytes())
    })
}

fn render(template: &impl Template, page: &str) -> Result<String, SiteError> {
    template.render().map_err(|error| SiteError::Render {
        page: page.to_owned(),
        reason: error.to_string(),
    })
}

fn listings<'c>(
    catalog: &'c Catalog,
    components: &[(&'c ComponentName, &'c PackageView)],
) -> Vec<Listing<'c>> {
    let mut listings = vec![Listing {
        stem: "all".to_owned(),
        heading: "All components".to_owned(),
        members: components.to_vec(),
    }];
    let mut families: std::collections::BTreeMap<&str, Vec<_>> = Default::default();
    for member in components {
        families.entry(member.0.family()).or_default().push(*member);
    }
    listings.extend(families.into_iter().map(|(family, members)| Listing {
        stem: format!("family-{family}"),
        heading: family.to_owned(),
        members,
    }));
    let summaries: Vec<Summary> = components
        .iter()
        .map(|(c, p)| component_summary(c.as_str(), p))
        .collect();
    // `load` is the deprecated spelling of `write`; it gets no list of its own.
    for mode in spec::MODES.iter().filter(|mode| **mode != "load") {
        listings.push(Listing {
            stem: format!("mode-{mode}"),
            heading: (*mode).to_owned(),
            members: filter(components, |at| {
                summaries[at].modes.iter().any(|m| m == *mode)
            }),
        });
    }
    for capability in spec::CAPABILITIES {
        listings.push(Listing {
            stem: format!("capability-{capability}"),
            heading: (*capability).to_owned(),
            members: filter(components, |at| {
                summaries[at].capabilities.iter().any(|c| c == capability)
            }),
        });
    }
    for (at_release, release) in catalog.osiris_releases.iter().enumerate() {
        listings.push(Listing {
            stem: format!("osiris-{release}"),
            heading: format!("Osiris {release}"),
            members: filter(components, |at| components[at].1.compatible[at_release]),
        });
    }
    for status in Status::ALL {
        listings.push(Listing {
            stem: format!("status-{}", status.as_str()),
            heading: status.as_str().to_owned(),
            members: filter(components, |at| components[at].1.status == status),
        });
    }
    listings
}

fn filter<'c>(
    components: &[(&'c ComponentName, &'c PackageView)],
    keep: impl Fn(usize) -> bool,
) -> Vec<(&'c ComponentName, &'c PackageView)> {
    components
        .iter()
        .enumerate()
        .filter(|(at, _)| keep(*at))
        .map(|(_, member)| *member)
        .collect()
}

fn version_row(version: &VersionView) -> VersionRow {
    VersionRow {
        version: version.entry.version.clone(),
        osiris: version.entry.osiris.clone(),
        python: version.entry.python.clone(),
        date: version.date.clone(),
        yanked: version.entry.yanked,
        key_id: version.entry.key_id.clone(),
        verified: version.signature.is_ok(),
        reason: version.signature.clone().err().unwrap_or_default(),
        fits: version.osiris_fits.clone(),
    }
}

fn component_page<'a>(
    component: &ComponentName,
    package: &PackageView,
    catalog: &Catalog,
    site: &'a SiteInfo,
) -> ComponentPage<'a> {
    let featured = &package.featured().entry;
    let details = package.details.as_ref();
    let spec_result = match details {
        Ok(details) => match details.specs.get(component.as_str()) {
            Some(Ok(spec)) => Ok(SpecView::from_spec(component.as_str(), spec)),
            Some(Err(reason)) => Err(reason.clone()),
            None => Err("the package's manifest lists no spec for it".to_owned()),
        },
        Err(reason) => Err(reason.clone()),
    };
    let document = |doc: Option<&super::details::Document>| {
        doc.map(|doc| {
            if doc.markdown {
                markdown::render(&doc.text)
            } else {
                markdown::preformatted(&doc.text)
            }
        })
    };
    let mut install = format!("ocp install {component}");
    if let Some(url) = &site.index_url {
        install.push_str(&format!(" --index {url}"));
    }
    let (rows, examples, spec, spec_problem) = match spec_result {
        Ok(view) => (
            view.rows.clone(),
            view.examples.clone(),
            Some(view),
            String::new(),
        ),
        Err(reason) => (Vec::new(), Vec::new(), None, reason),
    };
    ComponentPage {
        layout: Layout { root: "../", site },
        component: component.to_string(),
        package: package.name.clone(),
        version: featured.version.clone(),
        status: package.status.as_str(),
        featured_yanked: featured.yanked,
        install,
        summary: details
            .ok()
            .and_then(|d| d.summary.clone())
            .unwrap_or_default(),
        license: details
            .ok()
            .and_then(|d| d.license.clone())
            .unwrap_or_default(),
        author: details
            .ok()
            .and_then(|d| d.author.clone())
            .unwrap_or_default(),
        spec,
        spec_problem,
        rows,
        examples,
        versions: package.versions.iter().map(version_row).collect(),
        releases: catalog.osiris_releases.clone(),
        owners: match &package.owners {
            Ok(owners) => owners
                .iter()
                .map(|o| (o.key_id.clone(), o.public_key.clone()))
                .collect(),
            Err(_) => Vec::new(),
        },
        owners_problem: package.owners.as_ref().err().cloned().unwrap_or_default(),
        siblings: package
            .components
            .iter()
            .filter(|c| *c != component)
            .map(ToString::to_string)
            .collect(),
        dependencies: featured
            .dependencies
            .iter()
            .map(|d| (d.name.clone(), d.requirement.clone()))
            .collect(),
        python_dependencies: featured.python_dependencies.clone(),
        readme: details.ok().and_then(|d| document(d.readme.as_ref())),
        changelog: details.ok().and_then(|d| document(d.changelog.as_ref())),
        details_problem: details.err().cloned().unwrap_or_default(),
    }
}
