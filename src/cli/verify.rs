//! `ocp verify`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::Format;
use super::key::trusted_keys_files;
use crate::error::HelpExt;
use crate::home;
use crate::model::KeyId;
use crate::ops::verify::{self as ops, KeyChoice, VerifyOpts};
use crate::shell::Shell;
use crate::signing::{Algorithm, PackageClaim};

/// Check a file's signature and who made it
///
/// Checks `<FILE>.minisig` (minisign format, made by `ocp sign` or `minisign -S`) with the
/// given public key, or with a trusted key (`ocp key trusted`): by default whichever trusted
/// key made the signature. For an OCP tarball signed by ocp it also checks that the trusted
/// comment names this tarball's own package, version and sha256. Prints the key id and the
/// trusted signer's name, and exits 0; otherwise says what did not match and exits 1.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ocp verify dist/shopify_osiris-1.0.0.tar.gz --public-key acme.pub\n  ocp verify shopify_osiris-1.0.0.tar.gz --signer keboola\n  ocp verify shopify_osiris-1.0.0.tar.gz --format json"
)]
pub struct VerifyArgs {
    /// The signed file
    file: PathBuf,

    /// The signature file [default: `<FILE>.minisig`]
    #[arg(long, short = 'x', value_name = "PATH")]
    signature: Option<PathBuf>,

    /// Check with this public key (a file, or the key itself: `RW...`)
    #[arg(long, short, value_name = "PATH", conflicts_with_all = ["key_id", "signer"])]
    public_key: Option<String>,

    /// Require this trusted key (16 hex digits, as `ocp key trusted` shows)
    #[arg(long, value_name = "ID", conflicts_with = "signer")]
    key_id: Option<String>,

    /// Require this trusted signer
    #[arg(long, value_name = "NAME")]
    signer: Option<String>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Serialize)]
struct JsonVerified {
    format_version: u32,
    file: String,
    signature: String,
    key_id: String,
    signer: Option<String>,
    algorithm: &'static str,
    trusted_comment: String,
    package: Option<JsonPackage>,
}

/// The package a signature binds, in `ocp sign` and `ocp verify` JSON.
#[derive(Serialize)]
pub(super) struct JsonPackage {
    name: String,
    version: String,
    sha256: String,
    timestamp: Option<u64>,
}

impl From<&PackageClaim> for JsonPackage {
    fn from(claim: &PackageClaim) -> Self {
        JsonPackage {
            name: claim.name.clone(),
            version: claim.version.clone(),
            sha256: claim.sha256.clone(),
            timestamp: claim.timestamp,
        }
    }
}

pub fn run(args: VerifyArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let home = home::ocp_home()?;
    let key = match (args.public_key, args.key_id, args.signer) {
        (Some(public_key), _, _) => KeyChoice::PublicKey(public_key),
        (None, Some(key_id), _) => KeyChoice::KeyId(
            key_id
                .parse::<KeyId>()
                .help("copy the key id from `ocp key trusted` or `ocp key public`")?,
        ),
        (None, None, Some(signer)) => KeyChoice::Signer(signer),
        (None, None, None) => KeyChoice::AnyTrusted,
    };
    let opts = VerifyOpts {
        file: args.file,
        signature: args.signature,
        key,
        trusted_files: trusted_keys_files(&home)?,
    };
    let verified = ops::verify(shell, &opts)?;
    match args.format {
        Format::Json => shell.data(serde_json::to_string_pretty(&JsonVerified {
            format_version: 1,
            file: verified.file.display().to_string(),
            signature: verified.signature_path.display().to_string(),
            key_id: verified.key_id.to_string(),
            signer: verified.signer,
            algorithm: match verified.algorithm {
                Algorithm::Prehashed => "prehashed",
                Algorithm::Legacy => "legacy",
            },
            trusted_comment: verified.trusted_comment,
            package: verified.package.as_ref().map(JsonPackage::from),
        })?)?,
        Format::Human => {
            let file_name = verified
                .file
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_else(|| verified.file.display().to_string());
            let signer = verified
                .signer
                .map(|name| format!(" ({name})"))
                .unwrap_or_default();
            shell.data(format!(
                "verified {file_name}: signed by key {}{signer}",
                verified.key_id
            ))?;
            match &verified.package {
                Some(claim) => shell.data(format!(
                    "package {} {} sha256:{}",
                    claim.name, claim.version, claim.sha256
                ))?,
                None => shell.data(format!("trusted comment: {}", verified.trusted_comment))?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
