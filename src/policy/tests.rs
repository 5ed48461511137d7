use super::*;

fn listed(text: &str, line: usize) -> Listed {
    Listed {
        rule: text.parse().expect("rule"),
        origin: Origin(format!("`osiris.yaml:{line}`")),
    }
}

fn allowlist(entries: &[(&str, usize)]) -> Option<Allowlist> {
    Some(Allowlist {
        entries: entries.iter().map(|(t, l)| listed(t, *l)).collect(),
        origin: Origin("`osiris.yaml:3`".to_owned()),
    })
}

const KEY: &str = "1A2B3C4D5E6F7A8B";
const OTHER_KEY: &str = "0000000000000001";

fn check(policy: &Policy, name: &str, version: &str, components: &[&str]) -> Result<(), Refusal> {
    check_signed(policy, name, version, components, KEY)
}

fn check_signed(
    policy: &Policy,
    name: &str,
    version: &str,
    components: &[&str],
    key_id: &str,
) -> Result<(), Refusal> {
    let version: Version = version.parse().expect("version");
    let components: Vec<String> = components.iter().map(|c| (*c).to_owned()).collect();
    policy.check(&Subject {
        name,
        version: &version,
        components: &components,
        key_id,
    })
}

#[test]
fn nothing_set_allows_everything() {
    let policy = Policy::allow_all();
    assert!(policy.is_permissive());
    assert_eq!(
        check(&policy, "any-osiris", "9.9.9", &["any.extractor"]),
        Ok(())
    );
}

#[test]
fn disabled_refuses_every_plugin_and_says_where() {
    let policy = Policy {
        disabled: Some(Origin("`osiris.yaml:2`".to_owned())),
        ..Policy::allow_all()
    };
    let refusal = check(&policy, "a-osiris", "1.0.0", &[]).expect_err("disabled");
    assert_eq!(refusal.rule(), "disabled");
    assert_eq!(
        refusal.to_string(),
        "plugins are disabled (`enabled: false` at `osiris.yaml:2`)"
    );
}

#[test]
fn the_allowlist_admits_listed_versions_only() {
    let policy = Policy {
        allowlist: allowlist(&[
            ("shopify-osiris==1.0.0", 4),
            ("hubspot-osiris>=2.0.0,<3.0.0", 5),
        ]),
        ..Policy::allow_all()
    };
    assert_eq!(
        check(&policy, "shopify-osiris", "1.0.0", &["shopify.extractor"]),
        Ok(())
    );
    assert_eq!(check(&policy, "hubspot-osiris", "2.4.1", &[]), Ok(()));
    let refusal = check(&policy, "shopify-osiris", "2.0.0", &[]).expect_err("2.0.0");
    assert_eq!(refusal.rule(), "allowlist");
    assert_eq!(
        refusal.to_string(),
        "no entry of the allowlist at `osiris.yaml:3` matches it; it allows only `shopify-osiris==1.0.0` (`osiris.yaml:4`)"
    );
    let refusal = check(&policy, "other-osiris", "1.0.0", &[]).expect_err("unlisted");
    assert_eq!(
        refusal.to_string(),
        "no entry of the allowlist at `osiris.yaml:3` matches it"
    );
}

#[test]
fn a_component_allowlist_needs_every_component_a_version_provides() {
    let policy = Policy {
        allowlist: allowlist(&[("shopify.extractor", 4)]),
        ..Policy::allow_all()
    };
    assert_eq!(
        check(&policy, "shopify-osiris", "1.0.0", &["shopify.extractor"]),
        Ok(())
    );
    let refusal = check(
        &policy,
        "shopify-osiris",
        "1.1.0",
        &["shopify.extractor", "shopify.writer"],
    )
    .expect_err("an unlisted component rides along");
    assert!(
        refusal.to_string().contains("`shopify.extractor`"),
        "{refusal}"
    );
    check(&policy, "lib-osiris", "1.0.0", &[]).expect_err("no component at all");
}

#[test]
fn the_denylist_wins_over_a_matching_allowlist_entry_and_says_why() {
    let policy = Policy {
        allowlist: allowlist(&[("hubspot-osiris>=2.0.0", 4)]),
        denylist: vec![
            listed("hubspot-osiris==2.1.0", 8),
            listed("evil.extractor", 9),
        ],
        ..Policy::allow_all()
    };
    assert_eq!(check(&policy, "hubspot-osiris", "2.0.0", &[]), Ok(()));
    let refusal = check(&policy, "hubspot-osiris", "2.1.0", &[]).expect_err("denied");
    assert_eq!(refusal.rule(), "denylist");
    assert_eq!(refusal.origin(), &Origin("`osiris.yaml:8`".to_owned()));
    let text = refusal.to_string();
    assert!(
        text.starts_with("the denylist entry `hubspot-osiris==2.1.0` at `osiris.yaml:8` matches it; the allowlist entry `hubspot-osiris>=2.0.0` at `osiris.yaml:4` matches it too, but the denylist wins"),
        "{text}"
    );
    let refusal = check(&policy, "hubspot-osiris", "2.2.0", &["evil.extractor"])
        .expect_err("a denied component");
    assert!(
        refusal.to_string().contains("`evil.extractor`"),
        "{refusal}"
    );
}

#[test]
fn signature_verification_trusts_the_named_signers_only() {
    let keboola = TrustedSigner {
        name: "keboola".to_owned(),
        key_id: KEY.parse().expect("key id"),
    };
    let policy = Policy {
        signers: Some(SignerCheck {
            origin: Origin("`osiris.yaml:6`".to_owned()),
            trusted: vec![keboola.clone()],
            list: Some(Origin("`osiris.yaml:7`".to_owned())),
        }),
        ..Policy::allow_all()
    };
    assert_eq!(check_signed(&policy, "a-osiris", "1.0.0", &[], KEY), Ok(()));
    assert_eq!(
        check_signed(&policy, "a-osiris", "1.0.0", &[], &KEY.to_lowercase()),
        Ok(())
    );
    let refusal =
        check_signed(&policy, "a-osiris", "1.0.0", &[], OTHER_KEY).expect_err("untrusted");
    assert_eq!(refusal.rule(), "signer");
    assert_eq!(
        refusal.to_string(),
        format!(
            "it is signed by key {OTHER_KEY}, which is not one of the trusted signers at `osiris.yaml:7` (keboola ({KEY})), and `signature_verification` is on at `osiris.yaml:6`"
        )
    );
    let any_trusted = Policy {
        signers: Some(SignerCheck {
            origin: Origin("`osiris.yaml:6`".to_owned()),
            trusted: vec![keboola],
            list: None,
        }),
        ..Policy::allow_all()
    };
    let refusal =
        check_signed(&any_trusted, "a-osiris", "1.0.0", &[], "not a key").expect_err("bad id");
    assert!(
        refusal.to_string().contains("not a trusted key"),
        "{refusal}"
    );
}
