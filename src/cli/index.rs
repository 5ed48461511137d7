//! `ocp index init`, `verify`, `site`, `migrate`, `accept-rewrite` and `checkpoint`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use super::Format;
use crate::diagnostics::{self, JsonDiagnostic, SourceMap};
use crate::error::helped;
use crate::index::format::Storage;
use crate::index::verify::VerifyOptions;
use crate::ops::index::{self as ops, VerifyIndexOpts};
use crate::ops::key::SecretKeySource;
use crate::shell::Shell;

/// Create and check index repositories
#[derive(Debug, Args)]
pub struct IndexArgs {
    #[command(subcommand)]
    command: IndexCommand,
}

#[derive(Debug, Subcommand)]
enum IndexCommand {
    Init(InitArgs),
    Verify(VerifyArgs),
    Site(SiteArgs),
    Migrate(MigrateArgs),
    AcceptRewrite(AcceptRewriteArgs),
    Checkpoint(CheckpointArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StorageKind {
    /// Tarballs are committed into the index repository itself
    Index,
    /// Tarballs are written to a local or shared directory (`--storage-path`)
    Directory,
    /// Tarballs are uploaded with HTTP PUT (`--upload-url`); the token is each publisher's own
    Http,
    /// Tarballs are pushed as OCI artifacts to a registry (`--repository`): GHCR, Harbor, ECR,
    /// ACR, Artifactory, `distribution`
    Oci,
}

/// Create a new index as a git repository
///
/// Writes `config.json`, a README and a CI workflow that runs `ocp index verify` on every
/// change, and makes the first commit. Pushing to the new repository updates its working
/// tree, so a path to it works as `--index` as it is; or push it to any git host.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ocp index init ./ocp-index\n  ocp index init ./ocp-index --storage directory --storage-path /srv/ocp\n  ocp index init ./ocp-index --storage http --upload-url 'https://files.example.com/ocp/{name}/{file}'\n  ocp index init ./ocp-index --storage oci --repository ghcr.io/acme/ocp\n\nWith HTTP storage, each publisher names the token and the host it may go to in their own\n`OCP_HOME/config.toml` (`token-env` and `upload-host` under `[registries.NAME]`); the index\nnever chooses credentials. With OCI storage, each version is pushed to\n`<repository>/<package>:<version>` with the publisher's registry login (`docker login`,\n`helm registry login`, `oras login`, or `username` and `token-env` in that file); a registry\non 127.0.0.1 or localhost is spoken to over plain HTTP."
)]
struct InitArgs {
    /// Where to create the index (a new or empty directory)
    path: PathBuf,

    /// Where the index keeps tarballs
    #[arg(long, value_enum, default_value_t = StorageKind::Index)]
    storage: StorageKind,

    /// With `--storage directory`: the directory
    #[arg(long, value_name = "DIR")]
    storage_path: Option<PathBuf>,

    /// With `--storage http`: the upload URL template; `{name}` and `{file}` are replaced
    #[arg(long, value_name = "URL")]
    upload_url: Option<String>,

    /// With `--storage oci`: the registry and repository below which packages are pushed
    /// (`ghcr.io/acme/ocp`)
    #[arg(long, value_name = "REGISTRY/PATH")]
    repository: Option<String>,

    /// No longer part of an index: credentials come from each publisher's configuration
    #[arg(long, value_name = "VAR", hide = true)]
    token_env: Option<String>,
}

/// Re-sign a format 1 index so it becomes format 2
///
/// Format 1 signatures cover a version's name, version and sha256 only. For every version of
/// the packages your key owns, this fetches the tarball, checks its sha256 and its old
/// signature, checks that the entry says exactly what the tarball's `ocp.json` declares, and
/// signs it again so the signature covers the components, dependencies, Python requirements
/// and ranges too. When every version of every package is re-signed (each owner runs this for
/// their packages), `config.json` moves to format 2. Changes are committed in the checkout;
/// review them and push.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  git clone git@github.com:acme/ocp-index.git && cd ocp-index\n  ocp index migrate --key ~/.ocp/keys/ocp.key && git push"
)]
struct MigrateArgs {
    /// The index checkout
    #[arg(default_value = ".")]
    path: PathBuf,

    /// The secret key file of an owner [default: `OCP_SIGNING_KEY`, then `OCP_HOME/keys/ocp.key`]
    #[arg(long, value_name = "PATH")]
    key: Option<PathBuf>,
}

