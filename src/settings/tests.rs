use std::collections::BTreeMap;

use super::*;

/// A project folder, a home and an environment to resolve settings in.
struct Fixture {
    dir: tempfile::TempDir,
    env: BTreeMap<String, String>,
    flags: Flags,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("project/.osiris")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("home")).expect("mkdir");
        Fixture {
            dir,
            env: BTreeMap::new(),
            flags: Flags::default(),
        }
    }

    fn project(&self) -> PathBuf {
        self.dir.path().join("project")
    }

    fn write(&self, relative: &str, text: &str) {
        std::fs::write(self.dir.path().join(relative), text).expect("write");
    }

    fn resolve(&self) -> Result<Resolved, SettingsError> {
        let env = |name: &str| self.env.get(name).cloned();
        resolve(&Inputs {
            cwd: &self.project(),
            home: &self.dir.path().join("home"),
            flags: self.flags.clone(),
            env: &env,
        })
    }

    fn settings(&self) -> (Settings, Vec<String>) {
        let resolved = self.resolve().expect("settings");
        (resolved.settings, resolved.warnings)
    }
}

#[test]
fn outside_a_project_everything_is_a_default() {
    let fixture = Fixture::new();
    let (settings, warnings) = fixture.settings();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(settings.project, None);
    assert_eq!(settings.lockfile, Setting::default(None));
    assert_eq!(settings.plugins.enabled, Setting::default(true));
    assert_eq!(settings.plugins.allowlist.value, None);
    assert_eq!(settings.index.value, None);
    let (policy, _) = settings.policy(&TrustedKeys::default()).expect("policy");
    assert!(policy.is_permissive());
}

#[test]
fn each_setting_comes_from_the_first_layer_that_sets_it() {
    let mut fixture = Fixture::new();
    fixture.write(
        "project/osiris.yaml",
        "version: '2.0'\nplugins:\n  enabled: false\n  denylist:\n    - untrusted-osiris\n",
    );
    fixture.write(
        "home/config.toml",
        "index = \"team\"\noffline = true\n\n[plugins]\nenabled = true\ndenylist = [\"user-osiris\"]\nsignature_verification = true\n",
    );
    let (settings, warnings) = fixture.settings();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(settings.index.value.as_deref(), Some("team"));
    assert_eq!(settings.index.source.kind(), "user");
    assert_eq!(
        settings.index.source.to_string(),
        format!(
            "`{}:1`",
            fixture.dir.path().join("home/config.toml").display()
        )
    );
    // The project beats the user file for plugin settings.
    assert!(!settings.plugins.enabled.value);
    assert_eq!(
        settings.plugins.enabled.source.to_string(),
        "`osiris.yaml:3`"
    );
    assert_eq!(
        settings.plugins.denylist.value[0].value.to_string(),
        "untrusted-osiris"
    );
    assert_eq!(
        settings.plugins.denylist.value[0].source.to_string(),
        "`osiris.yaml:5`"
    );
    // What only the user file sets still applies.
    assert!(settings.plugins.signature_verification.value);
    assert_eq!(
        settings.plugins.signature_verification.source.kind(),
        "user"
    );
    assert_eq!(
        settings.lockfile.value,
        Some(fixture.project().join("ocp.lock"))
    );
    assert_eq!(settings.lockfile.source.kind(), "project");

    // The environment beats the project, and a flag beats the environment.
    fixture
        .env
        .insert("OCP_PLUGINS_ENABLED".into(), "yes".into());
    fixture.env.insert("OCP_INDEX".into(), "from-env".into());
    fixture.env.insert(
        "OCP_PLUGINS_DENYLIST".into(),
        "a-osiris  b.extractor>=2".into(),
    );
    fixture.flags.index = Some("from-flag".into());
    fixture.flags.lockfile = Some("other.lock".into());
    let (settings, _) = fixture.settings();
    assert!(settings.plugins.enabled.value);
    assert_eq!(
        settings.plugins.enabled.source,
        Source::Env("OCP_PLUGINS_ENABLED".into())
    );
    assert_eq!(settings.index.value.as_deref(), Some("from-flag"));
    assert_eq!(settings.index.source, Source::Flag("--index"));
    let denied: Vec<String> = settings
        .plugins
        .denylist
        .value
        .iter()
        .map(|r| r.value.to_string())
        .collect();
    assert_eq!(denied, ["a-osiris", "b.extractor>=2"]);
    assert_eq!(
        settings.lockfile.value,
        Some(fixture.project().join("other.lock"))
    );
}

