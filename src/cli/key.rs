//! `ocp key`: generate, public, trust, untrust, trusted. Also resolves, once, where the
//! secret key and its password come from for `ocp sign` (flags > `OCP_SIGNING_KEY` /
//! `OCP_SIGNING_KEY_PASSWORD` > the default key under `OCP_HOME`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use zeroize::Zeroizing;

use super::Format;
use crate::error::helped;
use crate::home;
use crate::ops::key::{
    self as ops, GenerateOpts, PASSWORD_ENV, PasswordPrompt, PasswordSource, PublicKeyQuery,
    SIGNING_KEY_ENV, SecretKeySource, TrustOpts, TrustOutcome,
};
use crate::shell::Shell;
use crate::signing::KdfLimits;

/// Project trusted keys file, read from the current directory.
pub const PROJECT_TRUSTED_KEYS: &str = "ocp-trusted-keys.toml";

/// Manage signing keys and the keys you trust
///
/// Keys are minisign keys: `minisign` can use an ocp key and ocp can use a minisign key.
/// Your key pair lives in `OCP_HOME/keys/` (`ocp.key`, `ocp.pub`); the keys you trust live in
/// `OCP_HOME/trusted-keys.toml` and in a project's `ocp-trusted-keys.toml`.
#[derive(Debug, Args)]
pub struct KeyArgs {
    #[command(subcommand)]
    command: KeyCommand,
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    Generate(GenerateArgs),
    Public(PublicArgs),
    Trust(TrustArgs),
    Untrust(UntrustArgs),
    Trusted(TrustedArgs),
}

/// Create a signing key pair
///
/// Writes the secret key (mode 0600, encrypted with a password as minisign does) and the
/// public key beside it, and prints the key id. Never overwrites an existing key. The
/// password is read from `OCP_SIGNING_KEY_PASSWORD` when set, else asked on the terminal.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ocp key generate\n  ocp key generate --output release.key --comment 'acme release key'\n  OCP_SIGNING_KEY_PASSWORD=... ocp key generate --output ci.key"
)]
struct GenerateArgs {
    /// The secret key file; the public key goes beside it with the extension `.pub`
    /// [default: `OCP_HOME/keys/ocp.key`]
    #[arg(long, short, value_name = "PATH")]
    output: Option<PathBuf>,

    /// The untrusted comment on the first line of the secret key file
    #[arg(long, value_name = "TEXT")]
    comment: Option<String>,

    /// Store the secret key unencrypted (anyone who reads the file can sign as you)
    #[arg(long)]
    no_password: bool,

    /// The scrypt cost of the password encryption (tests use `interactive`)
    #[arg(long, value_enum, default_value_t = KdfChoice::Minisign, hide = true)]
    kdf_limits: KdfChoice,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KdfChoice {
    /// minisign's own limits: about 1 GiB of memory
    Minisign,
    /// libsodium's interactive limits: 16 MiB
    Interactive,
}

/// Print a public key and its key id
///
/// PATH may be a public key or a secret key (the public key is derived from it). Without
/// PATH: the key in `OCP_SIGNING_KEY` when set, else `OCP_HOME/keys/ocp.pub`. Prints the
/// public key file's text, which `minisign -p` reads.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  ocp key public\n  ocp key public > acme.pub")]
struct PublicArgs {
    /// A public or secret key file
    path: Option<PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

/// Trust a public key under a signer name
///
/// Adds `[signers.<NAME>]` to `OCP_HOME/trusted-keys.toml` (or, with `--project`, to
/// `ocp-trusted-keys.toml` in the current directory). `ocp verify` then accepts signatures by
/// that key and names the signer; the name is what Osiris's `trusted_signers` lists.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ocp key trust keboola keboola.pub\n  ocp key trust acme RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3 --project"
)]
struct TrustArgs {
    /// The signer's name: lowercase letters, digits, `-`, `_`, `.`
    name: String,

    /// A public key file, or the public key itself (`RW...`)
    public_key: String,

    /// Edit the project's `ocp-trusted-keys.toml` in the current directory
    #[arg(long)]
    project: bool,

    /// Replace the key of a signer that is already trusted under this name
    #[arg(long)]
    replace: bool,
}

/// Stop trusting a signer
#[derive(Debug, Args)]
struct UntrustArgs {
    /// The signer's name
    name: String,

