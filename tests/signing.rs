//! `ocp key`, `ocp sign` and `ocp verify` against the real `minisign` binary: signatures and
//! key files must work in both directions, and every bad input must fail with its own
//! message and exit code 1, never a panic.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{Sandbox, assert_user_error, run, run_ok, stderr, stdout};

/// The real minisign, as Debian's `minisign` package installs it.
fn minisign() -> Command {
    let mut command = Command::new("minisign");
    command.env_remove("MINISIGN_PASSWORD");
    command
}

/// Runs minisign with `input` on stdin (minisign reads passwords from stdin when it is not a
/// terminal).
fn minisign_with_input(command: &mut Command, input: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run minisign (is it installed? `apt-get install minisign`)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write to minisign");
    child.wait_with_output().expect("wait for minisign")
}

fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed\n--- stdout\n{}\n--- stderr\n{}",
        stdout(output),
        stderr(output)
    );
}

/// Generates an ocp key pair at `path` (`.pub` beside it) with cheap scrypt limits, and
/// returns its key id.
fn ocp_key(sandbox: &Sandbox, path: &Path, password: Option<&str>) -> String {
    let mut command = sandbox.ocp();
    command.args(["key", "generate", "--kdf-limits", "interactive", "--output"]);
    command.arg(path);
    match password {
        Some(password) => command.env("OCP_SIGNING_KEY_PASSWORD", password),
        None => command.arg("--no-password"),
    };
    stdout(&run_ok(&mut command)).trim().to_owned()
}

/// Builds the `shopify-osiris` package in the sandbox and returns its tarball.
fn ocp_tarball(sandbox: &Sandbox) -> PathBuf {
    run_ok(sandbox.ocp().args(["new", "shopify.extractor"]));
    run_ok(sandbox.ocp().args(["build", "--path", "shopify-osiris"]));
    let dist = sandbox.work().join("shopify-osiris").join("dist");
    let mut tarballs: Vec<PathBuf> = std::fs::read_dir(&dist)
        .expect("read dist")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.to_string_lossy().ends_with(".tar.gz"))
        .collect();
    assert_eq!(tarballs.len(), 1, "{tarballs:?}");
    tarballs.remove(0)
}

fn plain_file(sandbox: &Sandbox) -> PathBuf {
    let path = sandbox.work().join("notes.txt");
    std::fs::write(&path, "release notes\n").expect("write a file");
    path
}

fn signature_of(file: &Path) -> PathBuf {
    PathBuf::from(format!("{}.minisig", file.display()))
}

fn minisign_verify(public_key: &Path, file: &Path) -> Output {
    run(minisign()
        .arg("-V")
        .arg("-p")
        .arg(public_key)
        .arg("-m")
        .arg(file))
}

// ---------------------------------------------------------------------------------------
// Interoperability with minisign

#[test]
fn ocp_signature_of_an_ocp_tarball_verifies_with_minisign() {
    let sandbox = Sandbox::new();
    let key = sandbox.work().join("release.key");
    let key_id = ocp_key(&sandbox, &key, None);
    let tarball = ocp_tarball(&sandbox);
    let output = run_ok(
        sandbox
            .ocp()
            .arg("sign")
            .arg(&tarball)
            .arg("--key")
            .arg(&key),
    );
    assert!(stdout(&output).contains(".minisig"), "{}", stdout(&output));

    let output = minisign_verify(&sandbox.work().join("release.pub"), &tarball);
    assert_success(&output, "minisign -V");
    let text = stdout(&output);
    assert!(
        text.contains("Trusted comment: ocp-package:shopify-osiris version:0.1.0 sha256:"),
        "{text}"
    );
    // The comment also binds the signed fields (components, dependencies, requirements).
    assert!(text.contains(" entry:"), "{text}");

    let output = run_ok(
        sandbox
            .ocp()
            .arg("verify")
            .arg(&tarball)
            .arg("--public-key")
            .arg(sandbox.work().join("release.pub")),
    );
    assert_eq!(
        stdout(&output).lines().next(),
        Some(format!("verified shopify_osiris-0.1.0.tar.gz: signed by key {key_id}").as_str())
    );
}

