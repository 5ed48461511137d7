//! Reads a package directory into located models: pyproject.toml, every spec.yaml, and the
//! Python modules that entry points and drivers name. Loading never fails on bad content;
//! what it cannot read becomes a [`Diagnostic`] so `ocp check` reports everything at once.
//! Errors reading the directory itself (it does not exist) are returned as `Err`.
//! [`edit`] holds the few edits ocp makes to a package's files (versions, entry points,
//! dependencies, CHANGELOG), each keeping the rest of the file as it was.

pub mod edit;
pub mod files;
pub mod imports;
pub mod pyproject;
pub mod python;
pub mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::check::codes;
use crate::diagnostics::{Diagnostic, SourceMap};
use files::{FileProblem, PackageFile};
use pyproject::Pyproject;
use yaml::{LocatedYaml, YamlError};

/// A spec.yaml that parsed as YAML.
#[derive(Debug)]
pub struct SpecFile {
    /// Path relative to the package root (`src/shopify_osiris/spec.yaml`).
    pub path: String,
    pub yaml: LocatedYaml,
}

/// Everything ocp read from a package directory.
#[derive(Debug)]
pub struct Package {
    pub root: PathBuf,
    pub files: Vec<PackageFile>,
    pub sources: SourceMap,
    /// Findings made while reading (syntax errors, unreadable files).
    pub load_problems: Vec<Diagnostic>,
    pub pyproject: Option<Pyproject>,
    pub specs: Vec<SpecFile>,
    /// Spec files found but not parsed (syntax errors), so rules know they exist.
    pub broken_specs: Vec<String>,
    /// Parsed Python modules by relative path.
    python: BTreeMap<String, python::Module>,
}

/// The name of the file every component spec lives in.
pub const SPEC_FILE_NAME: &str = "spec.yaml";

impl Package {
    /// Reads the package at `root`.
    pub fn load(root: &Path) -> anyhow::Result<Package> {
        if !root.exists() {
            bail!("`{}` does not exist", root.display());
        }
        if !root.is_dir() {
            bail!("`{}` is not a directory", root.display());
        }
        std::fs::read_dir(root)
            .with_context(|| format!("failed to read the directory `{}`", root.display()))?;
        let (files, problems) = files::list(root);
        let mut package = Package {
            root: root.to_path_buf(),
            files,
            sources: SourceMap::default(),
            load_problems: Vec::new(),
            pyproject: None,
            specs: Vec::new(),
            broken_specs: Vec::new(),
            python: BTreeMap::new(),
        };
        for problem in problems {
            package.load_problems.push(match problem {
                FileProblem::SymlinkLeaves { relative, target } => Diagnostic::error(
                    codes::SYMLINK_LEAVES,
                    format!(
                        "symlink `{relative}` points outside the package, to `{}`",
                        target.display()
                    ),
                )
                .in_file(relative)
                .help("replace the link with the file itself, or remove it"),
                FileProblem::Symlink { relative, target } => Diagnostic::error(
                    codes::SYMLINK,
                    format!(
                        "`{relative}` is a symlink (to `{}`); an OCP contains no symlinks",
                        target.display()
                    ),
                )
                .in_file(relative)
                .help("replace the link with the file it points to, or add it to `.gitignore`"),
                FileProblem::Unreadable { relative, reason } => Diagnostic::error(
                    codes::UNREADABLE,
                    format!("cannot read `{relative}`: {reason}"),
                )
                .in_file(relative.clone())
                .help(format!("fix the permissions (`chmod -R u+rX {relative}`), or add the path to `.gitignore`")),
            });
        }
        package.load_pyproject();
        package.load_specs();
        package.load_python();
        package.check_text_files();
        Ok(package)
    }

    fn has_file(&self, relative: &str) -> bool {
        self.files.iter().any(|file| file.relative == relative)
    }

