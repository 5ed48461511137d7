//! A component spec (as JSON, from the package's tarball) turned into what its page shows:
//! title and description, modes and capabilities, the configuration as table rows (with
//! secrets and connection fields marked, from `secrets`, `x-secret` and
//! `x-connection-fields`), and each example as ready-to-paste OML and
//! `osiris_connections.yaml` snippets.
//!
//! Everything here is third-party data: it stays plain text (the templates escape it), and
//! walks over it are bounded in depth and count.

use serde_json::{Map, Value};

/// Modes the Osiris 0.5.7 schema knows.
pub const MODES: &[&str] = &[
    "extract",
    "write",
    "transform",
    "discover",
    "analyze",
    "stream",
    "load",
];
/// Capabilities the Osiris 0.5.7 schema knows.
pub const CAPABILITIES: &[&str] = &[
    "discover",
    "adHocAnalytics",
    "inMemoryMove",
    "streaming",
    "bulkOperations",
    "transactions",
    "partitioning",
    "customTransforms",
];
/// Nested `properties` are shown down to this depth.
const MAX_PROPERTY_DEPTH: usize = 3;
/// Configuration rows shown at most.
const MAX_ROWS: usize = 500;
/// Examples shown at most.
const MAX_EXAMPLES: usize = 20;
/// A default longer than this is cut.
const MAX_DEFAULT_CHARS: usize = 120;

/// One row of the configuration table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigRow {
    /// Dotted for nested properties (`auth.token`).
    pub name: String,
    pub kind: String,
    pub required: bool,
    pub default: Option<String>,
    pub description: String,
    pub secret: bool,
    /// `Some(override policy)` for a connection field (`allowed`, `forbidden`).
    pub connection: Option<String>,
}

/// A snippet for one example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub title: String,
    pub notes: String,
    /// A one-step OML pipeline (absent when the component has no OML mode).
    pub oml: Option<String>,
    /// The `osiris_connections.yaml` entry (absent when it needs no connection fields).
    pub connections: Option<String>,
}

/// What a component page shows from the spec.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpecView {
    pub title: String,
    pub description: String,
    pub modes: Vec<String>,
    /// Known capabilities and whether the component has them.
    pub capabilities: Vec<(String, bool)>,
    pub rows: Vec<ConfigRow>,
    pub examples: Vec<Example>,
}

impl SpecView {
    /// Reads the spec of `component`.
    pub fn from_spec(component: &str, spec: &Value) -> SpecView {
        let text = |key: &str| spec.get(key).and_then(Value::as_str).unwrap_or_default();
        let modes: Vec<String> = spec
            .get("modes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|mode| MODES.contains(mode))
            .map(str::to_owned)
            .collect();
        let capabilities = CAPABILITIES
            .iter()
            .map(|name| {
                let on = spec
                    .get("capabilities")
                    .and_then(|c| c.get(*name))
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                ((*name).to_owned(), on)
            })
            .collect();
        let marks = Marks::of(spec);
        let mut rows = Vec::new();
        if let Some(schema) = spec.get("configSchema") {
            collect_rows(schema, "", "", 0, &marks, &mut rows);
        }
        let examples = examples(component, spec, &modes, &rows);
        SpecView {
            title: text("title").to_owned(),
            description: text("description").to_owned(),
            modes,
            capabilities,
            rows,
            examples,
        }
    }
}

/// Which properties are secrets and which are connection fields.
struct Marks {
    secrets: Vec<String>,
    connection: Vec<(String, String)>,
}

impl Marks {
    fn of(spec: &Value) -> Marks {
        let pointers = |key: &str| -> Vec<String> {
            spec.get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        };
        let mut secrets = pointers("secrets");
        secrets.extend(pointers("x-secret"));
        let connection = spec
            .get("x-connection-fields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|field| match field {
                Value::String(name) => Some((name.clone(), "allowed".to_owned())),
                Value::Object(object) => Some((
                    object.get("name")?.as_str()?.to_owned(),
                    object
                        .get("override")
                        .and_then(Value::as_str)
                        .unwrap_or("allowed")
                        .to_owned(),
                )),
                _ => None,
            })
            .collect();
        Marks {
            secrets,
            connection,
        }
    }

