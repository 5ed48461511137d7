//! `ocp key`: generate a key pair, show a public key, and manage trusted keys. Also the
//! loading of secret keys and trusted keys that `ocp sign` and `ocp verify` share.
//!
//! Secret key files are refused when group or others may access them (as ssh does), and are
//! created with mode 0600. Passwords come from a [`PasswordSource`] the CLI resolved (the
//! environment or a terminal prompt); key material and passwords never reach the shell or an
//! error message.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use zeroize::Zeroizing;

use crate::error::{HelpExt, helped};
use crate::model::KeyId;
use crate::shell::Shell;
use crate::signing::trusted::{self, TrustedSigner};
use crate::signing::{KdfLimits, PublicKey, SecretKey, SecretKeyFile, SigningError, TrustedKeys};

/// The environment variable holding a secret key's text or path.
pub const SIGNING_KEY_ENV: &str = "OCP_SIGNING_KEY";
/// The environment variable holding the secret key's password.
pub const PASSWORD_ENV: &str = "OCP_SIGNING_KEY_PASSWORD";

/// Asks a person for a password (the CLI implements it on the terminal).
pub trait PasswordPrompt {
    fn ask(&mut self, prompt: &str) -> anyhow::Result<Zeroizing<String>>;
}

/// Where a password comes from, resolved by the CLI before the operation starts.
pub enum PasswordSource {
    /// `OCP_SIGNING_KEY_PASSWORD`.
    Given(Zeroizing<String>),
    /// Ask on the terminal, only when a key turns out to be encrypted.
    Prompt(Box<dyn PasswordPrompt>),
    /// No variable and no terminal.
    Unavailable,
}

impl fmt::Debug for PasswordSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PasswordSource::Given(_) => "PasswordSource::Given(..)",
            PasswordSource::Prompt(_) => "PasswordSource::Prompt(..)",
            PasswordSource::Unavailable => "PasswordSource::Unavailable",
        })
    }
}

/// Where the secret key comes from, resolved by the CLI: `--key`, then `OCP_SIGNING_KEY`,
/// then the default key file.
pub enum SecretKeySource {
    File(PathBuf),
    /// The key file's text itself, from `OCP_SIGNING_KEY` (CI: no key file on disk).
    Text(Zeroizing<String>),
    /// The key file's text itself, from another variable (`OCP_INDEX_KEY`).
    TextIn {
        variable: &'static str,
        text: Zeroizing<String>,
    },
}

impl SecretKeySource {
    /// Reads `OCP_SIGNING_KEY`'s value: the path of a key file when a file exists there, else
    /// the key's text. A value that is neither fails as text, so the error never echoes what
    /// may be a damaged secret key.
    pub fn from_env_value(value: String) -> SecretKeySource {
        let value = Zeroizing::new(value);
        let trimmed = value.trim();
        let is_text = trimmed.starts_with("untrusted comment:") || trimmed.contains('\n');
        if !is_text && Path::new(trimmed).is_file() {
            SecretKeySource::File(PathBuf::from(trimmed))
        } else {
            SecretKeySource::Text(value)
        }
    }

    /// How messages name the key, without its contents.
    pub fn describe(&self) -> String {
        match self {
            SecretKeySource::File(path) => format!("`{}`", path.display()),
            SecretKeySource::Text(_) => format!("in `{SIGNING_KEY_ENV}`"),
            SecretKeySource::TextIn { variable, .. } => format!("in `{variable}`"),
        }
    }
}

impl fmt::Debug for SecretKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretKeySource::File(path) => write!(f, "SecretKeySource::File({path:?})"),
            SecretKeySource::Text(_) => f.write_str("SecretKeySource::Text(..)"),
            SecretKeySource::TextIn { variable, .. } => {
                write!(f, "SecretKeySource::TextIn({variable}, ..)")
            }
        }
    }
}

