//! Stage 1, the request: turns the specs, the lock file and the environment into what the
//! resolver is asked. Local tarballs are checked against the trusted keys here, at the edge,
//! so later stages only see signed packages.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::Context;
use pep440_rs::Version;

use super::{InstallOpts, LocalSigner, Unlock};
use crate::error::{HelpExt, helped};
use crate::index::Index;
use crate::index::format::IndexEntry;
use crate::install_spec::InstallSpec;
use crate::lockfile::{self, Lockfile};
use crate::pyenv::PythonEnv;
use crate::resolve::{Request, Requirement};
use crate::shell::Shell;
use crate::signing::{PackageClaim, SignatureFile};

/// What the user asked for, ready for the resolver.
pub struct InstallRequest {
    /// The Osiris and Python versions to resolve for.
    pub osiris: Version,
    pub python: Version,
    /// The lock file as it is on disk, if there is one.
    pub old_lock: Option<Lockfile>,
    pub request: Request,
    /// The packages asked for (now or, by the lock file, before).
    pub requested: Vec<String>,
    pub locals: Vec<LocalTarball>,
    /// How the request is named in messages (`shopify.extractor`, `the locked packages`).
    pub what: String,
}

/// A tarball given by path, already checked against the trusted keys.
pub struct LocalTarball {
    pub path: PathBuf,
    pub entry: IndexEntry,
    /// The trusted key whose signature it carries.
    pub signer: LocalSigner,
}

