//! The distribution-spec endpoints ocp needs, on reqwest's blocking client: manifest `GET`,
//! `PUT` and `DELETE`, blob `HEAD` and `GET`, and blob upload with `POST` then `PUT`. Every
//! request goes through [`Client::send`], which answers a `401` challenge once (see
//! [`super::auth`]) and remembers the authorization per registry and scope, so a publish
//! asks the token service once.
//!
//! Authorization is sent only to the registry's own origin (its scheme, host and port):
//! an upload location or a redirect elsewhere (blob storage behind a registry) gets none,
//! and a redirect from HTTPS to plain HTTP is refused unless it stays on the loopback
//! interface. Bodies are read with a limit; digests are computed here from the bytes, never
//! taken from the server's `Docker-Content-Digest`.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::Method;
use reqwest::blocking::{RequestBuilder, Response};
use zeroize::Zeroizing;

use super::auth::{self, Scheme};
use super::login::{Found, Login, Secret};
use super::manifest::{self, Encoded, MAX_MANIFEST_BYTES};
use super::reference::is_loopback_host;
use super::{Digest, OciError, Registry, Repository, Target};

/// The largest error body ocp reads from a registry.
const MAX_ERROR_BYTES: u64 = 64 * 1024;

/// A manifest read from a registry, with the digest computed from its bytes.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    pub bytes: Vec<u8>,
    pub digest: Digest,
}

/// A client for one or more registries, with the user's credentials. Safe to share between
/// threads.
pub struct Client {
    http: reqwest::blocking::Client,
    tokens_http: reqwest::blocking::Client,
    login: Login,
    authorizations: Mutex<HashMap<(String, String), Zeroizing<String>>>,
    found: Mutex<HashMap<String, Option<Found>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("oci::Client")
    }
}

