//! The names an OCI registry knows things by, parsed at the edge: a registry host, a
//! repository below it, a tag or a digest, and the `oci://` locations an index's `download`
//! template and its entries expand to. Nothing past this module holds a raw string that will
//! become part of a request path.
//!
//! Transport follows from the host: HTTPS everywhere, except a registry on the loopback
//! interface (`localhost`, `127.0.0.0/8`, `[::1]`), which is spoken to over plain HTTP as
//! `helm --plain-http` and `oras --plain-http` allow, so tests and local mirrors work.

use std::fmt;

use super::OciError;

/// The longest repository name distribution accepts.
const MAX_REPOSITORY_LENGTH: usize = 255;
/// The longest tag the distribution spec allows.
const MAX_TAG_LENGTH: usize = 128;

/// A registry host with an optional port, lowercase: `ghcr.io`, `127.0.0.1:5000`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Registry {
    host: String,
    port: Option<u16>,
}

impl Registry {
    /// Parses `ghcr.io`, `registry.example.com:8443`, `localhost:5000`, `[::1]:5000`.
    pub fn parse(text: &str) -> Result<Registry, OciError> {
        let bad = |reason: &str| OciError::BadReference {
            reference: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (host, port) = match text.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') || host.ends_with(']') => (
                host,
                Some(
                    port.parse::<u16>()
                        .map_err(|_| bad("the port is not a number"))?,
                ),
            ),
            _ => (text, None),
        };
        let valid = !host.is_empty()
            && host.len() <= 253
            && if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
                inner.parse::<std::net::Ipv6Addr>().is_ok()
            } else {
                host.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                })
            };
        if !valid {
            return Err(bad("it is not a host name with an optional port"));
        }
        Ok(Registry {
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// `host` or `host:port`, as written in references and in Docker's `config.json`.
    pub fn as_text(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }

    /// The host name alone, without the port.
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// Docker Hub is named `docker.io` but served from `registry-1.docker.io`.
    pub fn is_docker_hub(&self) -> bool {
        self.port.is_none() && matches!(self.host.as_str(), "docker.io" | "index.docker.io")
    }

    /// True for `localhost`, `127.0.0.0/8` and `[::1]`: spoken to over plain HTTP.
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(&self.host)
    }

    /// `https://host[:port]`, or `http://` for a loopback registry.
    pub fn base_url(&self) -> String {
        let scheme = if self.is_loopback() { "http" } else { "https" };
        let host = if self.is_docker_hub() {
            "registry-1.docker.io".to_owned()
        } else {
            self.as_text()
        };
        format!("{scheme}://{host}")
    }
}

impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_text())
    }
}

/// `localhost`, an IPv4 address in `127.0.0.0/8`, or `::1` (with or without brackets).
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// A repository: a registry and a path of lowercase components below it
/// (`ghcr.io` + `acme/ocp/shopify-osiris`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repository {
    registry: Registry,
    path: String,
}

