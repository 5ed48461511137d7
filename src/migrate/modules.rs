//! The Python modules a migrated component carries: the module that holds its driver (or
//! connector) and the sibling modules of the same Osiris folder it imports privately
//! (`from .posthog_client import ...`), copied with their imports rewritten into the new
//! package. Every other import of Osiris stays a dependency on `osiris-pipeline`, made
//! absolute if it was relative (`from ..core.driver import Driver` becomes
//! `from osiris.core.driver import Driver`), and is reported with its line. Third-party imports
//! become the package's requirements. Only import statements are rewritten; the code is
//! read, never run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::MigrateError;
use super::source::{is_identifier, read_text};
use crate::diagnostics::line_column;
use crate::package::imports::Import;
use crate::package::python;

/// How many modules one component may carry (a driver and the helpers beside it).
pub const MAX_MODULES: usize = 64;

/// A module copied into the new package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarriedModule {
    /// Its file name, kept from Osiris (`mysql_extractor_driver.py`).
    pub file_name: String,
    /// The Osiris file it was copied from.
    pub source: PathBuf,
    /// The text with its imports rewritten.
    pub text: String,
}

/// An import of Osiris that stays a dependency on `osiris-pipeline`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeptImport {
    /// The Osiris file that imports it, relative to the code root (`osiris/drivers/x.py`).
    pub file: String,
    pub line: usize,
    /// The absolute module (`osiris.core.secrets_masking`).
    pub module: String,
}

/// What a component carries.
#[derive(Debug, Clone, Default)]
pub struct Carried {
    /// The entry module first, then its siblings in file-name order.
    pub modules: Vec<CarriedModule>,
    pub kept: Vec<KeptImport>,
    /// Top-level third-party modules imported outside `try:` and `if TYPE_CHECKING:`.
    pub third_party: BTreeSet<String>,
}

/// Copies `entry` (a dotted module under `code_root`) and the siblings it imports into the
/// package module `target` (`mysql_osiris` or `mysql_osiris.writer`).
pub fn carry(code_root: &Path, entry: &str, target: &str) -> Result<Carried, MigrateError> {
    let (folder_module, entry_stem) = entry.rsplit_once('.').unwrap_or(("", entry));
    let folder = folder_module
        .split('.')
        .filter(|part| !part.is_empty())
        .fold(code_root.to_path_buf(), |path, part| path.join(part));
    let sibling = |stem: &str| -> Option<PathBuf> {
        let file = folder.join(format!("{stem}.py"));
        (is_identifier(stem) && stem != "__init__" && file.is_file()).then_some(file)
    };
    let relative = |path: &Path| -> String {
        path.strip_prefix(code_root)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/")
    };
    let mut carried = Carried::default();
    let mut done: BTreeMap<String, CarriedModule> = BTreeMap::new();
    let mut queue = vec![entry_stem.to_owned()];
    while let Some(stem) = queue.pop() {
        if done.contains_key(&stem) {
            continue;
        }
        if done.len() >= MAX_MODULES {
            return Err(MigrateError::TooManyModules {
                entry: entry.to_owned(),
                limit: MAX_MODULES,
            });
        }
        let Some(file) = sibling(&stem) else {
            continue;
        };
        let text = read_text(&file)?;
        let module = python::parse_module(&text);
        let mut replacements: Vec<(std::ops::Range<usize>, String)> = Vec::new();
        for import in &module.imports {
            let plan = plan_import(import, folder_module, target, &sibling);
            queue.extend(plan.siblings);
            if let Some(kept) = plan.kept {
                carried.kept.push(KeptImport {
                    file: relative(&file),
                    line: line_column(&text, import.span.start).line,
                    module: kept,
                });
            }
            if let Some(rewrite) = plan.rewrite {
                replacements.push((import.span.clone(), rewrite));
            }
            if let Some(top) = import.top_level()
                && top != "osiris"
                && !import.optional
                && !import.type_only
            {
                carried.third_party.insert(top.to_owned());
            }
        }
        replacements.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
        let mut rewritten = text.clone();
        for (span, with) in replacements {
            if rewritten.get(span.clone()).is_some() {
                rewritten.replace_range(span, &with);
            }
        }
        done.insert(
            stem.clone(),
            CarriedModule {
                file_name: format!("{stem}.py"),
                source: file,
                text: rewritten,
            },
        );
    }
    let mut modules: Vec<CarriedModule> = Vec::new();
    if let Some(first) = done.remove(entry_stem) {
        modules.push(first);
    }
    modules.extend(done.into_values());
    carried.modules = modules;
    carried.kept.sort();
    carried.kept.dedup();
    Ok(carried)
}

/// What to do with one import statement.
#[derive(Debug, Default, PartialEq, Eq)]
struct ImportPlan {
    /// The new text of the import's module (its span), if it changes.
    rewrite: Option<String>,
    /// Sibling modules to carry too.
    siblings: Vec<String>,
    /// The Osiris module that stays a dependency.
    kept: Option<String>,
}

