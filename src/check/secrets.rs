//! Secrets: every config property that looks like a credential must be listed in `secrets`
//! (so Osiris redacts it), must not carry a default, and no credential may be committed in
//! the package's files. Findings about a credential never print it: the span is masked.
//!
//! Format placeholders (`{password}`, `%(password)s`, `${PASSWORD}`) are not credentials, and
//! `# pragma: allowlist secret` on a line (detect-secrets's convention, which Osiris's own
//! specs use for example values) marks what is on it as intended.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::codes;
use crate::diagnostics::Diagnostic;
use crate::package::yaml::escape_pointer;
use crate::package::{Package, SpecFile};

/// Name fragments (lowercase, without `_` and `-`) that mark a property as a credential.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "privatekey",
    "credential",
    "signingkey",
    "sessionkey",
];

/// Endings that make a name describe a credential rather than hold one (`token_url`).
const NOT_SECRET_ENDINGS: &[&str] = &[
    "url",
    "uri",
    "endpoint",
    "type",
    "name",
    "field",
    "count",
    "limit",
    "tokens",
    "path",
    "file",
    "env",
    "header",
    "ttl",
    "expiry",
    "expires",
    "expiresat",
    "id",
];

/// True when a config property name looks like it holds a credential.
pub fn looks_secret(name: &str) -> bool {
    let normalized: String = name
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_WORDS.iter().any(|word| normalized.contains(word))
        && !NOT_SECRET_ENDINGS
            .iter()
            .any(|ending| normalized.ends_with(ending))
}

pub fn check(package: &Package, out: &mut Vec<Diagnostic>) {
    for spec in &package.specs {
        undeclared_secrets(
            spec,
            package.sources.get(&spec.path).unwrap_or_default(),
            out,
        );
    }
    committed_credentials(package, out);
}