    /// Edit the project's `ocp-trusted-keys.toml` in the current directory
    #[arg(long)]
    project: bool,
}

/// List the trusted signers
///
/// The user's `OCP_HOME/trusted-keys.toml` merged with the project's `ocp-trusted-keys.toml`
/// in the current directory (the project's signers replace the user's of the same name).
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ocp key trusted\n  ocp key trusted --format json | jq -r '.signers[].key_id'"
)]
struct TrustedArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run(args: KeyArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let home = home::ocp_home()?;
    match args.command {
        KeyCommand::Generate(args) => generate(args, &home, shell),
        KeyCommand::Public(args) => public(args, &home, shell),
        KeyCommand::Trust(args) => trust(args, &home, shell),
        KeyCommand::Untrust(args) => untrust(args, &home, shell),
        KeyCommand::Trusted(args) => trusted(args, &home, shell),
    }
}

#[derive(Serialize)]
struct JsonKey {
    format_version: u32,
    key_id: String,
    public_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_key_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key_path: Option<String>,
}

fn generate(args: GenerateArgs, home: &Path, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let secret_path = args
        .output
        .unwrap_or_else(|| home::default_secret_key(home));
    let public_path = public_path_beside(&secret_path);
    let password = if args.no_password {
        None
    } else {
        let source = password_source();
        if let PasswordSource::Given(password) = &source
            && password.is_empty()
        {
            return Err(helped(
                format!("`{PASSWORD_ENV}` is empty; a secret key needs a real password"),
                format!("set `{PASSWORD_ENV}` to a password, or pass `--no-password`"),
            ));
        }
        Some(source)
    };
    let kdf = match args.kdf_limits {
        KdfChoice::Minisign => KdfLimits::MINISIGN,
        KdfChoice::Interactive => KdfLimits::INTERACTIVE,
    };
    let generated = ops::generate(
        shell,
        GenerateOpts {
            secret_path,
            public_path,
            comment: args.comment,
            password,
            kdf,
        },
    )?;
    let key_id = generated.public_key.key_id();
    match args.format {
        Format::Json => shell.data(serde_json::to_string_pretty(&JsonKey {
            format_version: 1,
            key_id: key_id.to_string(),
            public_key: generated.public_key.to_base64(),
            secret_key_path: Some(generated.secret_path.display().to_string()),
            public_key_path: Some(generated.public_path.display().to_string()),
        })?)?,
        Format::Human => shell.data(key_id)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `release.key` -> `release.pub`; any other name gets `.pub` appended.
fn public_path_beside(secret: &Path) -> PathBuf {
    if secret
        .extension()
        .is_some_and(|extension| extension == "key")
    {
        secret.with_extension("pub")
    } else {
        let mut name = secret.as_os_str().to_owned();
        name.push(".pub");
        PathBuf::from(name)
    }
}

fn public(args: PublicArgs, home: &Path, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let query = match args.path {
        Some(path) => PublicKeyQuery::File(path),
        None => match std::env::var(SIGNING_KEY_ENV) {
            Ok(value) if !value.trim().is_empty() => {
                PublicKeyQuery::Secret(SecretKeySource::from_env_value(value))
            }
            _ => PublicKeyQuery::File(home::default_public_key(home)),
        },
    };
    let public_key = ops::public_key(query, &mut password_source())?;
    match args.format {
        Format::Json => shell.data(serde_json::to_string_pretty(&JsonKey {
            format_version: 1,
            key_id: public_key.key_id().to_string(),
            public_key: public_key.to_base64(),
            secret_key_path: None,
            public_key_path: None,
        })?)?,
        Format::Human => {
            shell.status("Key id", public_key.key_id())?;
            shell.data(public_key.to_file_text().trim_end())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn trust(args: TrustArgs, home: &Path, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let file = trusted_keys_file(args.project, home)?;
    let outcome = ops::trust(
        shell,
        &TrustOpts {
            name: args.name.clone(),
            public_key: args.public_key,
            file: file.clone(),
            replace: args.replace,
        },
    )?;
    let (verb, message) = match outcome {
        TrustOutcome::Added(key_id) => ("Trusted", format!("`{}` (key {key_id})", args.name)),
        TrustOutcome::Replaced { old, new } => (
            "Replaced",
            format!("the key of `{}`: {old} -> {new}", args.name),
        ),
        TrustOutcome::Unchanged(key_id) => (
            "Unchanged",
            format!("`{}` is already trusted with key {key_id}", args.name),
        ),
    };
    shell.status(verb, format!("{message} in `{}`", file.display()))?;
    Ok(ExitCode::SUCCESS)
}

fn untrust(args: UntrustArgs, home: &Path, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let file = trusted_keys_file(args.project, home)?;
    if ops::untrust(&args.name, &file)? {
        shell.status(
            "Removed",
            format!("`{}` from `{}`", args.name, file.display()),
        )?;
        Ok(ExitCode::SUCCESS)
    } else {
        Err(helped(
            format!(
                "`{}` does not list a signer `{}`",
                file.display(),
                args.name
            ),
            "list the trusted signers with `ocp key trusted`",
        ))
    }
}

#[derive(Serialize)]
struct JsonTrusted {
    format_version: u32,
    signers: Vec<JsonSigner>,
}

#[derive(Serialize)]
struct JsonSigner {
    name: String,
    key_id: String,
    public_key: String,
    source: String,
}

fn trusted(args: TrustedArgs, home: &Path, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let signers = ops::trusted(&trusted_keys_files(home)?)?;
    match args.format {
        Format::Json => {
            let document = JsonTrusted {
                format_version: 1,
                signers: signers
                    .iter()
                    .map(|signer| JsonSigner {
                        name: signer.name.clone(),
                        key_id: signer.public_key.key_id().to_string(),
                        public_key: signer.public_key.to_base64(),
                        source: signer.source.display().to_string(),
                    })
                    .collect(),
            };
            shell.data(serde_json::to_string_pretty(&document)?)?;
        }
        Format::Human if signers.is_empty() => {
            shell.warn("no trusted signers; add one with `ocp key trust <NAME> <PUBLIC_KEY>`")?;
        }
        Format::Human => {
            let width = signers.iter().map(|s| s.name.len()).max().unwrap_or(0);
            for signer in &signers {
                shell.data(format!(
                    "{:width$}  {}  {}",
                    signer.name,
                    signer.public_key.key_id(),
                    signer.source.display()
                ))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The trusted keys file `ocp key trust` edits.
fn trusted_keys_file(project: bool, home: &Path) -> anyhow::Result<PathBuf> {
    if project {
        Ok(std::env::current_dir()?.join(PROJECT_TRUSTED_KEYS))
    } else {
        Ok(home::trusted_keys(home))
    }
}

/// The trusted keys files that apply here, the user's first: the project's wins.
pub(super) fn trusted_keys_files(home: &Path) -> anyhow::Result<Vec<PathBuf>> {
    Ok(vec![
        home::trusted_keys(home),
        std::env::current_dir()?.join(PROJECT_TRUSTED_KEYS),
    ])
}

/// The password from `OCP_SIGNING_KEY_PASSWORD`, else the terminal, else none.
pub(super) fn password_source() -> PasswordSource {
    if let Some(value) = std::env::var_os(PASSWORD_ENV) {
        // A password that is not UTF-8 cannot match what minisign derives either way; keep
        // its bytes lossily rather than refusing to run.
        return PasswordSource::Given(Zeroizing::new(value.to_string_lossy().into_owned()));
    }
    if std::io::stdin().is_terminal() {
        PasswordSource::Prompt(Box::new(TerminalPrompt))
    } else {
        PasswordSource::Unavailable
    }
}

/// The secret key for `ocp sign`: `--key`, else `OCP_SIGNING_KEY`, else the default.
pub(super) fn secret_key_source(flag: Option<PathBuf>, home: &Path) -> SecretKeySource {
    if let Some(path) = flag {
        return SecretKeySource::File(path);
    }
    match std::env::var(SIGNING_KEY_ENV) {
        Ok(value) if !value.trim().is_empty() => SecretKeySource::from_env_value(value),
        _ => SecretKeySource::File(home::default_secret_key(home)),
    }
}

/// Asks on the terminal without echo.
struct TerminalPrompt;

impl PasswordPrompt for TerminalPrompt {
    fn ask(&mut self, prompt: &str) -> anyhow::Result<Zeroizing<String>> {
        rpassword::prompt_password(prompt)
            .map(Zeroizing::new)
            .map_err(|error| {
                helped(
                    format!("failed to read a password from the terminal: {error}"),
                    format!("set `{PASSWORD_ENV}` instead"),
                )
            })
    }
}
