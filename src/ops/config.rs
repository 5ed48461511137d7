//! `ocp config show`: every setting's effective value and where it came from, as resolved
//! by [`crate::settings`] (flags, environment, project, user file, defaults).

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::settings::{Setting, Settings, Source, keys};

/// One setting as shown.
#[derive(Debug, Clone)]
pub struct Row {
    /// The dotted name (`plugins.allowlist`).
    pub key: &'static str,
    /// The value as JSON (`null` when unset).
    pub value: Value,
    pub source: Source,
    /// For a list, each entry with where it is written.
    pub items: Vec<(String, Source)>,
}

/// What `ocp config show` reports.
#[derive(Debug, Clone)]
pub struct ConfigReport {
    pub project: Option<PathBuf>,
    /// The project file whose `plugins:` section is in force.
    pub plugins_file: Option<PathBuf>,
    pub user_file: PathBuf,
    pub rows: Vec<Row>,
}

/// The report for `settings`.
pub fn show(settings: &Settings) -> ConfigReport {
    let plugins = &settings.plugins;
    let text = |setting: &Setting<Option<String>>| row_of(setting, |v| json!(v));
    let mut rows = vec![
        Row {
            key: keys::INDEX.name,
            ..text(&settings.index)
        },
        Row {
            key: keys::OFFLINE.name,
            ..row_of(&settings.offline, |v| json!(v))
        },
        Row {
            key: "lockfile",
            ..row_of(&settings.lockfile, |v| {
                json!(v.as_ref().map(|path| settings.shown(path)))
            })
        },
        Row {
            key: keys::ENABLED.name,
            ..row_of(&plugins.enabled, |v| json!(v))
        },
        Row {
            key: keys::ALLOWLIST.name,
            items: plugins
                .allowlist
                .value
                .iter()
                .flatten()
                .map(|rule| (rule.value.to_string(), rule.source.clone()))
                .collect(),
            ..row_of(&plugins.allowlist, |v| {
                json!(v.as_ref().map(|rules| {
                    rules
                        .iter()
                        .map(|rule| rule.value.to_string())
                        .collect::<Vec<_>>()
                }))
            })
        },
        Row {
            key: keys::DENYLIST.name,
            items: plugins
                .denylist
                .value
                .iter()
                .map(|rule| (rule.value.to_string(), rule.source.clone()))
                .collect(),
            ..row_of(&plugins.denylist, |v| {
                json!(
                    v.iter()
                        .map(|rule| rule.value.to_string())
                        .collect::<Vec<_>>()
                )
            })
        },
        Row {
            key: keys::SIGNATURE_VERIFICATION.name,
            ..row_of(&plugins.signature_verification, |v| json!(v))
        },
        Row {
            key: keys::TRUSTED_SIGNERS.name,
            items: plugins
                .trusted_signers
                .value
                .iter()
                .map(|name| (name.value.clone(), name.source.clone()))
                .collect(),
            ..row_of(&plugins.trusted_signers, |v| {
                json!(v.iter().map(|name| name.value.clone()).collect::<Vec<_>>())
            })
        },
    ];
    for (key, setting) in [
        (keys::SANDBOX_PROVIDER, &plugins.sandbox.provider),
        (keys::SANDBOX_POLICY, &plugins.sandbox.policy),
        (keys::SANDBOX_NETWORK, &plugins.sandbox.network),
        (keys::SANDBOX_FS_ACCESS, &plugins.sandbox.fs_access),
    ] {
        rows.push(Row {
            key: key.name,
            ..text(setting)
        });
    }
    ConfigReport {
        project: settings.project.as_ref().map(|p| p.root.clone()),
        plugins_file: settings.plugins_file.clone(),
        user_file: settings.user_file.clone(),
        rows,
    }
}

fn row_of<T>(setting: &Setting<T>, value: impl Fn(&T) -> Value) -> Row {
    Row {
        key: "",
        value: value(&setting.value),
        source: setting.source.clone(),
        items: Vec::new(),
    }
}

/// A source as JSON: its kind and what names it (`flag`, `variable`, `file` and `line`, or
/// the project `root`).
pub fn source_json(source: &Source) -> Value {
    let mut object = json!({ "kind": source.kind(), "text": source.to_string() });
    match source {
        Source::Flag(flag) => object["flag"] = json!(flag),
        Source::Env(name) => object["variable"] = json!(name),
        Source::File { path, line, .. } => {
            object["file"] = json!(path.display().to_string());
            object["line"] = json!(line);
        }
        Source::ProjectRoot { shown } => object["root"] = json!(shown),
        Source::Default => {}
    }
    object
}