/// Accept an index whose history was rewritten
///
/// ocp remembers the last state it saw of each index and refuses an update that does not
/// contain it (a force-push), because a rewritten history can replace a package's owners and
/// signed versions. When the index's maintainers rewrote it on purpose, and you checked the
/// change with them, this takes the index as it is now and remembers its new head.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  ocp index accept-rewrite --index acme")]
struct AcceptRewriteArgs {
    /// The index: a name from `OCP_HOME/config.toml`, a git URL or a path [default: the local index]
    #[arg(long, value_name = "NAME|URL|PATH", env = "OCP_INDEX")]
    index: Option<String>,
}

/// Sign a checkpoint of the index with the index key
///
/// A checkpoint is the index's own key (not a package owner's) vouching for one state of
/// every file ocp reads from the index: a manifest of their sha256 hashes, the git commit they
/// are from, a version one higher than the last checkpoint's, and an expiry. Readers pin the
/// index key the first time and then refuse an older checkpoint (rollback), an expired one (a
/// frozen index), and any file whose hash differs from the manifest (files mixed from
/// different moments, as a plain HTTP server can serve them). A checkpoint is required to read
/// an index over HTTP (`sparse+https://`).
///
/// Signs the files of the checkout's head, writes `checkpoint/manifest`,
/// `checkpoint/manifest.minisig` and `checkpoint/keys`, and commits them; push the commit. The
/// `checkpoint` workflow of an index made by `ocp index init` does this on every push and
/// every day, so the checkpoint expires only when that job stops. The index key is separate
/// from owners' keys: make it with `ocp key generate` and keep it in CI's secrets. To move to
/// a new key, sign with it and pass the current key with `--rotate-from`: readers follow a
/// new key only when the old key signed it.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ocp key generate --no-password --output index.key\n  ocp index checkpoint ./ocp-index --key index.key && git -C ocp-index push\n  OCP_INDEX_KEY=\"$(cat index.key)\" ocp index checkpoint --expires-in 36h --format json\n  ocp index checkpoint --key new-index.key --rotate-from index.key"
)]
struct CheckpointArgs {
    /// The index checkout
    #[arg(default_value = ".")]
    path: PathBuf,

    /// The index key's secret key file [default: `OCP_INDEX_KEY`, the path of a key file or its text]
    #[arg(long, value_name = "PATH")]
    key: Option<PathBuf>,

    /// Move the index to `--key`: the current index key, which signs the new one
    #[arg(long, value_name = "PATH")]
    rotate_from: Option<PathBuf>,

    /// The index's name in its checkpoints, set by the first one [default: the index's first commit]
    #[arg(long, value_name = "NAME")]
    identity: Option<String>,

    /// How long readers accept the checkpoint: seconds, or a number with `s`, `m`, `h` or `d`
    #[arg(long, value_name = "DURATION", default_value = "7d")]
    expires_in: String,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Serialize)]
struct JsonCheckpoint {
    format_version: u32,
    identity: String,
    version: u64,
    commit: String,
    manifest_sha256: String,
    files: usize,
    issued: String,
    expires: String,
    key_id: String,
    checkpoint_commit: String,
    rotated_from: Option<String>,
}

/// Check an index: entries, signatures, checksums, components and history
///
/// Checks every entry against the schema, every signature against the package's owners
/// (from the signed owner log) and against every field of its entry (an edited dependency,
/// component, Python requirement or range fails), tarball checksums where the tarballs can be
/// reached, that each component belongs to one package, and with `--since REV` that history
/// since REV only appended lines or flipped `yanked`. This is what an index repository's CI
/// runs. Exit 1 when anything is wrong.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ocp index verify\n  ocp index verify ./ocp-index --since origin/main --format json"
)]
struct VerifyArgs {
    /// The index checkout
    #[arg(default_value = ".")]
    path: PathBuf,

    /// Also check that history since this git revision only appended or yanked
    #[arg(long, value_name = "REV")]
    since: Option<String>,