/// Reads, checks and opens a secret key, asking for its password when it is encrypted.
pub fn load_secret_key(
    source: &SecretKeySource,
    password: &mut PasswordSource,
) -> anyhow::Result<SecretKey> {
    let description = source.describe();
    let file = match source {
        SecretKeySource::File(path) => {
            if !path.exists() {
                return Err(helped(
                    format!("there is no secret key at `{}`", path.display()),
                    format!(
                        "create one with `ocp key generate`, or name one with `--key` or `{SIGNING_KEY_ENV}`"
                    ),
                ));
            }
            check_secret_key_permissions(path)?;
            let text = Zeroizing::new(crate::fsutil::read_text(path)?);
            SecretKeyFile::parse(&text)
                .with_context(|| format!("failed to read the secret key `{}`", path.display()))?
        }
        SecretKeySource::Text(text) => SecretKeyFile::parse(text).with_context(|| {
            format!(
                "`{SIGNING_KEY_ENV}` holds neither a secret key nor the path of an existing file"
            )
        })?,
        SecretKeySource::TextIn { variable, text } => {
            SecretKeyFile::parse(text).with_context(|| {
                format!("`{variable}` holds neither a secret key nor the path of an existing file")
            })?
        }
    };
    if !file.is_encrypted() {
        return Ok(file.open(None)?);
    }
    let password = match password {
        PasswordSource::Given(password) => password.clone(),
        PasswordSource::Prompt(prompt) => {
            prompt.ask(&format!("Password for the secret key {description}: "))?
        }
        PasswordSource::Unavailable => {
            return Err(helped(
                format!(
                    "the secret key {description} is encrypted, and there is no terminal to ask for its password"
                ),
                format!("set `{PASSWORD_ENV}` to the key's password"),
            ));
        }
    };
    file.open(Some(&password)).map_err(|error| match error {
        SigningError::WrongPassword => helped(
            format!("wrong password for the secret key {description}"),
            format!(
                "check the password (`{PASSWORD_ENV}` when it is set); if it is right, the key file is damaged"
            ),
        ),
        other => anyhow::Error::new(other)
            .context(format!("failed to open the secret key {description}")),
    })
}

