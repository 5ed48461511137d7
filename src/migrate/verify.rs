//! What `ocp migrate --verify` concludes from the verification harness's report. The
//! harness (`verify_harness.py`, run in a fresh environment with the source Osiris and the
//! renamed copy of each package) loads each migrated driver the way Osiris does, compares its
//! behaviour on an empty config with the built-in's, and runs the component's scenario once
//! with the built-in and once with the copy. This module reads that report (bounded, as
//! anything another program printed) and compares the outputs row for row.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The harness script, embedded.
pub const HARNESS: &str = include_str!("verify_harness.py");

/// The most output ocp reads from the harness.
pub const MAX_REPORT_BYTES: usize = 16 * 1024 * 1024;

/// One scenario run as the harness saw it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct Run {
    pub ran: bool,
    #[serde(default)]
    pub columns: Vec<String>,
    #[serde(default)]
    pub rows: Vec<Vec<String>>,
    /// Rows with numbers written one way, by column name.
    #[serde(default)]
    pub normalized: Vec<BTreeMap<String, String>>,
    #[serde(default)]
    pub error: Option<String>,
    /// The run needs something this machine lacks (a server); `error` says what.
    #[serde(default)]
    pub unavailable: bool,
}

/// What the harness saw of one component.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Seen {
    pub builtin: String,
    pub alias: String,
    /// Osiris registered the copy's driver and built it: `None` when it did, else why not.
    pub load_error: Option<String>,
    /// The outcome of `run(config={})`: the built-in's and the copy's (when both exist).
    pub empty_config: Option<(String, String)>,
    pub builtin_run: Option<Run>,
    pub migrated_run: Option<Run>,
    /// What the scenario must produce, normalized, by column name.
    #[serde(default)]
    pub expected: Vec<BTreeMap<String, String>>,
}

/// The harness's report.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct HarnessReport {
    pub components: Vec<Seen>,
}

/// Reads the harness's stdout.
pub fn parse(output: &[u8]) -> Result<HarnessReport, String> {
    if output.len() > MAX_REPORT_BYTES {
        return Err(format!(
            "the harness printed more than {MAX_REPORT_BYTES} bytes"
        ));
    }
    let text = String::from_utf8_lossy(output);
    let last = text
        .lines()
        .rev()
        .find(|line| line.trim_start().starts_with('{'))
        .ok_or_else(|| "the harness printed no report".to_owned())?;
    serde_json::from_str(last)
        .map_err(|error| format!("the harness's report is not valid: {error}"))
}

/// How far a component was verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Verdict {
    /// Both ran the scenario and left the same rows.
    Equal { rows: usize },
    /// The built-in could not run; the copy's rows equal what the scenario must produce.
    EqualToExpected { rows: usize, builtin_error: String },
    /// Loaded beside the built-in (and failed alike on an empty config); no scenario ran.
    Partly { reason: String },
    /// Nothing could be compared; `reason` says why.
    NotVerified { reason: String },
    /// The copy differs from the built-in or does not work.
    Failed { reason: String },
}

impl Verdict {
    pub fn failed(&self) -> bool {
        matches!(self, Verdict::Failed { .. })
    }

    /// One line for the table.
    pub fn words(&self) -> String {
        match self {
            Verdict::Equal { rows } => format!("yes: {rows} rows equal to the built-in's"),
            Verdict::EqualToExpected {
                rows,
                builtin_error,
            } => format!("yes: {rows} rows as expected; the built-in cannot run ({builtin_error})"),
            Verdict::Partly { reason } => format!("partly: {reason}"),
            Verdict::NotVerified { reason } => format!("no: {reason}"),
            Verdict::Failed { reason } => format!("FAILED: {reason}"),
        }
    }
}

/// The verdict for one component. `needs` names what a scenario-less component talks to
/// (`a hosted PostHog`).
pub fn judge(seen: &Seen, needs: Option<&str>) -> Verdict {
    if let Some(error) = &seen.load_error {
        return Verdict::Failed {
            reason: format!(
                "Osiris cannot load the migrated driver: {}",
                last_line(error)
            ),
        };
    }
    let alike = match &seen.empty_config {
        Some((builtin, migrated)) if builtin != migrated => {
            return Verdict::Failed {
                reason: format!(
                    "on an empty config the built-in gives `{}`, the migrated driver `{}`",
                    last_line(builtin),
                    last_line(migrated)
                ),
            };
        }
        Some(_) => " and fails alike on an empty config",
        None => "",
    };
    let Some(migrated) = &seen.migrated_run else {
        let reason = match needs {
            Some(service) => format!(
                "Osiris loads it beside the built-in{alike}; a pipeline run needs {service}"
            ),
            None => format!(
                "Osiris loads it beside the built-in{alike}; ocp has no pipeline that exercises `{}`",
                seen.builtin
            ),
        };
        return Verdict::Partly { reason };
    };
    if !migrated.ran {
        let error = migrated.error.clone().unwrap_or_default();
        if migrated.unavailable {
            return Verdict::NotVerified {
                reason: format!(
                    "{}; Osiris loads it beside the built-in{alike}",
                    first_line(&error)
                ),
            };
        }
        return Verdict::Failed {
            reason: format!(
                "the pipeline with the migrated component failed: {}",
                first_line(&error)
            ),
        };
    }
    match &seen.builtin_run {
        Some(builtin) if builtin.ran => match compare(builtin, migrated) {
            Ok(rows) => Verdict::Equal { rows },
            Err(difference) => Verdict::Failed { reason: difference },
        },
        other => {
            let builtin_error = other
                .as_ref()
                .and_then(|run| run.error.clone())
                .map(|error| first_line(&error))
                .unwrap_or_else(|| "it did not run".to_owned());
            if migrated.normalized == seen.expected {
                Verdict::EqualToExpected {
                    rows: migrated.rows.len(),
                    builtin_error,
                }
            } else {
                Verdict::Failed {
                    reason: format!(
                        "the built-in cannot run ({builtin_error}), and the migrated component's rows differ from what the scenario expects: {}",
                        first_difference(&seen.expected, &migrated.normalized)
                    ),
                }
            }
        }
    }
}

