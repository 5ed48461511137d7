//! `ocp sign`: write `<FILE>.minisig` in the minisign format. For an OCP tarball the trusted
//! comment binds the package name, version and sha256 (see [`crate::signing::package`]);
//! any other file gets minisign's own comment, `timestamp:<t>\tfile:<name>\thashed`.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::error::{HelpExt, helped};
use crate::model::{Checksum, KeyId};
use crate::ops::key::{PasswordSource, SecretKeySource, load_secret_key};
use crate::shell::Shell;
use crate::signing::{PackageClaim, SignatureFile, package};

#[derive(Debug)]
pub struct SignOpts {
    pub file: PathBuf,
    /// Where to write the signature [default: `<FILE>.minisig`].
    pub signature: Option<PathBuf>,
    pub key: SecretKeySource,
    pub password: PasswordSource,
    /// Seconds since 1970, written into the trusted comment.
    pub timestamp: u64,
}

/// What `ocp sign` wrote.
#[derive(Debug)]
pub struct Signed {
    pub signature_path: PathBuf,
    pub key_id: KeyId,
    pub trusted_comment: String,
    /// The package the signature binds, for an OCP tarball.
    pub package: Option<PackageClaim>,
}

pub fn sign(shell: &mut Shell, mut opts: SignOpts) -> anyhow::Result<Signed> {
    let file = &opts.file;
    if !file.is_file() {
        return Err(helped(
            format!("there is no file to sign at `{}`", file.display()),
            "give the path of the file to sign, for example `ocp sign dist/shopify_osiris-1.0.0.tar.gz`",
        ));
    }
    let manifest = package::read_manifest(open(file)?)
        .with_context(|| format!("refusing to sign `{}`", file.display()))
        .help("`ocp sign` signs an OCP tarball only when `ocp install` would accept it; build it again with `ocp build` (to sign another kind of archive as plain bytes, use `minisign -S`)")?;
    let package = match &manifest {
        Some(manifest) => {
            let sha256 = Checksum::of_reader(open(file)?)
                .with_context(|| format!("failed to read `{}`", file.display()))?;
            Some(PackageClaim::for_tarball(
                manifest,
                &sha256,
                opts.timestamp,
            )?)
        }
        None => None,
    };
    // The tarball is checked before the key is decrypted: a refused file costs no password.
    let key = load_secret_key(&opts.key, &mut opts.password)?;
    let trusted_comment = match &package {
        Some(claim) => claim.to_trusted_comment(),
        None => plain_trusted_comment(file, opts.timestamp),
    };
    let untrusted_comment = format!("signature from ocp secret key {}", key.key_id());
    let signature = SignatureFile::sign(&key, open(file)?, &trusted_comment, &untrusted_comment)
        .with_context(|| format!("failed to sign `{}`", file.display()))?;
    // A signature that does not verify is worse than none: check it before writing it.
    signature
        .verify(&key.public_key(), open(file)?, false)
        .with_context(|| format!("the new signature of `{}` does not verify", file.display()))
        .map_err(|error| {
            error.context(crate::error::Bug("signing produced a bad signature".into()))
        })?;
    let signature_path = opts
        .signature
        .clone()
        .unwrap_or_else(|| default_signature_path(file));
    crate::fsutil::write_atomic(&signature_path, signature.to_text().as_bytes())?;
    let what = match &package {
        Some(claim) => format!("{} v{} ", claim.name, claim.version),
        None => String::new(),
    };
    shell.status(
        "Signed",
        format!("{what}`{}` with key {}", file.display(), key.key_id()),
    )?;
    Ok(Signed {
        signature_path,
        key_id: key.key_id(),
        trusted_comment,
        package,
    })
}

/// `<FILE>.minisig`, where minisign looks for a signature.
pub fn default_signature_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".minisig");
    PathBuf::from(name)
}

/// minisign's default trusted comment for a prehashed signature.
fn plain_trusted_comment(file: &Path, timestamp: u64) -> String {
    let name: String = file
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    format!("timestamp:{timestamp}\tfile:{name}\thashed")
}

fn open(path: &Path) -> anyhow::Result<File> {
    File::open(path).with_context(|| format!("failed to open `{}`", path.display()))
}
