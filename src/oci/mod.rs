//! OCI registries as tarball storage: the distribution-spec client `ocp publish` pushes
//! packages with and `ocp install` pulls them with, on ocp's own blocking reqwest stack.
//!
//! - [`reference`]: registries, repositories, tags, digests and `oci://` locations, parsed
//!   at the edge (and which registries are spoken to over plain HTTP);
//! - [`manifest`]: the OCI image manifests of an OCP (image-spec 1.1 artifact guidelines)
//!   and of its signature, written deterministically and read with bounds;
//! - [`auth`]: `WWW-Authenticate` challenges and the bearer-token flow;
//! - [`login`]: credentials from the user's own configuration: ocp's per-registry settings,
//!   Docker's and Helm's `config.json`, and Docker credential helpers (run as child processes
//!   without ocp's secrets);
//! - [`client`]: the endpoints (`/v2/`, blob upload with `POST` then `PUT`, manifest `PUT`,
//!   manifest and blob `GET`, manifest `DELETE`);
//! - [`artifact`]: pushing one package version create-only (a version's tag never moves) and
//!   resolving the tarball a reference names, checked against the sha256 the index signs.
//!
//! Why our own client rather than a crate: the Rust OCI clients that speak the distribution
//! spec (`oci-client`, formerly `oci-distribution`) are async on tokio, which would put a
//! second runtime into a synchronous tool that already has reqwest's blocking client, and
//! ocp needs only seven endpoints. The manifest types are a few serde structs here rather
//! than `oci-spec`'s builders, because ocp reads manifests from the network with its own
//! bounds and refusals anyway.
//!
//! Nothing in this module prints; errors carry what the user can act on ([`OciError::help`]).
//! Credentials are never part of an error message.

pub mod artifact;
pub mod auth;
pub mod client;
pub mod login;
pub mod manifest;
pub mod reference;

pub use client::Client;
pub use login::Login;
pub use reference::{Digest, Reference, Registry, Repository, Tag, Target};

/// What went wrong talking to a registry.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error("`{reference}` is not a valid OCI reference: {reason}")]
    BadReference { reference: String, reason: String },
    #[error("the request to `{url}` failed: {reason}")]
    Http { url: String, reason: String },
    #[error("`{url}` answered HTTP {status}{detail}")]
    Status {
        url: String,
        status: u16,
        detail: String,
    },
    #[error("the registry `{registry}` refused {who} (HTTP 401){detail}")]
    Unauthorized {
        registry: String,
        who: String,
        detail: String,
    },
    #[error("the registry `{registry}` denied access to `{repository}` (HTTP 403){detail}")]
    Denied {
        registry: String,
        repository: String,
        detail: String,
    },
    #[error("the registry refused the manifest of `{reference}` (HTTP {status}){detail}")]
    ManifestRefused {
        reference: String,
        status: u16,
        detail: String,
    },
    #[error("`{reference}` does not exist in the registry")]
    NotFound { reference: String },
    #[error("`{url}` sent more than {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    #[error("`{url}` sent content whose digest is {actual}, not the {expected} it was asked for")]
    DigestMismatch {
        url: String,
        expected: String,
        actual: String,
    },
    #[error("`{reference}` is not an ocp package: {reason}")]
    NotAPackage { reference: String, reason: String },
    #[error("the tag `{reference}` already holds {existing}, but the index has no entry for it")]
    Conflict { reference: String, existing: String },
    #[error("the tag `{reference}` moved to {actual} while ocp pushed {expected}")]
    TagMoved {
        reference: String,
        expected: String,
        actual: String,
    },
    #[error("ocp does not send credentials to `{url}`: {reason}")]
    Insecure { url: String, reason: String },
    #[error(
        "the registry `{registry}` sent an authentication challenge ocp cannot follow: {reason}"
    )]
    Challenge { registry: String, reason: String },
    #[error("the token service `{realm}` did not give a token: {reason}")]
    Token { realm: String, reason: String },
    #[error("`{path}` is not a valid credentials file: {reason}")]
    Config { path: String, reason: String },
    #[error("the credential helper `docker-credential-{helper}` failed: {reason}")]
    Helper { helper: String, reason: String },
}