impl Client {
    pub fn new(login: Login) -> Result<Client, OciError> {
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            let downgrade = attempt.previous().last().is_some_and(|previous| {
                previous.scheme() == "https"
                    && attempt.url().scheme() != "https"
                    && !attempt.url().host_str().is_some_and(is_loopback_host)
            });
            if downgrade {
                attempt.error("a redirect from HTTPS to plain HTTP")
            } else if attempt.previous().len() > 5 {
                attempt.error("more than 5 redirects")
            } else {
                attempt.follow()
            }
        });
        let build = |policy| {
            // The first call installs the provider; later calls find it installed.
            let _ = rustls::crypto::ring::default_provider().install_default();
            reqwest::blocking::Client::builder()
                .user_agent(concat!("ocp/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(Duration::from_secs(15))
                .timeout(Duration::from_secs(300))
                .redirect(policy)
                .build()
                .map_err(|error| OciError::Http {
                    url: String::new(),
                    reason: error.to_string(),
                })
        };
        Ok(Client {
            http: build(policy)?,
            // Requests that carry credentials to a token service follow no redirect.
            tokens_http: build(reqwest::redirect::Policy::none())?,
            login,
            authorizations: Mutex::new(HashMap::new()),
            found: Mutex::new(HashMap::new()),
        })
    }

    /// The manifest `target` names in `repository`, `None` when there is none. A manifest
    /// asked for by digest must have that digest.
    pub fn manifest(
        &self,
        repository: &Repository,
        target: &Target,
    ) -> Result<Option<FetchedManifest>, OciError> {
        let url = repository.url(&format!("manifests/{target}"));
        let accept = format!("{}, {}", manifest::IMAGE_MANIFEST, manifest::IMAGE_INDEX);
        let response = self.send(repository, false, Method::GET, &url, &|request| {
            request.header(reqwest::header::ACCEPT, accept.as_str())
        })?;
        if response.status().as_u16() == 404 {
            return Ok(None);
        }
        let response = success(repository, &url, response)?;
        let bytes = read_limited(response, MAX_MANIFEST_BYTES, &url)?;
        if let Target::Digest(expected) = target {
            manifest::check_digest(&url, expected, &bytes)?;
        }
        Ok(Some(FetchedManifest {
            digest: Digest::of_bytes(&bytes),
            bytes,
        }))
    }

    /// Stores a manifest under `reference` (a tag or its digest). `Ok(true)` when the
    /// registry says it indexed the manifest's `subject` (it has the referrers API).
    pub fn put_manifest(
        &self,
        repository: &Repository,
        reference: &str,
        encoded: &Encoded,
    ) -> Result<bool, OciError> {
        let url = repository.url(&format!("manifests/{reference}"));
        let response = self.send(repository, true, Method::PUT, &url, &|request| {
            request
                .header(reqwest::header::CONTENT_TYPE, encoded.media_type)
                .body(encoded.bytes.clone())
        })?;
        let status = response.status().as_u16();
        if matches!(status, 400 | 415) {
            return Err(OciError::ManifestRefused {
                reference: format!("{repository}:{reference}"),
                status,
                detail: detail_of(response),
            });
        }
        let response = success(repository, &url, response)?;
        Ok(response.headers().contains_key("oci-subject"))
    }

    /// Deletes the manifest `digest` (and with it every tag on it). A manifest that is
    /// already gone is no error.
    pub fn delete_manifest(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<(), OciError> {
        let url = repository.url(&format!("manifests/{digest}"));
        let response = self.send(repository, true, Method::DELETE, &url, &|request| request)?;
        if response.status().as_u16() == 404 {
            return Ok(());
        }
        success(repository, &url, response).map(drop)
    }

    /// Uploads `bytes` as a blob unless the repository has it already; returns its digest.
    pub fn push_blob(&self, repository: &Repository, bytes: &[u8]) -> Result<Digest, OciError> {
        let digest = Digest::of_bytes(bytes);
        let url = repository.url(&format!("blobs/{digest}"));
        let response = self.send(repository, true, Method::HEAD, &url, &|request| request)?;
        if response.status().is_success() {
            return Ok(digest);
        }
        if response.status().as_u16() != 404 {
            success(repository, &url, response)?;
        }
        let start = repository.url("blobs/uploads/");
        let response = self.send(repository, true, Method::POST, &start, &|request| {
            request.header(reqwest::header::CONTENT_LENGTH, "0")
        })?;
        let response = success(repository, &start, response)?;
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| OciError::Status {
                url: start.clone(),
                status: response.status().as_u16(),
                detail: " without an upload location".to_owned(),
            })?;
        let base = reqwest::Url::parse(&repository.registry().base_url()).map_err(|error| {
            OciError::Http {
                url: start.clone(),
                reason: error.to_string(),
            }
        })?;
        let mut upload = base.join(location).map_err(|_| OciError::Status {
            url: start.clone(),
            status: 202,
            detail: " with an upload location that is not a URL".to_owned(),
        })?;
        upload
            .query_pairs_mut()
            .append_pair("digest", digest.as_str());
        let upload = upload.to_string();
        let response = self.send(repository, true, Method::PUT, &upload, &|request| {
            request
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .body(bytes.to_vec())
        })?;
        success(repository, &upload, response)?;
        Ok(digest)
    }

    /// Starts downloading the blob `digest`. The caller reads it and checks its digest.
    pub fn open_blob(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<Response, OciError> {
        let url = repository.url(&format!("blobs/{digest}"));
        let response = self.send(repository, false, Method::GET, &url, &|request| request)?;
        if response.status().as_u16() == 404 {
            return Err(OciError::NotFound {
                reference: format!("{repository}@{digest}"),
            });
        }
        success(repository, &url, response)
    }

    /// Sends a request, answering one authentication challenge.
    fn send(
        &self,
        repository: &Repository,
        push: bool,
        method: Method,
        url: &str,
        decorate: &dyn Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, OciError> {
        let registry = repository.registry();
        let own_origin = same_origin(url, &registry.base_url());
        if !own_origin && !url.starts_with("https://") {
            return Err(OciError::Insecure {
                url: url.to_owned(),
                reason: "the registry sent ocp to plain HTTP on another host".to_owned(),
            });
        }
        let key = (registry.as_text(), repository.scope(push));
        let cached = lock(&self.authorizations).get(&key).cloned();
        let attempt = |authorization: Option<&str>| {
            let mut request = decorate(self.http.request(method.clone(), url));
            if let Some(authorization) = authorization.filter(|_| own_origin) {
                request = request.header(reqwest::header::AUTHORIZATION, authorization);
            }
            // The URL is in ocp's own message already.
            request
                .send()
                .map_err(|error| http_error(url, &error.without_url()))
        };
        let response = attempt(cached.as_deref().map(String::as_str))?;
        if response.status().as_u16() != 401 || !own_origin {
            return Ok(response);
        }
        let header = response
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let challenge = auth::parse_challenge(&header).map_err(|reason| OciError::Challenge {
            registry: registry.as_text(),
            reason,
        })?;
        let scope = challenge
            .scope
            .clone()
            .unwrap_or_else(|| repository.scope(push));
        let (authorization, who) = self.authorize(registry, &challenge, &scope)?;
        let response = attempt(Some(authorization.as_str()))?;
        if response.status().as_u16() == 401 {
            return Err(OciError::Unauthorized {
                registry: registry.as_text(),
                who,
                detail: detail_of(response),
            });
        }
        lock(&self.authorizations).insert(key, authorization);
        Ok(response)
    }

    /// The `Authorization` header that answers `challenge`, and whose credentials it carries
    /// (for messages).
    fn authorize(
        &self,
        registry: &Registry,
        challenge: &auth::Challenge,
        scope: &str,
    ) -> Result<(Zeroizing<String>, String), OciError> {
        let found = self.credentials(registry)?;
        let who = found.as_ref().map_or_else(
            || "anonymous access".to_owned(),
            |found| found.origin.clone(),
        );
        let unauthorized = |detail: String| OciError::Unauthorized {
            registry: registry.as_text(),
            who: who.clone(),
            detail,
        };
        if challenge.scheme == Scheme::Basic {
            return match found.map(|found| found.secret) {
                Some(Secret::Basic { username, password }) => {
                    Ok((basic(&username, &password), who))
                }
                Some(Secret::IdentityToken(_)) => Err(unauthorized(
                    ": it asks for a password, and only an identity token is configured".to_owned(),
                )),
                None => Err(unauthorized(
                    ": it asks for a user name and password".to_owned(),
                )),
            };
        }
        let realm_text = challenge.realm.clone().unwrap_or_default();
        let mut realm =
            auth::check_realm(&realm_text, registry.is_loopback()).map_err(|reason| {
                OciError::Insecure {
                    url: realm_text.clone(),
                    reason,
                }
            })?;
        let token_error = |reason: String| OciError::Token {
            realm: realm_text.clone(),
            reason,
        };
        let request = match found.as_ref().map(|found| &found.secret) {
            Some(Secret::IdentityToken(token)) => {
                let mut form = vec![
                    ("grant_type", "refresh_token"),
                    ("client_id", "ocp"),
                    ("scope", scope),
                    ("refresh_token", token.as_str()),
                ];
                if let Some(service) = &challenge.service {
                    form.push(("service", service));
                }
                // `application/x-www-form-urlencoded`, encoded as a query string is.
                let mut encoder = realm.clone();
                encoder.set_query(None);
                encoder.query_pairs_mut().extend_pairs(&form);
                let body = Zeroizing::new(encoder.query().unwrap_or_default().to_owned());
                self.tokens_http
                    .post(realm.clone())
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(body.as_bytes().to_vec())
            }
            secret => {
                {
                    let mut query = realm.query_pairs_mut();
                    if let Some(service) = &challenge.service {
                        query.append_pair("service", service);
                    }
                    for scope in scope.split(' ').filter(|s| !s.is_empty()) {
                        query.append_pair("scope", scope);
                    }
                }
                let request = self.tokens_http.get(realm.clone());
                match secret {
                    Some(Secret::Basic { username, password }) => request.header(
                        reqwest::header::AUTHORIZATION,
                        basic(username, password).as_str(),
                    ),
                    _ => request,
                }
            }
        };
        let response = request
            .send()
            .map_err(|error| token_error(crate::error::chain_text(&error.without_url())))?;
        let status = response.status().as_u16();
        if matches!(status, 401 | 403) {
            return Err(unauthorized(detail_of(response)));
        }
        if !response.status().is_success() {
            return Err(token_error(format!("HTTP {status}{}", detail_of(response))));
        }
        let bytes = read_limited(response, auth::MAX_TOKEN_RESPONSE_BYTES, &realm_text)?;
        let token = auth::parse_token(&bytes).map_err(token_error)?;
        Ok((Zeroizing::new(format!("Bearer {}", token.as_str())), who))
    }

    /// The user's credentials for `registry`, looked up once per client.
    fn credentials(&self, registry: &Registry) -> Result<Option<Found>, OciError> {
        if let Some(found) = lock(&self.found).get(&registry.as_text()) {
            return Ok(found.clone());
        }
        let found = self.login.find(registry)?;
        lock(&self.found).insert(registry.as_text(), found.clone());
        Ok(found)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn basic(username: &str, password: &str) -> Zeroizing<String> {
    use base64::Engine as _;
    let pair = Zeroizing::new(format!("{username}:{password}"));
    Zeroizing::new(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair.as_bytes())
    ))
}

fn same_origin(url: &str, base: &str) -> bool {
    match (reqwest::Url::parse(url), reqwest::Url::parse(base)) {
        (Ok(url), Ok(base)) => {
            url.scheme() == base.scheme()
                && url.host_str() == base.host_str()
                && url.port_or_known_default() == base.port_or_known_default()
        }
        _ => false,
    }
}

/// A successful response, or the error its status means.
fn success(repository: &Repository, url: &str, response: Response) -> Result<Response, OciError> {
    let status = response.status().as_u16();
    match status {
        200..=299 => Ok(response),
        403 => Err(OciError::Denied {
            registry: repository.registry().as_text(),
            repository: repository.to_string(),
            detail: detail_of(response),
        }),
        _ => Err(OciError::Status {
            url: url.to_owned(),
            status,
            detail: detail_of(response),
        }),
    }
}

/// Reads a body of at most `limit` bytes.
pub fn read_limited(response: Response, limit: u64, url: &str) -> Result<Vec<u8>, OciError> {
    let mut bytes = Vec::new();
    response
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| OciError::Http {
            url: url.to_owned(),
            reason: crate::error::chain_text(&error),
        })?;
    if bytes.len() as u64 > limit {
        return Err(OciError::TooLarge {
            url: url.to_owned(),
            limit,
        });
    }
    Ok(bytes)
}

/// `: CODE: message` for the errors a registry's body lists (at most three, shortened,
/// escaped), or nothing.
fn detail_of(response: Response) -> String {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        errors: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
        #[serde(default)]
        detail: serde_json::Value,
    }
    let mut bytes = Vec::new();
    let _ = response.take(MAX_ERROR_BYTES).read_to_end(&mut bytes);
    let Ok(body) = serde_json::from_slice::<Body>(&bytes) else {
        return String::new();
    };
    let parts: Vec<String> = body
        .errors
        .iter()
        .take(3)
        .map(|entry| {
            let mut text = format!("{}: {}", entry.code, entry.message);
            if let Some(detail) = entry.detail.as_str().filter(|d| !d.is_empty()) {
                text.push_str(&format!(" ({detail})"));
            }
            text.chars()
                .take(300)
                .collect::<String>()
                .escape_debug()
                .to_string()
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(": {}", parts.join("; "))
    }
}

fn http_error(url: &str, error: &reqwest::Error) -> OciError {
    OciError::Http {
        url: url.to_owned(),
        reason: crate::error::chain_text(error),
    }
}
