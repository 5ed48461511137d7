use super::keys::{KeyHistory, KeyTrust, choose_key, first_record, rotation_record};
use super::*;

fn manifest() -> Manifest {
    Manifest::build([
        ("config.json", b"{}\n".as_slice()),
        ("packages/sh/op/shopify-osiris", b"{\"a\":1}\n".as_slice()),
    ])
}

fn checkpoint(version: u64, manifest: &Manifest) -> Checkpoint {
    Checkpoint {
        identity: "acme".to_owned(),
        version,
        commit: "a".repeat(40),
        manifest: manifest.digest(),
        issued: 1_000,
        expires: 2_000,
    }
}

#[test]
fn a_signed_checkpoint_parses_back_and_verifies_with_its_manifest() {
    let key = SecretKey::generate().expect("key");
    let manifest = manifest();
    let signed = SignedCheckpoint::sign(&key, checkpoint(3, &manifest), &manifest).expect("sign");
    let parsed = SignedCheckpoint::parse(&signed.to_text()).expect("parse");
    assert_eq!(parsed.checkpoint, checkpoint(3, &manifest));
    assert_eq!(parsed.key_id(), key.key_id());
    let verified = parsed
        .verify_manifest(&key.public_key(), manifest.text().to_owned())
        .expect("verifies");
    assert_eq!(verified, manifest);

    let other = Manifest::build([("config.json", b"{\"changed\":1}\n".as_slice())]);
    let error = parsed
        .verify_manifest(&key.public_key(), other.text().to_owned())
        .expect_err("another manifest");
    assert!(
        matches!(error, CheckpointError::ManifestMismatch { .. }),
        "{error}"
    );

    let stranger = SecretKey::generate().expect("key");
    let error = parsed
        .verify_statement(&stranger.public_key())
        .expect_err("another key");
    assert!(
        matches!(error, CheckpointError::Signature { .. }),
        "{error}"
    );
}

#[test]
fn a_statement_with_missing_or_bad_fields_is_refused() {
    let hash = "b".repeat(64);
    let commit = "c".repeat(40);
    for (comment, reason) in [
        ("timestamp:1 file:x".to_owned(), "does not start"),
        (
            format!("ocp-checkpoint:acme commit:{commit} manifest:{hash} issued:1 expires:2"),
            "no `version`",
        ),
        (
            format!(
                "ocp-checkpoint:acme version:x commit:{commit} manifest:{hash} issued:1 expires:2"
            ),
            "not a number",
        ),
        (
            format!("ocp-checkpoint:acme version:1 commit:xyz manifest:{hash} issued:1 expires:2"),
            "git commit",
        ),
        (
            format!(
                "ocp-checkpoint:acme version:1 commit:{commit} manifest:{} issued:1 expires:2",
                "B".repeat(64)
            ),
            "hex",
        ),
        (
            format!(
                "ocp-checkpoint:acme version:1 version:2 commit:{commit} manifest:{hash} issued:1 expires:2"
            ),
            "twice",
        ),
        (
            format!(
                "ocp-checkpoint:acme version:1 commit:{commit} manifest:{hash} issued:5 expires:5"
            ),
            "expires before",
        ),
    ] {
        let error = Checkpoint::parse(&comment).expect_err(&comment);
        assert!(error.to_string().contains(reason), "{comment}: {error}");
    }
}

#[test]
fn rollback_forks_other_indexes_and_expiry_are_refused() {
    let manifest = manifest();
    let seen = checkpoint(5, &manifest);
    assert!(
        checkpoint(6, &manifest)
            .check_succession(Some(&seen))
            .is_ok()
    );
    assert!(
        checkpoint(5, &manifest)
            .check_succession(Some(&seen))
            .is_ok()
    );
    assert!(checkpoint(1, &manifest).check_succession(None).is_ok());
    let error = checkpoint(4, &manifest)
        .check_succession(Some(&seen))
        .expect_err("rollback");
    assert!(
        matches!(
            error,
            CheckpointError::Rollback {
                version: 4,
                seen: 5
            }
        ),
        "{error}"
    );
    let mut forked = checkpoint(5, &manifest);
    forked.commit = "d".repeat(40);
    assert!(matches!(
        forked.check_succession(Some(&seen)),
        Err(CheckpointError::Forked { version: 5 })
    ));
    let mut other = checkpoint(9, &manifest);
    other.identity = "other".to_owned();
    assert!(matches!(
        other.check_succession(Some(&seen)),
        Err(CheckpointError::OtherIndex { .. })
    ));

    assert!(seen.check_fresh(1_999).is_ok());
    let error = seen.check_fresh(2_000 + 3 * 86_400).expect_err("expired");
    assert_eq!(
        error.to_string(),
        "the checkpoint expired 3 days ago (it was signed 3 days ago): the index has not been checkpointed since, so it may be frozen"
    );
}

#[test]
fn a_new_key_is_followed_only_when_the_old_key_signed_it() {
    let first = SecretKey::generate().expect("key");
    let second = SecretKey::generate().expect("key");
    let stranger = SecretKey::generate().expect("key");
    let one = first_record(&first, "acme").expect("record");
    let rotated =
        one.clone() + &rotation_record(&first, &second.public_key(), "acme").expect("record");
    let history = KeyHistory::parse(&rotated, "acme").expect("history");
    assert_eq!(history.current(), &second.public_key());
    assert!(history.extends(&KeyHistory::parse(&one, "acme").expect("one")));

    let pinned = first.public_key();
    assert_eq!(
        choose_key(Some(&pinned), first.key_id(), None).expect("pinned"),
        (pinned.clone(), KeyTrust::Pinned)
    );
    assert_eq!(
        choose_key(Some(&pinned), second.key_id(), Some(&history)).expect("rotated"),
        (
            second.public_key(),
            KeyTrust::Rotated {
                from: first.key_id()
            }
        )
    );
    assert_eq!(
        choose_key(None, second.key_id(), Some(&history)).expect("first use"),
        (second.public_key(), KeyTrust::FirstUse)
    );
    let error = choose_key(
        Some(&stranger.public_key()),
        second.key_id(),
        Some(&history),
    )
    .expect_err("not in the history");
    assert!(
        matches!(error, CheckpointError::UnknownKey { .. }),
        "{error}"
    );

    // A rotation signed by a key that is not the one before it is refused.
    let forged = one + &rotation_record(&stranger, &second.public_key(), "acme").expect("record");
    let error = KeyHistory::parse(&forged, "acme").expect_err("forged");
    assert!(error.to_string().contains("line 2"), "{error}");
    // A history made for another index is refused.
    assert!(KeyHistory::parse(&rotated, "other").is_err());
}

#[test]
fn durations_read_in_their_largest_whole_unit() {
    assert_eq!(duration_words(1), "1 second");
    assert_eq!(duration_words(90), "90 seconds");
    assert_eq!(duration_words(600), "10 minutes");
    assert_eq!(duration_words(3 * 3_600), "3 hours");
    assert_eq!(duration_words(86_400 * 2), "2 days");
}