fn undeclared_secrets(spec: &SpecFile, text: &str, out: &mut Vec<Diagnostic>) {
    let value = &spec.yaml.value;
    let declared: Vec<&str> = ["secrets", "x-secret"]
        .iter()
        .filter_map(|field| value.get(*field).and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let Some(properties) = value.get("configSchema").and_then(|c| c.get("properties")) else {
        return;
    };
    let mut found = Vec::new();
    collect_properties(properties, "", "/configSchema/properties", &mut found);
    for (config_pointer, schema_pointer, name) in found {
        if !looks_secret(&name) {
            continue;
        }
        if !declared.contains(&config_pointer.as_str()) {
            out.push(
                Diagnostic::error(codes::SECRET_NOT_DECLARED, format!("config property `{name}` looks like a secret but is not listed in `secrets`"))
                    .at_opt(&spec.path, spec.yaml.key_span(&schema_pointer))
                    .label("Osiris would log this value unredacted")
                    .help(format!("add `- {config_pointer}` under `secrets:`")),
            );
        }
        let default_pointer = format!("{schema_pointer}/default");
        let default_span = spec.yaml.value_span(&default_pointer);
        if let Some(default) = spec.yaml.value.pointer(&default_pointer)
            && default.as_str().is_some_and(|text| !text.is_empty())
            && !default_span
                .as_ref()
                .is_some_and(|span| allowed_by_pragma(text, span.start.min(text.len())))
        {
            out.push(
                Diagnostic::error(codes::SECRET_DEFAULT, format!("secret property `{name}` has a default value"))
                    .at_opt(&spec.path, default_span)
                    .label("a committed credential")
                    .masked()
                    .help("remove the default; secrets come from the user's connection settings, never from the spec"),
            );
        }
    }
}

/// Walks `configSchema.properties`, nested objects included, yielding
/// (config JSON pointer, spec JSON pointer, property name).
fn collect_properties(
    properties: &Value,
    config_prefix: &str,
    schema_prefix: &str,
    out: &mut Vec<(String, String, String)>,
) {
    let Some(map) = properties.as_object() else {
        return;
    };
    for (name, schema) in map {
        let config_pointer = format!("{config_prefix}/{}", escape_pointer(name));
        let schema_pointer = format!("{schema_prefix}/{}", escape_pointer(name));
        if let Some(nested) = schema.get("properties") {
            collect_properties(
                nested,
                &config_pointer,
                &format!("{schema_pointer}/properties"),
                out,
            );
        }
        out.push((config_pointer, schema_pointer, name.clone()));
    }
}

struct CredentialPattern {
    what: &'static str,
    regex: Regex,
    /// The capture group holding the credential itself (0 for the whole match).
    group: usize,
}

static PATTERNS: LazyLock<Vec<CredentialPattern>> = LazyLock::new(|| {
    let table: [(&str, &str, usize); 10] = [
        ("an AWS access key", r"\b(AKIA|ASIA)[0-9A-Z]{16}\b", 0),
        (
            "a private key",
            r"-----BEGIN (RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY( BLOCK)?-----",
            0,
        ),
        (
            "a GitHub token",
            r"\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{40,}\b",
            0,
        ),
        ("a Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b", 0),
        (
            "a Shopify access token",
            r"\bshp(at|ca|pa|ss)_[a-fA-F0-9]{32}\b",
            0,
        ),
        (
            "a Stripe secret key",
            r"\b(sk|rk)_live_[0-9a-zA-Z]{20,}\b",
            0,
        ),
        (
            "an API secret key",
            r"\bsk-(ant-|proj-)?[A-Za-z0-9_-]{32,}\b",
            0,
        ),
        ("a Google API key", r"\bAIza[0-9A-Za-z_-]{35}\b", 0),
        (
            "a credential in a URL",
            r"[a-z][a-z0-9+.-]*://[^\s:/@]+:([^\s:/@]{3,})@",
            1,
        ),
        (
            "a hard-coded credential",
            r#"(?i)\b[a-z_]*(password|passwd|secret|token|api_?key|access_?key|private_?key)[a-z_]*["']?\s*[:=]\s*["']([^"'\s]{8,})["']"#,
            2,
        ),
    ];
    table
        .into_iter()
        .filter_map(|(what, pattern, group)| {
            Regex::new(pattern)
                .ok()
                .map(|regex| CredentialPattern { what, regex, group })
        })
        .collect()
});

/// Format placeholders: `{password}`, `{}`, `{0}`, `{self.password!r}` (str.format and
/// f-strings), `%(password)s` and `%s` (printf style), `$PASSWORD` and `${PASSWORD}` (shell
/// and environment expansion), `{{ password }}` (Jinja).
static FORMAT_PLACEHOLDER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"\{[A-Za-z0-9_.\[\]]*(![rsa])?(:[^{}]*)?\}|%(\([A-Za-z_][A-Za-z0-9_]*\))?[sdrif]|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|\{\{[^}]*\}\}",
    )
    .ok()
});

/// The comment that marks a line's credential-looking text as intended (detect-secrets's
/// convention, which Osiris's own specs use), and its form for the line that follows.
const ALLOW_PRAGMA: &str = "pragma: allowlist secret";
const ALLOW_NEXT_LINE_PRAGMA: &str = "pragma: allowlist nextline secret";

/// Whether the line holding `offset`, or the line before it, says the secret there is intended.
fn allowed_by_pragma(text: &str, offset: usize) -> bool {
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    if text[start..end].contains(ALLOW_PRAGMA) {
        return true;
    }
    let previous = text[..start.saturating_sub(1)]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    start > 0 && text[previous..start - 1].contains(ALLOW_NEXT_LINE_PRAGMA)
}

/// Values that are obviously placeholders, not credentials.
fn is_placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    FORMAT_PLACEHOLDER
        .as_ref()
        .is_some_and(|regex| regex.is_match(value))
        || lower.starts_with("${")
        || lower.starts_with('<')
        || lower.starts_with("{{")
        || lower.contains("example")
        || lower.contains("your")
        || lower.contains("changeme")
        || lower.contains("placeholder")
        || lower.contains("dummy")
        || lower.contains("test")
        || lower.contains("fake")
        || lower.chars().all(|c| c == '*' || c == 'x' || c == '.')
        || lower.starts_with("env:")
        || lower.starts_with("os.environ")
}

