//! The pipelines ocp knows for exercising a migrated built-in, by the built-in's name. The
//! pipelines themselves are Python (`templates/migrated/tests/migrated_scenarios.py`), which
//! both a migrated package's `tests/test_pipeline.py` and `ocp migrate --verify` run; this
//! table is what ocp itself needs to know about them: which exist, what each does, and what
//! it needs to run. A unit test keeps the two lists equal.

/// What a scenario needs besides Osiris.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Nothing: files, DuckDB, or a server the scenario starts itself on 127.0.0.1.
    None,
    /// A MySQL-compatible server, named by a connection in `--connections`.
    Mysql,
}

/// One scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenario {
    pub builtin: &'static str,
    /// What the pipeline does, for the README of tests and for messages.
    pub description: &'static str,
    pub service: Service,
    /// The component's config in the README's pipeline (JSON), which the scenario proves
    /// works; the spec's first example is used where there is no scenario.
    pub readme_config: &'static str,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        builtin: "filesystem.csv_extractor",
        description: "reads a CSV of 5 orders, which `filesystem.csv_writer` writes back",
        service: Service::None,
        readme_config: r#"{"path": "data/orders.csv"}"#,
    },
    Scenario {
        builtin: "filesystem.csv_writer",
        description: "writes the 5 orders `filesystem.csv_extractor` read from a CSV",
        service: Service::None,
        readme_config: r#"{"path": "output/orders.csv"}"#,
    },
    Scenario {
        builtin: "duckdb.processor",
        description: "runs SQL over 5 orders between a CSV source and a CSV sink",
        service: Service::None,
        readme_config: r#"{"query": "SELECT id, upper(customer) AS customer, amount * 2 AS doubled FROM df_read_input WHERE amount < 300 ORDER BY id"}"#,
    },
    Scenario {
        builtin: "mysql.extractor",
        description: "reads 5 orders from a MySQL table, which `filesystem.csv_writer` writes to a CSV",
        service: Service::Mysql,
        readme_config: r#"{"query": "SELECT id, customer, city, amount FROM orders ORDER BY id"}"#,
    },
    Scenario {
        builtin: "mysql.writer",
        description: "writes 5 orders from a CSV into a new MySQL table, read back in order",
        service: Service::Mysql,
        readme_config: r#"{"table": "orders", "mode": "append"}"#,
    },
    Scenario {
        builtin: "graphql.extractor",
        description: "queries a GraphQL endpoint on 127.0.0.1 for 5 orders, which `filesystem.csv_writer` writes to a CSV",
        service: Service::None,
        readme_config: r#"{"endpoint": "https://api.example.com/graphql", "query": "query Orders { orders { id customer city amount } }", "data_path": "data.orders"}"#,
    },
];

/// Hosted services that no local server stands in for, by family.
const HOSTED: &[(&str, &str)] = &[("posthog", "PostHog"), ("supabase", "Supabase")];

/// The scenario for the built-in `name`, if ocp has one.
pub fn for_builtin(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|scenario| scenario.builtin == name)
}

/// The hosted service a family's components talk to, when ocp knows it (`PostHog`).
pub fn hosted_service(family: &str) -> Option<&'static str> {
    HOSTED
        .iter()
        .find(|(known, _)| *known == family)
        .map(|(_, service)| *service)
}

/// The Python scenario library, embedded for `--verify`.
pub const LIBRARY: &str = include_str!("../../templates/migrated/tests/migrated_scenarios.py");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readme_configs_are_json_objects() {
        for scenario in SCENARIOS {
            let value: serde_json::Value =
                serde_json::from_str(scenario.readme_config).expect(scenario.builtin);
            assert!(value.is_object(), "{}", scenario.builtin);
        }
    }

    #[test]
    fn the_python_library_has_exactly_these_scenarios() {
        let table = LIBRARY
            .split("SCENARIOS: dict[str, Scenario] = {")
            .nth(1)
            .and_then(|rest| rest.split('}').next())
            .expect("the SCENARIOS table");
        let mut python: Vec<&str> = table
            .lines()
            .filter_map(|line| line.trim().strip_prefix('"')?.split('"').next())
            .collect();
        python.sort_unstable();
        let mut rust: Vec<&str> = SCENARIOS.iter().map(|s| s.builtin).collect();
        rust.sort_unstable();
        assert_eq!(python, rust);
    }
}