impl Repository {
    /// Parses `ghcr.io/acme/ocp` (an `oci://` prefix is allowed, as Helm writes it). The
    /// first component must name a registry host (it has a `.` or a `:`, or is `localhost`),
    /// so a repository is never silently taken to live on Docker Hub.
    pub fn parse(text: &str) -> Result<Repository, OciError> {
        let bad = |reason: String| OciError::BadReference {
            reference: text.to_owned(),
            reason,
        };
        let trimmed = text
            .trim()
            .trim_start_matches("oci://")
            .trim_end_matches('/');
        let (host, path) = trimmed.split_once('/').unwrap_or((trimmed, ""));
        if !(host.contains('.') || host.contains(':') || host == "localhost") {
            return Err(bad(format!(
                "`{host}` is not a registry host; write the registry in full, for example `ghcr.io/{trimmed}`"
            )));
        }
        let registry = Registry::parse(host)?;
        if path.len() > MAX_REPOSITORY_LENGTH {
            return Err(bad(format!(
                "the repository is longer than {MAX_REPOSITORY_LENGTH} characters"
            )));
        }
        if !path.is_empty() {
            for component in path.split('/') {
                if !is_path_component(component) {
                    return Err(bad(format!(
                        "`{component}` is not a repository path component (lowercase letters and digits, separated by `.`, `_`, `__` or `-`)"
                    )));
                }
            }
        }
        Ok(Repository {
            registry,
            path: path.to_owned(),
        })
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The path below the registry (`acme/ocp/shopify-osiris`); empty for the registry root.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The repository one level below this one: where a package's versions live.
    pub fn child(&self, name: &str) -> Result<Repository, OciError> {
        let path = if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.path)
        };
        Repository::parse(&format!("{}/{path}", self.registry.as_text()))
    }

    /// The scope a token for this repository asks for (`repository:acme/ocp:pull,push`).
    pub fn scope(&self, push: bool) -> String {
        let actions = if push { "pull,push" } else { "pull" };
        format!("repository:{}:{actions}", self.path)
    }

    /// `https://host/v2/<path>/<rest>`.
    pub fn url(&self, rest: &str) -> String {
        format!("{}/v2/{}/{rest}", self.registry.base_url(), self.path)
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.registry)
        } else {
            write!(f, "{}/{}", self.registry, self.path)
        }
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, the distribution spec's path component.
fn is_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    if bytes.is_empty() || !is_alnum(bytes[0]) || !is_alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut index = 0;
    while index < bytes.len() {
        if is_alnum(bytes[index]) {
            index += 1;
            continue;
        }
        let start = index;
        while index < bytes.len() && !is_alnum(bytes[index]) {
            index += 1;
        }
        let separator = &component[start..index];
        let dashes = separator.bytes().all(|b| b == b'-');
        if !(separator == "." || separator == "_" || separator == "__" || dashes) {
            return false;
        }
    }
    true
}

fn is_alnum(byte: u8) -> bool {
    byte.is_ascii_lowercase() || byte.is_ascii_digit()
}

