//! The settings ocp knows: their names, types, defaults, the environment variable of each,
//! and which layers may set them. One table, so `ocp config show`, the unknown-key warnings,
//! the environment and the docs never disagree.

/// The type of a setting's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Text,
    /// A list of strings.
    List,
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
}

impl Kind {
    /// What a value of this kind looks like, for type errors.
    pub fn expected(self) -> String {
        match self {
            Kind::Bool => "`true` or `false`".to_owned(),
            Kind::Text => "a string".to_owned(),
            Kind::List => "a list of strings".to_owned(),
            Kind::Choice(words) => format!("one of `{}`", words.join("`, `")),
        }
    }
}

/// One setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The dotted name (`plugins.sandbox.network`), as `ocp config show` prints it.
    pub name: &'static str,
    pub kind: Kind,
    /// Whether an Osiris project's `plugins:` section may set it (only `plugins.*` keys).
    pub in_project: bool,
}

impl Key {
    /// The environment variable that sets it: `OCP_` and the name in capitals, with `_` for
    /// `.` (`OCP_PLUGINS_SANDBOX_FS_ACCESS`).
    pub fn env_name(&self) -> String {
        format!("OCP_{}", self.name.replace('.', "_").to_ascii_uppercase())
    }

    /// The name below `plugins.`, as written in a project's `plugins:` section.
    pub fn project_name(&self) -> Option<&'static str> {
        self.name.strip_prefix("plugins.")
    }
}

pub const INDEX: Key = Key {
    name: "index",
    kind: Kind::Text,
    in_project: false,
};
pub const OFFLINE: Key = Key {
    name: "offline",
    kind: Kind::Bool,
    in_project: false,
};
pub const ENABLED: Key = plugin("plugins.enabled", Kind::Bool);
pub const ALLOWLIST: Key = plugin("plugins.allowlist", Kind::List);
pub const DENYLIST: Key = plugin("plugins.denylist", Kind::List);
pub const SIGNATURE_VERIFICATION: Key = plugin("plugins.signature_verification", Kind::Bool);
pub const TRUSTED_SIGNERS: Key = plugin("plugins.trusted_signers", Kind::List);
pub const SANDBOX_PROVIDER: Key = plugin(
    "plugins.sandbox.provider",
    Kind::Choice(&["e2b", "docker", "none"]),
);
pub const SANDBOX_POLICY: Key = plugin(
    "plugins.sandbox.policy",
    Kind::Choice(&["strict", "permissive"]),
);
pub const SANDBOX_NETWORK: Key = plugin(
    "plugins.sandbox.network",
    Kind::Choice(&["deny", "egress-only", "allow"]),
);
pub const SANDBOX_FS_ACCESS: Key = plugin(
    "plugins.sandbox.fs_access",
    Kind::Choice(&["readonly", "readwrite", "none"]),
);

const fn plugin(name: &'static str, kind: Kind) -> Key {
    Key {
        name,
        kind,
        in_project: true,
    }
}

/// Every setting a file or the environment may hold, in the order `ocp config show` prints
/// them (the lock file, which comes from the project, is printed apart).
pub const ALL: &[Key] = &[
    INDEX,
    OFFLINE,
    ENABLED,
    ALLOWLIST,
    DENYLIST,
    SIGNATURE_VERIFICATION,
    TRUSTED_SIGNERS,
    SANDBOX_PROVIDER,
    SANDBOX_POLICY,
    SANDBOX_NETWORK,
    SANDBOX_FS_ACCESS,
];

/// The setting called `name`.
pub fn find(name: &str) -> Option<Key> {
    ALL.iter().copied().find(|key| key.name == name)
}

/// The known keys directly below `prefix` (`plugins`, `plugins.sandbox`), for the warning
/// about an unknown one.
pub fn children(prefix: &str) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for key in ALL {
        let Some(rest) = key
            .name
            .strip_prefix(prefix)
            .and_then(|r| r.strip_prefix('.'))
        else {
            continue;
        };
        let child = rest.split('.').next().unwrap_or(rest);
        if !out.contains(&child) {
            out.push(child);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_names_follow_the_dotted_names() {
        assert_eq!(INDEX.env_name(), "OCP_INDEX");
        assert_eq!(
            SANDBOX_FS_ACCESS.env_name(),
            "OCP_PLUGINS_SANDBOX_FS_ACCESS"
        );
        assert_eq!(ALLOWLIST.project_name(), Some("allowlist"));
        assert_eq!(OFFLINE.project_name(), None);
    }

    #[test]
    fn children_list_each_level_once() {
        assert_eq!(
            children("plugins"),
            vec![
                "enabled",
                "allowlist",
                "denylist",
                "signature_verification",
                "trusted_signers",
                "sandbox"
            ]
        );
        assert_eq!(
            children("plugins.sandbox"),
            vec!["provider", "policy", "network", "fs_access"]
        );
    }
}
