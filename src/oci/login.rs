//! Credentials for registries, from the user's own configuration only (never from an index):
//!
//! 1. ocp's own settings for the index being used (`username` and the token of
//!    `[registries.NAME]`), when their `upload-host` is this registry;
//! 2. Docker's `config.json` (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`),
//!    which `docker login` and `oras login` write: `credHelpers` for the registry, then
//!    `auths` (`auth`, `username`/`password` or `identitytoken`), then `credsStore`;
//! 3. Helm's registry `config.json` (`$HELM_REGISTRY_CONFIG`, else
//!    `$XDG_CONFIG_HOME/helm/registry/config.json` or `~/.config/helm/registry/config.json`),
//!    which `helm registry login` writes, read the same way.
//!
//! A credential helper `docker-credential-<name>` is a program the user installed; ocp runs it
//! the way Docker does (`get`, the server on standard input, JSON on standard output), with
//! ocp's own secrets removed from its environment, a bounded answer and a time limit. It runs
//! only when a registry asks for credentials.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;
use zeroize::Zeroizing;

use super::{OciError, Registry};

/// The largest credentials file ocp reads.
const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// The largest answer ocp reads from a credential helper.
const MAX_HELPER_BYTES: u64 = 64 * 1024;
/// How long a credential helper may take.
const HELPER_TIME_LIMIT: Duration = Duration::from_secs(60);

/// Credentials for one registry.
#[derive(Clone)]
pub enum Secret {
    /// A user name and a password or access token.
    Basic {
        username: String,
        password: Zeroizing<String>,
    },
    /// An OAuth2 refresh token (`identitytoken`), exchanged at the token realm.
    IdentityToken(Zeroizing<String>),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Basic { username, .. } => write!(f, "Basic({username}, <hidden>)"),
            Secret::IdentityToken(_) => f.write_str("IdentityToken(<hidden>)"),
        }
    }
}

/// Credentials and where they came from, for messages (`the credentials of `ci` from
/// `~/.docker/config.json``).
#[derive(Debug, Clone)]
pub struct Found {
    pub secret: Secret,
    pub origin: String,
}

/// Where ocp looks for credentials; resolved once by the caller.
#[derive(Debug, Clone, Default)]
pub struct Login {
    configured: Option<(Registry, Found)>,
    files: Vec<PathBuf>,
}

impl Login {
    /// No credentials at all: public repositories only.
    pub fn anonymous() -> Login {
        Login::default()
    }

    /// Credentials from these Docker-format `config.json` files, in order.
    pub fn from_files(files: Vec<PathBuf>) -> Login {
        Login {
            configured: None,
            files,
        }
    }

    /// The standard files of this process's environment and home directory.
    pub fn from_environment() -> Login {
        Login::from_files(Login::standard_files(
            &|name| std::env::var(name).ok(),
            dirs::home_dir().as_deref(),
        ))
    }

    /// The files Docker, oras and Helm keep registry credentials in, for an environment
    /// whose variables `env` looks up and whose home directory is `home`.
    pub fn standard_files(
        env: &dyn Fn(&str) -> Option<String>,
        home: Option<&Path>,
    ) -> Vec<PathBuf> {
        let set = |name: &str| {
            env(name)
                .filter(|value| !value.is_empty())
                .map(PathBuf::from)
        };
        let mut files = Vec::new();
        match set("DOCKER_CONFIG") {
            Some(directory) => files.push(directory.join("config.json")),
            None => files.extend(home.map(|home| home.join(".docker").join("config.json"))),
        }
        match set("HELM_REGISTRY_CONFIG") {
            Some(file) => files.push(file),
            None => files.extend(
                set("XDG_CONFIG_HOME")
                    .or_else(|| home.map(|home| home.join(".config")))
                    .map(|config| config.join("helm").join("registry").join("config.json")),
            ),
        }
        files
    }

    /// Adds ocp's own credential for `registry` (`username` and a token from
    /// `[registries.NAME]`); it is used before any file.
    pub fn with_configured(
        mut self,
        registry: Registry,
        username: String,
        token: Zeroizing<String>,
        origin: String,
    ) -> Login {
        self.configured = Some((
            registry,
            Found {
                secret: Secret::Basic {
                    username,
                    password: token,
                },
                origin,
            },
        ));
        self
    }