fn committed_credentials(package: &Package, out: &mut Vec<Diagnostic>) {
    for file in &package.files {
        if file.relative.starts_with("LICENSE") {
            continue;
        }
        let Some(text) = package.sources.get(&file.relative) else {
            continue;
        };
        let mut reported: Vec<std::ops::Range<usize>> = Vec::new();
        for pattern in PATTERNS.iter() {
            for captures in pattern.regex.captures_iter(text) {
                let Some(found) = captures.get(pattern.group) else {
                    continue;
                };
                if is_placeholder(found.as_str())
                    || allowed_by_pragma(text, found.start())
                    || reported
                        .iter()
                        .any(|r| r.start < found.end() && found.start() < r.end)
                {
                    continue;
                }
                reported.push(found.start()..found.end());
                out.push(
                    Diagnostic::error(codes::CREDENTIAL_LITERAL, format!("`{}` contains what looks like {}", file.relative, pattern.what))
                        .at(&file.relative, found.start()..found.end())
                        .label("hidden here; ocp never prints credentials")
                        .masked()
                        .help("remove it from the package, revoke it if it was ever pushed, and read it from the environment or a connection at run time"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for name in [
            "password",
            "api_key",
            "apiKey",
            "access_token",
            "client_secret",
            "private_key",
            "AWS_SECRET_ACCESS_KEY",
        ] {
            assert!(looks_secret(name), "{name}");
        }
        for name in [
            "host",
            "token_url",
            "max_tokens",
            "shop_name",
            "page_size",
            "secret_name",
        ] {
            assert!(!looks_secret(name), "{name}");
        }
    }

    #[test]
    fn credential_patterns_find_real_shapes_not_placeholders() {
        let hits = |text: &str| {
            PATTERNS
                .iter()
                .filter(|p| {
                    p.regex
                        .captures_iter(text)
                        .any(|c| c.get(p.group).is_some_and(|m| !is_placeholder(m.as_str())))
                })
                .count()
        };
        assert_eq!(hits("key = 'AKIAIOSFODNN7EXAMPL3'"), 1);
        assert_eq!(
            hits("token = \"shpat_0123456789abcdef0123456789abcdef\""),
            2
        );
        assert_eq!(hits("password = \"hunter2hunter2\""), 1);
        assert_eq!(hits("password = \"${SHOP_PASSWORD}\""), 0);
        assert_eq!(hits("api_key: <your-api-key>"), 0);
        assert_eq!(hits("postgresql://user:s3cretpw@db/x"), 1);
    }

    #[test]
    fn format_placeholders_are_not_credentials() {
        for value in [
            "{password}",
            "{}",
            "{0}",
            "{self.password!r}",
            "%(password)s",
            "%s",
            "${PASSWORD}",
            "$PASSWORD",
            "{{ password }}",
        ] {
            assert!(is_placeholder(value), "{value}");
        }
        for value in ["s3cretpw", "hunter2hunter2", "shpat_0123456789abcdef"] {
            assert!(!is_placeholder(value), "{value}");
        }
    }

    #[test]
    fn the_pragma_allows_its_own_line_or_the_next() {
        let text = "a: x\npassword: secret123  # pragma: allowlist secret\n# pragma: allowlist nextline secret\ntoken: abcdefghij\nkey: zzz\n";
        let at = |needle: &str| text.find(needle).expect("in the text");
        assert!(allowed_by_pragma(text, at("secret123")));
        assert!(allowed_by_pragma(text, at("abcdefghij")));
        assert!(!allowed_by_pragma(text, at("zzz")));
        assert!(!allowed_by_pragma(text, at("x\n")));
    }
}
