//! Settings as commands resolve them: once, before the operation starts, from the flags
//! the command was given, the environment, the project and the user's file
//! ([`crate::settings`]), with the warnings printed through the shell.

use std::path::{Path, PathBuf};

use crate::error::with_help;
use crate::policy::Policy;
use crate::settings::{self, Flags, Inputs, Settings};
use crate::shell::Shell;

/// Resolves the settings for a command given `flags`.
pub fn resolve(shell: &mut Shell, home: &Path, flags: Flags) -> anyhow::Result<Settings> {
    let cwd = std::env::current_dir()?;
    let env = |name: &str| std::env::var(name).ok();
    let resolved = settings::resolve(&Inputs {
        cwd: &cwd,
        home,
        flags,
        env: &env,
    })
    .map_err(|error| {
        let help = error.help();
        with_help(error, help)
    })?;
    for warning in &resolved.warnings {
        shell.warn(warning)?;
    }
    Ok(resolved.settings)
}

/// The plugin policy of `settings`, with `trusted_signers` looked up in the trusted keys
/// files that apply here.
pub fn policy(shell: &mut Shell, settings: &Settings, home: &Path) -> anyhow::Result<Policy> {
    let trusted = crate::ops::key::load_trusted_keys(&settings.trusted_keys_files(home))?;
    let (policy, warnings) = settings.policy(&trusted).map_err(|error| {
        let help = error.help();
        with_help(error, help)
    })?;
    for warning in &warnings {
        shell.warn(warning)?;
    }
    Ok(policy)
}

/// The lock file, which `ocp lock` cannot do without.
pub fn required_lockfile(settings: &Settings) -> anyhow::Result<PathBuf> {
    settings.lockfile.value.clone().ok_or_else(|| {
        crate::error::helped(
            format!(
                "`ocp lock` writes `ocp.lock` at the root of an Osiris project, and `{}` is not in one",
                settings.cwd.display()
            ),
            "run it in the project (the folder with `osiris.yaml`), name the project with `--project DIR`, or name the lock file with `--lockfile PATH`",
        )
    })
}