impl OciError {
    /// What the user can do about it, when the message alone does not say.
    pub fn help(&self) -> Option<String> {
        match self {
            OciError::Unauthorized { registry, .. } => Some(format!(
                "log in with `docker login {registry}` (or `helm registry login`, `oras login`), or set `username` and `token-env` with `upload-host = \"{registry}\"` under `[registries.NAME]` in `OCP_HOME/config.toml`"
            )),
            OciError::Denied { repository, .. } => Some(format!(
                "ask the registry's administrators for access to `{repository}`, or log in as a user who has it"
            )),
            OciError::Conflict { .. } | OciError::TagMoved { .. } => Some(
                "a version's tag never moves: publish a new version, or ask the registry's owners about the tag (registries such as Harbor, ECR and ACR can make tags immutable)"
                    .to_owned(),
            ),
            OciError::ManifestRefused { detail, .. }
                if ["media type", "manifest_invalid", "unsupported"]
                    .iter()
                    .any(|word| detail.to_ascii_lowercase().contains(word)) =>
            {
                Some(
                    "this registry refuses OCI 1.1 artifacts with ocp's media types (GitLab's registry does); store tarballs with `http` storage instead, for example in GitLab's generic package registry (see docs/oci.md)"
                        .to_owned(),
                )
            }
            OciError::DigestMismatch { .. } => Some(
                "the registry served other bytes than the digest it was asked for; nothing was used, tell the registry's administrators"
                    .to_owned(),
            ),
            OciError::Http { url, .. } => reqwest::Url::parse(url).ok().map(|url| {
                format!(
                    "check that `{}` is the registry's address and that it can be reached from here, then try again",
                    url.origin().ascii_serialization()
                )
            }),
            OciError::Helper { helper, .. } => Some(format!(
                "check that `docker-credential-{helper}` is on PATH and works (`docker-credential-{helper} list`), or log in again"
            )),
            _ => None,
        }
    }

    /// Whether trying again could help: a network error, a 5xx or a 429.
    pub fn is_transient(&self) -> bool {
        match self {
            OciError::Http { .. } => true,
            OciError::Status { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_refused_media_type_points_at_the_fallback() {
        let refused = |detail: &str| OciError::ManifestRefused {
            reference: "registry.gitlab.com/acme/ocp/x:1.0.0".to_owned(),
            status: 400,
            detail: detail.to_owned(),
        };
        let help = refused(
            ": MANIFEST_INVALID: manifest invalid (unknown media type: application/vnd.osiris.ocp.package.v1)",
        )
        .help()
        .expect("help");
        assert!(help.contains("`http` storage"), "{help}");
        assert!(
            refused(": MANIFEST_BLOB_UNKNOWN: blob unknown to registry")
                .help()
                .is_none()
        );
    }

    #[test]
    fn a_network_error_names_the_registry_to_check() {
        let failed = |url: &str| OciError::Http {
            url: url.to_owned(),
            reason: "connection refused".to_owned(),
        };
        let help = failed("http://127.0.0.1:5000/v2/ocp/x/manifests/1.0.0")
            .help()
            .expect("help");
        assert!(
            help.starts_with("check that `http://127.0.0.1:5000` is"),
            "{help}"
        );
        assert!(failed("").help().is_none());
    }

    #[test]
    fn network_errors_and_server_errors_are_worth_another_try() {
        let status = |status| OciError::Status {
            url: "https://ghcr.io/v2/".to_owned(),
            status,
            detail: String::new(),
        };
        assert!(status(503).is_transient() && status(429).is_transient());
        assert!(!status(404).is_transient());
        assert!(
            !OciError::Unauthorized {
                registry: "ghcr.io".to_owned(),
                who: "anonymous access".to_owned(),
                detail: String::new(),
            }
            .is_transient()
        );
    }
}
