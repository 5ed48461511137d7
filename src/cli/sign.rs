//! `ocp sign`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use serde::Serialize;

use super::Format;
use super::key::{password_source, secret_key_source};
use crate::home;
use crate::ops::sign::{self as ops, SignOpts};
use crate::shell::Shell;

/// Sign a file, writing `<FILE>.minisig`
///
/// The signature is in the minisign format: `minisign -V -p <public key> -m <FILE>` checks it.
/// For an OCP tarball the trusted comment binds the package name, version and sha256, so the
/// signature cannot be passed off for another package or version. The secret key is `--key`,
/// else `OCP_SIGNING_KEY` (the key file's text or its path), else `OCP_HOME/keys/ocp.key`;
/// its password is `OCP_SIGNING_KEY_PASSWORD`, else asked on the terminal.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ocp sign dist/shopify_osiris-1.0.0.tar.gz\n  ocp sign dist/shopify_osiris-1.0.0.tar.gz --key release.key\n  OCP_SIGNING_KEY=\"$RELEASE_KEY\" OCP_SIGNING_KEY_PASSWORD=\"$RELEASE_KEY_PASSWORD\" ocp sign dist/*.tar.gz"
)]
pub struct SignArgs {
    /// The file to sign
    file: PathBuf,

    /// The secret key file
    #[arg(long, short, value_name = "PATH")]
    key: Option<PathBuf>,

    /// Where to write the signature [default: `<FILE>.minisig`]
    #[arg(long, short = 'x', value_name = "PATH")]
    signature: Option<PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Serialize)]
struct JsonSigned {
    format_version: u32,
    file: String,
    signature: String,
    key_id: String,
    trusted_comment: String,
    package: Option<super::verify::JsonPackage>,
}

pub fn run(args: SignArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let home = home::ocp_home()?;
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|duration| duration.as_secs())
        .unwrap_or(0);
    let opts = SignOpts {
        file: args.file.clone(),
        signature: args.signature,
        key: secret_key_source(args.key, &home),
        password: password_source(),
        timestamp,
    };
    let signed = ops::sign(shell, opts)?;
    match args.format {
        Format::Json => shell.data(serde_json::to_string_pretty(&JsonSigned {
            format_version: 1,
            file: args.file.display().to_string(),
            signature: signed.signature_path.display().to_string(),
            key_id: signed.key_id.to_string(),
            trusted_comment: signed.trusted_comment,
            package: signed
                .package
                .as_ref()
                .map(super::verify::JsonPackage::from),
        })?)?,
        Format::Human => shell.data(signed.signature_path.display())?,
    }
    Ok(ExitCode::SUCCESS)
}