    fn is_secret(&self, pointer: &str) -> bool {
        let connection_pointer = format!("/resolved_connection{pointer}");
        self.secrets
            .iter()
            .any(|secret| *secret == pointer || *secret == connection_pointer)
    }

    fn connection(&self, name: &str) -> Option<String> {
        self.connection
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, policy)| policy.clone())
    }
}

fn collect_rows(
    schema: &Value,
    prefix: &str,
    pointer: &str,
    depth: usize,
    marks: &Marks,
    rows: &mut Vec<ConfigRow>,
) {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for (name, property) in properties {
        if rows.len() >= MAX_ROWS {
            return;
        }
        let full = format!("{prefix}{name}");
        let here = format!("{pointer}/{}", crate::package::yaml::escape_pointer(name));
        rows.push(ConfigRow {
            name: full.clone(),
            kind: kind(property),
            required: required.contains(&name.as_str()),
            default: property.get("default").map(short_json),
            description: property
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            secret: marks.is_secret(&here),
            connection: if depth == 0 {
                marks.connection(name)
            } else {
                None
            },
        });
        if depth + 1 < MAX_PROPERTY_DEPTH {
            collect_rows(property, &format!("{full}."), &here, depth + 1, marks, rows);
        }
    }
}

fn kind(property: &Value) -> String {
    if let Some(values) = property.get("enum").and_then(Value::as_array) {
        let shown: Vec<String> = values.iter().take(12).map(short_json).collect();
        return format!("one of {}", shown.join(", "));
    }
    let base = match property.get("type") {
        Some(Value::String(kind)) => kind.clone(),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "any".to_owned(),
    };
    match property
        .get("items")
        .and_then(|i| i.get("type"))
        .and_then(Value::as_str)
    {
        Some(item) if base == "array" => format!("array of {item}"),
        _ => base,
    }
}