impl InstallRequest {
    pub fn read(
        shell: &mut Shell,
        opts: &InstallOpts,
        index: &Index,
    ) -> anyhow::Result<InstallRequest> {
        let target = opts.env.as_ref();
        let osiris = match (
            &opts.osiris_version,
            target.map(PythonEnv::osiris_version).transpose()?.flatten(),
        ) {
            (Some(given), _) => given.clone(),
            (None, Some(found)) => found,
            (None, None) => {
                let place = target.map_or_else(
                    || "no environment was named".to_owned(),
                    |env| {
                        format!(
                            "Osiris (`osiris-pipeline`) is not installed in `{}`",
                            env.root.display()
                        )
                    },
                );
                return Err(helped(
                    place,
                    "install Osiris into the environment (`pip install osiris-pipeline`), or say which version to resolve for with `--osiris-version 0.5.7`",
                ));
            }
        };
        let python = match (&opts.python_version, target) {
            (Some(given), _) => given.clone(),
            (None, Some(env)) => env.python_version.clone(),
            (None, None) => {
                return Err(helped(
                    "no environment was named, so ocp does not know which Python to resolve for",
                    "pass `--python-version 3.11`, or name an environment with `--env`",
                ));
            }
        };

        let old_lock = match &opts.lockfile {
            Some(path) => lockfile::read(path)?,
            None => None,
        };
        // A lock made against another index says nothing about this one.
        let usable_lock = old_lock
            .as_ref()
            .filter(|lock| lock.index.url == opts.location.remote);
        if let (Some(lock), Some(path)) = (&old_lock, &opts.lockfile)
            && usable_lock.is_none()
        {
            shell.warn(format!(
                "`{}` was made for the index `{}`; ignoring its versions",
                path.display(),
                lock.index.url
            ))?;
        }
        let mut preferences: BTreeMap<String, Version> =
            usable_lock.map(Lockfile::preferences).unwrap_or_default();
        match &opts.unlock {
            Unlock::Nothing => {}
            Unlock::All => preferences.clear(),
            Unlock::Packages(names) => {
                for name in names {
                    let package = index
                        .find_package(name)?
                        .unwrap_or_else(|| crate::model::normalize_name(name));
                    if preferences.remove(&package).is_none() {
                        return Err(helped(
                            format!("`{name}` is not in the lock file"),
                            "update what `ocp tree` lists, or run `ocp update` to update everything",
                        ));
                    }
                }
            }
        }

        let mut requirements = Vec::new();
        let mut requested = Vec::new();
        let mut locals: Vec<LocalTarball> = Vec::new();
        let osiris_text = osiris.to_string();
        for spec in &opts.specs {
            let parsed = InstallSpec::parse(spec).help_with(spec)?;
            match parsed {
                InstallSpec::Name {
                    name,
                    specifiers,
                    component,
                } => {
                    if component
                        && crate::check::builtin::shipped_by(&name).contains(&osiris_text.as_str())
                    {
                        return Err(helped(
                            format!(
                                "`{name}` is part of Osiris {osiris_text}, which this environment already has"
                            ),
                            "there is nothing to install; use the component in a pipeline as it is",
                        ));
                    }
                    let package = index.find_package(&name)?.ok_or_else(|| {
                        helped(
                            format!(
                                "there is no package or component `{name}` in the index `{}`",
                                opts.location.name
                            ),
                            format!(
                                "look for it with `ocp search {}`",
                                name.split(['.', '-']).next().unwrap_or(&name)
                            ),
                        )
                    })?;
                    requested.push(package.clone());
                    // A component is asked for as such: only versions that provide it will
                    // do. (A name that only matched a package's name stays a package request.)
                    let requirement = if component && index.component_owner(&name)?.is_some() {
                        Requirement::component(&name, &specifiers)
                    } else {
                        Requirement::new(&package, &specifiers)
                    };
                    requirements.push(
                        requirement
                            .with_context(|| format!("`{spec}` is not a valid requirement"))?,
                    );
                }
                InstallSpec::Tarball(path) => {
                    let local = local_tarball(&path, &opts.trusted_keys, &osiris, &python)?;
                    super::policy::check_local(&opts.policy, &local)?;
                    shell.status(
                        "Verified",
                        format!(
                            "{} v{} from `{}` (sha256 {}): signed by {}",
                            local.entry.name,
                            local.entry.version,
                            local.path.display(),
                            local.entry.sha256.get(..12).unwrap_or_default(),
                            local.signer
                        ),
                    )?;
                    for dependency in &local.entry.dependencies {
                        requirements.push(
                            Requirement::new(&dependency.name, &dependency.requirement)
                                .with_context(|| {
                                    format!(
                                        "`{}` has an invalid dependency `{}`",
                                        path.display(),
                                        dependency.name
                                    )
                                })?,
                        );
                    }
                    requested.push(local.entry.name.clone());
                    locals.push(local);
                }
            }
        }
        // What the lock file says was asked for before stays asked for, with every component
        // the locked version provides: an update never takes away a component the user has.
        if let Some(lock) = usable_lock {
            for package in lock.packages.iter().filter(|p| p.requested) {
                if !requested.contains(&package.name) {
                    requested.push(package.name.clone());
                    let requirement = Requirement::new(&package.name, "")
                        .with_context(|| format!("the lock file names `{}`", package.name))?;
                    requirements.push(
                        package
                            .components
                            .iter()
                            .fold(requirement, |requirement, component| {
                                requirement.providing(component.as_str())
                            }),
                    );
                }
            }
        }
        if requirements.is_empty() && locals.is_empty() {
            let help = if opts.lockfile.is_none() {
                "name a component or package, for example `ocp install shopify.extractor`; outside an Osiris project there is no lock file to install from (`--lockfile PATH` names one)"
            } else {
                "name a component or package, for example `ocp install shopify.extractor`"
            };
            return Err(helped("nothing to install", help));
        }
        let what = if opts.specs.is_empty() {
            "the locked packages".to_owned()
        } else {
            opts.specs.join(" ")
        };
        Ok(InstallRequest {
            request: Request {
                requirements,
                osiris: osiris.clone(),
                python: python.clone(),
                preferences,
            },
            osiris,
            python,
            old_lock,
            requested,
            locals,
            what,
        })
    }
}

trait SpecContext<T> {
    fn help_with(self, spec: &str) -> anyhow::Result<T>;
}