    /// Reads a file as UTF-8, recording a located finding when it is not.
    fn read_source(&mut self, relative: &str) -> Option<String> {
        let path = self.root.join(relative);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) => {
                self.load_problems.push(
                    Diagnostic::error(
                        codes::UNREADABLE,
                        format!("cannot read `{relative}`: {error}"),
                    )
                    .in_file(relative),
                );
                return None;
            }
        };
        match String::from_utf8(bytes) {
            Ok(text) => {
                self.sources.insert(relative, text.clone());
                Some(text)
            }
            Err(error) => {
                let valid = error.utf8_error().valid_up_to();
                let bytes = error.into_bytes();
                let lossy = String::from_utf8_lossy(&bytes).into_owned();
                let line = bytes[..valid].iter().filter(|b| **b == b'\n').count() + 1;
                self.sources.insert(relative, lossy.clone());
                let offset = lossy
                    .char_indices()
                    .nth(String::from_utf8_lossy(&bytes[..valid]).chars().count())
                    .map_or(lossy.len(), |(i, _)| i);
                self.load_problems.push(
                    Diagnostic::error(
                        codes::NOT_UTF8,
                        format!("`{relative}` is not valid UTF-8 (invalid byte on line {line})"),
                    )
                    .at(relative, offset..offset + 1)
                    .label("not UTF-8")
                    .help("save the file as UTF-8"),
                );
                None
            }
        }
    }

    fn load_pyproject(&mut self) {
        if !self.has_file("pyproject.toml") {
            return;
        }
        let Some(text) = self.read_source("pyproject.toml") else {
            return;
        };
        match Pyproject::parse(&text) {
            Ok(pyproject) => self.pyproject = Some(pyproject),
            Err(error) => self.load_problems.push(
                Diagnostic::error(
                    codes::TOML_SYNTAX,
                    format!("pyproject.toml is not valid TOML: {}", error.message),
                )
                .at_opt("pyproject.toml", error.span)
                .label("invalid TOML"),
            ),
        }
    }

    /// Every `spec.yaml` outside `tests/`.
    pub fn spec_paths(&self) -> Vec<String> {
        self.files
            .iter()
            .map(|file| file.relative.clone())
            .filter(|path| {
                (path == SPEC_FILE_NAME || path.ends_with(&format!("/{SPEC_FILE_NAME}")))
                    && !is_test_path(path)
            })
            .collect()
    }

    fn load_specs(&mut self) {
        for path in self.spec_paths() {
            let Some(text) = self.read_source(&path) else {
                self.broken_specs.push(path);
                continue;
            };
            match yaml::load(&text) {
                Ok(yaml) => {
                    for alias in &yaml.aliases {
                        let span = yaml.value_span(alias);
                        self.load_problems.push(
                            Diagnostic::warning(codes::YAML_ALIAS, format!("`{path}` uses a YAML alias at `{alias}`, which ocp does not expand"))
                                .at_opt(&path, span)
                                .help("write the value out in full so every tool reads the same spec"),
                        );
                    }
                    self.specs.push(SpecFile { path, yaml });
                }
                Err(error) => {
                    let diagnostic = match error {
                        YamlError::Syntax { message, offset } => {
                            Diagnostic::error(codes::YAML_SYNTAX, format!("`{path}` is not valid YAML: {message}"))
                                .at(&path, offset..offset)
                                .label("the parser stopped here")
                        }
                        YamlError::TooDeep { offset } => Diagnostic::error(
                            codes::YAML_SYNTAX,
                            format!("`{path}` nests mappings and sequences more than {} levels deep", crate::package::yaml::MAX_DEPTH),
                        )
                        .at(&path, offset..offset)
                        .label("too deep from here on")
                        .help("a component spec is a few levels deep; flatten the structure"),
                        YamlError::Empty => Diagnostic::error(codes::SPEC_NOT_MAPPING, format!("`{path}` is empty"))
                            .in_file(&path)
                            .help("run `ocp new` in another directory to see a complete spec.yaml"),
                        YamlError::MultipleDocuments { second_offset } => Diagnostic::error(
                            codes::YAML_SYNTAX,
                            format!("`{path}` holds more than one YAML document; Osiris reads exactly one"),
                        )
                        .at(&path, second_offset..second_offset)
                        .label("a second document starts here")
                        .help("remove the `---` separator and everything after it, or merge the documents"),
                    };
                    self.load_problems.push(diagnostic);
                    self.broken_specs.push(path);
                }
            }
        }
    }

    fn load_python(&mut self) {
        let python_files: Vec<String> = self
            .files
            .iter()
            .map(|file| file.relative.clone())
            .filter(|path| path.ends_with(".py"))
            .collect();
        for path in python_files {
            if let Some(text) = self.read_source(&path) {
                self.python.insert(path, python::parse_module(&text));
            }
        }
    }

    /// Text files that are not UTF-8 are reported; other files are not read here.
    fn check_text_files(&mut self) {
        const TEXT_EXTENSIONS: &[&str] = &[
            ".md", ".txt", ".cfg", ".ini", ".json", ".yml", ".yaml", ".toml", ".rst",
        ];
        let candidates: Vec<String> = self
            .files
            .iter()
            .map(|file| file.relative.clone())
            .filter(|path| {
                TEXT_EXTENSIONS.iter().any(|ext| path.ends_with(ext))
                    || ["LICENSE", "README", "CHANGELOG"].contains(&path.as_str())
            })
            .filter(|path| self.sources.get(path).is_none())
            .collect();
        for path in candidates {
            let _ = self.read_source(&path);
        }
    }

    /// Where a dotted module lives: `src/a/b.py`, `src/a/b/__init__.py`, or the same without
    /// `src/` (flat layout).
    pub fn module_path(&self, module: &str) -> Option<String> {
        let parts = module.replace('.', "/");
        [
            format!("src/{parts}.py"),
            format!("src/{parts}/__init__.py"),
            format!("{parts}.py"),
            format!("{parts}/__init__.py"),
        ]
        .into_iter()
        .find(|candidate| self.has_file(candidate))
    }

    /// The parsed module at a relative path.
    pub fn python_module(&self, path: &str) -> Option<&python::Module> {
        self.python.get(path)
    }

    /// Every parsed module outside `tests/`, by relative path.
    pub fn python_modules(&self) -> impl Iterator<Item = (&str, &python::Module)> {
        self.python
            .iter()
            .filter(|(path, _)| !is_test_path(path))
            .map(|(path, module)| (path.as_str(), module))
    }

    /// The dotted module a relative path holds: `src/a/b.py` and `src/a/b/__init__.py` are
    /// `a.b`. `None` for files that are not Python or lie outside the source root.
    pub fn module_name(&self, path: &str) -> Option<String> {
        let root = self.source_root();
        let inside = if root.is_empty() {
            path
        } else {
            path.strip_prefix(root)?.strip_prefix('/')?
        };
        let stem = inside.strip_suffix(".py")?;
        let stem = stem.strip_suffix("/__init__").unwrap_or(stem);
        Some(stem.replace('/', "."))
    }

    /// The top-level import packages and modules this package ships (`shopify_osiris`): the
    /// folders with an `__init__.py` and the `.py` files directly under the source root,
    /// leaving out tests and build scripts in a flat layout.
    pub fn import_packages(&self) -> Vec<String> {
        const NOT_SHIPPED: &[&str] = &["setup", "conftest", "noxfile", "tests", "test", "docs"];
        let root = self.source_root();
        let mut names: Vec<String> = self
            .files
            .iter()
            .filter_map(|file| {
                let inside = if root.is_empty() {
                    file.relative.as_str()
                } else {
                    file.relative.strip_prefix(root)?.strip_prefix('/')?
                };
                match inside.split_once('/') {
                    Some((top, "__init__.py")) => Some(top.to_owned()),
                    None => inside.strip_suffix(".py").map(str::to_owned),
                    Some(_) => None,
                }
            })
            .filter(|name| !NOT_SHIPPED.contains(&name.as_str()))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The import package a spec belongs to: the folder it sits in, as a dotted name
    /// (`src/acme_osiris/processor/spec.yaml` is in `acme_osiris.processor`), when that folder
    /// is a package.
    pub fn spec_import_package(&self, spec_path: &str) -> Option<String> {
        let directory = spec_path.rsplit_once('/')?.0;
        if !self.has_file(&format!("{directory}/__init__.py")) {
            return None;
        }
        self.module_name(&format!("{directory}/__init__.py"))
    }

    /// The directory holding importable packages: `src` in the src layout, else the root.
    pub fn source_root(&self) -> &'static str {
        if self
            .files
            .iter()
            .any(|file| file.relative.starts_with("src/"))
        {
            "src"
        } else {
            ""
        }
    }
}

/// Files under `tests/` or `test/` are the package's tests, not what it ships.
fn is_test_path(path: &str) -> bool {
    path.starts_with("tests/") || path.starts_with("test/")
}