    /// The credentials the user keeps for `registry`, if any.
    pub fn find(&self, registry: &Registry) -> Result<Option<Found>, OciError> {
        if let Some((configured, found)) = &self.configured
            && configured == registry
        {
            return Ok(Some(found.clone()));
        }
        for file in &self.files {
            if let Some(found) = from_file(file, registry)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }
}

#[derive(Deserialize, Default)]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

fn from_file(path: &Path, registry: &Registry) -> Result<Option<Found>, OciError> {
    let bad = |reason: String| OciError::Config {
        path: path.display().to_string(),
        reason,
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(bad(error.to_string())),
    };
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| bad(error.to_string()))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(bad(format!("it is larger than {MAX_CONFIG_BYTES} bytes")));
    }
    let config: DockerConfig =
        serde_json::from_slice(&bytes).map_err(|error| bad(error.to_string()))?;
    let shown = path.display();
    if let Some(helper) = config
        .cred_helpers
        .iter()
        .find(|(key, _)| key_matches(key, registry))
        .map(|(_, helper)| helper)
    {
        return run_helper(helper, &server_name(registry)).map(|secret| {
            secret.map(|secret| Found {
                origin: format!("{} from `docker-credential-{helper}`", who(&secret)),
                secret,
            })
        });
    }
    if let Some(entry) = config
        .auths
        .iter()
        .find(|(key, _)| key_matches(key, registry))
        .map(|(_, entry)| entry)
        && let Some(secret) = entry_secret(entry).map_err(bad)?
    {
        return Ok(Some(Found {
            origin: format!("{} from `{shown}`", who(&secret)),
            secret,
        }));
    }
    if let Some(helper) = config.creds_store.as_deref().filter(|h| !h.is_empty()) {
        return run_helper(helper, &server_name(registry)).map(|secret| {
            secret.map(|secret| Found {
                origin: format!("{} from `docker-credential-{helper}`", who(&secret)),
                secret,
            })
        });
    }
    Ok(None)
}

/// `the credentials of `user`` or `the identity token`, for messages.
fn who(secret: &Secret) -> String {
    match secret {
        Secret::Basic { username, .. } => format!("the credentials of `{username}`"),
        Secret::IdentityToken(_) => "the identity token".to_owned(),
    }
}

fn entry_secret(entry: &AuthEntry) -> Result<Option<Secret>, String> {
    if let Some(token) = entry.identitytoken.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Some(Secret::IdentityToken(Zeroizing::new(
            token.to_owned(),
        ))));
    }
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        use base64::Engine as _;
        let decoded = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|_| "an `auth` value is not base64".to_owned())?,
        );
        let text = std::str::from_utf8(&decoded)
            .map_err(|_| "an `auth` value is not `user:password` in UTF-8".to_owned())?;
        let Some((username, password)) = text.split_once(':') else {
            return Err("an `auth` value is not `user:password`".to_owned());
        };
        return Ok(Some(Secret::Basic {
            username: username.to_owned(),
            password: Zeroizing::new(password.to_owned()),
        }));
    }
    match (&entry.username, &entry.password) {
        (Some(username), Some(password)) if !username.is_empty() => Ok(Some(Secret::Basic {
            username: username.clone(),
            password: Zeroizing::new(password.clone()),
        })),
        _ => Ok(None),
    }
}

/// Whether a key of `auths` or `credHelpers` (`ghcr.io`, `https://ghcr.io`,
/// `https://index.docker.io/v1/`) names `registry`.
fn key_matches(key: &str, registry: &Registry) -> bool {
    let key = key
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = key
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if registry.is_docker_hub() {
        matches!(
            host.as_str(),
            "docker.io" | "index.docker.io" | "registry-1.docker.io"
        )
    } else {
        host == registry.as_text()
    }
}

/// The server name a credential helper is asked about, as Docker asks it.
fn server_name(registry: &Registry) -> String {
    if registry.is_docker_hub() {
        "https://index.docker.io/v1/".to_owned()
    } else {
        registry.as_text()
    }
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Runs `docker-credential-<helper> get` for `server`; `None` when it has no credentials.
fn run_helper(helper: &str, server: &str) -> Result<Option<Secret>, OciError> {
    let failed = |reason: String| OciError::Helper {
        helper: helper.escape_debug().to_string(),
        reason,
    };
    let valid = !helper.starts_with('.')
        && helper
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        return Err(failed(
            "its name holds characters other than letters, digits, `-`, `_` and `.`".to_owned(),
        ));
    }
    let mut command = Command::new(format!("docker-credential-{helper}"));
    command
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    crate::childenv::without_secrets(&mut command);
    let mut child = command.spawn().map_err(|error| {
        failed(if error.kind() == std::io::ErrorKind::NotFound {
            "it is not on PATH".to_owned()
        } else {
            error.to_string()
        })
    })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that does not read its input is noticed by its answer, not here.
        let _ = stdin.write_all(server.as_bytes());
    }
    let stdout = child.stdout.take().map(bounded_reader);
    let stderr = child.stderr.take().map(bounded_reader);
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > HELPER_TIME_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failed(format!(
                    "it did not answer within {} seconds",
                    HELPER_TIME_LIMIT.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(error) => return Err(failed(error.to_string())),
        }
    };
    let output = Zeroizing::new(stdout.and_then(|h| h.join().ok()).unwrap_or_default());
    let errors = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
    if !status.success() {
        let said =
            String::from_utf8_lossy(&output).into_owned() + &String::from_utf8_lossy(&errors);
        if said.to_ascii_lowercase().contains("credentials not found") {
            return Ok(None);
        }
        let first = said.lines().next().unwrap_or("").trim();
        return Err(failed(format!(
            "it exited with {status}{}",
            if first.is_empty() {
                String::new()
            } else {
                format!(
                    ": {}",
                    first.chars().take(200).collect::<String>().escape_debug()
                )
            }
        )));
    }
    let HelperAnswer { username, secret } = serde_json::from_slice(&output)
        .map_err(|_| failed("its answer is not the JSON of a credential".to_owned()))?;
    let answer = Zeroizing::new(secret);
    if answer.is_empty() {
        return Ok(None);
    }
    Ok(Some(if username == "<token>" {
        Secret::IdentityToken(answer)
    } else {
        Secret::Basic {
            username,
            password: answer,
        }
    }))
}

