//! Property tests of the signature and key parsers: whatever the input, an error and never a
//! panic; and a signature fails as soon as anything it covers changes.

use std::path::Path;

use proptest::prelude::*;

use ocp::signing::{PackageClaim, PublicKey, SecretKey, SecretKeyFile, SignatureFile, TrustedKeys};

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Text that looks like a key or signature file often enough to reach the deep branches.
fn file_like_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "(untrusted comment: [ -~]{0,20}\n)?[A-Za-z0-9+/=]{0,240}\n?",
        "untrusted comment: [ -~]{0,10}\n[A-Za-z0-9+/]{0,120}=?=?\ntrusted comment: [ -~]{0,30}\n[A-Za-z0-9+/]{0,100}=?=?\n",
        prop::collection::vec(any::<u8>(), 0..200)
            .prop_map(|bytes| format!("untrusted comment: x\n{}\n", base64(&bytes))),
    ]
}

fn key() -> SecretKey {
    SecretKey::generate().expect("a key")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parsers_never_panic(text in file_like_text()) {
        let _ = PublicKey::parse(&text);
        let _ = SignatureFile::parse(&text);
        let _ = PackageClaim::parse(&text);
        let _ = TrustedKeys::parse(&text, Path::new("t.toml"));
        if let Ok(file) = SecretKeyFile::parse(&text) {
            // Only an unencrypted key can be opened without running a key derivation whose
            // cost the random bytes choose; encrypted ones are covered below.
            if !file.is_encrypted() {
                let _ = file.open(None);
            }
        }
    }

    #[test]
    fn random_secret_keys_never_panic_when_opened(
        body in prop::collection::vec(any::<u8>(), 32 + 104),
        encrypted in any::<bool>(),
        opslimit in 0u64..40_000,
        memlimit in 0u64..(1 << 20),
        password in "[ -~]{0,12}",
    ) {
        let mut bytes = Vec::with_capacity(158);
        bytes.extend_from_slice(b"Ed");
        bytes.extend_from_slice(if encrypted { b"Sc" } else { &[0, 0] });
        bytes.extend_from_slice(b"B2");
        bytes.extend_from_slice(&body[..32]);
        bytes.extend_from_slice(&opslimit.to_le_bytes());
        bytes.extend_from_slice(&memlimit.to_le_bytes());
        bytes.extend_from_slice(&body[32..]);
        let file = SecretKeyFile::parse(&base64(&bytes)).expect("well-formed");
        // Random bytes are never a valid key: wrong password, corrupted, or bad parameters.
        prop_assert!(file.open(Some(&password)).is_err());
    }

    #[test]
    fn signatures_verify_for_any_data_and_comment(
        data in prop::collection::vec(any::<u8>(), 0..2048),
        comment in "[^\r\n]{0,80}",
    ) {
        let key = key();
        let signature = SignatureFile::sign(&key, &data[..], &comment, "c").expect("sign");
        let parsed = SignatureFile::parse(&signature.to_text()).expect("parse");
        prop_assert_eq!(&parsed.trusted_comment, &comment);
        prop_assert!(parsed.verify(&key.public_key(), &data[..], false).is_ok());
    }

    #[test]
    fn any_changed_byte_of_the_data_fails(
        data in prop::collection::vec(any::<u8>(), 1..512),
        index in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let key = key();
        let signature = SignatureFile::sign(&key, &data[..], "t", "c").expect("sign");
        let mut changed = data.clone();
        changed[index.index(data.len())] ^= flip;
        prop_assert!(signature.verify(&key.public_key(), &changed[..], false).is_err());
    }

    #[test]
    fn any_changed_character_after_the_untrusted_comment_fails(
        index in any::<prop::sample::Index>(),
        replacement in any::<char>(),
    ) {
        let key = key();
        let data = b"an OCP tarball";
        let text = SignatureFile::sign(&key, &data[..], "timestamp:1\tfile:x", "c")
            .expect("sign")
            .to_text();
        let first_line_end = text.find('\n').expect("line") + 1;
        let positions: Vec<usize> = text
            .char_indices()
            .map(|(at, _)| at)
            .filter(|&at| at >= first_line_end)
            .collect();
        let at = positions[index.index(positions.len())];
        let original = text[at..].chars().next().expect("char");
        prop_assume!(original != replacement);
        // A trailing line break may change into another ending without meaning anything.
        prop_assume!(at != text.len() - 1);
        let mut changed = text.clone();
        changed.replace_range(at..at + original.len_utf8(), &replacement.to_string());
        let outcome = SignatureFile::parse(&changed)
            .and_then(|signature| signature.verify(&key.public_key(), &data[..], false));
        prop_assert!(outcome.is_err(), "accepted:\n{}", changed);
    }
}
