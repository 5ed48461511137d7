//! `ocp schema`: the JSON schemas ocp publishes, so a user or a CI job can validate what ocp
//! prints and writes without a copy of ocp's repository. The schemas themselves live in
//! [`crate::schemas`].

use crate::error::helped;
use crate::schemas::{self, Published};

/// The schema called `name`, or an error that lists the names there are.
pub fn schema(name: &str) -> anyhow::Result<&'static Published> {
    schemas::published(name).ok_or_else(|| {
        helped(
            format!("ocp has no schema called `{name}`"),
            "run `ocp schema` to list them, for example `ocp schema publish-report`",
        )
    })
}

/// Every published schema, in name order.
pub fn list() -> &'static [Published] {
    schemas::PUBLISHED
}
