//! The environment of the programs ocp starts (git, uv, pip): ocp's own, without ocp's
//! secrets. A git hook, a credential helper or a package's build backend runs code nobody
//! reviewed, so it must never see the signing key, its password or an upload token.
//!
//! Removed: `OCP_SIGNING_KEY`, `OCP_SIGNING_KEY_PASSWORD`, every `OCP_REGISTRY_<NAME>_TOKEN`,
//! and every variable the user's configuration names as a `token-env` (registered with
//! [`register_secret_variable`] when the configuration is read). Everything else is passed
//! on, so proxies, `PATH`, `HOME` and uv's or pip's own settings keep working.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::process::Command;
use std::sync::Mutex;

/// Variables that always hold secrets.
const SECRET_VARIABLES: [&str; 2] = ["OCP_SIGNING_KEY", "OCP_SIGNING_KEY_PASSWORD"];

/// Variables the user's configuration names as holding tokens.
static REGISTERED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Remembers that `name` holds a secret, so no child process is given it.
pub fn register_secret_variable(name: &str) {
    REGISTERED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(name.to_owned());
}

/// True when the variable `name` holds one of ocp's secrets.
pub fn is_secret(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    SECRET_VARIABLES.contains(&name)
        || (name.starts_with("OCP_REGISTRY_") && name.ends_with("_TOKEN"))
        || REGISTERED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(name)
}

/// Removes ocp's secrets from the environment `command` will run with.
pub fn without_secrets(command: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars_os() {
        if is_secret(&name) {
            command.env_remove(&name);
        }
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_keys_and_tokens_are_secret_and_the_rest_is_not() {
        for name in [
            "OCP_SIGNING_KEY",
            "OCP_SIGNING_KEY_PASSWORD",
            "OCP_REGISTRY_ACME_TOKEN",
        ] {
            assert!(is_secret(OsStr::new(name)), "{name}");
        }
        for name in ["PATH", "HOME", "OCP_HOME", "UV_INDEX_URL", "OCP_INDEX"] {
            assert!(!is_secret(OsStr::new(name)), "{name}");
        }
        register_secret_variable("ACME_UPLOAD_TOKEN_FOR_TEST");
        assert!(is_secret(OsStr::new("ACME_UPLOAD_TOKEN_FOR_TEST")));
    }
}
