//! The JSON schemas embedded from `schemas/`: the Osiris spec schema ocp validates against,
//! and the schemas of ocp's own documents (`ocp.json`, the index files, the lock file) and of
//! what every command prints with `--format json`.

use std::sync::LazyLock;

use jsonschema::Validator;

/// The spec schema that Osiris 0.5.7 ships and enforces, byte for byte.
pub const OSIRIS_0_5_7_SPEC: &str = include_str!("../schemas/osiris-0.5.7/spec.schema.json");
/// The schema of the `ocp.json` manifest inside every built package.
pub const MANIFEST: &str = include_str!("../schemas/ocp-manifest.schema.json");
/// The schema of `ocp check --format json`.
pub const CHECK_REPORT: &str = include_str!("../schemas/check-report.schema.json");
/// The schema of `ocp build --format json`.
pub const BUILD_REPORT: &str = include_str!("../schemas/build-report.schema.json");

/// The schema of one line of an index package file.
pub const INDEX_ENTRY: &str = include_str!("../schemas/index-entry.schema.json");
/// The schema of an index's `config.json`.
pub const INDEX_CONFIG: &str = include_str!("../schemas/index-config.schema.json");
/// The schema of one line of an owner log.
pub const OWNER_EVENT: &str = include_str!("../schemas/owner-event.schema.json");
/// The schema of `ocp.lock` read as JSON.
pub const LOCKFILE: &str = include_str!("../schemas/lockfile.schema.json");

/// The schema of `ocp verify --format json`.
pub const VERIFY_REPORT: &str = include_str!("../schemas/verify-report.schema.json");
/// The schema of `ocp sign --format json`.
pub const SIGN_REPORT: &str = include_str!("../schemas/sign-report.schema.json");
/// The schema of `ocp key generate --format json` and `ocp key public --format json`.
pub const KEY_REPORT: &str = include_str!("../schemas/key-report.schema.json");
/// The schema of `ocp key trusted --format json`.
pub const TRUSTED_KEYS_REPORT: &str = include_str!("../schemas/trusted-keys-report.schema.json");
/// The schema of `ocp publish --format json`.
pub const PUBLISH_REPORT: &str = include_str!("../schemas/publish-report.schema.json");
/// The schema of `ocp search --format json`.
pub const SEARCH_REPORT: &str = include_str!("../schemas/search-report.schema.json");
/// The schema of `ocp info --format json`.
pub const INFO_REPORT: &str = include_str!("../schemas/info-report.schema.json");
/// The schema of `ocp owner list --format json`.
pub const OWNER_LIST_REPORT: &str = include_str!("../schemas/owner-list-report.schema.json");
/// The schema of `ocp index verify --format json`.
pub const INDEX_VERIFY_REPORT: &str = include_str!("../schemas/index-verify-report.schema.json");
/// The schema of `ocp index checkpoint --format json`.
pub const INDEX_CHECKPOINT_REPORT: &str =
    include_str!("../schemas/index-checkpoint-report.schema.json");
/// The schema of `ocp install`, `ocp update` and `ocp lock` with `--format json`.
pub const INSTALL_REPORT: &str = include_str!("../schemas/install-report.schema.json");
/// The schema of `ocp list --format json`.
pub const LIST_REPORT: &str = include_str!("../schemas/list-report.schema.json");
/// The schema of `ocp index site --format json`.
pub const SITE_REPORT: &str = include_str!("../schemas/site-report.schema.json");
/// The schema of `ocp test --format json`.
pub const TEST_REPORT: &str = include_str!("../schemas/test-report.schema.json");
/// The schema of `ocp audit --format json`.
pub const AUDIT_REPORT: &str = include_str!("../schemas/audit-report.schema.json");
/// The schema of `ocp config show --format json`.
pub const CONFIG_REPORT: &str = include_str!("../schemas/config-report.schema.json");
/// The schema of `ocp migrate --format json`.
pub const MIGRATE_REPORT: &str = include_str!("../schemas/migrate-report.schema.json");

/// A schema that `ocp schema NAME` prints: its name, what it describes, and its text.
#[derive(Debug, Clone, Copy)]
pub struct Published {
    pub name: &'static str,
    pub describes: &'static str,
    pub text: &'static str,
}

