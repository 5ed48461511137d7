//! Registry authentication as the distribution spec's token flow describes it: a request
//! answered `401` with `WWW-Authenticate: Bearer realm=...,service=...,scope=...` is sent again
//! with a token from the realm (asked for with the user's credentials, or anonymously for a
//! public repository), and one answered with `WWW-Authenticate: Basic` is sent again with the
//! credentials themselves. This module parses challenges and token answers; the requests are
//! [`super::client`]'s.
//!
//! Credentials for a registry go to that registry, or to the token realm it names over HTTPS
//! (a plain-HTTP realm only for a registry on the loopback interface, whose realm must be on
//! the loopback interface too), never anywhere else.

use serde::Deserialize;
use zeroize::Zeroizing;

use super::reference::is_loopback_host;

/// The longest `WWW-Authenticate` header ocp parses.
const MAX_CHALLENGE_BYTES: usize = 8 * 1024;
/// The largest token answer ocp reads.
pub const MAX_TOKEN_RESPONSE_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Basic,
    Bearer,
}

/// A parsed `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: Scheme,
    pub realm: Option<String>,
    pub service: Option<String>,
    pub scope: Option<String>,
}

/// Parses the first `Basic` or `Bearer` challenge of a `WWW-Authenticate` header.
pub fn parse_challenge(header: &str) -> Result<Challenge, String> {
    if header.len() > MAX_CHALLENGE_BYTES {
        return Err(format!(
            "the challenge is longer than {MAX_CHALLENGE_BYTES} bytes"
        ));
    }
    let header = header.trim();
    let (scheme, parameters) = header.split_once(' ').unwrap_or((header, ""));
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case("basic") {
        Scheme::Basic
    } else {
        return Err(format!(
            "the scheme `{}` is neither `Bearer` nor `Basic`",
            scheme.escape_debug()
        ));
    };
    let mut challenge = Challenge {
        scheme,
        realm: None,
        service: None,
        scope: None,
    };
    for (name, value) in parameters_of(parameters)? {
        match name.to_ascii_lowercase().as_str() {
            "realm" => challenge.realm = Some(value),
            "service" => challenge.service = Some(value),
            "scope" => challenge.scope = Some(value),
            _ => {}
        }
    }
    if scheme == Scheme::Bearer && challenge.realm.is_none() {
        return Err("the bearer challenge names no realm".to_owned());
    }
    Ok(challenge)
}

/// `name=value` and `name="quoted \" value"` pairs separated by commas.
fn parameters_of(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut name = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && *c != ',') {
            name.push(c);
        }
        if chars.next() != Some('=') {
            return Err(format!(
                "the parameter `{}` has no value",
                name.trim().escape_debug()
            ));
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                    None => return Err("a quoted value is not closed".to_owned()),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                value.push(c);
            }
        }
        if value.chars().any(char::is_control) {
            return Err("a value holds a control character".to_owned());
        }
        out.push((name.trim().to_owned(), value.trim().to_owned()));
    }
}

/// Whether credentials for `registry_host` may be sent to the token `realm`: over HTTPS, or
/// over plain HTTP between two loopback addresses. `Err` says why not.
pub fn check_realm(realm: &str, registry_is_loopback: bool) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(realm).map_err(|_| "the realm is not a URL".to_owned())?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if registry_is_loopback && url.host_str().is_some_and(is_loopback_host) => Ok(url),
        "http" => Err("the token realm is plain HTTP on another host".to_owned()),
        _ => Err("the realm is not an http(s) URL".to_owned()),
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

/// The token in a token service's answer (`token`, or OAuth2's `access_token`).
pub fn parse_token(bytes: &[u8]) -> Result<Zeroizing<String>, String> {
    let answer: TokenAnswer = serde_json::from_slice(bytes)
        .map_err(|_| "the answer is not the JSON of a token".to_owned())?;
    let token = answer
        .token
        .filter(|t| !t.is_empty())
        .or(answer.access_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| "the answer holds no token".to_owned())?;
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the token holds characters a header cannot carry".to_owned());
    }
    Ok(Zeroizing::new(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_parsed_as_registries_send_them() {
        let challenge = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push""#,
        )
        .expect("bearer");
        assert_eq!(challenge.scheme, Scheme::Bearer);
        assert_eq!(
            challenge.realm.as_deref(),
            Some("https://auth.docker.io/token")
        );
        assert_eq!(challenge.service.as_deref(), Some("registry.docker.io"));
        assert_eq!(
            challenge.scope.as_deref(),
            Some("repository:samalba/my-app:pull,push")
        );
        let basic = parse_challenge(r#"Basic realm="basic-realm""#).expect("basic");
        assert_eq!(basic.scheme, Scheme::Basic);
        let unquoted = parse_challenge("Bearer realm=https://ghcr.io/token,service=ghcr.io")
            .expect("unquoted");
        assert_eq!(unquoted.service.as_deref(), Some("ghcr.io"));
        assert!(parse_challenge("Negotiate abc").is_err());
        assert!(parse_challenge(r#"Bearer service="x""#).is_err());
        assert!(parse_challenge(r#"Bearer realm="open"#).is_err());
        assert!(parse_challenge(&format!("Bearer realm=\"{}\"", "a".repeat(9000))).is_err());
    }

    #[test]
    fn credentials_go_to_https_realms_or_between_loopback_addresses() {
        assert!(check_realm("https://auth.docker.io/token", false).is_ok());
        assert!(check_realm("http://127.0.0.1:5001/token", true).is_ok());
        assert!(check_realm("http://auth.example.com/token", false).is_err());
        assert!(check_realm("http://auth.example.com/token", true).is_err());
        assert!(check_realm("http://127.0.0.1:5001/token", false).is_err());
        assert!(check_realm("file:///etc/passwd", true).is_err());
    }

    #[test]
    fn tokens_come_from_token_or_access_token() {
        assert_eq!(
            parse_token(br#"{"token":"abc"}"#).expect("token").as_str(),
            "abc"
        );
        assert_eq!(
            parse_token(br#"{"access_token":"xyz","expires_in":300}"#)
                .expect("token")
                .as_str(),
            "xyz"
        );
        assert!(parse_token(br#"{"token":""}"#).is_err());
        assert!(parse_token(b"{\"token\":\"a\\nb\"}").is_err());
    }
}