    /// Download tarballs from http(s) locations to check their checksums
    #[arg(long)]
    fetch: bool,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

/// Generate the component directory: a static site of the index's components
///
/// Writes a home page with search and filters, one page per component (configuration table
/// with secrets and connection fields marked, ready-to-paste OML and connection snippets,
/// versions with their Osiris and Python ranges, whether each signature verified, the
/// compatibility matrix, owners, README and changelog) and browse pages that work without
/// JavaScript. The site needs no server: open `index.html` from disk, or publish the folder
/// to any static host (an index made by `ocp index init` publishes it to GitHub Pages on
/// every push). Run again into the same folder, it rewrites only pages that changed and
/// removes pages of components that are gone. Packages that cannot be shown in full are
/// reported as warnings; exit 1 only when the site cannot be written.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ocp index site --index ./ocp-index --out site\n  ocp index site --index https://github.com/acme/ocp-index.git --index-url https://github.com/acme/ocp-index.git\n  ocp index site --offline --osiris-versions 0.5.6,0.5.7,0.6.0 --format json"
)]
struct SiteArgs {
    /// The index: a name from `OCP_HOME/config.toml`, a git URL or a path [default: the local index]
    #[arg(long, value_name = "NAME|URL|PATH", env = "OCP_INDEX")]
    index: Option<String>,

    /// Use the local copy of the index and cached tarballs without updating or downloading
    #[arg(long)]
    offline: bool,

    /// Where to write the site: a new or empty folder, or one an earlier run wrote
    #[arg(long, value_name = "DIR", default_value = "site")]
    out: PathBuf,

    /// The name in every page's header
    #[arg(long, default_value = "Osiris components")]
    title: String,

    /// The index URL that the pages' install commands name (`ocp install X --index URL`)
    #[arg(long, value_name = "URL")]
    index_url: Option<String>,

    /// Osiris releases for the compatibility matrix and the filter, comma-separated [default: the osiris-pipeline releases this ocp knows]
    #[arg(long, value_name = "VERSIONS", value_delimiter = ',')]
    osiris_versions: Vec<String>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Serialize)]
struct JsonSite {
    format_version: u32,
    out: String,
    index_page: String,
    packages: usize,
    components: usize,
    pages: usize,
    written: usize,
    unchanged: usize,
    removed: usize,
    seconds: f64,
    problems: Vec<JsonProblem>,
}

#[derive(Serialize)]
struct JsonProblem {
    package: String,
    message: String,
}

#[derive(Serialize)]
struct JsonVerify<'a> {
    format_version: u32,
    ok: bool,
    packages: usize,
    versions: usize,
    tarballs_checked: usize,
    checkpoints: usize,
    findings: Vec<JsonDiagnostic<'a>>,
}