/// Every schema ocp publishes, named after its file in `schemas/` (without `.schema.json`).
pub const PUBLISHED: &[Published] = &[
    Published {
        name: "audit-report",
        describes: "`ocp audit --format json`",
        text: AUDIT_REPORT,
    },
    Published {
        name: "build-report",
        describes: "`ocp build --format json`",
        text: BUILD_REPORT,
    },
    Published {
        name: "check-report",
        describes: "`ocp check --format json`",
        text: CHECK_REPORT,
    },
    Published {
        name: "config-report",
        describes: "`ocp config show --format json`",
        text: CONFIG_REPORT,
    },
    Published {
        name: "index-checkpoint-report",
        describes: "`ocp index checkpoint --format json`",
        text: INDEX_CHECKPOINT_REPORT,
    },
    Published {
        name: "index-config",
        describes: "an index's `config.json`",
        text: INDEX_CONFIG,
    },
    Published {
        name: "index-entry",
        describes: "one line of an index package file",
        text: INDEX_ENTRY,
    },
    Published {
        name: "index-verify-report",
        describes: "`ocp index verify --format json`",
        text: INDEX_VERIFY_REPORT,
    },
    Published {
        name: "info-report",
        describes: "`ocp info --format json`",
        text: INFO_REPORT,
    },
    Published {
        name: "install-report",
        describes: "`ocp install`, `ocp update` and `ocp lock` with `--format json`",
        text: INSTALL_REPORT,
    },
    Published {
        name: "key-report",
        describes: "`ocp key generate` and `ocp key public` with `--format json`",
        text: KEY_REPORT,
    },
    Published {
        name: "list-report",
        describes: "`ocp list --format json`",
        text: LIST_REPORT,
    },
    Published {
        name: "lockfile",
        describes: "`ocp.lock`, read as JSON",
        text: LOCKFILE,
    },
    Published {
        name: "migrate-report",
        describes: "`ocp migrate --format json`",
        text: MIGRATE_REPORT,
    },
    Published {
        name: "ocp-manifest",
        describes: "the `ocp.json` manifest inside every built package",
        text: MANIFEST,
    },
    Published {
        name: "osiris-0.5.7/spec",
        describes: "a component's spec.yaml, as Osiris 0.5.7 ships the schema",
        text: OSIRIS_0_5_7_SPEC,
    },
    Published {
        name: "owner-event",
        describes: "one line of an index owner log",
        text: OWNER_EVENT,
    },
    Published {
        name: "owner-list-report",
        describes: "`ocp owner list --format json`",
        text: OWNER_LIST_REPORT,
    },
    Published {
        name: "publish-report",
        describes: "`ocp publish --format json`",
        text: PUBLISH_REPORT,
    },
    Published {
        name: "search-report",
        describes: "`ocp search --format json`",
        text: SEARCH_REPORT,
    },
    Published {
        name: "sign-report",
        describes: "`ocp sign --format json`",
        text: SIGN_REPORT,
    },
    Published {
        name: "site-report",
        describes: "`ocp index site --format json`",
        text: SITE_REPORT,
    },
    Published {
        name: "test-report",
        describes: "`ocp test --format json`",
        text: TEST_REPORT,
    },
    Published {
        name: "trusted-keys-report",
        describes: "`ocp key trusted --format json`",
        text: TRUSTED_KEYS_REPORT,
    },
    Published {
        name: "verify-report",
        describes: "`ocp verify --format json`",
        text: VERIFY_REPORT,
    },
];

/// The published schema called `name`.
pub fn published(name: &str) -> Option<&'static Published> {
    PUBLISHED.iter().find(|schema| schema.name == name)
}

static INDEX_ENTRY_VALIDATOR: LazyLock<Result<Validator, String>> =
    LazyLock::new(|| compile(INDEX_ENTRY));

/// The compiled index entry schema.
pub fn index_entry_validator() -> Result<&'static Validator, String> {
    INDEX_ENTRY_VALIDATOR.as_ref().map_err(Clone::clone)
}

static OSIRIS_SPEC_VALIDATOR: LazyLock<Result<Validator, String>> =
    LazyLock::new(|| compile(OSIRIS_0_5_7_SPEC));

fn compile(text: &str) -> Result<Validator, String> {
    let schema: serde_json::Value =
        serde_json::from_str(text).map_err(|error| error.to_string())?;
    jsonschema::draft202012::new(&schema).map_err(|error| error.to_string())
}

/// The compiled Osiris 0.5.7 spec schema. An error here is a defect in ocp's own build.
pub fn osiris_spec_validator() -> Result<&'static Validator, String> {
    OSIRIS_SPEC_VALIDATOR.as_ref().map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_file_is_published_under_its_name() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
        let mut files = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("read schemas/") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Some(relative) = path
                    .strip_prefix(&root)
                    .ok()
                    .and_then(|p| p.to_str())
                    .and_then(|p| p.strip_suffix(".schema.json"))
                {
                    files.push((
                        relative.replace('\\', "/"),
                        std::fs::read_to_string(&path).expect("read"),
                    ));
                }
            }
        }
        files.sort();
        let names: Vec<&str> = PUBLISHED.iter().map(|schema| schema.name).collect();
        let expected: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names, expected,
            "PUBLISHED lists every file in schemas/, in order"
        );
        for (name, text) in &files {
            assert_eq!(
                published(name).map(|schema| schema.text),
                Some(text.as_str())
            );
        }
    }

    #[test]
    fn every_embedded_schema_compiles() {
        for text in [
            OSIRIS_0_5_7_SPEC,
            MANIFEST,
            CHECK_REPORT,
            BUILD_REPORT,
            INDEX_ENTRY,
            INDEX_CONFIG,
            OWNER_EVENT,
            LOCKFILE,
            VERIFY_REPORT,
            SIGN_REPORT,
            KEY_REPORT,
            TRUSTED_KEYS_REPORT,
            PUBLISH_REPORT,
            SEARCH_REPORT,
            INFO_REPORT,
            OWNER_LIST_REPORT,
            INDEX_VERIFY_REPORT,
            INSTALL_REPORT,
            LIST_REPORT,
            TEST_REPORT,
        ] {
            compile(text).expect("schema compiles");
        }
    }
}
