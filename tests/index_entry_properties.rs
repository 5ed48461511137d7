//! Property tests of the index entry parser, the entry check and the canonical form of the
//! signed fields: whatever the input, an error and never a panic; entries round-trip through
//! their file format; the canonical form is JSON that says exactly the fields, and two
//! different sets of fields never share canonical bytes (so no edit can keep a digest).

use proptest::prelude::*;

use ocp::index::format::{EntryDependency, IndexEntry, format_entries, parse_entries};
use ocp::signing::PackageClaim;

/// Strings that are sometimes valid names or requirements and sometimes hostile: control
/// characters, quotes, separators, `..`, leading `-`.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,8}",
        "[a-z]{1,6}\\.[a-z_]{1,8}",
        "(>=|<|==|~=|!=)[0-9]{1,2}(\\.[0-9]{1,2}){0,2}",
        "[ -~]{0,12}",
        any::<String>(),
        Just("../..".to_owned()),
        Just("--no-build-isolation".to_owned()),
        Just("a,b".to_owned()),
        Just("\",\"".to_owned()),
    ]
}

fn entry() -> impl Strategy<Value = IndexEntry> {
    (
        (field(), field()),
        prop::collection::vec(field(), 0..4),
        prop::collection::vec((field(), field()), 0..3),
        (field(), field()),
        prop::collection::vec(field(), 0..3),
        ("[0-9a-f]{64}", "[0-9A-F]{16}", any::<bool>()),
    )
        .prop_map(
            |(
                (name, version),
                components,
                dependencies,
                (osiris, python),
                python_dependencies,
                (sha256, key_id, yanked),
            )| IndexEntry {
                name,
                version,
                components,
                dependencies: dependencies
                    .into_iter()
                    .map(|(name, requirement)| EntryDependency { name, requirement })
                    .collect(),
                osiris,
                python,
                python_dependencies,
                sha256,
                signature: String::new(),
                key_id,
                yanked,
                published: "2026-01-01T00:00:00Z".to_owned(),
                oci_manifest: None,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_entry_parser_never_panics(text in prop_oneof![
        any::<String>(),
        "(\\{\"name\": \"[ -~]{0,10}\"(, \"[a-z_]{1,10}\": [ -~]{0,10})*\\}\n){0,4}",
    ]) {
        if let Ok(entries) = parse_entries(&text) {
            for entry in entries {
                let _ = entry.check();
                let _ = entry.signed_fields().digest();
            }
        }
    }

    #[test]
    fn entries_round_trip_through_their_file(entries in prop::collection::vec(entry(), 0..4)) {
        let text = format_entries(&entries);
        prop_assert_eq!(parse_entries(&text).expect("parse what was written"), entries);
    }

    #[test]
    fn the_check_never_panics_and_accepts_only_safe_names(entry in entry()) {
        if entry.check().is_ok() {
            for name in std::iter::once(&entry.name).chain(entry.dependencies.iter().map(|d| &d.name)) {
                prop_assert!(!name.contains(['/', '\\', '.']) && !name.is_empty(), "{}", name);
            }
            for requirement in &entry.python_dependencies {
                prop_assert!(!requirement.trim_start().starts_with('-'), "{}", requirement);
                prop_assert!(!requirement.chars().any(char::is_control), "{:?}", requirement);
            }
        }
    }

    #[test]
    fn the_canonical_form_says_exactly_the_signed_fields(entry in entry()) {
        let bytes = entry.signed_fields().canonical_bytes();
        let value: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
        let expected = serde_json::json!({
            "components": entry.components,
            "dependencies": entry.dependencies.iter().map(|d| serde_json::json!({"name": d.name, "requirement": d.requirement})).collect::<Vec<_>>(),
            "name": entry.name,
            "osiris": entry.osiris,
            "python": entry.python,
            "python_dependencies": entry.python_dependencies,
            "sha256": entry.sha256,
            "version": entry.version,
        });
        prop_assert_eq!(value, expected);
        // Compact, no whitespace outside strings, one line.
        prop_assert!(!bytes.contains(&b'\n'));
    }

    #[test]
    fn different_signed_fields_never_share_canonical_bytes(
        left in entry(),
        right in entry(),
        split in 0usize..6,
    ) {
        // Besides two unrelated entries, try the edits a naive encoding would confuse:
        // moving text between neighbouring list items or fields.
        let mut moved = left.clone();
        if let Some(first) = moved.components.first().cloned() {
            let cut = first.char_indices().nth(split).map_or(first.len(), |(i, _)| i);
            moved.components[0] = first[..cut].to_owned();
            moved.components.insert(1, first[cut..].to_owned());
        }
        let mut shifted = left.clone();
        shifted.osiris = format!("{}{}", shifted.osiris, shifted.python);
        shifted.python = String::new();
        for other in [&right, &moved, &shifted] {
            if other.signed_fields() != left.signed_fields() {
                prop_assert_ne!(
                    other.signed_fields().canonical_bytes(),
                    left.signed_fields().canonical_bytes()
                );
                prop_assert_ne!(other.signed_fields().digest(), left.signed_fields().digest());
            }
        }
        // `yanked`, `published`, the signature and key id are not signed fields.
        let mut unsigned = left.clone();
        unsigned.yanked = !unsigned.yanked;
        unsigned.published = "2030-01-01T00:00:00Z".to_owned();
        unsigned.key_id = "FFFFFFFFFFFFFFFF".to_owned();
        prop_assert_eq!(unsigned.signed_fields().digest(), left.signed_fields().digest());
    }

    #[test]
    fn claims_with_an_entry_digest_round_trip(
        name in "[a-z][a-z0-9-]{0,10}",
        version in "[0-9]{1,3}(\\.[0-9]{1,3}){0,2}",
        sha256 in "[0-9a-f]{64}",
        entry in prop::option::of("[0-9a-f]{64}"),
        timestamp in prop::option::of(any::<u64>()),
    ) {
        let claim = PackageClaim { name, version, sha256, entry, timestamp };
        prop_assert_eq!(
            PackageClaim::parse(&claim.to_trusted_comment()).expect("parse"),
            Some(claim)
        );
    }
}
