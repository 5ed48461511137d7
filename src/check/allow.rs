//! `[tool.ocp.check] allow = ["D004"]` in pyproject.toml: codes the package's authors have
//! looked at and decided to live with. Their findings are left out of the report, which
//! counts them. Codes in [`codes::NOT_ALLOWABLE`] describe a package that cannot work and
//! stay; an unknown code or one that cannot be allowed is itself reported (P014).

use std::collections::BTreeMap;

use super::codes;
use crate::diagnostics::Diagnostic;
use crate::package::Package;
use crate::package::pyproject::NotAList;

const FILE: &str = "pyproject.toml";

/// The codes the package allows, after reporting the entries that cannot be used.
pub fn allowed_codes(package: &Package, out: &mut Vec<Diagnostic>) -> Vec<&'static str> {
    let Some(allow) = package
        .pyproject
        .as_ref()
        .and_then(|pyproject| pyproject.check_allow())
    else {
        return Vec::new();
    };
    let entries = match allow {
        Ok(entries) => entries,
        Err(NotAList(span)) => {
            out.push(
                Diagnostic::warning(
                    codes::ALLOW_LIST,
                    "`[tool.ocp.check] allow` is not a list of codes, so nothing is allowed",
                )
                .at_opt(FILE, span)
                .help("write `allow = [\"D004\"]` with the codes of `ocp check` findings"),
            );
            return Vec::new();
        }
    };
    let mut allowed = Vec::new();
    for entry in entries {
        let code = entry.value.trim().to_ascii_uppercase();
        match codes::ALL.iter().find(|known| **known == code) {
            None => out.push(
                Diagnostic::warning(
                    codes::ALLOW_LIST,
                    format!("`{}` is not an `ocp check` code", entry.value),
                )
                .at_opt(FILE, entry.span)
                .help("the codes are listed in docs/check-codes.md and shown in brackets, as in `error[D004]`"),
            ),
            Some(known) if codes::NOT_ALLOWABLE.contains(known) => out.push(
                Diagnostic::warning(
                    codes::ALLOW_LIST,
                    format!("`{known}` cannot be allowed: a package with this finding cannot be built, installed or run"),
                )
                .at_opt(FILE, entry.span)
                .help(format!("fix the `{known}` findings and remove `{known}` from `allow`")),
            ),
            Some(known) => allowed.push(*known),
        }
    }
    allowed
}

/// Removes the findings of allowed codes; returns how many each code had.
pub fn remove_allowed(
    diagnostics: &mut Vec<Diagnostic>,
    allowed: &[&'static str],
) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    diagnostics.retain(|diagnostic| {
        if allowed.contains(&diagnostic.code) {
            *counts.entry(diagnostic.code).or_insert(0) += 1;
            false
        } else {
            true
        }
    });
    counts
}

#[cfg(test)]
mod tests {
    use super::codes;

    #[test]
    fn every_code_is_known_and_not_allowable_codes_exist() {
        let source = include_str!("codes.rs");
        let declared: Vec<&str> = source
            .lines()
            .filter(|line| line.starts_with("pub const") && line.contains(": &str = \""))
            .filter_map(|line| line.split('"').nth(1))
            .collect();
        assert_eq!(declared.len(), codes::ALL.len());
        for code in declared {
            assert!(codes::ALL.contains(&code), "{code} is missing from ALL");
        }
        for code in codes::NOT_ALLOWABLE {
            assert!(codes::ALL.contains(code));
        }
    }
}