#[test]
fn ocp_signature_with_an_encrypted_key_verifies_with_minisign() {
    let sandbox = Sandbox::new();
    let key = sandbox.work().join("release.key");
    ocp_key(&sandbox, &key, Some("s3cret"));
    let file = plain_file(&sandbox);
    run_ok(
        sandbox
            .ocp()
            .arg("sign")
            .arg(&file)
            .arg("--key")
            .arg(&key)
            .env("OCP_SIGNING_KEY_PASSWORD", "s3cret"),
    );
    let output = minisign_verify(&sandbox.work().join("release.pub"), &file);
    assert_success(&output, "minisign -V");
    assert!(
        stdout(&output).contains("file:notes.txt"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn minisign_signature_verifies_with_ocp() {
    let sandbox = Sandbox::new();
    let (public, secret) = (sandbox.work().join("m.pub"), sandbox.work().join("m.key"));
    let output = run(minisign()
        .arg("-G")
        .arg("-W")
        .arg("-p")
        .arg(&public)
        .arg("-s")
        .arg(&secret));
    assert_success(&output, "minisign -G -W");
    let file = plain_file(&sandbox);
    let output = run(minisign()
        .arg("-S")
        .arg("-W")
        .arg("-s")
        .arg(&secret)
        .arg("-m")
        .arg(&file));
    assert_success(&output, "minisign -S");

    let output = run_ok(
        sandbox
            .ocp()
            .arg("verify")
            .arg(&file)
            .arg("--public-key")
            .arg(&public),
    );
    let text = stdout(&output);
    assert!(
        text.starts_with("verified notes.txt: signed by key "),
        "{text}"
    );
    assert!(text.contains("trusted comment: timestamp:"), "{text}");

    // The public key as text, as `minisign -P` takes it.
    let line = std::fs::read_to_string(&public)
        .expect("read the public key")
        .lines()
        .nth(1)
        .expect("key line")
        .to_owned();
    run_ok(
        sandbox
            .ocp()
            .arg("verify")
            .arg(&file)
            .arg("--public-key")
            .arg(&line),
    );
}

#[test]
fn legacy_minisign_signature_verifies_with_a_warning() {
    let sandbox = Sandbox::new();
    let (public, secret) = (sandbox.work().join("m.pub"), sandbox.work().join("m.key"));
    assert_success(
        &run(minisign()
            .arg("-G")
            .arg("-W")
            .arg("-p")
            .arg(&public)
            .arg("-s")
            .arg(&secret)),
        "minisign -G -W",
    );
    let file = plain_file(&sandbox);
    assert_success(
        &run(minisign()
            .args(["-S", "-l", "-W", "-s"])
            .arg(&secret)
            .arg("-m")
            .arg(&file)),
        "minisign -S -l",
    );
    let output = run_ok(
        sandbox
            .ocp()
            .arg("verify")
            .arg(&file)
            .arg("-p")
            .arg(&public),
    );
    assert!(stderr(&output).contains("legacy"), "{}", stderr(&output));

    // And a legacy signature of a changed file still fails.
    std::fs::write(&file, "release notes!\n").expect("change the file");
    let output = run(sandbox
        .ocp()
        .arg("verify")
        .arg(&file)
        .arg("-p")
        .arg(&public));
    assert_user_error(&output, "does not match the file contents");
}

#[test]
fn ocp_signs_with_a_minisign_encrypted_secret_key() {
    let sandbox = Sandbox::new();
    let (public, secret) = (sandbox.work().join("m.pub"), sandbox.work().join("m.key"));
    // minisign's real key derivation (1 GiB of scrypt), not ocp's test shortcut.
    let output = minisign_with_input(
        minisign()
            .arg("-G")
            .arg("-p")
            .arg(&public)
            .arg("-s")
            .arg(&secret),
        "minisign pw\nminisign pw\n",
    );
    assert_success(&output, "minisign -G");
    let file = plain_file(&sandbox);
    let output = run_ok(
        sandbox
            .ocp()
            .arg("sign")
            .arg(&file)
            .arg("--key")
            .arg(&secret)
            .env("OCP_SIGNING_KEY_PASSWORD", "minisign pw"),
    );
    assert!(!stderr(&output).contains("minisign pw"));
    assert_success(&minisign_verify(&public, &file), "minisign -V");

    let output = run(sandbox
        .ocp()
        .arg("sign")
        .arg(&file)
        .arg("--key")
        .arg(&secret)
        .env("OCP_SIGNING_KEY_PASSWORD", "not the password"));
    assert_user_error(&output, "wrong password for the secret key");
    assert!(!stderr(&output).contains("not the password"));
}

#[test]
fn minisign_signs_with_an_ocp_encrypted_secret_key() {
    let sandbox = Sandbox::new();
    let key = sandbox.work().join("ocp.key");
    ocp_key(&sandbox, &key, Some("ocp pw"));
    let file = plain_file(&sandbox);
    let output = minisign_with_input(
        minisign()
            .arg("-S")
            .arg("-s")
            .arg(&key)
            .arg("-m")
            .arg(&file),
        "ocp pw\n",
    );
    assert_success(&output, "minisign -S with an ocp key");
    run_ok(
        sandbox
            .ocp()
            .arg("verify")
            .arg(&file)
            .arg("-p")
            .arg(sandbox.work().join("ocp.pub")),
    );

    let output = minisign_with_input(
        minisign()
            .arg("-S")
            .arg("-s")
            .arg(&key)
            .arg("-m")
            .arg(&file),
        "wrong\n",
    );
    assert!(
        !output.status.success(),
        "minisign accepted a wrong password"
    );
}

#[test]
fn minisign_reads_an_ocp_key_with_minisigns_own_kdf_limits() {
    let sandbox = Sandbox::new();
    let key = sandbox.work().join("ocp.key");
    // The default limits: what a real user's key uses.
    run_ok(
        sandbox
            .ocp()
            .args(["key", "generate", "--output"])
            .arg(&key)
            .env("OCP_SIGNING_KEY_PASSWORD", "pw"),
    );
    let file = plain_file(&sandbox);
    let output = minisign_with_input(
        minisign()
            .arg("-S")
            .arg("-s")
            .arg(&key)
            .arg("-m")
            .arg(&file),
        "pw\n",
    );
    assert_success(&output, "minisign -S with an ocp key");
    assert_success(
        &minisign_verify(&sandbox.work().join("ocp.pub"), &file),
        "minisign -V",
    );
}

#[test]
fn unencrypted_keys_work_both_ways() {
    let sandbox = Sandbox::new();
    let key = sandbox.work().join("ocp.key");
    ocp_key(&sandbox, &key, None);
    let file = plain_file(&sandbox);
    assert_success(
        &run(minisign()
            .args(["-S", "-W", "-s"])
            .arg(&key)
            .arg("-m")
            .arg(&file)),
        "minisign -S -W with an unencrypted ocp key",
    );
    run_ok(
        sandbox
            .ocp()
            .arg("verify")
            .arg(&file)
            .arg("-p")
            .arg(sandbox.work().join("ocp.pub")),
    );

    let (public, secret) = (sandbox.work().join("m.pub"), sandbox.work().join("m.key"));
    assert_success(
        &run(minisign()
            .arg("-G")
            .arg("-W")
            .arg("-p")
            .arg(&public)
            .arg("-s")
            .arg(&secret)),
        "minisign -G -W",
    );
    run_ok(
        sandbox
            .ocp()
            .arg("sign")
            .arg(&file)
            .arg("--key")
            .arg(&secret),
    );
    assert_success(&minisign_verify(&public, &file), "minisign -V");
}

// ---------------------------------------------------------------------------------------
// Keys

#[test]
fn generate_writes_a_private_key_under_ocp_home_and_never_overwrites() {
    let sandbox = Sandbox::new();
    let output = run_ok(sandbox.ocp().args(["key", "generate", "--no-password"]));
    let key_id = stdout(&output).trim().to_owned();
    assert_eq!(key_id.len(), 16, "{key_id}");
    let secret = sandbox.home().join("keys").join("ocp.key");
    let public = sandbox.home().join("keys").join("ocp.pub");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret)
            .expect("secret key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let public_text = std::fs::read_to_string(&public).expect("public key");
    assert!(
        public_text.starts_with(&format!(
            "untrusted comment: minisign public key {key_id}\n"
        )),
        "{public_text}"
    );
    let before = std::fs::read(&secret).expect("secret key");

    let output = run(sandbox.ocp().args(["key", "generate", "--no-password"]));
    assert_user_error(&output, "already exists");
    assert_eq!(std::fs::read(&secret).expect("secret key"), before);

    // `ocp key public` prints the same key, and the same id.
    let output = run_ok(sandbox.ocp().args(["key", "public"]));
    assert_eq!(stdout(&output), public_text);
    assert!(stderr(&output).contains(&key_id));
}

#[test]
fn generate_needs_a_password_or_no_password() {
    let sandbox = Sandbox::new();
    let output = run(sandbox.ocp().args(["key", "generate"]).stdin(Stdio::null()));
    assert_user_error(&output, "there is no terminal");
    assert!(
        stderr(&output).contains("--no-password"),
        "{}",
        stderr(&output)
    );
    assert!(!sandbox.home().join("keys").join("ocp.key").exists());

    let output = run(sandbox
        .ocp()
        .args(["key", "generate"])
        .env("OCP_SIGNING_KEY_PASSWORD", ""));
    assert_user_error(&output, "is empty");
}

#[test]
fn key_public_derives_the_public_key_from_a_secret_key() {
    let sandbox = Sandbox::new();
    let key = sandbox.work().join("a.key");
    ocp_key(&sandbox, &key, Some("pw"));
    let output = run_ok(
        sandbox
            .ocp()
            .args(["key", "public"])
            .arg(&key)
            .env("OCP_SIGNING_KEY_PASSWORD", "pw"),
    );
    let expected = std::fs::read_to_string(sandbox.work().join("a.pub")).expect("public key");
    assert_eq!(stdout(&output), expected);
}

#[test]
fn secret_key_readable_by_others_is_refused_with_the_fix() {
    let sandbox = Sandbox::new();
    let key = sandbox.work().join("open.key");
    ocp_key(&sandbox, &key, None);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let file = plain_file(&sandbox);
        let output = run(sandbox.ocp().arg("sign").arg(&file).arg("--key").arg(&key));
        assert_user_error(&output, "is accessible by other users (mode 640)");
        assert!(
            stderr(&output).contains(&format!(
                "help: make it readable by its owner only: `chmod 600 {}`",
                key.display()
            )),
            "{}",
            stderr(&output)
        );
        assert!(!signature_of(&file).exists());
    }
}

#[test]
fn truncated_and_corrupted_secret_keys_are_refused() {
    let sandbox = Sandbox::new();
    let key = sandbox.work().join("k.key");
    ocp_key(&sandbox, &key, None);
    let file = plain_file(&sandbox);
    let text = std::fs::read_to_string(&key).expect("key");

    write_private(&key, &text[..text.len() - 30]);
    let output = run(sandbox.ocp().arg("sign").arg(&file).arg("--key").arg(&key));
    assert_user_error(&output, "failed to read the secret key");
    assert!(
        stderr(&output).contains("the file is truncated"),
        "{}",
        stderr(&output)
    );

    write_private(&key, "untrusted comment: x\nthis is not base64!\n");
    let output = run(sandbox.ocp().arg("sign").arg(&file).arg("--key").arg(&key));
    assert_user_error(
        &output,
        "not a minisign secret key: the key line is not base64",
    );

    // One changed character inside the key: the checksum catches it.
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut bytes = lines[1].clone().into_bytes();
    bytes[150] = if bytes[150] == b'A' { b'B' } else { b'A' };
    lines[1] = String::from_utf8(bytes).expect("ascii");
    write_private(&key, &format!("{}\n{}\n", lines[0], lines[1]));
    let output = run(sandbox.ocp().arg("sign").arg(&file).arg("--key").arg(&key));
    assert_user_error(&output, "the secret key is corrupted");
}

fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
}

#[test]
fn ci_signs_with_the_key_text_in_the_environment_and_never_prints_it() {
    let sandbox = Sandbox::new();
    let key = sandbox.work().join("ci.key");
    let key_id = ocp_key(&sandbox, &key, Some("ci-password"));
    let key_text = std::fs::read_to_string(&key).expect("key");
    std::fs::remove_file(&key).expect("no key file on disk");
    let tarball = ocp_tarball(&sandbox);

    let output = run_ok(
        sandbox
            .ocp()
            .arg("sign")
            .arg(&tarball)
            .arg("--format")
            .arg("json")
            .env("OCP_SIGNING_KEY", &key_text)
            .env("OCP_SIGNING_KEY_PASSWORD", "ci-password"),
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("json");
    assert_eq!(json["key_id"], key_id.as_str());
    assert_eq!(json["package"]["name"], "shopify-osiris");
    let key_line = key_text.lines().nth(1).expect("key line");
    for text in [stdout(&output), stderr(&output)] {
        assert!(!text.contains("ci-password"));
        assert!(!text.contains(key_line));
    }
    run_ok(
        sandbox
            .ocp()
            .arg("verify")
            .arg(&tarball)
            .arg("-p")
            .arg(sandbox.work().join("ci.pub")),
    );

    // A wrong password in CI: a clear error, and still no secret in it.
    let output = run(sandbox
        .ocp()
        .arg("sign")
        .arg(&tarball)
        .env("OCP_SIGNING_KEY", &key_text)
        .env("OCP_SIGNING_KEY_PASSWORD", "wrong-password"));
    assert_user_error(
        &output,
        "wrong password for the secret key in `OCP_SIGNING_KEY`",
    );
    assert!(!stderr(&output).contains("wrong-password"));
    assert!(!stderr(&output).contains(key_line));

    // Garbage in the variable says so, without echoing it.
    let output = run(sandbox
        .ocp()
        .arg("sign")
        .arg(&tarball)
        .env("OCP_SIGNING_KEY", "untrusted comment: x\nZZZZ-secret-ish\n"));
    assert_user_error(&output, "`OCP_SIGNING_KEY` holds neither a secret key");
    assert!(!stderr(&output).contains("ZZZZ-secret-ish"));
}

#[test]
fn ci_signs_with_a_key_path_in_the_environment() {
    let sandbox = Sandbox::new();
    let key = sandbox.work().join("ci.key");
    let key_id = ocp_key(&sandbox, &key, None);
    let file = plain_file(&sandbox);
    let output = run_ok(
        sandbox
            .ocp()
            .arg("sign")
            .arg(&file)
            .env("OCP_SIGNING_KEY", &key),
    );
    assert!(stderr(&output).contains(&key_id), "{}", stderr(&output));

    let output = run(sandbox
        .ocp()
        .arg("sign")
        .arg(&file)
        .env("OCP_SIGNING_KEY", sandbox.work().join("missing.key")));
    assert_user_error(
        &output,
        "`OCP_SIGNING_KEY` holds neither a secret key nor the path of an existing file",
    );
    assert!(!stderr(&output).contains("missing.key"));

    // A damaged key line is never echoed back, even when it could be read as a path.
    let output = run(sandbox
        .ocp()
        .arg("sign")
        .arg(&file)
        .env("OCP_SIGNING_KEY", "RWRTY0Iy3k2fQ/partial+secret/line"));
    assert_user_error(&output, "`OCP_SIGNING_KEY` holds neither a secret key");
    assert!(!stderr(&output).contains("partial+secret"));
}

#[test]
fn an_encrypted_key_without_password_or_terminal_fails_with_help() {
    let sandbox = Sandbox::new();
    let key = sandbox.work().join("k.key");
    ocp_key(&sandbox, &key, Some("pw"));
    let file = plain_file(&sandbox);
    let output = run(sandbox
        .ocp()
        .arg("sign")
        .arg(&file)
        .arg("--key")
        .arg(&key)
        .stdin(Stdio::null()));
    assert_user_error(&output, "is encrypted, and there is no terminal");
    assert!(stderr(&output).contains("OCP_SIGNING_KEY_PASSWORD"));
}

// ---------------------------------------------------------------------------------------
// Bad signatures

struct Signed {
    sandbox: Sandbox,
    file: PathBuf,
    public: PathBuf,
    key_id: String,
}

fn signed_tarball() -> Signed {
    let sandbox = Sandbox::new();
    let key = sandbox.work().join("k.key");
    let key_id = ocp_key(&sandbox, &key, None);
    let file = ocp_tarball(&sandbox);
    run_ok(sandbox.ocp().arg("sign").arg(&file).arg("--key").arg(&key));
    let public = sandbox.work().join("k.pub");
    Signed {
        sandbox,
        file,
        public,
        key_id,
    }
}

impl Signed {
    fn verify(&self) -> Output {
        run(self
            .sandbox
            .ocp()
            .arg("verify")
            .arg(&self.file)
            .arg("--public-key")
            .arg(&self.public))
    }

    fn signature_text(&self) -> String {
        std::fs::read_to_string(signature_of(&self.file)).expect("signature")
    }

    fn set_signature_text(&self, text: &str) {
        std::fs::write(signature_of(&self.file), text).expect("write signature");
    }
}

#[test]
fn a_file_changed_by_one_byte_fails() {
    let signed = signed_tarball();
    let mut bytes = std::fs::read(&signed.file).expect("tarball");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&signed.file, bytes).expect("write");
    let output = signed.verify();
    assert_user_error(&output, "failed verification");
    assert!(
        stderr(&output).contains("the signature does not match the file contents"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_signature_by_another_key_names_both_key_ids() {
    let signed = signed_tarball();
    let other = signed.sandbox.work().join("other.key");
    let other_id = ocp_key(&signed.sandbox, &other, None);
    let output = run(signed
        .sandbox
        .ocp()
        .arg("verify")
        .arg(&signed.file)
        .arg("-p")
        .arg(signed.sandbox.work().join("other.pub")));
    assert_user_error(
        &output,
        &format!(
            "the signature was made by key {} but the public key is {other_id}",
            signed.key_id
        ),
    );
}

#[test]
fn truncated_and_corrupted_signatures_fail_with_their_own_messages() {
    let signed = signed_tarball();
    let text = signed.signature_text();

    let three_lines: String = text
        .lines()
        .take(3)
        .map(|line| format!("{line}\n"))
        .collect();
    signed.set_signature_text(&three_lines);
    assert_user_error(&signed.verify(), "line 4 (the global signature) is missing");

    signed.set_signature_text("");
    assert_user_error(
        &signed.verify(),
        "line 1 (the untrusted comment) is missing",
    );

    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[1] = format!("{}!", &lines[1][..lines[1].len() - 1]);
    signed.set_signature_text(&(lines.join("\n") + "\n"));
    assert_user_error(
        &signed.verify(),
        "line 2 (the signature) is not base64: the file is damaged",
    );

    // A valid base64 line with one signature byte changed.
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut bytes = lines[1].clone().into_bytes();
    bytes[40] = if bytes[40] == b'A' { b'B' } else { b'A' };
    lines[1] = String::from_utf8(bytes).expect("ascii");
    signed.set_signature_text(&(lines.join("\n") + "\n"));
    assert_user_error(
        &signed.verify(),
        "the signature does not match the file contents",
    );

    // An edited trusted comment breaks the global signature.
    let edited = text.replace("version:0.1.0", "version:9.9.9");
    assert_ne!(edited, text);
    signed.set_signature_text(&edited);
    assert_user_error(
        &signed.verify(),
        "the trusted comment does not match its signature",
    );

    signed.set_signature_text("\u{0}\u{1}garbage\n\n\n\n");
    assert_user_error(&signed.verify(), "not a minisign signature");
}

/// Signs `file` with minisign and a trusted comment of our choosing: what an attacker who
/// holds a trusted key (or a careless release script) could produce.
fn minisign_with_comment(sandbox: &Sandbox, file: &Path, trusted_comment: &str) -> PathBuf {
    let (public, secret) = (sandbox.work().join("m.pub"), sandbox.work().join("m.key"));
    if !secret.exists() {
        assert_success(
            &run(minisign()
                .arg("-G")
                .arg("-W")
                .arg("-p")
                .arg(&public)
                .arg("-s")
                .arg(&secret)),
            "minisign -G -W",
        );
    }
    assert_success(
        &run(minisign()
            .args(["-S", "-W", "-s"])
            .arg(&secret)
            .arg("-m")
            .arg(file)
            .arg("-t")
            .arg(trusted_comment)),
        "minisign -S -t",
    );
    public
}

fn sha256_of(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(std::fs::read(path).expect("read")))
}

#[test]
fn a_trusted_comment_naming_another_package_or_version_fails() {
    let sandbox = Sandbox::new();
    let tarball = ocp_tarball(&sandbox);
    let sha = sha256_of(&tarball);
    let verify = |public: &Path| {
        run(sandbox
            .ocp()
            .arg("verify")
            .arg(&tarball)
            .arg("-p")
            .arg(public))
    };

    let public = minisign_with_comment(
        &sandbox,
        &tarball,
        &format!("ocp-package:hubspot-osiris version:0.1.0 sha256:{sha} timestamp:1"),
    );
    assert_user_error(
        &verify(&public),
        "the signature is for the package hubspot-osiris 0.1.0, but the tarball holds shopify-osiris 0.1.0",
    );

    minisign_with_comment(
        &sandbox,
        &tarball,
        &format!("ocp-package:shopify-osiris version:2.0.0 sha256:{sha} timestamp:1"),
    );
    assert_user_error(
        &verify(&public),
        "the signature is for the package shopify-osiris 2.0.0, but the tarball holds shopify-osiris 0.1.0",
    );

    let other_sha = "0".repeat(64);
    minisign_with_comment(
        &sandbox,
        &tarball,
        &format!("ocp-package:shopify-osiris version:0.1.0 sha256:{other_sha} timestamp:1"),
    );
    assert_user_error(
        &verify(&public),
        &format!(
            "the signature is for a tarball with sha256 {other_sha}, but this file's sha256 is {sha}"
        ),
    );

    // A claim whose signed fields are not what the tarball's ocp.json declares.
    minisign_with_comment(
        &sandbox,
        &tarball,
        &format!(
            "ocp-package:shopify-osiris version:0.1.0 sha256:{sha} entry:{} timestamp:1",
            "0".repeat(64)
        ),
    );
    assert_user_error(
        &verify(&public),
        "the signature covers other components, dependencies or requirements",
    );

    // A package claim on a file that is not an OCP tarball.
    let file = plain_file(&sandbox);
    minisign_with_comment(
        &sandbox,
        &file,
        &format!("ocp-package:shopify-osiris version:0.1.0 sha256:{sha}"),
    );
    let output = run(sandbox
        .ocp()
        .arg("verify")
        .arg(&file)
        .arg("-p")
        .arg(&public));
    assert_user_error(&output, "but the file is not an OCP tarball");

    // The same claim, correct: accepted.
    minisign_with_comment(
        &sandbox,
        &tarball,
        &format!("ocp-package:shopify-osiris version:0.1.0 sha256:{sha} timestamp:1"),
    );
    run_ok(
        sandbox
            .ocp()
            .arg("verify")
            .arg(&tarball)
            .arg("-p")
            .arg(&public),
    );
}

#[test]
fn a_plain_minisign_signature_of_a_tarball_is_accepted_with_a_warning() {
    let sandbox = Sandbox::new();
    let tarball = ocp_tarball(&sandbox);
    let public = minisign_with_comment(&sandbox, &tarball, "released by hand");
    let output = run_ok(
        sandbox
            .ocp()
            .arg("verify")
            .arg(&tarball)
            .arg("-p")
            .arg(&public),
    );
    assert!(
        stderr(&output).contains("does not name the package"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_missing_signature_or_file_says_which() {
    let sandbox = Sandbox::new();
    let file = plain_file(&sandbox);
    let output = run(sandbox
        .ocp()
        .arg("verify")
        .arg(&file)
        .arg("-p")
        .arg("x.pub"));
    assert_user_error(&output, "has no signature");
    let output = run(sandbox.ocp().args(["verify", "missing.tar.gz"]));
    assert_user_error(&output, "there is no file to verify");
}

// ---------------------------------------------------------------------------------------
// Trusted keys

#[test]
fn trusted_signers_are_named_and_required() {
    let signed = signed_tarball();
    let sandbox = &signed.sandbox;

    // Not trusted yet.
    let output = run(sandbox.ocp().arg("verify").arg(&signed.file));
    assert_user_error(
        &output,
        &format!(
            "was signed by key {}, which is not a trusted key",
            signed.key_id
        ),
    );

    run_ok(
        sandbox
            .ocp()
            .args(["key", "trust", "keboola"])
            .arg(&signed.public),
    );
    let output = run_ok(sandbox.ocp().arg("verify").arg(&signed.file));
    assert_eq!(
        stdout(&output).lines().next(),
        Some(
            format!(
                "verified shopify_osiris-0.1.0.tar.gz: signed by key {} (keboola)",
                signed.key_id
            )
            .as_str()
        )
    );
    run_ok(
        sandbox
            .ocp()
            .arg("verify")
            .arg(&signed.file)
            .args(["--signer", "keboola"]),
    );
    run_ok(
        sandbox
            .ocp()
            .arg("verify")
            .arg(&signed.file)
            .arg("--key-id")
            .arg(&signed.key_id),
    );

    // Another trusted signer's name, or another key id, is refused with both ids.
    let other = sandbox.work().join("other.key");
    let other_id = ocp_key(sandbox, &other, None);
    run_ok(
        sandbox
            .ocp()
            .args(["key", "trust", "acme"])
            .arg(sandbox.work().join("other.pub")),
    );
    let output = run(sandbox
        .ocp()
        .arg("verify")
        .arg(&signed.file)
        .args(["--signer", "acme"]));
    assert_user_error(
        &output,
        &format!(
            "was signed by key {}, but the trusted signer `acme` has key {other_id}",
            signed.key_id
        ),
    );
    let output = run(sandbox
        .ocp()
        .arg("verify")
        .arg(&signed.file)
        .arg("--key-id")
        .arg(&other_id));
    assert_user_error(
        &output,
        &format!("was signed by key {}, not by key {other_id}", signed.key_id),
    );
    let output = run(sandbox
        .ocp()
        .arg("verify")
        .arg(&signed.file)
        .args(["--signer", "nobody"]));
    assert_user_error(&output, "no trusted signer is named `nobody`");
    let output = run(sandbox
        .ocp()
        .arg("verify")
        .arg(&signed.file)
        .args(["--key-id", "xyz"]));
    assert_user_error(&output, "`xyz` is not a key id");

    // The list, as JSON for scripts.
    let output = run_ok(sandbox.ocp().args(["key", "trusted", "--format", "json"]));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("json");
    assert_follows_schema(
        &json,
        include_str!("../schemas/trusted-keys-report.schema.json"),
    );
    let names: Vec<&str> = json["signers"]
        .as_array()
        .expect("signers")
        .iter()
        .map(|signer| signer["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["acme", "keboola"]);
    assert_eq!(json["signers"][1]["key_id"], signed.key_id.as_str());

    // Untrusting removes it again.
    run_ok(sandbox.ocp().args(["key", "untrust", "keboola"]));
    let output = run(sandbox.ocp().arg("verify").arg(&signed.file));
    assert_user_error(&output, "which is not a trusted key");
}

#[test]
fn trusting_another_key_under_a_taken_name_needs_replace() {
    let sandbox = Sandbox::new();
    let (a, b) = (sandbox.work().join("a.key"), sandbox.work().join("b.key"));
    ocp_key(&sandbox, &a, None);
    let b_id = ocp_key(&sandbox, &b, None);
    run_ok(
        sandbox
            .ocp()
            .args(["key", "trust", "acme"])
            .arg(sandbox.work().join("a.pub")),
    );
    let output = run(sandbox
        .ocp()
        .args(["key", "trust", "acme"])
        .arg(sandbox.work().join("b.pub")));
    assert_user_error(&output, "already trusts `acme` with key");
    run_ok(
        sandbox
            .ocp()
            .args(["key", "trust", "acme", "--replace"])
            .arg(sandbox.work().join("b.pub")),
    );
    let output = run_ok(sandbox.ocp().args(["key", "trusted"]));
    assert!(stdout(&output).contains(&b_id), "{}", stdout(&output));

    let output = run(sandbox
        .ocp()
        .args(["key", "trust", "Bad Name"])
        .arg(sandbox.work().join("a.pub")));
    assert_user_error(&output, "is not a valid signer name");
    let output = run(sandbox.ocp().args(["key", "trust", "x", "not-a-key"]));
    assert_user_error(&output, "is neither a public key file nor a public key");
}

#[test]
fn a_projects_trusted_keys_replace_the_users_of_the_same_name() {
    let signed = signed_tarball();
    let sandbox = &signed.sandbox;
    let other = sandbox.work().join("other.key");
    ocp_key(sandbox, &other, None);
    // The user trusts `acme` with another key; the project pins `acme` to the signing key.
    run_ok(
        sandbox
            .ocp()
            .args(["key", "trust", "acme"])
            .arg(sandbox.work().join("other.pub")),
    );
    let output = run(sandbox
        .ocp()
        .arg("verify")
        .arg(&signed.file)
        .args(["--signer", "acme"]));
    assert_user_error(&output, "but the trusted signer `acme` has key");

    run_ok(
        sandbox
            .ocp()
            .args(["key", "trust", "acme", "--project"])
            .arg(&signed.public),
    );
    assert!(sandbox.work().join("ocp-trusted-keys.toml").exists());
    let output = run_ok(
        sandbox
            .ocp()
            .arg("verify")
            .arg(&signed.file)
            .args(["--signer", "acme"]),
    );
    assert!(stdout(&output).contains("(acme)"), "{}", stdout(&output));
}

#[test]
fn a_broken_trusted_keys_file_is_reported_with_its_path() {
    let signed = signed_tarball();
    let path = signed.sandbox.home().join("trusted-keys.toml");
    std::fs::write(&path, "[signers.acme]\npublic_key = \"RWnotakey\"\n").expect("write");
    let output = run(signed.sandbox.ocp().arg("verify").arg(&signed.file));
    assert_user_error(
        &output,
        &format!("failed to read the trusted keys `{}`", path.display()),
    );
    assert!(
        stderr(&output).contains("signer `acme`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn verify_json_follows_its_schema() {
    let signed = signed_tarball();
    let output = run_ok(
        signed
            .sandbox
            .ocp()
            .arg("verify")
            .arg(&signed.file)
            .arg("-p")
            .arg(&signed.public)
            .args(["--format", "json"]),
    );
    let document: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("json");
    assert_follows_schema(
        &document,
        include_str!("../schemas/verify-report.schema.json"),
    );
    assert_eq!(document["package"]["version"], "0.1.0");
    assert_eq!(
        document["package"]["sha256"],
        sha256_of(&signed.file).as_str()
    );
}

fn assert_follows_schema(document: &serde_json::Value, schema: &str) {
    let schema: serde_json::Value = serde_json::from_str(schema).expect("schema");
    let validator = jsonschema::draft202012::new(&schema).expect("compile the schema");
    let errors: Vec<String> = validator
        .iter_errors(document)
        .map(|error| error.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{document}");
}
