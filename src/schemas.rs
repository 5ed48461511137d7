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
/// The schema of `ocp install`, `ocp update` and `ocp lock` with `--format json`.
pub const INSTALL_REPORT: &str = include_str!("../schemas/install-report.schema.json");
/// The schema of `ocp list --format json`.
pub const LIST_REPORT: &str = include_str!("../schemas/list-report.schema.json");
/// The schema of `ocp index site --format json`.
pub const SITE_REPORT: &str = include_str!("../schemas/site-report.schema.json");
/// The schema of `ocp test --format json`.
pub const TEST_REPORT: &str = include_str!("../schemas/test-report.schema.json");

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
