//! `ocp verify`: check a `.minisig` signature with a public key or a trusted key, and, for
//! an OCP tarball signed by ocp, that the trusted comment names this very package, version
//! and sha256. Every failure says exactly what did not match.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::error::helped;
use crate::model::{Checksum, KeyId};
use crate::ops::key::{load_public_key, load_trusted_keys};
use crate::ops::sign::default_signature_path;
use crate::shell::Shell;
use crate::signing::{Algorithm, PackageClaim, PublicKey, SignatureFile, SigningError, package};

/// Which key must have made the signature.
#[derive(Debug, Clone)]
pub enum KeyChoice {
    /// A public key file or the key's text (`--public-key`).
    PublicKey(String),
    /// A trusted key, by key id (`--key-id`).
    KeyId(KeyId),
    /// A trusted key, by signer name (`--signer`).
    Signer(String),
    /// Whichever trusted key has the signature's key id.
    AnyTrusted,
}

#[derive(Debug)]
pub struct VerifyOpts {
    pub file: PathBuf,
    /// [default: `<FILE>.minisig`]
    pub signature: Option<PathBuf>,
    pub key: KeyChoice,
    /// The trusted keys files, the user's first; later files win.
    pub trusted_files: Vec<PathBuf>,
}

/// A signature that checked out.
#[derive(Debug)]
pub struct Verified {
    pub file: PathBuf,
    pub signature_path: PathBuf,
    pub key_id: KeyId,
    /// The trusted signer's name, when the key is in the trusted keys.
    pub signer: Option<String>,
    pub algorithm: Algorithm,
    pub trusted_comment: String,
    /// The package the signature binds, for an OCP tarball signed by ocp.
    pub package: Option<PackageClaim>,
}

pub fn verify(shell: &mut Shell, opts: &VerifyOpts) -> anyhow::Result<Verified> {
    let file = &opts.file;
    if !file.is_file() {
        return Err(helped(
            format!("there is no file to verify at `{}`", file.display()),
            "give the path of the signed file; its signature is expected beside it as `<FILE>.minisig`",
        ));
    }
    let signature_path = opts
        .signature
        .clone()
        .unwrap_or_else(|| default_signature_path(file));
    if !signature_path.is_file() {
        return Err(helped(
            format!(
                "`{}` has no signature: `{}` does not exist",
                file.display(),
                signature_path.display()
            ),
            "sign it with `ocp sign`, or name its signature with `--signature`",
        ));
    }
    let text = crate::fsutil::read_text(&signature_path)?;
    let signature = SignatureFile::parse(&text).with_context(|| {
        format!(
            "failed to read the signature `{}`",
            signature_path.display()
        )
    })?;

    let (public_key, signer) = choose_key(opts, &signature)?;
    let failed = || {
        format!(
            "`{}` failed verification against `{}`",
            file.display(),
            signature_path.display()
        )
    };
    signature
        .verify(&public_key, open(file)?, true)
        .with_context(failed)?;
    if signature.algorithm == Algorithm::Legacy {
        shell.warn(format!(
            "`{}` is a legacy (not prehashed) signature; re-sign with `ocp sign` or a current minisign",
            signature_path.display()
        ))?;
    }

    let claim = PackageClaim::parse(&signature.trusted_comment).with_context(failed)?;
    let manifest = match package::read_manifest(open(file)?) {
        Ok(manifest) => manifest,
        // A plain signature vouches for the bytes only; the archive's shape is not its concern.
        Err(_) if claim.is_none() => None,
        Err(error) => {
            return Err(anyhow::Error::new(error).context(format!(
                "failed to read the OCP tarball `{}`",
                file.display()
            )));
        }
    };
    match &claim {
        Some(claim) => {
            let sha256 = Checksum::of_reader(open(file)?)
                .with_context(|| format!("failed to read `{}`", file.display()))?;
            claim
                .check(manifest.as_ref(), &sha256)
                .with_context(failed)?;
        }
        None if manifest.is_some() => shell.warn(format!(
            "the trusted comment of `{}` does not name the package (it was not signed by `ocp sign`); it vouches for the file's bytes only",
            signature_path.display()
        ))?,
        None => {}
    }
    Ok(Verified {
        file: file.clone(),
        signature_path,
        key_id: public_key.key_id(),
        signer,
        algorithm: signature.algorithm,
        trusted_comment: signature.trusted_comment.clone(),
        package: claim,
    })
}

/// The public key to check with, and the trusted name it goes by.
fn choose_key(
    opts: &VerifyOpts,
    signature: &SignatureFile,
) -> anyhow::Result<(PublicKey, Option<String>)> {
    let signed_by = signature.key_id;
    if let KeyChoice::PublicKey(file_or_text) = &opts.key {
        let key = load_public_key(file_or_text)?;
        if key.key_id() != signed_by {
            return Err(anyhow::Error::new(SigningError::KeyIdMismatch {
                signature: signed_by,
                public_key: key.key_id(),
            })
            .context(format!(
                "`{}` was not signed by this key",
                opts.file.display()
            )));
        }
        // Name the signer when the key happens to be trusted; a broken trusted keys file
        // must not stop a check that does not need it.
        let signer = load_trusted_keys(&opts.trusted_files)
            .ok()
            .and_then(|trusted| {
                trusted
                    .by_key_id(key.key_id())
                    .first()
                    .map(|signer| signer.name.clone())
            });
        return Ok((key, signer));
    }
    let trusted = load_trusted_keys(&opts.trusted_files)?;
    let signer = match &opts.key {
        KeyChoice::Signer(name) => {
            let signer = trusted.by_name(name).ok_or_else(|| {
                helped(
                    format!("no trusted signer is named `{name}`"),
                    "list the trusted signers with `ocp key trusted`; add one with `ocp key trust <NAME> <PUBLIC_KEY>`",
                )
            })?;
            if signer.public_key.key_id() != signed_by {
                return Err(helped(
                    format!(
                        "`{}` was signed by key {signed_by}, but the trusted signer `{name}` has key {}",
                        opts.file.display(),
                        signer.public_key.key_id()
                    ),
                    "the file was signed by someone else; do not install it unless you trust that key",
                ));
            }
            signer
        }
        KeyChoice::KeyId(wanted) => {
            if *wanted != signed_by {
                return Err(helped(
                    format!(
                        "`{}` was signed by key {signed_by}, not by key {wanted}",
                        opts.file.display()
                    ),
                    "the file was signed by someone else; do not install it unless you trust that key",
                ));
            }
            *trusted.by_key_id(signed_by).first().ok_or_else(|| {
                helped(
                    format!("key {wanted} is not in the trusted keys"),
                    "add it with `ocp key trust <NAME> <PUBLIC_KEY>`, or check with `--public-key`",
                )
            })?
        }
        KeyChoice::AnyTrusted | KeyChoice::PublicKey(_) => {
            *trusted.by_key_id(signed_by).first().ok_or_else(|| {
                helped(
                    format!(
                        "`{}` was signed by key {signed_by}, which is not a trusted key",
                        opts.file.display()
                    ),
                    "check it with `--public-key <FILE>`, or trust the key with `ocp key trust <NAME> <PUBLIC_KEY>`",
                )
            })?
        }
    };
    Ok((signer.public_key.clone(), Some(signer.name.clone())))
}

fn open(path: &Path) -> anyhow::Result<File> {
    File::open(path).with_context(|| format!("failed to open `{}`", path.display()))
}