fn plan_import(
    import: &Import,
    folder: &str,
    target: &str,
    sibling: &dyn Fn(&str) -> Option<PathBuf>,
) -> ImportPlan {
    let mut plan = ImportPlan::default();
    // The absolute module the statement names, and whether it was relative.
    let absolute = if import.level == 0 {
        import.module.clone()
    } else {
        let mut parts: Vec<&str> = folder.split('.').filter(|p| !p.is_empty()).collect();
        if import.level - 1 > parts.len() {
            return plan; // above the top of the tree: Python refuses it too
        }
        parts.truncate(parts.len() - (import.level - 1));
        let base = parts.join(".");
        match (base.is_empty(), import.module.is_empty()) {
            (_, true) => base,
            (true, false) => import.module.clone(),
            (false, false) => format!("{base}.{}", import.module),
        }
    };
    if absolute.split('.').next() != Some("osiris") && import.level == 0 {
        return plan; // the standard library or a third party
    }
    let in_folder = |module: &str| -> Option<String> {
        let rest = module.strip_prefix(folder)?.strip_prefix('.')?;
        let stem = rest.split('.').next()?;
        sibling(stem).map(|_| stem.to_owned())
    };
    if let Some(stem) = in_folder(&absolute) {
        // `osiris.drivers.posthog_client` or `.posthog_client`: a sibling, carried along.
        plan.siblings.push(stem);
        if import.level == 0 {
            plan.rewrite = Some(format!("{target}{}", &absolute[folder.len()..]));
        }
        return plan;
    }
    if absolute == folder
        && !import.names.is_empty()
        && import.names.iter().all(|name| sibling(name).is_some())
    {
        // `from osiris.drivers import posthog_client` or `from . import posthog_client`.
        plan.siblings.extend(import.names.iter().cloned());
        if import.level == 0 {
            plan.rewrite = Some(target.to_owned());
        }
        return plan;
    }
    if import.level > 0 {
        plan.rewrite = Some(absolute.clone());
    }
    plan.kept = Some(absolute);
    plan
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let drivers = dir.path().join("osiris/drivers");
        fs::create_dir_all(&drivers).expect("mkdir");
        fs::write(drivers.join("__init__.py"), "").expect("write");
        fs::write(
            drivers.join("x_driver.py"),
            "import logging\nimport pandas as pd\nfrom .client import Client\nfrom ..core.driver import Driver\nfrom osiris.drivers.helpers import helper\nfrom osiris.drivers import client\ntry:\n    import psycopg2\nexcept ImportError:\n    psycopg2 = None\n\ndef f():\n    from osiris.core.secrets_masking import mask\n\nclass XDriver:\n    def run(self, *, step_id, config, inputs=None, ctx=None):\n        return {}\n",
        )
        .expect("write");
        fs::write(
            drivers.join("client.py"),
            "import requests\nfrom . import helpers\n",
        )
        .expect("write");
        fs::write(drivers.join("helpers.py"), "def helper():\n    pass\n").expect("write");
        fs::write(drivers.join("unused.py"), "import boto3\n").expect("write");
        dir
    }

    #[test]
    fn carries_siblings_and_keeps_the_rest_of_osiris() {
        let dir = tree();
        let carried = carry(dir.path(), "osiris.drivers.x_driver", "x_osiris").expect("carry");
        let names: Vec<&str> = carried
            .modules
            .iter()
            .map(|m| m.file_name.as_str())
            .collect();
        assert_eq!(names, ["x_driver.py", "client.py", "helpers.py"]);
        let driver = &carried.modules[0].text;
        assert!(driver.contains("from .client import Client\n"), "{driver}");
        assert!(
            driver.contains("from osiris.core.driver import Driver\n"),
            "{driver}"
        );
        assert!(
            driver.contains("from x_osiris.helpers import helper\n"),
            "{driver}"
        );
        assert!(driver.contains("from x_osiris import client\n"), "{driver}");
        assert!(
            driver.contains("    from osiris.core.secrets_masking import mask\n"),
            "{driver}"
        );
        let kept: Vec<(usize, &str)> = carried
            .kept
            .iter()
            .map(|k| (k.line, k.module.as_str()))
            .collect();
        assert_eq!(
            kept,
            [
                (4, "osiris.core.driver"),
                (13, "osiris.core.secrets_masking")
            ]
        );
        assert!(
            carried
                .kept
                .iter()
                .all(|k| k.file == "osiris/drivers/x_driver.py")
        );
        let third: Vec<&str> = carried.third_party.iter().map(String::as_str).collect();
        assert_eq!(third, ["logging", "pandas", "requests"]);
    }

    #[test]
    fn a_subpackage_target_gets_the_dotted_path() {
        let dir = tree();
        let carried =
            carry(dir.path(), "osiris.drivers.x_driver", "x_osiris.writer").expect("carry");
        assert!(
            carried.modules[0]
                .text
                .contains("from x_osiris.writer.helpers import helper\n")
        );
    }
}