impl<T> SpecContext<T> for Result<T, crate::install_spec::SpecError> {
    fn help_with(self, spec: &str) -> anyhow::Result<T> {
        self.map_err(|error| helped(error.to_string(), format!("write a component (`shopify.extractor`), a package (`shopify-osiris`), or either with a requirement (`{spec}@^1.2`, `shopify-osiris==1.0.0`)")))
    }
}

/// Reads a local tarball, checks its `.minisig` against the trusted keys and its ranges
/// against the Osiris and Python to install for, and describes it as an index entry would.
fn local_tarball(
    path: &Path,
    trusted: &[LocalSigner],
    osiris: &Version,
    python: &Version,
) -> anyhow::Result<LocalTarball> {
    let open = || {
        std::fs::File::open(path).with_context(|| format!("failed to open `{}`", path.display()))
    };
    let manifest = crate::signing::package::read_manifest(open()?)
        .with_context(|| format!("refusing to install `{}`", path.display()))
        .help("nothing was installed; ask its author for a tarball built by `ocp build`")?
        .ok_or_else(|| {
            helped(
                format!(
                    "`{}` is not an OCP tarball (it has no ocp.json)",
                    path.display()
                ),
                "build one with `ocp build`",
            )
        })?;
    let sha256 = crate::model::Checksum::of_reader(open()?)
        .with_context(|| format!("failed to read `{}`", path.display()))?;
    let signature_path = crate::ops::sign::default_signature_path(path);
    let text = std::fs::read_to_string(&signature_path).map_err(|_| {
        helped(format!("`{}` has no signature at `{}`", path.display(), signature_path.display()), "sign it with `ocp sign` (your own key is trusted), or have its author send the `.minisig`")
    })?;
    let signature = SignatureFile::parse(&text)
        .with_context(|| format!("failed to read `{}`", signature_path.display()))?;
    let signer = trusted
        .iter()
        .find(|signer| signer.key.key_id() == signature.key_id)
        .ok_or_else(|| {
            helped(
                format!(
                    "`{}` is signed by key {}, which you do not trust",
                    path.display(),
                    signature.key_id
                ),
                "trust the signer with `ocp key trust <name> <public key>` if you know them",
            )
        })?;
    signature
        .verify(&signer.key, open()?, false)
        .map_err(|error| {
            helped(
                format!("refusing to install `{}`: {error}", path.display()),
                "nothing was installed",
            )
        })?;
    match PackageClaim::parse(&signature.trusted_comment) {
        Ok(Some(claim)) => claim.check(Some(&manifest), &sha256).map_err(|error| {
            helped(
                format!("refusing to install `{}`: {error}", path.display()),
                "nothing was installed",
            )
        })?,
        _ => {
            return Err(helped(
                format!("the signature of `{}` names no package", path.display()),
                "sign it with `ocp sign`, which binds the package name, version and sha256",
            ));
        }
    }
    // Intake parsed both ranges when it read the manifest.
    for (what, range, version, help) in [
        (
            "osiris",
            &manifest.osiris,
            osiris,
            "install a version built for this Osiris, or pass `--osiris-version`",
        ),
        (
            "Python",
            &manifest.python,
            python,
            "install it into an environment with a Python it allows, or pass `--python-version`",
        ),
    ] {
        let allowed = pep440_rs::VersionSpecifiers::from_str(range)
            .unwrap_or_else(|_| pep440_rs::VersionSpecifiers::empty());
        if !allowed.contains(version) {
            return Err(helped(
                format!(
                    "{} {} needs {what} {range}, but this environment has {what} {version}",
                    manifest.name, manifest.version
                ),
                help,
            ));
        }
    }
    let entry = IndexEntry::from_manifest(
        &manifest,
        sha256.to_hex(),
        text,
        signature.key_id.to_string(),
        String::new(),
    );
    Ok(LocalTarball {
        path: path.to_path_buf(),
        entry,
        signer: signer.clone(),
    })
}