/// Reads at most [`MAX_HELPER_BYTES`] of a pipe on a thread of its own, so a helper that
/// writes a lot to one pipe cannot block on it while ocp waits for the other.
fn bounded_reader(pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut limited = pipe.take(MAX_HELPER_BYTES);
        let _ = limited.read_to_end(&mut bytes);
        // Drain the rest so the helper is not blocked writing it.
        let _ = std::io::copy(&mut limited.into_inner(), &mut std::io::sink());
        bytes
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(text: &str) -> Registry {
        Registry::parse(text).expect("registry")
    }

    #[test]
    fn keys_match_the_way_docker_writes_them() {
        assert!(key_matches("ghcr.io", &registry("ghcr.io")));
        assert!(key_matches("https://ghcr.io", &registry("ghcr.io")));
        assert!(key_matches(
            "https://index.docker.io/v1/",
            &registry("docker.io")
        ));
        assert!(key_matches("127.0.0.1:5000", &registry("127.0.0.1:5000")));
        assert!(!key_matches("127.0.0.1:5001", &registry("127.0.0.1:5000")));
        assert!(!key_matches("ghcr.io.evil.test", &registry("ghcr.io")));
        assert!(!key_matches(
            "https://index.docker.io/v1/",
            &registry("ghcr.io")
        ));
    }

    #[test]
    fn auths_entries_give_basic_credentials_or_identity_tokens() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("config.json");
        std::fs::write(
            &file,
            r#"{"auths":{"https://ghcr.io":{"auth":"amFuZTpzM2NyZXQ="},"quay.io":{"identitytoken":"refresh"},"other.io":{}}}"#,
        )
        .expect("write");
        let login = Login::from_files(vec![dir.path().join("missing.json"), file.clone()]);
        let found = login
            .find(&registry("ghcr.io"))
            .expect("read")
            .expect("found");
        match &found.secret {
            Secret::Basic { username, password } => {
                assert_eq!(username, "jane");
                assert_eq!(password.as_str(), "s3cret");
            }
            other => panic!("{other:?}"),
        }
        assert!(found.origin.contains("`jane`"), "{}", found.origin);
        assert!(!format!("{found:?}").contains("s3cret"));
        let quay = login
            .find(&registry("quay.io"))
            .expect("read")
            .expect("found");
        assert!(matches!(quay.secret, Secret::IdentityToken(_)));
        assert!(login.find(&registry("other.io")).expect("read").is_none());
        std::fs::write(&file, "{not json").expect("write");
        assert!(matches!(
            login.find(&registry("ghcr.io")),
            Err(OciError::Config { .. })
        ));
    }

    #[test]
    fn the_standard_files_follow_docker_and_helm() {
        let home = Path::new("/home/jane");
        let none = |_: &str| None;
        assert_eq!(
            Login::standard_files(&none, Some(home)),
            vec![
                home.join(".docker/config.json"),
                home.join(".config/helm/registry/config.json")
            ]
        );
        let set = |name: &str| match name {
            "DOCKER_CONFIG" => Some("/etc/docker-ci".to_owned()),
            "HELM_REGISTRY_CONFIG" => Some("/etc/helm.json".to_owned()),
            _ => None,
        };
        assert_eq!(
            Login::standard_files(&set, Some(home)),
            vec![
                PathBuf::from("/etc/docker-ci/config.json"),
                PathBuf::from("/etc/helm.json")
            ]
        );
    }

    #[test]
    fn a_helper_name_cannot_be_a_path() {
        let error = run_helper("../../bin/sh", "ghcr.io").expect_err("refused");
        assert!(error.to_string().contains("its name holds"), "{error}");
    }
}