/// Row for row, cell for cell: the number of rows when equal, else the first difference.
pub fn compare(builtin: &Run, migrated: &Run) -> Result<usize, String> {
    if builtin.columns != migrated.columns {
        return Err(format!(
            "the columns differ: built-in {:?}, migrated {:?}",
            builtin.columns, migrated.columns
        ));
    }
    for (index, (left, right)) in builtin.rows.iter().zip(&migrated.rows).enumerate() {
        for (column, (a, b)) in builtin.columns.iter().zip(left.iter().zip(right)) {
            if a != b {
                return Err(format!(
                    "row {}, column `{column}`: built-in `{a}`, migrated `{b}`",
                    index + 1
                ));
            }
        }
        if left.len() != right.len() {
            return Err(format!(
                "row {}: the built-in has {} values, the migrated component {}",
                index + 1,
                left.len(),
                right.len()
            ));
        }
    }
    if builtin.rows.len() != migrated.rows.len() {
        return Err(format!(
            "the built-in left {} rows, the migrated component {}",
            builtin.rows.len(),
            migrated.rows.len()
        ));
    }
    Ok(builtin.rows.len())
}

fn first_difference(
    expected: &[BTreeMap<String, String>],
    actual: &[BTreeMap<String, String>],
) -> String {
    for (index, (want, got)) in expected.iter().zip(actual).enumerate() {
        if want != got {
            return format!("row {}: expected {want:?}, got {got:?}", index + 1);
        }
    }
    format!("expected {} rows, got {}", expected.len(), actual.len())
}

fn first_line(text: &str) -> String {
    text.trim()
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn last_line(text: &str) -> String {
    text.trim()
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or_default()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rows: &[&[&str]]) -> Run {
        Run {
            ran: true,
            columns: vec!["id".into(), "amount".into()],
            rows: rows
                .iter()
                .map(|row| row.iter().map(|v| (*v).to_owned()).collect())
                .collect(),
            ..Run::default()
        }
    }

    fn seen(builtin: Run, migrated: Run) -> Seen {
        Seen {
            builtin: "x.extractor".into(),
            alias: "x.extractor_migrated".into(),
            load_error: None,
            empty_config: Some(("ValueError: no".into(), "ValueError: no".into())),
            builtin_run: Some(builtin),
            migrated_run: Some(migrated),
            expected: Vec::new(),
        }
    }

    #[test]
    fn equal_rows_verify_and_the_first_difference_is_named() {
        let a = run(&[&["1", "9.99"], &["2", ""]]);
        assert_eq!(
            judge(&seen(a.clone(), a.clone()), None),
            Verdict::Equal { rows: 2 }
        );
        let b = run(&[&["1", "9.990"], &["2", ""]]);
        assert_eq!(
            judge(&seen(a.clone(), b), None).words(),
            "FAILED: row 1, column `amount`: built-in `9.99`, migrated `9.990`"
        );
        let short = run(&[&["1", "9.99"]]);
        assert_eq!(
            compare(&a, &short),
            Err("the built-in left 2 rows, the migrated component 1".to_owned())
        );
    }

    #[test]
    fn a_builtin_that_cannot_run_is_replaced_by_the_expected_rows() {
        let mut migrated = run(&[&["1", "9.99"]]);
        migrated.normalized = vec![[("id".to_owned(), "1".to_owned())].into_iter().collect()];
        let builtin = Run {
            ran: false,
            error: Some("Compilation failed: Components missing runtime drivers".into()),
            ..Run::default()
        };
        let mut seen = seen(builtin, migrated.clone());
        seen.empty_config = None;
        seen.expected = migrated.normalized.clone();
        assert!(matches!(
            judge(&seen, None),
            Verdict::EqualToExpected { rows: 1, .. }
        ));
        seen.expected = Vec::new();
        assert!(judge(&seen, None).failed());
    }

    #[test]
    fn differing_failures_on_an_empty_config_fail() {
        let mut seen = seen(run(&[]), run(&[]));
        seen.empty_config = Some(("ValueError: a".into(), "KeyError: b".into()));
        assert!(judge(&seen, None).failed());
    }

    #[test]
    fn reports_are_bounded_and_read_from_the_last_json_line() {
        assert!(parse(b"noise\n{\"components\": []}\n").is_ok());
        assert!(parse(b"no report").is_err());
        assert!(parse(&vec![b' '; MAX_REPORT_BYTES + 1]).is_err());
    }
}