/// Refuses a secret key file that group or others may read or write, as ssh does.
fn check_secret_key_permissions(path: &Path) -> anyhow::Result<()> {
    #[cfg(not(unix))]
    let _ = path;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let metadata = std::fs::metadata(path)
            .with_context(|| format!("failed to read the permissions of `{}`", path.display()))?;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(helped(
                format!(
                    "the secret key `{}` is accessible by other users (mode {mode:03o}), so ocp will not use it",
                    path.display()
                ),
                format!(
                    "make it readable by its owner only: `chmod 600 {}`",
                    path.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Reads the trusted keys files that exist, later files replacing earlier signers of the
/// same name (the user's file first, then the project's).
pub fn load_trusted_keys(files: &[PathBuf]) -> anyhow::Result<TrustedKeys> {
    let mut merged = TrustedKeys::default();
    for path in files {
        if !path.exists() {
            continue;
        }
        let text = crate::fsutil::read_text(path)?;
        let keys = TrustedKeys::parse(&text, path)
            .with_context(|| format!("failed to read the trusted keys `{}`", path.display()))?;
        merged = merged.merged_with(keys);
    }
    Ok(merged)
}

/// Reads a public key given as a file path or as the key's text (`RW...`).
pub fn load_public_key(file_or_text: &str) -> anyhow::Result<PublicKey> {
    let path = Path::new(file_or_text);
    if path.is_file() {
        let text = crate::fsutil::read_text(path)?;
        return PublicKey::parse(&text)
            .with_context(|| format!("failed to read the public key `{}`", path.display()));
    }
    PublicKey::parse(file_or_text)
        .with_context(|| format!("`{file_or_text}` is neither a public key file nor a public key"))
}

/// A request to create a key pair.
#[derive(Debug)]
pub struct GenerateOpts {
    pub secret_path: PathBuf,
    pub public_path: PathBuf,
    pub comment: Option<String>,
    /// `None`: write the secret key without encryption (`--no-password`).
    pub password: Option<PasswordSource>,
    pub kdf: KdfLimits,
}

/// What `ocp key generate` created.
#[derive(Debug)]
pub struct Generated {
    pub public_key: PublicKey,
    pub secret_path: PathBuf,
    pub public_path: PathBuf,
}

/// Creates a key pair; refuses to replace an existing key file.
pub fn generate(shell: &mut Shell, opts: GenerateOpts) -> anyhow::Result<Generated> {
    for path in [&opts.secret_path, &opts.public_path] {
        if path.symlink_metadata().is_ok() {
            return Err(helped(
                format!(
                    "`{}` already exists; ocp never overwrites a key",
                    path.display()
                ),
                "choose another place with `--output`, or move the existing key away first",
            ));
        }
    }
    let password = match opts.password {
        None => None,
        Some(PasswordSource::Given(password)) => Some(password),
        Some(PasswordSource::Prompt(mut prompt)) => {
            let first = prompt.ask("Password for the new secret key: ")?;
            let second = prompt.ask("Password (again): ")?;
            if first != second {
                return Err(helped(
                    "the two passwords differ",
                    "run `ocp key generate` again",
                ));
            }
            Some(first)
        }
        Some(PasswordSource::Unavailable) => {
            return Err(helped(
                "a new secret key needs a password, and there is no terminal to ask for one",
                format!(
                    "set `{PASSWORD_ENV}`, or pass `--no-password` to store the key unencrypted"
                ),
            ));
        }
    };
    if password.is_some() {
        shell.status("Deriving", "the encryption key from the password")?;
    }
    let key = SecretKey::generate()?;
    let comment = opts.comment.unwrap_or_else(|| {
        if password.is_some() {
            "minisign encrypted secret key".to_owned()
        } else {
            "minisign secret key".to_owned()
        }
    });
    let secret_text = key
        .to_file_text(password.as_ref().map(|p| p.as_str()), opts.kdf, &comment)
        .help("the comment must be one line")?;
    for path in [&opts.secret_path, &opts.public_path] {
        if let Some(directory) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir(directory)?;
        }
    }
    crate::fsutil::write_new_atomic(&opts.secret_path, secret_text.as_bytes(), 0o600)?;
    let public_key = key.public_key();
    crate::fsutil::write_new_atomic(
        &opts.public_path,
        public_key.to_file_text().as_bytes(),
        0o644,
    )?;
    shell.status(
        "Created",
        format!(
            "secret key `{}` and public key `{}`",
            opts.secret_path.display(),
            opts.public_path.display()
        ),
    )?;
    Ok(Generated {
        public_key,
        secret_path: opts.secret_path,
        public_path: opts.public_path,
    })
}

/// Creates a directory (and its parents) that only its owner may enter, when missing.
fn create_private_dir(directory: &Path) -> anyhow::Result<()> {
    if directory.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(directory)
        .with_context(|| format!("failed to create `{}`", directory.display()))
}

/// Where `ocp key public` finds the key.
#[derive(Debug)]
pub enum PublicKeyQuery {
    /// A public key file, or a secret key file (the public key is derived from it).
    File(PathBuf),
    /// The secret key in `OCP_SIGNING_KEY`.
    Secret(SecretKeySource),
}

/// The public key of a public or secret key file, or of the key in `OCP_SIGNING_KEY`.
pub fn public_key(
    query: PublicKeyQuery,
    password: &mut PasswordSource,
) -> anyhow::Result<PublicKey> {
    let path = match query {
        PublicKeyQuery::Secret(source) => {
            return Ok(load_secret_key(&source, password)?.public_key());
        }
        PublicKeyQuery::File(path) => path,
    };
    if !path.exists() {
        return Err(helped(
            format!("there is no key at `{}`", path.display()),
            "create a key pair with `ocp key generate`, or name a key file",
        ));
    }
    let text = Zeroizing::new(crate::fsutil::read_text(&path)?);
    if let Ok(public_key) = PublicKey::parse(&text) {
        return Ok(public_key);
    }
    if SecretKeyFile::parse(&text).is_ok() {
        let source = SecretKeySource::File(path);
        return Ok(load_secret_key(&source, password)?.public_key());
    }
    let error = PublicKey::parse(&text)
        .err()
        .map(anyhow::Error::new)
        .unwrap_or_else(|| anyhow::anyhow!("unreadable key"));
    Err(error.context(format!(
        "`{}` is neither a public key nor a secret key",
        path.display()
    )))
}

/// A request to trust a public key under a name.
#[derive(Debug)]
pub struct TrustOpts {
    pub name: String,
    /// A public key file, or the key's text.
    pub public_key: String,
    /// The trusted keys file to edit (the user's or the project's).
    pub file: PathBuf,
    /// Replace a signer of the same name with another key.
    pub replace: bool,
}

/// What `ocp key trust` did.
#[derive(Debug, PartialEq, Eq)]
pub enum TrustOutcome {
    Added(KeyId),
    Replaced { old: KeyId, new: KeyId },
    Unchanged(KeyId),
}

/// Adds a signer to a trusted keys file, atomically, keeping what else the file holds.
pub fn trust(shell: &mut Shell, opts: &TrustOpts) -> anyhow::Result<TrustOutcome> {
    trusted::check_name(&opts.name)?;
    let key = load_public_key(&opts.public_key)?;
    let existing_text = if opts.file.exists() {
        crate::fsutil::read_text(&opts.file)?
    } else {
        String::new()
    };
    let existing = TrustedKeys::parse(&existing_text, &opts.file)
        .with_context(|| format!("failed to read the trusted keys `{}`", opts.file.display()))?;
    let outcome = match existing.by_name(&opts.name) {
        Some(signer) if signer.public_key == key => {
            return Ok(TrustOutcome::Unchanged(key.key_id()));
        }
        Some(signer) if !opts.replace => {
            return Err(helped(
                format!(
                    "`{}` already trusts `{}` with key {}, not {}",
                    opts.file.display(),
                    opts.name,
                    signer.public_key.key_id(),
                    key.key_id()
                ),
                "pass `--replace` to trust the new key under this name instead",
            ));
        }
        Some(signer) => TrustOutcome::Replaced {
            old: signer.public_key.key_id(),
            new: key.key_id(),
        },
        None => TrustOutcome::Added(key.key_id()),
    };
    for other in existing.by_key_id(key.key_id()) {
        if other.name != opts.name {
            shell.warn(format!(
                "key {} is already trusted as `{}` in `{}`",
                key.key_id(),
                other.name,
                opts.file.display()
            ))?;
        }
    }
    let text = trusted::with_signer(&existing_text, &opts.name, &key)
        .with_context(|| format!("failed to update `{}`", opts.file.display()))?;
    if let Some(directory) = opts.file.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(directory)
            .with_context(|| format!("failed to create `{}`", directory.display()))?;
    }
    crate::fsutil::write_atomic(&opts.file, text.as_bytes())?;
    Ok(outcome)
}

/// Removes a signer from a trusted keys file; `false` when it was not listed there.
pub fn untrust(name: &str, file: &Path) -> anyhow::Result<bool> {
    if !file.exists() {
        return Ok(false);
    }
    let text = crate::fsutil::read_text(file)?;
    let edited = trusted::without_signer(&text, name)
        .with_context(|| format!("failed to read the trusted keys `{}`", file.display()))?;
    match edited {
        None => Ok(false),
        Some(edited) => {
            crate::fsutil::write_atomic(file, edited.as_bytes())?;
            Ok(true)
        }
    }
}

/// All trusted signers from the given files, merged (later files win), in name order.
pub fn trusted(files: &[PathBuf]) -> anyhow::Result<Vec<TrustedSigner>> {
    Ok(load_trusted_keys(files)?.iter().cloned().collect())
}