#[test]
fn osiris_yaml_wins_over_the_seed_config_with_a_warning() {
    let fixture = Fixture::new();
    fixture.write("project/osiris.yaml", "plugins:\n  denylist: [a-osiris]\n");
    fixture.write(
        "project/.osiris/config.yaml",
        "plugins:\n  denylist: [b-osiris]\n  enabled: false\n",
    );
    let (settings, warnings) = fixture.settings();
    assert_eq!(
        settings.plugins.denylist.value[0].value.to_string(),
        "a-osiris"
    );
    assert!(
        settings.plugins.enabled.value,
        "nothing is taken from the ignored file"
    );
    assert_eq!(
        settings.plugins_file,
        Some(fixture.project().join("osiris.yaml"))
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("both `osiris.yaml` and `.osiris/config.yaml` have a `plugins:` section; ocp uses `osiris.yaml`"),
        "{warnings:?}"
    );

    // With only the seed file, its section is the one in force.
    let fixture = Fixture::new();
    fixture.write("project/osiris.yaml", "version: '2.0'\n");
    fixture.write(
        "project/.osiris/config.yaml",
        "plugins:\n  denylist: [b-osiris]\n",
    );
    let (settings, warnings) = fixture.settings();
    assert!(warnings.is_empty());
    assert_eq!(
        settings.plugins.denylist.value[0].source.to_string(),
        "`.osiris/config.yaml:2`"
    );
}

#[test]
fn unknown_keys_are_warnings_that_name_file_and_line() {
    let fixture = Fixture::new();
    fixture.write(
        "project/.osiris/config.yaml",
        "plugins:\n  enabled: true\n  alowlist: [a-osiris]\n  sandbox:\n    provider: e2b\n    gpu: true\n",
    );
    fixture.write(
        "home/config.toml",
        "colour = true\n[plugins]\nsandbox = { netwrk = \"deny\" }\n",
    );
    let (settings, warnings) = fixture.settings();
    assert_eq!(
        settings.plugins.sandbox.provider.value.as_deref(),
        Some("e2b")
    );
    assert_eq!(warnings.len(), 4, "{warnings:?}");
    assert!(warnings[0].starts_with("`.osiris/config.yaml:3`: unknown setting `plugins.alowlist` is ignored; `plugins` knows `enabled`, `allowlist`"), "{warnings:?}");
    assert!(
        warnings[1].starts_with("`.osiris/config.yaml:6`: unknown setting `plugins.sandbox.gpu`"),
        "{warnings:?}"
    );
    assert!(
        warnings[2].contains("config.toml:1`: unknown setting `colour`"),
        "{warnings:?}"
    );
    assert!(
        warnings[3].contains("unknown setting `plugins.sandbox.netwrk`"),
        "{warnings:?}"
    );
}

#[test]
fn wrong_types_and_bad_entries_are_errors_at_their_line() {
    for (text, expected) in [
        (
            "plugins:\n  enabled: \"no\"\n",
            "`osiris.yaml:2:12`: `plugins.enabled` must be `true` or `false`, not a string\n     2 |   enabled: \"no\"",
        ),
        (
            "plugins:\n  allowlist: shopify-osiris\n",
            "`osiris.yaml:2:14`: `plugins.allowlist` must be a list of strings, not a string",
        ),
        (
            "plugins:\n  allowlist:\n    - 1.0\n",
            "`osiris.yaml:3:7`: `plugins.allowlist` must be a list of strings, not a number",
        ),
        (
            "plugins:\n  denylist:\n    - ok-osiris\n    - shopify-osiris=>1.0\n",
            "`osiris.yaml:4`: the `plugins.denylist` entry `shopify-osiris=>1.0` has an invalid PEP 440 requirement `=>1.0`",
        ),
        (
            "plugins:\n  sandbox:\n    network: outbound\n",
            "`osiris.yaml:3`: `plugins.sandbox.network` must be one of `deny`, `egress-only`, `allow`: `outbound` is not one of them",
        ),
        (
            "plugins: [a]\n",
            "`osiris.yaml:1:10`: `plugins` must be a mapping of settings, not a list",
        ),
        ("plugins:\n  enabled: [\n", "`osiris.yaml:3:1`: not valid"),
        (
            "plugins:\n  trusted_signers: [Keboola]\n",
            "`osiris.yaml:2`: `plugins.trusted_signers` must be a list of trusted key names",
        ),
    ] {
        let fixture = Fixture::new();
        fixture.write("project/osiris.yaml", text);
        let error = fixture.resolve().expect_err(text).to_string();
        assert!(error.contains(expected), "{text:?}:\n{error}");
    }
}