pub fn run(args: IndexArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    match args.command {
        IndexCommand::Init(args) => {
            if args.token_env.is_some() {
                return Err(helped(
                    "`--token-env` is not part of an index any more: an index does not choose which credentials are sent",
                    "leave it out; each publisher sets `token-env` and `upload-host` under `[registries.NAME]` in their `OCP_HOME/config.toml`",
                ));
            }
            let storage = match args.storage {
                StorageKind::Index => Storage::Index,
                StorageKind::Directory => {
                    let path = args.storage_path.ok_or_else(|| {
                        helped(
                            "`--storage directory` needs `--storage-path DIR`",
                            "name the directory that will hold the tarballs",
                        )
                    })?;
                    let path = std::path::absolute(&path).unwrap_or(path);
                    Storage::Directory {
                        path: path.display().to_string(),
                    }
                }
                StorageKind::Http => {
                    let upload = args.upload_url.ok_or_else(|| helped("`--storage http` needs `--upload-url URL`", "for example `--upload-url 'https://files.example.com/ocp/{name}/{file}'`"))?;
                    if !(upload.starts_with("http://") || upload.starts_with("https://")) {
                        return Err(helped(
                            format!("`{upload}` is not an http(s) URL"),
                            "write the URL the server accepts PUT requests at",
                        ));
                    }
                    Storage::Http { upload }
                }
                StorageKind::Oci => {
                    let repository = args.repository.ok_or_else(|| {
                        helped(
                            "`--storage oci` needs `--repository REGISTRY/PATH`",
                            "for example `--repository ghcr.io/acme/ocp`",
                        )
                    })?;
                    let parsed = crate::oci::Repository::parse(&repository).map_err(|error| {
                        helped(
                            error.to_string(),
                            "name the registry host and the path below it, for example `ghcr.io/acme/ocp` or `127.0.0.1:5000/ocp`",
                        )
                    })?;
                    Storage::Oci {
                        repository: parsed.to_string(),
                    }
                }
            };
            ops::init(shell, &args.path, storage)?;
            Ok(ExitCode::SUCCESS)
        }
        IndexCommand::Site(args) => run_site(args, shell),
        IndexCommand::Migrate(args) => run_migrate(args, shell),
        IndexCommand::AcceptRewrite(args) => run_accept(args, shell),
        IndexCommand::Checkpoint(args) => run_checkpoint(args, shell),
        IndexCommand::Verify(args) => {
            let opts = VerifyIndexOpts {
                path: args.path.clone(),
                options: VerifyOptions {
                    since: args.since,
                    fetch_remote: args.fetch,
                    now: std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0),
                },
            };
            let (_index, report) = ops::verify_index(&opts)?;
            let errors = report
                .findings
                .iter()
                .filter(|f| f.severity == diagnostics::Severity::Error)
                .count();
            let sources = SourceMap::default();
            match args.format {
                Format::Json => shell.data(serde_json::to_string_pretty(&JsonVerify {
                    format_version: 1,
                    ok: errors == 0,
                    packages: report.packages,
                    versions: report.versions,
                    tarballs_checked: report.tarballs_checked,
                    checkpoints: report.checkpoints,
                    findings: report
                        .findings
                        .iter()
                        .map(|f| JsonDiagnostic::new(f, &sources))
                        .collect(),
                })?)?,
                Format::Human => {
                    let color = shell.err_supports_color();
                    for finding in &report.findings {
                        shell.print_err_block_always(&format!(
                            "{}\n",
                            diagnostics::render(finding, &sources, color)
                        ))?;
                    }
                    if errors == 0 {
                        shell.status(
                            "Verified",
                            format!(
                                "{} packages, {} versions, {} tarballs checked{}",
                                report.packages,
                                report.versions,
                                report.tarballs_checked,
                                match report.checkpoints {
                                    0 => String::new(),
                                    1 => ", 1 signed checkpoint".to_owned(),
                                    n => format!(", a chain of {n} signed checkpoints"),
                                }
                            ),
                        )?;
                    }
                }
            }
            if errors > 0 {
                if args.format == Format::Human {
                    return Err(helped(
                        format!(
                            "the index at `{}` has {errors} problem{}",
                            args.path.display(),
                            if errors == 1 { "" } else { "s" }
                        ),
                        "an index changes only through `ocp publish`, `ocp yank` and `ocp owner`",
                    ));
                }
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn run_site(args: SiteArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let home = crate::home::ocp_home()?;
    let location = crate::ops::registry::locate(&home, args.index.as_deref())?;
    let today = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(text) if !text.trim().is_empty() => text
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|seconds| time::OffsetDateTime::from_unix_timestamp(seconds).ok())
            .ok_or_else(|| {
                helped(
                    format!("SOURCE_DATE_EPOCH `{text}` is not a number of seconds since 1970"),
                    "unset it, or set it to seconds since 1970, for example `$(git log -1 --format=%ct)`",
                )
            })?,
        _ => time::OffsetDateTime::now_utc(),
    };
    let registry_login = super::install::registry_login(&location);
    let opts = crate::ops::site::SiteOpts {
        location,
        registry_login,
        freshness: if args.offline {
            crate::ops::registry::Freshness::Offline
        } else {
            crate::ops::registry::Freshness::Update
        },
        out: args.out,
        title: args.title,
        index_url: args.index_url,
        osiris_releases: crate::ops::site::osiris_releases(&args.osiris_versions)?,
        today,
        home,
        reporter: super::progress::reporter(shell, "Reading"),
    };
    let outcome = crate::ops::site::site(shell, &opts)?;
    let report = &outcome.report;
    let index_page = outcome.out.join("index.html");
    match args.format {
        Format::Json => shell.data(serde_json::to_string_pretty(&JsonSite {
            format_version: 1,
            out: outcome.out.display().to_string(),
            index_page: index_page.display().to_string(),
            packages: report.packages,
            components: report.components,
            pages: report.pages,
            written: report.files.written,
            unchanged: report.files.unchanged,
            removed: report.files.removed,
            seconds: outcome.elapsed.as_secs_f64(),
            problems: report
                .problems
                .iter()
                .map(|p| JsonProblem {
                    package: p.package.clone(),
                    message: p.message.clone(),
                })
                .collect(),
        })?)?,
        Format::Human => shell.status(
            "Finished",
            format!(
                "{} components of {} packages, {} files ({} written, {} unchanged, {} removed) in {:.2}s; open `{}`",
                report.components,
                report.packages,
                report.pages,
                report.files.written,
                report.files.unchanged,
                report.files.removed,
                outcome.elapsed.as_secs_f64(),
                index_page.display()
            ),
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

fn run_migrate(args: MigrateArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let home = crate::home::ocp_home()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    ops::migrate(
        shell,
        ops::MigrateOpts {
            path: args.path,
            key: super::key::secret_key_source(args.key, &home),
            password: super::key::password_source(),
            now,
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

fn run_accept(args: AcceptRewriteArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let home = crate::home::ocp_home()?;
    let location = crate::ops::registry::locate(&home, args.index.as_deref())?;
    ops::accept_rewrite(shell, &location)?;
    Ok(ExitCode::SUCCESS)
}

/// The environment variable that holds the index key (a key file's path or its text).
pub const INDEX_KEY_ENV: &str = "OCP_INDEX_KEY";

fn run_checkpoint(args: CheckpointArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let key = match args.key {
        Some(path) => SecretKeySource::File(path),
        None => match std::env::var(INDEX_KEY_ENV) {
            Ok(value) if !value.trim().is_empty() => match SecretKeySource::from_env_value(value) {
                SecretKeySource::Text(text) => SecretKeySource::TextIn {
                    variable: INDEX_KEY_ENV,
                    text,
                },
                file => file,
            },
            _ => {
                return Err(helped(
                    "no index key to sign the checkpoint with",
                    format!(
                        "pass `--key PATH`, or set `{INDEX_KEY_ENV}` to the key file's path or text; make a key with `ocp key generate --output index.key`"
                    ),
                ));
            }
        },
    };
    let valid_for = parse_duration(&args.expires_in)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let done = ops::checkpoint(
        shell,
        ops::CheckpointOpts {
            path: args.path.clone(),
            key,
            password: super::key::password_source(),
            rotate_from: args.rotate_from.map(SecretKeySource::File),
            identity: args.identity,
            valid_for,
            now,
        },
    )?;
    let checkpoint = &done.checkpoint;
    let time = crate::ops::publish::rfc3339;
    match args.format {
        Format::Json => shell.data(serde_json::to_string_pretty(&JsonCheckpoint {
            format_version: 1,
            identity: checkpoint.identity.clone(),
            version: checkpoint.version,
            commit: checkpoint.commit.clone(),
            manifest_sha256: checkpoint.manifest.to_hex(),
            files: done.files,
            issued: time(checkpoint.issued),
            expires: time(checkpoint.expires),
            key_id: done.key_id.to_string(),
            checkpoint_commit: done.commit.clone(),
            rotated_from: done.rotated_from.map(|id| id.to_string()),
        })?)?,
        Format::Human => shell.status(
            "Signed",
            format!(
                "checkpoint {} of `{}`: {} files of commit {}, valid until {}; push the commit to publish it",
                checkpoint.version,
                args.path.display(),
                done.files,
                checkpoint.commit.chars().take(12).collect::<String>(),
                time(checkpoint.expires)
            ),
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `90`, `90s`, `30m`, `36h`, `7d` in seconds; at least one second, at most ten years.
fn parse_duration(text: &str) -> anyhow::Result<u64> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((at, 's')) => (&text[..at], 1),
        Some((at, 'm')) => (&text[..at], 60),
        Some((at, 'h')) => (&text[..at], 3_600),
        Some((at, 'd')) => (&text[..at], 86_400),
        _ => (text, 1),
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|number| number.checked_mul(unit))
        .filter(|seconds| (1..=10 * 365 * 86_400).contains(seconds))
        .ok_or_else(|| {
            helped(
                format!("`{text}` is not a duration"),
                "write a number of seconds, or a number with `s`, `m`, `h` or `d`, such as `36h` or `7d` (at most ten years)",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(parse_duration("90").expect("seconds"), 90);
        assert_eq!(parse_duration("2s").expect("seconds"), 2);
        assert_eq!(parse_duration("30m").expect("minutes"), 1_800);
        assert_eq!(parse_duration("36h").expect("hours"), 129_600);
        assert_eq!(parse_duration("7d").expect("days"), 604_800);
        for bad in ["", "0", "d", "7w", "-1d", "99999d", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
