//! Stage 3, the install plan: what the resolution changes in the environment (which
//! packages arrive or move to another version, which stay), and the order in which they
//! are activated. `--dry-run` reports this plan and stops.

use super::Change;
use super::request::InstallRequest;
use crate::pyenv::PythonEnv;
use crate::resolve::Resolution;

/// The changes to make, and in which order.
#[derive(Debug, Clone)]
pub struct InstallPlan {
    /// Packages to install or move to another version, by name.
    pub changes: Vec<Change>,
    /// Packages already installed at the chosen version.
    pub unchanged: Vec<Change>,
    /// The names in `changes`, each after the packages it depends on.
    pub order: Vec<String>,
}

impl InstallPlan {
    /// The changes in activation order.
    pub fn ordered(&self) -> impl Iterator<Item = &Change> {
        self.order
            .iter()
            .filter_map(|name| self.changes.iter().find(|change| &change.name == name))
    }

    /// Compares the resolution (and the local tarballs) with what `env` has installed.
    pub fn new(
        env: Option<&PythonEnv>,
        request: &InstallRequest,
        resolution: &Resolution,
    ) -> anyhow::Result<InstallPlan> {
        let installed = match env {
            Some(env) => env.installed()?,
            None => Vec::new(),
        };
        let installed_version = |name: &str| {
            let wanted = crate::model::normalize_name(name);
            installed
                .iter()
                .find(|i| crate::model::normalize_name(&i.name) == wanted)
                .map(|i| i.version.clone())
        };
        let mut changes = Vec::new();
        let mut unchanged = Vec::new();
        let resolved = resolution
            .packages
            .iter()
            .map(|(name, package)| (name, &package.entry, request.requested.contains(name)));
        let locals = request
            .locals
            .iter()
            .map(|local| (&local.entry.name, &local.entry, true));
        for (name, entry, requested) in resolved.chain(locals) {
            let previous = installed_version(name);
            let change = Change {
                name: name.clone(),
                version: entry.version.clone(),
                previous: previous.clone(),
                requested,
                entry: entry.clone(),
            };
            if previous.as_deref() == Some(entry.version.as_str()) {
                unchanged.push(change);
            } else {
                changes.push(change);
            }
        }
        let order = install_order(resolution, &changes);
        Ok(InstallPlan {
            changes,
            unchanged,
            order,
        })
    }
}

/// Names of the changed packages, each after the packages it depends on.
fn install_order(resolution: &Resolution, changes: &[Change]) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    fn visit(name: &str, resolution: &Resolution, order: &mut Vec<String>, seen: &mut Vec<String>) {
        if seen.iter().any(|s| s == name) {
            return;
        }
        seen.push(name.to_owned());
        if let Some(package) = resolution.packages.get(name) {
            for dependency in &package.entry.dependencies {
                visit(&dependency.name, resolution, order, seen);
            }
        }
        order.push(name.to_owned());
    }
    let mut seen = Vec::new();
    for change in changes {
        visit(&change.name, resolution, &mut order, &mut seen);
    }
    order.retain(|name| changes.iter().any(|c| &c.name == name));
    order
}
