//! The Python requirements of a migrated component: every distribution the spec names in
//! `x-runtime.requirements` (`packages`, and the distributions of `imports`) and every
//! third-party module the carried code imports. Each keeps the tightest range that someone
//! already stated for it: the spec's own `packages` item, else its `compatibility.requires`
//! items (`sqlalchemy>=2.0`), else the requirement Osiris itself declares (`pandas>=2.0.0`),
//! else the bare name. Osiris is never one of them: the package's `osiris-pipeline` range
//! is decided apart.

use std::collections::BTreeMap;
use std::str::FromStr;

use super::component::Builtin;
use super::modules::Carried;
use super::source::OsirisSource;
use crate::check::distribution_for_import;
use crate::model::normalize_name;

/// Distributions a migrated package never lists among its own requirements.
const NEVER: &[&str] = &["osiris-pipeline", "osiris", "python"];

/// The requirements, sorted by name.
pub fn requirements(builtin: &Builtin, carried: &Carried, source: &OsirisSource) -> Vec<String> {
    let strings = |pointer: &str| builtin.strings(pointer);
    // name -> the requirement the spec's `packages` states (may be the bare name)
    let mut wanted: BTreeMap<String, Option<String>> = BTreeMap::new();
    for item in strings("/x-runtime/requirements/packages") {
        if let Ok(requirement) = pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(&item) {
            let name = normalize_name(requirement.name.as_ref());
            let stated = requirement.version_or_url.is_some().then(|| item.clone());
            wanted.insert(name, stated);
        }
    }
    let imports = strings("/x-runtime/requirements/imports");
    for top in imports
        .iter()
        .map(|import| import.split('.').next().unwrap_or_default().to_owned())
        .chain(carried.third_party.iter().cloned())
    {
        if let Some(name) = distribution_for_import(&top) {
            wanted.entry(normalize_name(&name)).or_insert(None);
        }
    }
    let compatibility = strings("/compatibility/requires");
    wanted
        .into_iter()
        .filter(|(name, _)| !NEVER.contains(&name.as_str()))
        .map(|(name, stated)| {
            stated
                .or_else(|| compatibility_bounds(&compatibility, &name))
                .or_else(|| source.requirement_for(&name).map(str::to_owned))
                .unwrap_or(name)
        })
        .collect()
}

/// `sqlalchemy>=2.0` from `compatibility.requires` items (one bound each), joined.
fn compatibility_bounds(items: &[String], name: &str) -> Option<String> {
    let bounds: Vec<&str> = items
        .iter()
        .filter_map(|item| {
            let at = item.find(['<', '>', '=', '!', '~'])?;
            (normalize_name(item[..at].trim()) == name).then(|| item[at..].trim())
        })
        .collect();
    if bounds.is_empty() {
        return None;
    }
    let text = format!("{name}{}", bounds.join(","));
    pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(&text)
        .is_ok()
        .then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatibility_items_become_one_requirement() {
        let items = vec![
            "python>=3.10".to_owned(),
            "sqlalchemy>=2.0".to_owned(),
            "SQLAlchemy<3".to_owned(),
            "jsonpath-ng>=1.5.0".to_owned(),
        ];
        assert_eq!(
            compatibility_bounds(&items, "sqlalchemy").as_deref(),
            Some("sqlalchemy>=2.0,<3")
        );
        assert_eq!(
            compatibility_bounds(&items, "jsonpath-ng").as_deref(),
            Some("jsonpath-ng>=1.5.0")
        );
        assert_eq!(compatibility_bounds(&items, "pandas"), None);
    }
}