/// A content digest: `sha256:` and 64 lowercase hex digits (the only algorithm ocp writes or
/// accepts).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    /// The digest of `bytes`, computed here.
    pub fn of_bytes(bytes: &[u8]) -> Digest {
        Digest(format!(
            "sha256:{}",
            crate::model::Checksum::of_bytes(bytes).to_hex()
        ))
    }

    /// The digest of a blob whose sha256 is `checksum`.
    pub fn of_checksum(checksum: &crate::model::Checksum) -> Digest {
        Digest(format!("sha256:{}", checksum.to_hex()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }
}

impl std::str::FromStr for Digest {
    type Err = OciError;

    fn from_str(text: &str) -> Result<Digest, OciError> {
        let hex = text.strip_prefix("sha256:").unwrap_or_default();
        if hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Digest(text.to_owned()))
        } else {
            Err(OciError::BadReference {
                reference: text.escape_debug().to_string(),
                reason: "a digest is `sha256:` and 64 lowercase hex digits".to_owned(),
            })
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag(String);

impl Tag {
    /// The tag of a package version. A normalized PEP 440 version holds digits, lowercase
    /// letters, `.`, `+` (a local version) and `!` (an epoch); `+` becomes `_`, as Helm tags
    /// SemVer build metadata, and `!` becomes `-`. Neither `_` nor `-` occurs in a normalized
    /// version, so no two versions share a tag.
    pub fn for_version(version: &str) -> Result<Tag, OciError> {
        version.replace('+', "_").replace('!', "-").parse()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Tag {
    type Err = OciError;

    fn from_str(text: &str) -> Result<Tag, OciError> {
        let bytes = text.as_bytes();
        let valid = !bytes.is_empty()
            && bytes.len() <= MAX_TAG_LENGTH
            && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if valid {
            Ok(Tag(text.to_owned()))
        } else {
            Err(OciError::BadReference {
                reference: text.escape_debug().to_string(),
                reason: format!(
                    "a tag is at most {MAX_TAG_LENGTH} letters, digits, `_`, `.` and `-`, not starting with `.` or `-`"
                ),
            })
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a reference points at: a tag (which can move) or a digest (which cannot).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Tag(Tag),
    Digest(Digest),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Tag(tag) => tag.fmt(f),
            Target::Digest(digest) => digest.fmt(f),
        }
    }
}

/// A manifest in a repository: `oci://ghcr.io/acme/ocp/shopify-osiris@sha256:…` or
/// `oci://ghcr.io/acme/ocp/shopify-osiris:1.0.0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    pub repository: Repository,
    pub target: Target,
}

impl Reference {
    /// Parses an `oci://` location.
    pub fn parse(text: &str) -> Result<Reference, OciError> {
        let Some(rest) = text.strip_prefix("oci://") else {
            return Err(OciError::BadReference {
                reference: text.to_owned(),
                reason: "it does not start with `oci://`".to_owned(),
            });
        };
        let bad = |reason: &str| OciError::BadReference {
            reference: text.to_owned(),
            reason: reason.to_owned(),
        };
        let Some(slash) = rest.find('/') else {
            return Err(bad("it names no repository below the registry"));
        };
        let reference = if let Some((repository, digest)) = rest.split_once('@') {
            Reference {
                repository: Repository::parse(repository)?,
                target: Target::Digest(digest.parse()?),
            }
        } else {
            let Some(colon) = rest[slash..].rfind(':') else {
                return Err(bad(
                    "it names neither a tag (`:1.0.0`) nor a digest (`@sha256:…`)",
                ));
            };
            Reference {
                repository: Repository::parse(&rest[..slash + colon])?,
                target: Target::Tag(rest[slash + colon + 1..].parse()?),
            }
        };
        if reference.repository.path().is_empty() {
            return Err(bad("it names no repository below the registry"));
        }
        Ok(reference)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            Target::Tag(tag) => write!(f, "oci://{}:{tag}", self.repository),
            Target::Digest(digest) => write!(f, "oci://{}@{digest}", self.repository),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_name_their_registry_in_full() {
        let repository = Repository::parse("ghcr.io/acme/ocp").expect("valid");
        assert_eq!(repository.registry().as_text(), "ghcr.io");
        assert_eq!(repository.path(), "acme/ocp");
        assert_eq!(
            repository.url("manifests/1.0.0"),
            "https://ghcr.io/v2/acme/ocp/manifests/1.0.0"
        );
        let local = Repository::parse("oci://127.0.0.1:5000/ocp").expect("valid");
        assert_eq!(local.registry().base_url(), "http://127.0.0.1:5000");
        assert_eq!(
            Repository::parse("docker.io/acme/ocp")
                .expect("hub")
                .registry()
                .base_url(),
            "https://registry-1.docker.io"
        );
        assert!(Repository::parse("localhost/x").is_ok());
        for bad in [
            "acme/ocp",
            "ghcr.io/Acme/ocp",
            "ghcr.io/acme/../x",
            "ghcr.io/acme//x",
            "ghcr.io:x/acme",
            "gh cr.io/acme",
            "ghcr.io/-acme",
        ] {
            assert!(Repository::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            local.child("shopify-osiris").expect("child").to_string(),
            "127.0.0.1:5000/ocp/shopify-osiris"
        );
    }

    #[test]
    fn only_loopback_hosts_go_over_plain_http() {
        for host in [
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
        ] {
            assert!(Registry::parse(host).expect(host).is_loopback(), "{host}");
        }
        for host in [
            "ghcr.io",
            "10.0.0.1:5000",
            "localhost.evil.test",
            "127.0.0.1.nip.io",
        ] {
            assert!(!Registry::parse(host).expect(host).is_loopback(), "{host}");
        }
    }

    #[test]
    fn every_normalized_version_has_its_own_valid_tag() {
        assert_eq!(Tag::for_version("1.0.0").expect("tag").as_str(), "1.0.0");
        assert_eq!(
            Tag::for_version("1.0.0+local.7").expect("tag").as_str(),
            "1.0.0_local.7"
        );
        assert_eq!(
            Tag::for_version("1!2.0rc1").expect("tag").as_str(),
            "1-2.0rc1"
        );
        assert!(Tag::for_version(&"1".repeat(129)).is_err());
        assert!(".x".parse::<Tag>().is_err());
    }

    #[test]
    fn references_round_trip() {
        let digest = format!("sha256:{}", "a".repeat(64));
        for text in [
            format!("oci://127.0.0.1:5000/ocp/shopify-osiris@{digest}"),
            "oci://127.0.0.1:5000/ocp/shopify-osiris:1.0.0".to_owned(),
            "oci://ghcr.io/acme/shopify-osiris:1.0.0_local".to_owned(),
        ] {
            assert_eq!(Reference::parse(&text).expect(&text).to_string(), text);
        }
        assert!(Reference::parse("oci://127.0.0.1:5000/ocp/shopify-osiris").is_err());
        assert!(Reference::parse("oci://ghcr.io/x@sha256:ABC").is_err());
        assert!(Reference::parse("https://ghcr.io/x:1").is_err());
    }
}
