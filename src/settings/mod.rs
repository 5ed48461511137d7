//! ocp's settings, resolved once before an operation starts (as uv's `Settings::resolve`):
//! each setting comes from the first layer that sets it, in this order:
//!
//! 1. flags (`--index`, `--offline`, `--lockfile`, `--project`);
//! 2. the environment (`OCP_INDEX`, `OCP_OFFLINE`, `OCP_PLUGINS_*`; see [`keys`]);
//! 3. the Osiris project's `plugins:` section (`osiris.yaml`, else `.osiris/config.yaml`),
//!    for the `plugins.*` settings only;
//! 4. the user's `OCP_HOME/config.toml` (`index`, `offline`, `[plugins]`);
//! 5. the defaults.
//!
//! A setting is taken whole from one layer (a list is never merged from two), and each keeps
//! its [`Source`], so `ocp config show` says where every value came from and a policy refusal
//! names the line of its rule. The lock file is `--lockfile`, else `ocp.lock` at the project's
//! root, else none.
//!
//! Domain code: it reads the settings files it is pointed at and returns warnings (unknown
//! keys, two `plugins:` sections) for the caller to print.

mod files;
pub mod keys;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::policy::{self, Allowlist, Listed, Origin, Policy, Rule, SignerCheck, TrustedSigner};
use crate::project::{self, Project, ProjectError};
use crate::signing::trusted::TrustedKeys;
use keys::{Key, Kind};

/// A place in a settings file, for messages: the file as shown, 1-based line and column,
/// and the text of that line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spot {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub source_line: String,
}

impl Spot {
    /// The line, numbered, to show under a message about it.
    pub fn excerpt(&self) -> String {
        excerpt(self.line, &self.source_line)
    }
}

