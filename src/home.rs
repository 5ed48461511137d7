//! Where ocp keeps its per-user files (`OCP_HOME`): signing keys under `keys/`, the user's
//! `trusted-keys.toml`. The CLI resolves the directory once and passes paths down; nothing
//! below the CLI reads the environment for it.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::error::helped;

/// The variable that moves ocp's per-user directory.
pub const OCP_HOME: &str = "OCP_HOME";

/// `OCP_HOME` when set and not empty, else `$XDG_DATA_HOME/ocp` (`~/.local/share/ocp` on
/// Linux, the platform's data directory elsewhere).
pub fn ocp_home() -> anyhow::Result<PathBuf> {
    resolve(std::env::var_os(OCP_HOME), dirs::data_dir())
}

fn resolve(variable: Option<OsString>, data_dir: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(value) = variable.filter(|value| !value.is_empty()) {
        return Ok(PathBuf::from(value));
    }
    data_dir.map(|dir| dir.join("ocp")).ok_or_else(|| {
        helped(
            "cannot find a home directory for ocp's files",
            "set `OCP_HOME` to a directory ocp may use, for example `export OCP_HOME=$HOME/.ocp`",
        )
    })
}

/// The default secret key, `OCP_HOME/keys/ocp.key`.
pub fn default_secret_key(home: &std::path::Path) -> PathBuf {
    home.join("keys").join("ocp.key")
}

/// The public key beside the default secret key, `OCP_HOME/keys/ocp.pub`.
pub fn default_public_key(home: &std::path::Path) -> PathBuf {
    home.join("keys").join("ocp.pub")
}

/// The user's trusted keys, `OCP_HOME/trusted-keys.toml`.
pub fn trusted_keys(home: &std::path::Path) -> PathBuf {
    home.join("trusted-keys.toml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variable_wins_over_the_data_directory() {
        let home = resolve(Some("/tmp/h".into()), Some("/data".into())).expect("home");
        assert_eq!(home, PathBuf::from("/tmp/h"));
    }

    #[test]
    fn an_empty_variable_falls_back_to_the_data_directory() {
        let home = resolve(Some("".into()), Some("/data".into())).expect("home");
        assert_eq!(home, PathBuf::from("/data/ocp"));
    }

    #[test]
    fn no_directory_at_all_is_an_error_with_help() {
        let error = resolve(None, None).expect_err("no home");
        assert!(crate::error::find_help(&error).is_some());
    }
}
