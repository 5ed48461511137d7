//! The pipeline a migrated package's README shows: the component in the smallest pipeline
//! its modes allow (an extractor feeding `filesystem.csv_writer`, a writer fed by
//! `filesystem.csv_extractor`, a processor between the two), configured with the spec's first
//! example. Fields a connection provides (`x-connection-fields`) and secrets leave the step's
//! config, since Osiris refuses secrets inside a pipeline, and go into the family's entry of
//! `osiris_connections.yaml`, secrets as `${FAMILY_FIELD}` read from the environment.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::component::Builtin;
use crate::model::env_name;

/// Config keys Osiris's compiler treats as secrets in every component.
const SECRET_NAMES: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "key",
    "service_role_key",
    "anon_key",
    "auth_token",
    "access_token",
    "client_secret",
];

/// Families Osiris 0.5.7 runs without a connection.
const NO_CONNECTION: &[&str] = &["duckdb", "filesystem"];

/// The alias of the README's connection, which its pipeline names (`@mysql.main`).
const CONNECTION_ALIAS: &str = "main";

/// The README's pipeline and the text about its connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadmeUse {
    /// The OML document, ending with a newline.
    pub pipeline: String,
    /// Markdown: the connection entry, or why none is needed.
    pub connections: String,
}

/// The README's use of `builtin` (named `component` in the package).
pub fn readme_use(builtin: &Builtin) -> ReadmeUse {
    let spec = &builtin.spec.value;
    let component = builtin.name.as_str();
    let family = builtin.name.family();
    let connection_fields: BTreeSet<String> = spec
        .get("x-connection-fields")
        .and_then(Value::as_array)
        .map(|fields| {
            fields
                .iter()
                .filter_map(|field| field.get("name").and_then(Value::as_str).or(field.as_str()))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let secrets: BTreeSet<String> = ["secrets", "x-secret"]
        .iter()
        .filter_map(|field| spec.get(*field).and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|pointer| pointer.trim_start_matches('/').split('/').next())
        .filter(|first| *first != "resolved_connection")
        .map(str::to_owned)
        .chain(SECRET_NAMES.iter().map(|name| (*name).to_owned()))
        .collect();
    let example = spec
        .pointer("/examples/0/config")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    // A scenario's config is proven to work; the example's connection fields still fill the
    // connection entry.
    let proven: Option<Map<String, Value>> = super::scenarios::for_builtin(component)
        .and_then(|scenario| serde_json::from_str(scenario.readme_config).ok());
    let mut config = Map::new();
    let mut connection = Map::new();
    for (key, value) in example {
        let secret = secrets.contains(&key.to_lowercase());
        if secret || connection_fields.contains(&key) {
            let value = if secret {
                Value::String(format!("${{{}_{}}}", env_name(family), env_name(&key)))
            } else {
                value
            };
            connection.insert(key, value);
        } else {
            config.insert(key, value);
        }
    }
    if let Some(proven) = proven {
        config = proven;
    }
    let modes: Vec<String> = builtin.modes();
    let has = |mode: &str| modes.iter().any(|m| m == mode);
    let step = |id: &str, mode: &str, needs: Option<&str>, config: &Map<String, Value>| {
        let mut step = Map::new();
        step.insert("id".into(), Value::String(id.into()));
        step.insert("component".into(), Value::String(component.into()));
        step.insert("mode".into(), Value::String(mode.into()));
        if let Some(needs) = needs {
            step.insert(
                "needs".into(),
                Value::Array(vec![Value::String(needs.into())]),
            );
        }
        let mut config = config.clone();
        if !NO_CONNECTION.contains(&family) {
            // The connection named, so that Osiris's OML validator leaves the fields it
            // provides to it (`osiris oml validate` refuses the pipeline otherwise).
            config.insert(
                "connection".into(),
                Value::String(format!("@{family}.{CONNECTION_ALIAS}")),
            );
        }
        step.insert("config".into(), Value::Object(config));
        Value::Object(step)
    };
    let csv_source = serde_json::json!({
        "id": "read-input",
        "component": "filesystem.csv_extractor",
        "mode": "read",
        "config": {"path": "data/input.csv"},
    });
    let csv_sink = |needs: &str| {
        serde_json::json!({
            "id": "write-output",
            "component": "filesystem.csv_writer",
            "mode": "write",
            "needs": [needs],
            "config": {"path": "output/output.csv"},
        })
    };
    let steps: Vec<Value> = if has("extract") {
        vec![step("extract", "read", None, &config), csv_sink("extract")]
    } else if has("transform") {
        vec![
            csv_source,
            step("transform", "transform", Some("read-input"), &config),
            csv_sink("transform"),
        ]
    } else {
        vec![
            csv_source,
            step("write", "write", Some("read-input"), &config),
        ]
    };
    let document = serde_json::json!({
        "oml_version": "0.1.0",
        "name": format!("{family}-example"),
        "steps": steps,
    });
    let pipeline = emit(&document, 0);
    let connections = if NO_CONNECTION.contains(&family) {
        format!("Osiris runs `{family}` components without a connection.\n")
    } else {
        let mut entry = Map::new();
        entry.insert("default".into(), Value::Bool(true));
        entry.extend(connection);
        let document = serde_json::json!({
            "version": 1,
            "connections": { family: { CONNECTION_ALIAS: Value::Object(entry) } },
        });
        format!(
            "Osiris 0.5.7 resolves a connection for every `{family}` step and passes it to the driver. Declare it in `osiris_connections.yaml` (beside `osiris.yaml`); secrets are read from the environment, never written in a file:\n\n```yaml\n{}```\n",
            emit(&document, 0)
        )
    };
    ReadmeUse {
        pipeline,
        connections,
    }
}

/// Block-style YAML for a JSON value, at `indent` spaces.
fn emit(value: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    match value {
        Value::Object(map) => {
            for (key, value) in ordered(map) {
                out.push_str(&format!("{pad}{}:", scalar(&Value::String(key.clone()))));
                out.push_str(&nested(value, indent));
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(map) if !map.is_empty() => {
                        let inner = emit(item, indent + 2);
                        out.push_str(&format!("{pad}- {}", &inner[indent + 2..]));
                    }
                    _ => {
                        out.push_str(&format!("{pad}-"));
                        out.push_str(&nested(item, indent));
                    }
                }
            }
        }
        scalar_value => out.push_str(&format!("{pad}{}\n", scalar(scalar_value))),
    }
    out
}

/// Keys in the order people write OML and connection files (`id`, `component`, `mode`,
/// ... first), then the rest alphabetically.
fn ordered(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    const FIRST: &[&str] = &[
        "oml_version",
        "name",
        "version",
        "steps",
        "connections",
        "id",
        "component",
        "mode",
        "needs",
        "config",
        "default",
        "connection",
    ];
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by_key(|(key, _)| {
        (
            FIRST
                .iter()
                .position(|first| first == key)
                .unwrap_or(FIRST.len()),
            (*key).clone(),
        )
    });
    entries
}

/// What follows `key:` or `-`: an inline scalar, or a nested block.
fn nested(value: &Value, indent: usize) -> String {
    match value {
        Value::Object(map) if !map.is_empty() => format!("\n{}", emit(value, indent + 2)),
        Value::Array(items) if !items.is_empty() => {
            if items
                .iter()
                .all(|item| !item.is_object() && !item.is_array())
            {
                let inline: Vec<String> = items.iter().map(scalar).collect();
                format!(" [{}]\n", inline.join(", "))
            } else {
                format!("\n{}", emit(value, indent + 2))
            }
        }
        Value::Object(_) => " {}\n".to_owned(),
        Value::Array(_) => " []\n".to_owned(),
        Value::String(text) if text.contains('\n') => {
            let chomp = if text.ends_with('\n') { "|" } else { "|-" };
            let pad = " ".repeat(indent + 2);
            let body: String = text
                .trim_end_matches('\n')
                .lines()
                .map(|line| {
                    if line.is_empty() {
                        "\n".to_owned()
                    } else {
                        format!("{pad}{line}\n")
                    }
                })
                .collect();
            format!(" {chomp}\n{body}")
        }
        scalar_value => format!(" {}\n", scalar(scalar_value)),
    }
}

/// A scalar, quoted when YAML would read it as something else.
fn scalar(value: &Value) -> String {
    let Value::String(text) = value else {
        return value.to_string();
    };
    let plain = !text.is_empty()
        && !text.starts_with(|c: char| {
            c.is_whitespace() || "-?:,[]{}#&*!|>'\"%@`$".contains(c) || c.is_ascii_digit()
        })
        && !text.ends_with(char::is_whitespace)
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.contains(['\n', '\t', '"', '\\'])
        && !matches!(
            text.to_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~" | "y" | "n"
        );
    if plain {
        text.clone()
    } else {
        Value::String(text.clone()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emits_block_yaml_that_reads_back_the_same() {
        let value = serde_json::json!({
            "name": "x",
            "steps": [
                {"id": "a", "needs": ["b"], "config": {"query": "SELECT 1\nFROM t\n", "n": 3, "on": "yes", "path": "${HOME}/x"}},
                {"id": "c", "config": {}}
            ],
            "flags": [true, "1.0"],
        });
        let text = emit(&value, 0);
        let read = crate::package::yaml::load(&text).expect("valid YAML");
        assert_eq!(read.value, value, "{text}");
    }
}