impl fmt::Display for Spot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}:{}:{}`", self.file, self.line, self.column)
    }
}

fn excerpt(line: usize, text: &str) -> String {
    format!("\n{line:>6} | {text}")
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag (`--index`).
    Flag(&'static str),
    /// An environment variable (`OCP_INDEX`).
    Env(String),
    /// A line of a settings file: the project's (`project`) or the user's.
    File {
        path: PathBuf,
        shown: String,
        line: usize,
        /// The text of that line.
        source_line: String,
        project: bool,
    },
    /// Derived from where the project is (the lock file at its root).
    ProjectRoot {
        shown: String,
    },
    Default,
}

impl Source {
    /// `flag`, `env`, `project`, `user` or `default`, for JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Flag(_) => "flag",
            Source::Env(_) => "env",
            Source::File { project: true, .. } | Source::ProjectRoot { .. } => "project",
            Source::File { project: false, .. } => "user",
            Source::Default => "default",
        }
    }

    /// Where a policy rule is written, for refusals.
    pub fn origin(&self) -> Origin {
        Origin(self.to_string())
    }

    /// The line of a file, numbered, to show under a message about it; empty for the other
    /// sources.
    pub fn excerpt(&self) -> String {
        match self {
            Source::File {
                line, source_line, ..
            } => excerpt(*line, source_line),
            _ => String::new(),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => write!(f, "`{flag}`"),
            Source::Env(name) => write!(f, "`{name}`"),
            Source::File { shown, line, .. } => write!(f, "`{shown}:{line}`"),
            Source::ProjectRoot { shown } => write!(f, "the project at `{shown}`"),
            Source::Default => f.write_str("the default"),
        }
    }
}

/// One resolved setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Setting<T> {
    fn default(value: T) -> Self {
        Setting {
            value,
            source: Source::Default,
        }
    }
}

/// A value as a layer holds it, before it is checked and converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Raw {
    Bool(bool),
    Text(String),
    /// Strings, each with where it is written.
    List(Vec<(String, Source)>),
}

/// Why the settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("failed to read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is larger than {limit} bytes, which no settings file is", path.display())]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("`{}` is not valid UTF-8 (invalid byte at offset {offset})", path.display())]
    NotUtf8 { path: PathBuf, offset: usize },
    #[error("{at}: not valid: {message}{}", .at.excerpt())]
    Syntax { at: Box<Spot>, message: String },
    #[error("{at}: `{key}` must be {expected}, not {found}{}", .at.excerpt())]
    Type {
        at: Box<Spot>,
        key: String,
        expected: String,
        found: &'static str,
    },
    #[error("{at}: `{key}` must be {expected}: {reason}{}", .at.excerpt())]
    Value {
        at: Box<Source>,
        key: String,
        expected: String,
        reason: String,
    },
    #[error("{at}: the `{key}` entry {error}{}", .at.excerpt())]
    Rule {
        at: Box<Source>,
        key: &'static str,
        error: policy::RuleError,
    },
    #[error(
        "{at}: the trusted signer `{name}` has no key in the trusted keys (`ocp key trusted` lists them){}",
        .at.excerpt()
    )]
    UnknownSigner { at: Box<Source>, name: String },
    #[error(transparent)]
    Project(#[from] ProjectError),
}

impl SettingsError {
    /// What the user can do about it.
    pub fn help(&self) -> String {
        match self {
            SettingsError::Read { .. } | SettingsError::NotUtf8 { .. } | SettingsError::TooLarge { .. } => {
                "fix or remove the file".to_owned()
            }
            SettingsError::Syntax { .. } => "fix the line shown".to_owned(),
            SettingsError::Type { .. } | SettingsError::Value { .. } => {
                "fix the value shown; `ocp config show` lists every setting with its type and where it is set".to_owned()
            }
            SettingsError::Rule { .. } => "write a package name with an optional PEP 440 requirement (`shopify-osiris==1.0.0`, `hubspot-osiris>=2.0.0,<3.0.0`, `untrusted-osiris`) or a component name (`shopify.extractor`)".to_owned(),
            SettingsError::UnknownSigner { name, .. } => format!(
                "trust the key under that name with `ocp key trust {name} <PUBLIC_KEY>` (add `--project` to keep it in the project's `ocp-trusted-keys.toml`), or remove the name"
            ),
            SettingsError::Project(_) => "name the folder that holds `osiris.yaml` (what `osiris init` writes) or `.osiris/config.yaml`".to_owned(),
        }
    }
}

/// The values of the flags that are settings.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `--project DIR`.
    pub project: Option<PathBuf>,
    /// `--index`.
    pub index: Option<String>,
    /// `--offline` (only `true` is a setting; its absence leaves the others to decide).
    pub offline: bool,
    /// `--lockfile PATH`.
    pub lockfile: Option<PathBuf>,
}

/// What settings are resolved from.
pub struct Inputs<'a> {
    pub cwd: &'a Path,
    /// `OCP_HOME`, which holds the user's `config.toml`.
    pub home: &'a Path,
    pub flags: Flags,
    /// Looks an environment variable up.
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// The `plugins:` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plugins {
    pub enabled: Setting<bool>,
    /// `None` when there is no allowlist (everything not denied is allowed).
    pub allowlist: Setting<Option<Vec<Setting<Rule>>>>,
    pub denylist: Setting<Vec<Setting<Rule>>>,
    pub signature_verification: Setting<bool>,
    pub trusted_signers: Setting<Vec<Setting<String>>>,
    pub sandbox: Sandbox,
}

/// `plugins.sandbox`: checked and shown, enforced by the Osiris runtime. `None` when unset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sandbox {
    pub provider: Setting<Option<String>>,
    pub policy: Setting<Option<String>>,
    pub network: Setting<Option<String>>,
    pub fs_access: Setting<Option<String>>,
}

/// Every setting, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub cwd: PathBuf,
    pub project: Option<Project>,
    /// The project file whose `plugins:` section is in force, if any.
    pub plugins_file: Option<PathBuf>,
    /// The user's settings file (which may not exist).
    pub user_file: PathBuf,
    pub index: Setting<Option<String>>,
    pub offline: Setting<bool>,
    pub lockfile: Setting<Option<PathBuf>>,
    pub plugins: Plugins,
}

/// Settings and the warnings met while reading them.
#[derive(Debug)]
pub struct Resolved {
    pub settings: Settings,
    pub warnings: Vec<String>,
}

/// The user's settings file, `OCP_HOME/config.toml`.
pub fn user_file(home: &Path) -> PathBuf {
    home.join("config.toml")
}

/// Resolves every setting from `inputs`.
pub fn resolve(inputs: &Inputs<'_>) -> Result<Resolved, SettingsError> {
    let mut warnings = Vec::new();
    let project = match &inputs.flags.project {
        Some(dir) => Some(Project::at(&absolute(inputs.cwd, dir))?),
        None => Project::discover(inputs.cwd),
    };
    let (project_layer, plugins_file) = match &project {
        Some(project) => files::project_layer(project, inputs.cwd, &mut warnings)?,
        None => (files::Layer::new(), None),
    };
    let user_path = user_file(inputs.home);
    let user_layer = files::user_layer(&user_path, inputs.cwd, &mut warnings)?;
    let env_layer = env_layer(inputs.env)?;
    let flag_layer = flag_layer(&inputs.flags);
    let layers = [&flag_layer, &env_layer, &project_layer, &user_layer];
    let pick = |key: Key| -> Option<(Raw, Source)> {
        layers.iter().find_map(|layer| layer.get(key.name).cloned())
    };

    let lockfile = match (&inputs.flags.lockfile, &project) {
        (Some(path), _) => Setting {
            value: Some(absolute(inputs.cwd, path)),
            source: Source::Flag("--lockfile"),
        },
        (None, Some(project)) => Setting {
            value: Some(project.lockfile()),
            source: Source::ProjectRoot {
                shown: project::shown(&project.root, inputs.cwd),
            },
        },
        (None, None) => Setting::default(None),
    };
    let plugins = Plugins {
        enabled: boolean(pick(keys::ENABLED), true),
        allowlist: match pick(keys::ALLOWLIST) {
            Some((raw, source)) => Setting {
                value: Some(rules(keys::ALLOWLIST, raw, &source)?),
                source,
            },
            None => Setting::default(None),
        },
        denylist: match pick(keys::DENYLIST) {
            Some((raw, source)) => Setting {
                value: rules(keys::DENYLIST, raw, &source)?,
                source,
            },
            None => Setting::default(Vec::new()),
        },
        signature_verification: boolean(pick(keys::SIGNATURE_VERIFICATION), false),
        trusted_signers: match pick(keys::TRUSTED_SIGNERS) {
            Some((raw, source)) => Setting {
                value: signer_names(raw, &source)?,
                source,
            },
            None => Setting::default(Vec::new()),
        },
        sandbox: Sandbox {
            provider: choice(keys::SANDBOX_PROVIDER, pick(keys::SANDBOX_PROVIDER))?,
            policy: choice(keys::SANDBOX_POLICY, pick(keys::SANDBOX_POLICY))?,
            network: choice(keys::SANDBOX_NETWORK, pick(keys::SANDBOX_NETWORK))?,
            fs_access: choice(keys::SANDBOX_FS_ACCESS, pick(keys::SANDBOX_FS_ACCESS))?,
        },
    };
    if let Some(allowlist) = &plugins.allowlist.value
        && allowlist.is_empty()
    {
        warnings.push(format!(
            "the allowlist at {} is empty, so it allows no plugin at all; remove it to allow every plugin the denylist does not refuse",
            plugins.allowlist.source
        ));
    }
    let settings = Settings {
        cwd: inputs.cwd.to_path_buf(),
        project,
        plugins_file,
        user_file: user_path,
        index: match pick(keys::INDEX) {
            Some((Raw::Text(text), source)) => Setting {
                value: Some(text),
                source,
            },
            _ => Setting::default(None),
        },
        offline: boolean(pick(keys::OFFLINE), false),
        lockfile,
        plugins,
    };
    Ok(Resolved { settings, warnings })
}

fn absolute(cwd: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    }
}

fn boolean(picked: Option<(Raw, Source)>, default: bool) -> Setting<bool> {
    match picked {
        Some((Raw::Bool(value), source)) => Setting { value, source },
        _ => Setting::default(default),
    }
}

fn list(raw: Raw, source: &Source) -> Vec<(String, Source)> {
    match raw {
        Raw::List(items) => items,
        Raw::Text(text) => vec![(text, source.clone())],
        Raw::Bool(_) => Vec::new(),
    }
}

fn rules(key: Key, raw: Raw, source: &Source) -> Result<Vec<Setting<Rule>>, SettingsError> {
    list(raw, source)
        .into_iter()
        .map(|(text, at)| match text.parse::<Rule>() {
            Ok(rule) => Ok(Setting {
                value: rule,
                source: at,
            }),
            Err(error) => Err(SettingsError::Rule {
                at: Box::new(at),
                key: key.name,
                error,
            }),
        })
        .collect()
}

fn signer_names(raw: Raw, source: &Source) -> Result<Vec<Setting<String>>, SettingsError> {
    list(raw, source)
        .into_iter()
        .map(
            |(name, at)| match crate::signing::trusted::check_name(&name) {
                Ok(()) => Ok(Setting {
                    value: name,
                    source: at,
                }),
                Err(error) => Err(SettingsError::Value {
                    at: Box::new(at),
                    key: keys::TRUSTED_SIGNERS.name.to_owned(),
                    expected: "a list of trusted key names".to_owned(),
                    reason: error.to_string(),
                }),
            },
        )
        .collect()
}

fn choice(
    key: Key,
    picked: Option<(Raw, Source)>,
) -> Result<Setting<Option<String>>, SettingsError> {
    let Some((Raw::Text(word), source)) = picked else {
        return Ok(Setting::default(None));
    };
    let Kind::Choice(words) = key.kind else {
        return Ok(Setting {
            value: Some(word),
            source,
        });
    };
    if !words.contains(&word.as_str()) {
        return Err(SettingsError::Value {
            at: Box::new(source),
            key: key.name.to_owned(),
            expected: key.kind.expected(),
            reason: format!("`{}` is not one of them", word.escape_debug()),
        });
    }
    Ok(Setting {
        value: Some(word),
        source,
    })
}

/// The settings in the environment, each variable named by [`Key::env_name`]. An empty
/// variable is unset. A list is written as entries separated by whitespace.
fn env_layer(env: &dyn Fn(&str) -> Option<String>) -> Result<files::Layer, SettingsError> {
    let mut layer = files::Layer::new();
    for key in keys::ALL {
        let name = key.env_name();
        let Some(value) = env(&name).filter(|value| !value.trim().is_empty()) else {
            continue;
        };
        let source = Source::Env(name.clone());
        let raw = match key.kind {
            Kind::Bool => Raw::Bool(parse_bool(&value).ok_or_else(|| SettingsError::Value {
                at: Box::new(source.clone()),
                key: key.name.to_owned(),
                expected: "`true` or `false`".to_owned(),
                reason: format!("`{}` is neither", value.escape_debug()),
            })?),
            Kind::Text | Kind::Choice(_) => Raw::Text(value.trim().to_owned()),
            Kind::List => Raw::List(
                value
                    .split_whitespace()
                    .map(|item| (item.to_owned(), source.clone()))
                    .collect(),
            ),
        };
        layer.insert(key.name, (raw, source));
    }
    Ok(layer)
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn flag_layer(flags: &Flags) -> files::Layer {
    let mut layer = files::Layer::new();
    if let Some(index) = flags.index.as_ref().filter(|i| !i.trim().is_empty()) {
        layer.insert(
            keys::INDEX.name,
            (Raw::Text(index.clone()), Source::Flag("--index")),
        );
    }
    if flags.offline {
        layer.insert(
            keys::OFFLINE.name,
            (Raw::Bool(true), Source::Flag("--offline")),
        );
    }
    layer
}

impl Settings {
    /// The plugin policy these settings describe. `trusted` are the trusted keys (the user's
    /// and the project's files), which `trusted_signers` names. A name with no key is an
    /// error while `signature_verification` is on, and a warning (returned) while it is off.
    pub fn policy(&self, trusted: &TrustedKeys) -> Result<(Policy, Vec<String>), SettingsError> {
        let plugins = &self.plugins;
        let mut warnings = Vec::new();
        let listed = |setting: &Setting<Rule>| Listed {
            rule: setting.value.clone(),
            origin: setting.source.origin(),
        };
        let mut named = Vec::new();
        for name in &plugins.trusted_signers.value {
            match trusted.by_name(&name.value) {
                Some(signer) => named.push(TrustedSigner {
                    name: name.value.clone(),
                    key_id: signer.public_key.key_id(),
                }),
                None if plugins.signature_verification.value => {
                    return Err(SettingsError::UnknownSigner {
                        at: Box::new(name.source.clone()),
                        name: name.value.clone(),
                    });
                }
                None => warnings.push(format!(
                    "{}: the trusted signer `{}` has no key in the trusted keys; it would refuse every package once `signature_verification` is on",
                    name.source, name.value
                )),
            }
        }
        let signers = plugins.signature_verification.value.then(|| {
            if plugins.trusted_signers.value.is_empty() {
                SignerCheck {
                    origin: plugins.signature_verification.source.origin(),
                    trusted: trusted
                        .iter()
                        .map(|signer| TrustedSigner {
                            name: signer.name.clone(),
                            key_id: signer.public_key.key_id(),
                        })
                        .collect(),
                    list: None,
                }
            } else {
                SignerCheck {
                    origin: plugins.signature_verification.source.origin(),
                    trusted: named,
                    list: Some(plugins.trusted_signers.source.origin()),
                }
            }
        });
        let policy = Policy {
            disabled: (!plugins.enabled.value).then(|| plugins.enabled.source.origin()),
            allowlist: plugins.allowlist.value.as_ref().map(|entries| Allowlist {
                entries: entries.iter().map(listed).collect(),
                origin: plugins.allowlist.source.origin(),
            }),
            denylist: plugins.denylist.value.iter().map(listed).collect(),
            signers,
        };
        Ok((policy, warnings))
    }

    /// The trusted keys files that apply: the user's, then the project's (at its root), then
    /// one in the current folder (where `ocp key trust --project` writes); later files win.
    pub fn trusted_keys_files(&self, home: &Path) -> Vec<PathBuf> {
        let mut files = vec![crate::home::trusted_keys(home)];
        if let Some(project) = &self.project {
            files.push(project.trusted_keys());
        }
        let here = self.cwd.join(project::TRUSTED_KEYS);
        if !files.contains(&here) {
            files.push(here);
        }
        files
    }

    /// How a path is shown to the user here (relative below the current folder).
    pub fn shown(&self, path: &Path) -> String {
        project::shown(path, &self.cwd)
    }
}