#[test]
fn the_user_file_and_the_environment_are_checked_too() {
    let fixture = Fixture::new();
    fixture.write("home/config.toml", "[plugins]\nenabled = \"yes\"\n");
    let error = fixture.resolve().expect_err("a string").to_string();
    assert!(
        error.contains(
            "config.toml:2:11`: `plugins.enabled` must be `true` or `false`, not a string"
        ),
        "{error}"
    );

    let mut fixture = Fixture::new();
    fixture.env.insert("OCP_OFFLINE".into(), "maybe".into());
    let error = fixture.resolve().expect_err("not a boolean").to_string();
    assert_eq!(
        error,
        "`OCP_OFFLINE`: `offline` must be `true` or `false`: `maybe` is neither"
    );
}

#[test]
fn a_named_project_must_be_one() {
    let mut fixture = Fixture::new();
    fixture.flags.project = Some("nowhere".into());
    let error = fixture.resolve().expect_err("missing");
    assert!(
        matches!(error, SettingsError::Project(ProjectError::Missing { .. })),
        "{error}"
    );
}

#[test]
fn trusted_signers_map_to_keys_and_an_unknown_name_is_an_error_only_when_used() {
    let key = crate::signing::SecretKey::generate()
        .expect("key")
        .public_key();
    let trusted_text = crate::signing::trusted::with_signer("", "keboola", &key).expect("trusted");
    let trusted = TrustedKeys::parse(&trusted_text, Path::new("t.toml")).expect("parse");

    let fixture = Fixture::new();
    fixture.write(
        "project/osiris.yaml",
        "plugins:\n  signature_verification: true\n  trusted_signers: [keboola, youraccount]\n",
    );
    let (settings, _) = fixture.settings();
    let error = settings
        .policy(&trusted)
        .expect_err("unknown signer")
        .to_string();
    assert!(
        error.starts_with("`osiris.yaml:3`: the trusted signer `youraccount` has no key"),
        "{error}"
    );

    let fixture = Fixture::new();
    fixture.write(
        "project/osiris.yaml",
        "plugins:\n  signature_verification: false\n  trusted_signers: [keboola, youraccount]\n",
    );
    let (settings, _) = fixture.settings();
    let (policy, warnings) = settings.policy(&trusted).expect("policy");
    assert!(policy.signers.is_none());
    assert_eq!(warnings.len(), 1, "{warnings:?}");

    let fixture = Fixture::new();
    fixture.write(
        "project/osiris.yaml",
        "plugins:\n  signature_verification: true\n  trusted_signers: [keboola]\n",
    );
    let (settings, _) = fixture.settings();
    let (policy, _) = settings.policy(&trusted).expect("policy");
    let check = policy.signers.expect("signers checked");
    assert_eq!(check.trusted[0].key_id, key.key_id());
    assert_eq!(check.list.map(|o| o.0), Some("`osiris.yaml:3`".to_owned()));
}

#[test]
fn an_empty_allowlist_warns_that_it_allows_nothing() {
    let fixture = Fixture::new();
    fixture.write("project/osiris.yaml", "plugins:\n  allowlist: []\n");
    let (settings, warnings) = fixture.settings();
    assert_eq!(settings.plugins.allowlist.value, Some(Vec::new()));
    assert!(
        warnings[0].contains("allows no plugin at all"),
        "{warnings:?}"
    );
}