fn short_json(value: &Value) -> String {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > MAX_DEFAULT_CHARS {
        let cut: String = text.chars().take(MAX_DEFAULT_CHARS).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// The OML mode for a component with these spec modes (`extract` is `read` in OML).
fn oml_mode(modes: &[String]) -> Option<&'static str> {
    [
        ("extract", "read"),
        ("write", "write"),
        ("transform", "transform"),
    ]
    .into_iter()
    .find(|(mode, _)| modes.iter().any(|m| m == mode))
    .map(|(_, oml)| oml)
}

fn examples(component: &str, spec: &Value, modes: &[String], rows: &[ConfigRow]) -> Vec<Example> {
    let family = component.split('.').next().unwrap_or(component);
    let listed: Vec<&Map<String, Value>> = spec
        .get("examples")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .take(MAX_EXAMPLES)
        .collect();
    let minimal;
    let listed = if listed.is_empty() {
        // No examples: one from the required settings, each with its default or a
        // placeholder to fill in.
        let mut config = Map::new();
        for row in rows.iter().filter(|r| r.required && !r.name.contains('.')) {
            config.insert(
                row.name.clone(),
                Value::String(
                    row.default
                        .clone()
                        .unwrap_or_else(|| format!("<{}>", row.name)),
                ),
            );
        }
        let mut example = Map::new();
        example.insert(
            "title".into(),
            Value::String("Minimal configuration".into()),
        );
        example.insert(
            "notes".into(),
            Value::String("This spec has no examples; fill in the `<...>` values.".into()),
        );
        example.insert("config".into(), Value::Object(config));
        minimal = [example];
        minimal.iter().collect()
    } else {
        listed
    };
    listed
        .into_iter()
        .map(|example| {
            let title = example
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or("Example")
                .to_owned();
            let config = example.get("config").and_then(Value::as_object);
            let secret = |name: &str| rows.iter().any(|r| r.name == name && r.secret);
            let connection = |name: &str| {
                rows.iter()
                    .any(|r| r.name == name && r.connection.is_some())
            };
            let mut step_config = Map::new();
            let mut connection_fields = Map::new();
            let needs_connection = rows.iter().any(|r| r.connection.is_some() || r.secret);
            if needs_connection {
                step_config.insert(
                    "connection".into(),
                    Value::String(format!("@{family}.default")),
                );
            }
            for (key, value) in config.into_iter().flatten() {
                if secret(key) {
                    // Secrets never go into a pipeline file: Osiris refuses them there.
                    continue;
                }
                if connection(key) {
                    connection_fields.insert(key.clone(), value.clone());
                } else {
                    step_config.insert(key.clone(), value.clone());
                }
            }
            let slug = slug(&title);
            let oml = oml_mode(modes).map(|mode| {
                let step = mapping(vec![
                    ("id", text(&slug)),
                    ("component", text(component)),
                    ("mode", text(mode)),
                    ("config", to_yaml(&Value::Object(step_config), 0)),
                ]);
                yaml(&mapping(vec![
                    ("oml_version", text("0.1.0")),
                    ("name", text(&slug)),
                    ("steps", saphyr::Yaml::Sequence(vec![step])),
                ]))
            });
            let connections = needs_connection.then(|| {
                let mut alias = vec![(
                    "default".to_owned(),
                    saphyr::Yaml::Value(saphyr::Scalar::Boolean(true)),
                )];
                for row in rows.iter().filter(|r| !r.name.contains('.')) {
                    if row.secret {
                        alias.push((row.name.clone(), text(&env_reference(family, &row.name))));
                    } else if row.connection.is_some() {
                        let value = connection_fields
                            .get(&row.name)
                            .map(|value| to_yaml(value, 0))
                            .unwrap_or_else(|| text(&env_reference(family, &row.name)));
                        alias.push((row.name.clone(), value));
                    }
                }
                let alias = saphyr::Yaml::Mapping(
                    alias
                        .into_iter()
                        .map(|(key, value)| (text(&key), value))
                        .collect(),
                );
                yaml(&mapping(vec![
                    ("version", saphyr::Yaml::Value(saphyr::Scalar::Integer(1))),
                    (
                        "connections",
                        mapping(vec![(family, mapping(vec![("default", alias)]))]),
                    ),
                ]))
            });
            Example {
                title,
                notes: example
                    .get("notes")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                oml,
                connections,
            }
        })
        .collect()
}

/// `${SHOPIFY_API_KEY}`: Osiris substitutes environment variables in connection files.
fn env_reference(family: &str, field: &str) -> String {
    let name: String = format!("{family}_{field}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("${{{name}}}")
}

/// A pipeline or step name from an example title: lowercase, `-` between words.
fn slug(title: &str) -> String {
    let mut slug = String::new();
    for character in title.chars().flat_map(char::to_lowercase) {
        if character.is_ascii_alphanumeric() {
            slug.push(character);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() {
        "example".to_owned()
    } else {
        slug
    }
}

fn text(value: &str) -> saphyr::Yaml<'static> {
    saphyr::Yaml::Value(saphyr::Scalar::String(value.to_owned().into()))
}

/// A mapping that keeps the order given (the order a person reads an OML file in).
fn mapping(entries: Vec<(&str, saphyr::Yaml<'static>)>) -> saphyr::Yaml<'static> {
    saphyr::Yaml::Mapping(
        entries
            .into_iter()
            .map(|(key, value)| (text(key), value))
            .collect(),
    )
}

/// Block-style YAML through saphyr's emitter, which quotes what YAML 1.1 readers (PyYAML,
/// which Osiris uses) would read as something else.
fn yaml(document: &saphyr::Yaml<'_>) -> String {
    let mut out = String::new();
    let mut emitter = saphyr::YamlEmitter::new(&mut out);
    emitter.multiline(true);
    if emitter.dump(document).is_err() {
        return String::new();
    }
    let body = out.strip_prefix("---\n").unwrap_or(&out).to_owned();
    body + "\n"
}

/// A spec value as YAML. Values come from the YAML loader, so they nest no deeper than its
/// [`MAX_DEPTH`](crate::package::yaml::MAX_DEPTH); the check keeps the recursion bounded by
/// the same limit whatever the value.
fn to_yaml(value: &Value, depth: usize) -> saphyr::Yaml<'static> {
    use saphyr::{Scalar, Yaml};
    if depth > crate::package::yaml::MAX_DEPTH {
        return Yaml::Value(Scalar::Null);
    }
    match value {
        Value::Null => Yaml::Value(Scalar::Null),
        Value::Bool(b) => Yaml::Value(Scalar::Boolean(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Yaml::Value(Scalar::Integer(i)),
            None => Yaml::Value(Scalar::FloatingPoint(n.as_f64().unwrap_or_default().into())),
        },
        Value::String(s) => Yaml::Value(Scalar::String(s.clone().into())),
        Value::Array(items) => {
            Yaml::Sequence(items.iter().map(|v| to_yaml(v, depth + 1)).collect())
        }
        Value::Object(map) => Yaml::Mapping(
            map.iter()
                .map(|(k, v)| {
                    (
                        Yaml::Value(Scalar::String(k.clone().into())),
                        to_yaml(v, depth + 1),
                    )
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Value {
        serde_json::json!({
            "name": "shopify.extractor",
            "title": "Shopify",
            "modes": ["extract", "discover", "<script>"],
            "capabilities": {"discover": true, "made_up": true},
            "configSchema": {
                "type": "object",
                "properties": {
                    "base_url": {"type": "string", "description": "API root"},
                    "api_key": {"type": "string"},
                    "resource": {"type": "string", "enum": ["customers", "orders"]},
                    "page_size": {"type": "integer", "default": 100},
                    "auth": {"type": "object", "properties": {"token": {"type": "string"}}}
                },
                "required": ["base_url", "api_key", "resource"]
            },
            "secrets": ["/api_key", "/auth/token"],
            "x-connection-fields": ["base_url", {"name": "api_key", "override": "forbidden"}],
            "examples": [{
                "title": "Read all customers",
                "config": {"base_url": "https://api.example.com/v1", "resource": "customers", "api_key": "sk-live-should-not-appear"},
                "notes": "n"
            }]
        })
    }

    #[test]
    fn rows_mark_secrets_and_connection_fields() {
        let view = SpecView::from_spec("shopify.extractor", &spec());
        assert_eq!(view.modes, vec!["extract", "discover"]);
        assert!(view.capabilities.contains(&("discover".to_owned(), true)));
        assert!(!view.capabilities.iter().any(|(name, _)| name == "made_up"));
        let row = |name: &str| view.rows.iter().find(|r| r.name == name).expect(name);
        assert!(row("api_key").secret && row("api_key").required);
        assert_eq!(row("api_key").connection.as_deref(), Some("forbidden"));
        assert_eq!(row("base_url").connection.as_deref(), Some("allowed"));
        assert!(!row("base_url").secret);
        assert_eq!(row("page_size").default.as_deref(), Some("100"));
        assert_eq!(row("resource").kind, "one of customers, orders");
        assert!(row("auth.token").secret);
    }

    #[test]
    fn examples_keep_secrets_out_of_the_pipeline() {
        let view = SpecView::from_spec("shopify.extractor", &spec());
        let example = &view.examples[0];
        let oml = example.oml.as_deref().expect("an OML snippet");
        assert!(
            oml.contains("oml_version: \"0.1.0\"") || oml.contains("oml_version: 0.1.0"),
            "{oml}"
        );
        assert!(oml.contains("mode: read"), "{oml}");
        assert!(oml.contains("connection: \"@shopify.default\""), "{oml}");
        assert!(oml.contains("resource: customers"), "{oml}");
        assert!(!oml.contains("sk-live"), "{oml}");
        assert!(!oml.contains("base_url"), "{oml}");
        let connections = example
            .connections
            .as_deref()
            .expect("a connections snippet");
        assert!(
            connections.contains("api_key: \"${SHOPIFY_API_KEY}\""),
            "{connections}"
        );
        assert!(
            connections.contains("base_url: \"https://api.example.com/v1\""),
            "{connections}"
        );
        assert!(!connections.contains("sk-live"), "{connections}");
    }

    #[test]
    fn a_spec_without_examples_gets_a_minimal_one() {
        let mut spec = spec();
        spec.as_object_mut().expect("object").remove("examples");
        let view = SpecView::from_spec("shopify.extractor", &spec);
        let oml = view.examples[0].oml.as_deref().expect("OML");
        assert!(
            oml.contains("resource: <resource>") || oml.contains("resource: \"<resource>\""),
            "{oml}"
        );
    }
}
