//! `ocp check` on a table of broken packages: each case starts from a freshly generated,
//! valid package, introduces one defect, and must produce the expected code at the expected
//! place. The full output (exit code and stderr, temporary paths redacted) is a snapshot in
//! `tests/snapshots/`.

mod common;
#[path = "common/python.rs"]
mod python;

use std::fs;
use std::path::{Path, PathBuf};

use common::{Sandbox, run, run_ok, stderr, stdout};

/// One defect applied to a generated `shopify.extractor` package.
enum Edit {
    /// Replace text in a file; the text must be there.
    Replace(&'static str, &'static str, &'static str),
    /// Write (or overwrite) a file.
    Write(&'static str, &'static [u8]),
    /// Delete a file.
    Delete(&'static str),
    /// A symlink at the path, pointing at the target.
    Symlink(&'static str, &'static str),
}

struct Case {
    name: &'static str,
    edits: &'static [Edit],
    /// The code that must be reported, and `file:line` it must point at (`None`: no location).
    expect: &'static [(&'static str, Option<&'static str>)],
}

const SPEC: &str = "src/shopify_osiris/spec.yaml";
const DRIVER: &str = "src/shopify_osiris/driver.py";
const INIT: &str = "src/shopify_osiris/__init__.py";

/// Codes whose findings are warnings: they do not fail `ocp check`.
const WARNING_CODES: &[&str] = &["P009", "P011", "P014", "S004", "S005", "S016"];

/// Cases whose findings are all warnings, though their code is an error in other cases.
const WARNING_CASES: &[&str] = &["driver_run_takes_positional_arguments"];

const CASES: &[Case] = &[
    Case {
        name: "yaml11_boolean_is_a_warning",
        edits: &[Edit::Replace(
            SPEC,
            "  inMemoryMove: true\n",
            "  inMemoryMove: yes\n",
        )],
        expect: &[("S005", Some("src/shopify_osiris/spec.yaml:14"))],
    },
    Case {
        name: "plan_family_and_role",
        edits: &[Edit::Replace(
            SPEC,
            "version: 0.1.0\n",
            "version: 0.1.0\nfamily: shopify\nrole: extractor\n",
        )],
        expect: &[
            ("S010", Some("src/shopify_osiris/spec.yaml:5")),
            ("S010", Some("src/shopify_osiris/spec.yaml:6")),
        ],
    },
    Case {
        name: "plan_min_max_osiris_version",
        edits: &[Edit::Replace(
            SPEC,
            "x-runtime:\n",
            "x-runtime:\n  min_osiris_version: 0.5.0\n  max_osiris_version: 1.0.0\n",
        )],
        expect: &[
            ("S011", Some("src/shopify_osiris/spec.yaml:111")),
            ("S011", Some("src/shopify_osiris/spec.yaml:112")),
        ],
    },
    Case {
        name: "plan_plugin_version",
        edits: &[Edit::Replace(
            SPEC,
            "x-runtime:\n",
            "x-runtime:\n  plugin_version: 0.1.0\n",
        )],
        expect: &[("S012", Some("src/shopify_osiris/spec.yaml:111"))],
    },
    Case {
        name: "driver_colon_form",
        edits: &[Edit::Replace(
            SPEC,
            "shopify_osiris.driver.ShopifyExtractorDriver",
            "shopify_osiris.driver:ShopifyExtractorDriver",
        )],
        expect: &[("S013", Some("src/shopify_osiris/spec.yaml:111"))],
    },
    Case {
        name: "requires_two_bounds_in_one_item",
        edits: &[Edit::Replace(
            SPEC,
            "    - osiris>=0.5.0\n    - osiris<1.0.0\n",
            "    - osiris>=0.5.0,<1.0.0\n",
        )],
        expect: &[("S014", Some("src/shopify_osiris/spec.yaml:78"))],
    },
    Case {
        name: "deprecated_field",
        edits: &[Edit::Replace(
            SPEC,
            "version: 0.1.0\n",
            "version: 0.1.0\ndeprecated: true\n",
        )],
        expect: &[("S015", Some("src/shopify_osiris/spec.yaml:5"))],
    },
    Case {
        name: "yaml_number_version",
        edits: &[
            Edit::Replace(SPEC, "version: 0.1.0\n", "version: 1.0\n"),
            Edit::Replace("pyproject.toml", "version = \"0.1.0\"", "version = \"1.0\""),
            Edit::Replace(INIT, "__version__ = \"0.1.0\"", "__version__ = \"1.0\""),
        ],
        expect: &[("S021", Some("src/shopify_osiris/spec.yaml:4"))],
    },
    Case {
        name: "spec_is_a_list",
        edits: &[Edit::Write(
            SPEC,
            b"- name: shopify.extractor\n- version: 0.1.0\n",
        )],
        expect: &[("S002", Some("src/shopify_osiris/spec.yaml:1"))],
    },
    Case {
        name: "malformed_yaml",
        edits: &[Edit::Replace(
            SPEC,
            "modes:\n  - extract\n",
            "modes: [extract\n",
        )],
        expect: &[("S001", Some("src/shopify_osiris/spec.yaml"))],
    },
    Case {
        name: "unknown_top_level_field",
        edits: &[Edit::Replace(
            SPEC,
            "title: Shopify Extractor\n",
            "title: Shopify Extractor\nvendor: acme\n",
        )],
        expect: &[("S003", Some("src/shopify_osiris/spec.yaml:6"))],
    },
    Case {
        name: "missing_required_spec_field",
        edits: &[Edit::Replace(SPEC, "modes:\n  - extract\n", "")],
        expect: &[("S003", Some("src/shopify_osiris/spec.yaml:3"))],
    },
    Case {
        name: "component_name_not_family_role",
        edits: &[
            Edit::Replace(SPEC, "name: shopify.extractor", "name: shopify"),
            Edit::Replace(
                "pyproject.toml",
                "\"shopify.extractor\" = ",
                "\"shopify\" = ",
            ),
        ],
        expect: &[("S020", Some("src/shopify_osiris/spec.yaml:3"))],
    },
    Case {
        name: "missing_spec",
        edits: &[Edit::Delete(SPEC)],
        expect: &[("F001", None)],
    },
    Case {
        name: "spec_not_utf8",
        edits: &[Edit::Write(
            SPEC,
            b"name: shopify.extractor\ntitle: caf\xe9\n",
        )],
        expect: &[("F003", Some("src/shopify_osiris/spec.yaml:2"))],
    },
    Case {
        name: "symlink_leaves_the_package",
        edits: &[Edit::Symlink("notes.txt", "/etc/hostname")],
        expect: &[("F004", Some("notes.txt"))],
    },
    Case {
        name: "missing_license_and_changelog",
        edits: &[Edit::Delete("LICENSE"), Edit::Delete("CHANGELOG.md")],
        expect: &[("F002", None), ("F002", None)],
    },
    Case {
        name: "malformed_toml",
        edits: &[Edit::Replace("pyproject.toml", "[project]\n", "[project\n")],
        expect: &[("P001", Some("pyproject.toml:5"))],
    },
    Case {
        name: "missing_requires_python",
        edits: &[Edit::Replace(
            "pyproject.toml",
            "requires-python = \">=3.11\"\n",
            "",
        )],
        expect: &[("P002", Some("pyproject.toml:5"))],
    },
    Case {
        name: "requires_python_too_old",
        edits: &[Edit::Replace(
            "pyproject.toml",
            "requires-python = \">=3.11\"",
            "requires-python = \">=3.9\"",
        )],
        expect: &[("P003", Some("pyproject.toml:12"))],
    },
    Case {
        name: "no_osiris_dependency",
        edits: &[Edit::Replace(
            "pyproject.toml",
            "    \"osiris-pipeline>=0.5.0,<1.0.0\",\n",
            "",
        )],
        expect: &[("P004", Some("pyproject.toml:22"))],
    },
    Case {
        name: "osiris_dependency_without_range",
        edits: &[Edit::Replace(
            "pyproject.toml",
            "\"osiris-pipeline>=0.5.0,<1.0.0\"",
            "\"osiris-pipeline\"",
        )],
        expect: &[("P004", Some("pyproject.toml:23"))],
    },
    Case {
        name: "osiris_dependency_without_upper_bound_is_a_warning",
        edits: &[
            Edit::Replace(
                "pyproject.toml",
                "\"osiris-pipeline>=0.5.0,<1.0.0\"",
                "\"osiris-pipeline>=0.5.0\"",
            ),
            Edit::Replace(SPEC, "    - osiris<1.0.0\n", ""),
        ],
        expect: &[("P011", Some("pyproject.toml:23"))],
    },
    Case {
        name: "entry_point_name_differs_from_spec",
        edits: &[Edit::Replace(
            "pyproject.toml",
            "\"shopify.extractor\" = ",
            "\"shopify.extract\" = ",
        )],
        expect: &[
            ("P006", Some("pyproject.toml:32")),
            ("P006", Some("pyproject.toml:33")),
        ],
    },
    Case {
        name: "entry_point_function_missing",
        edits: &[Edit::Replace(
            "pyproject.toml",
            "shopify_osiris:load_spec",
            "shopify_osiris:get_spec",
        )],
        expect: &[("P007", Some("pyproject.toml:33"))],
    },
    Case {
        name: "entry_point_module_missing",
        edits: &[Edit::Replace(
            "pyproject.toml",
            "shopify_osiris:load_spec",
            "shopify_plugin:load_spec",
        )],
        expect: &[("P007", Some("pyproject.toml:33"))],
    },
    Case {
        name: "spec_not_package_data",
        edits: &[Edit::Replace(
            "pyproject.toml",
            "shopify_osiris = [\"spec.yaml\"]",
            "shopify_osiris = [\"*.json\"]",
        )],
        expect: &[("P008", Some("pyproject.toml:35"))],
    },
    Case {
        name: "spec_version_differs",
        edits: &[Edit::Replace(SPEC, "version: 0.1.0\n", "version: 0.2.0\n")],
        expect: &[("V001", Some("src/shopify_osiris/spec.yaml:4"))],
    },
    Case {
        name: "dunder_version_differs",
        edits: &[Edit::Replace(
            INIT,
            "__version__ = \"0.1.0\"",
            "__version__ = \"0.1.1\"",
        )],
        expect: &[("V001", Some("src/shopify_osiris/__init__.py:10"))],
    },
    Case {
        name: "release_candidate_spellings_agree",
        edits: &[
            Edit::Replace(SPEC, "version: 0.1.0\n", "version: 1.0.0-rc.1\n"),
            Edit::Replace(
                "pyproject.toml",
                "version = \"0.1.0\"",
                "version = \"1.0.0rc1\"",
            ),
            Edit::Replace(
                INIT,
                "__version__ = \"0.1.0\"",
                "__version__ = \"1.0.0rc1\"",
            ),
        ],
        expect: &[],
    },
    Case {
        name: "osiris_range_disagrees",
        edits: &[Edit::Replace(
            SPEC,
            "    - osiris>=0.5.0\n",
            "    - osiris>=0.4.0\n",
        )],
        expect: &[("R001", Some("src/shopify_osiris/spec.yaml:78"))],
    },
    Case {
        name: "driver_module_missing",
        edits: &[Edit::Replace(
            SPEC,
            "shopify_osiris.driver.ShopifyExtractorDriver",
            "shopify_osiris.drivers.ShopifyExtractorDriver",
        )],
        expect: &[("D001", Some("src/shopify_osiris/spec.yaml:111"))],
    },
    Case {
        name: "driver_class_missing",
        edits: &[Edit::Replace(
            SPEC,
            "shopify_osiris.driver.ShopifyExtractorDriver",
            "shopify_osiris.driver.ShopifyDriver",
        )],
        expect: &[("D002", Some("src/shopify_osiris/spec.yaml:111"))],
    },
    Case {
        name: "driver_without_run",
        edits: &[Edit::Replace(
            DRIVER,
            "    def run(self, *,",
            "    def execute(self, *,",
        )],
        expect: &[("D003", Some("src/shopify_osiris/driver.py:21"))],
    },
    Case {
        name: "driver_run_takes_positional_arguments",
        edits: &[Edit::Replace(
            DRIVER,
            "def run(self, *, step_id: str,",
            "def run(self, step_id: str,",
        )],
        expect: &[("D004", Some("src/shopify_osiris/driver.py:36"))],
    },
    Case {
        name: "secret_property_not_declared",
        edits: &[
            Edit::Replace(SPEC, "secrets:\n  - /api_key\n", ""),
            Edit::Replace(
                SPEC,
                "x-secret:\n  - /api_key\n  - /resolved_connection/api_key\n",
                "",
            ),
        ],
        expect: &[("X001", Some("src/shopify_osiris/spec.yaml:27"))],
    },
    Case {
        name: "credential_committed_in_a_source_file",
        edits: &[Edit::Replace(
            DRIVER,
            "DEFAULT_PAGE_SIZE = 100\n",
            "DEFAULT_PAGE_SIZE = 100\nSHOP_TOKEN = \"shpat_0123456789abcdef0123456789abcdef\"\n",
        )],
        expect: &[("X002", Some("src/shopify_osiris/driver.py:16"))],
    },
    Case {
        name: "secret_with_a_default",
        edits: &[Edit::Replace(
            SPEC,
            "      description: API key, sent as a bearer token (only from the connection, never in a pipeline)\n",
            "      description: API key, sent as a bearer token (only from the connection, never in a pipeline)\n      default: k3y-live-98765432\n",
        )],
        expect: &[("X003", Some("src/shopify_osiris/spec.yaml:30"))],
    },
    Case {
        name: "component_name_osiris_ships",
        edits: &[
            Edit::Replace(SPEC, "name: shopify.extractor\n", "name: mysql.extractor\n"),
            Edit::Replace(
                "pyproject.toml",
                "\"shopify.extractor\" = ",
                "\"mysql.extractor\" = ",
            ),
        ],
        expect: &[("S023", Some("src/shopify_osiris/spec.yaml:3"))],
    },
    Case {
        // A built-in moved out of Osiris keeps its name: its range excludes every release
        // that ships it, so it can never be installed beside Osiris's own copy.
        name: "component_name_osiris_ships_with_a_range_without_it",
        edits: &[
            Edit::Replace(SPEC, "name: shopify.extractor\n", "name: mysql.extractor\n"),
            Edit::Replace(SPEC, "- osiris>=0.5.0\n", "- osiris>=0.9.0\n"),
            Edit::Replace(
                "pyproject.toml",
                "\"shopify.extractor\" = ",
                "\"mysql.extractor\" = ",
            ),
            Edit::Replace(
                "pyproject.toml",
                "\"osiris-pipeline>=0.5.0,<1.0.0\"",
                "\"osiris-pipeline>=0.9.0,<1.0.0\"",
            ),
        ],
        expect: &[],
    },
    Case {
        name: "component_name_osiris_ships_with_a_range_that_keeps_some",
        edits: &[
            Edit::Replace(SPEC, "name: shopify.extractor\n", "name: mysql.extractor\n"),
            Edit::Replace(SPEC, "- osiris>=0.5.0\n", "- osiris>=0.5.5\n"),
            Edit::Replace(
                "pyproject.toml",
                "\"shopify.extractor\" = ",
                "\"mysql.extractor\" = ",
            ),
            Edit::Replace(
                "pyproject.toml",
                "\"osiris-pipeline>=0.5.0,<1.0.0\"",
                "\"osiris-pipeline>=0.5.5,<1.0.0\"",
            ),
        ],
        expect: &[("S023", Some("src/shopify_osiris/spec.yaml:3"))],
    },
    Case {
        name: "example_config_with_an_unknown_field",
        edits: &[Edit::Replace(
            SPEC,
            "      resource: customers\n    notes:",
            "      resource: customers\n      bogus_field: 1\n    notes:",
        )],
        expect: &[("S024", Some("src/shopify_osiris/spec.yaml:66"))],
    },
    Case {
        name: "example_config_without_a_required_field",
        edits: &[Edit::Replace(
            SPEC,
            "      resource: customers\n    notes:",
            "      page_size: 10\n    notes:",
        )],
        expect: &[("S024", Some("src/shopify_osiris/spec.yaml:64"))],
    },
    Case {
        name: "runtime_package_not_a_dependency",
        edits: &[Edit::Replace(
            SPEC,
            "    packages:\n      - requests\n",
            "    packages:\n      - requests\n      - boto3>=1.34\n",
        )],
        expect: &[("P013", Some("src/shopify_osiris/spec.yaml:118"))],
    },
    Case {
        name: "driver_imports_an_undeclared_module",
        edits: &[
            Edit::Replace(DRIVER, "import requests\n", "import requests\nfrom .aws import upload\n"),
            Edit::Write(
                "src/shopify_osiris/aws.py",
                b"import json\ntry:\n    import orjson\nexcept ImportError:\n    orjson = None\n\n\ndef upload(rows):\n    import boto3\n    return boto3, json, orjson\n",
            ),
        ],
        expect: &[("D005", Some("src/shopify_osiris/aws.py:9"))],
    },
    Case {
        name: "python_bound_disagrees_with_requires_python",
        edits: &[Edit::Replace(SPEC, "    - python>=3.11\n", "    - python>=3.10\n")],
        expect: &[("R002", Some("src/shopify_osiris/spec.yaml:77"))],
    },
    Case {
        name: "driver_inside_osiris",
        edits: &[Edit::Replace(
            SPEC,
            "shopify_osiris.driver.ShopifyExtractorDriver",
            "osiris.drivers.mysql_extractor_driver.MySQLExtractorDriver",
        )],
        expect: &[("D001", Some("src/shopify_osiris/spec.yaml:111"))],
    },
    Case {
        name: "driver_outside_the_package_with_the_class_inside",
        edits: &[Edit::Replace(
            SPEC,
            "shopify_osiris.driver.ShopifyExtractorDriver",
            "shopify.driver.ShopifyExtractorDriver",
        )],
        expect: &[("D001", Some("src/shopify_osiris/spec.yaml:111"))],
    },
    Case {
        name: "files_inside_osiris",
        edits: &[
            Edit::Write("src/osiris/__init__.py", b""),
            Edit::Write("src/osiris/drivers/__init__.py", b""),
            Edit::Write(
                "src/osiris/drivers/mysql_extractor_driver.py",
                b"class MySQLExtractorDriver:\n    pass\n",
            ),
        ],
        expect: &[("F007", Some("src/osiris/__init__.py"))],
    },
    Case {
        name: "driver_run_takes_arguments_positionally_only",
        edits: &[Edit::Replace(
            DRIVER,
            "def run(self, *, step_id: str, config: dict,",
            "def run(self, step_id: str, config: dict, /,",
        )],
        expect: &[("D004", Some("src/shopify_osiris/driver.py:36"))],
    },
    Case {
        name: "distribution_named_after_another_family",
        edits: &[Edit::Replace(
            "pyproject.toml",
            "name = \"shopify-osiris\"",
            "name = \"tools-osiris\"",
        )],
        expect: &[("P009", Some("pyproject.toml:6"))],
    },
    Case {
        name: "allow_lists_unknown_and_unallowable_codes",
        edits: &[Edit::Replace(
            "pyproject.toml",
            "[tool.pytest.ini_options]",
            "[tool.ocp.check]\nallow = [\"D999\", \"S023\"]\n\n[tool.pytest.ini_options]",
        )],
        expect: &[
            ("P014", Some("pyproject.toml:39")),
            ("P014", Some("pyproject.toml:39")),
        ],
    },
];

fn generate(sandbox: &Sandbox, name: &str) -> PathBuf {
    let root = sandbox.work().join(name);
    run_ok(
        sandbox
            .ocp()
            .args([
                "new",
                "shopify.extractor",
                "--author",
                "Jane Doe <jane@example.com>",
                "--path",
            ])
            .arg(&root),
    );
    root
}

fn apply(root: &Path, edit: &Edit) {
    match edit {
        Edit::Replace(file, from, to) => {
            let path = root.join(file);
            let text = fs::read_to_string(&path).expect("read the file to edit");
            assert!(
                text.contains(from),
                "{file} no longer contains {from:?}; update the case"
            );
            fs::write(&path, text.replacen(from, to, 1)).expect("write the edited file");
        }
        Edit::Write(file, bytes) => {
            let path = root.join(file);
            fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            fs::write(path, bytes).expect("write")
        }
        Edit::Delete(file) => fs::remove_file(root.join(file)).expect("delete"),
        Edit::Symlink(link, target) => {
            std::os::unix::fs::symlink(target, root.join(link)).expect("symlink")
        }
    }
}

#[test]
fn a_generated_package_has_no_findings() {
    let sandbox = Sandbox::new();
    let root = generate(&sandbox, "clean");
    let output = run_ok(sandbox.ocp().args(["check", "--path"]).arg(&root));
    assert_eq!(
        stderr(&output),
        "     Checked shopify-osiris v0.1.0: no problems found\n"
    );
}

#[test]
fn each_defect_is_reported_with_its_code_and_location() {
    let sandbox = Sandbox::new();
    for case in CASES {
        let root = generate(&sandbox, case.name);
        for edit in case.edits {
            apply(&root, edit);
        }
        let json = run(sandbox
            .ocp()
            .args(["check", "--format", "json", "--path"])
            .arg(&root));
        let report: serde_json::Value = serde_json::from_slice(&json.stdout)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {}", case.name, stdout(&json)));
        let found: Vec<(String, Option<String>)> = report["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .map(|d| {
                let location = d["file"].as_str().map(|file| match d["line"].as_u64() {
                    Some(line) => format!("{file}:{line}"),
                    None => file.to_owned(),
                });
                (d["code"].as_str().expect("code").to_owned(), location)
            })
            .collect();
        for (code, location) in case.expect {
            let hit = found.iter().any(|(found_code, found_location)| {
                found_code == code
                    && match location {
                        None => true,
                        Some(expected) => found_location.as_deref().is_some_and(|l| {
                            l == *expected || (!expected.contains(':') && l.starts_with(expected))
                        }),
                    }
            });
            assert!(
                hit,
                "{}: expected {code} at {location:?}, found {found:?}",
                case.name
            );
        }
        let has_errors = report["summary"]["errors"].as_u64().expect("errors") > 0;
        let expects_error = !WARNING_CASES.contains(&case.name)
            && case
                .expect
                .iter()
                .any(|(code, _)| !WARNING_CODES.contains(code));
        assert_eq!(
            json.status.code(),
            Some(if has_errors { 1 } else { 0 }),
            "{}: exit status must follow the error count",
            case.name
        );
        assert_eq!(has_errors, expects_error, "{}: {found:?}", case.name);

        let human = run(sandbox.ocp().args(["check", "--path"]).arg(&root));
        let text = stderr(&human).replace(&root.display().to_string(), "[PACKAGE]");
        insta::assert_snapshot!(
            format!("check_{}", case.name),
            format!("exit: {:?}\n{text}", human.status.code())
        );
    }
}

#[test]
fn credentials_are_never_printed() {
    let sandbox = Sandbox::new();
    let root = generate(&sandbox, "leak");
    let secret = "shpat_0123456789abcdef0123456789abcdef";
    apply(
        &root,
        &Edit::Replace(
            DRIVER,
            "DEFAULT_PAGE_SIZE = 100\n",
            "DEFAULT_PAGE_SIZE = 100\nSHOP_TOKEN = \"shpat_0123456789abcdef0123456789abcdef\"\n",
        ),
    );
    let human = run(sandbox.ocp().args(["check", "--path"]).arg(&root));
    let json = run(sandbox
        .ocp()
        .args(["check", "--format", "json", "--path"])
        .arg(&root));
    assert_eq!(human.status.code(), Some(1));
    for output in [&human, &json] {
        assert!(
            !stdout(output).contains(secret) && !stderr(output).contains(secret),
            "the credential leaked"
        );
    }
    assert!(
        stderr(&human).contains("SHOP_TOKEN = \"**************************************\""),
        "{}",
        stderr(&human)
    );
}

#[test]
fn json_output_follows_its_schema() {
    let schema = include_str!("../schemas/check-report.schema.json");
    let sandbox = Sandbox::new();
    let root = generate(&sandbox, "schema");
    apply(
        &root,
        &Edit::Replace(
            SPEC,
            "version: 0.1.0\n",
            "version: 0.1.0\nfamily: shopify\n",
        ),
    );
    let output = run(sandbox
        .ocp()
        .args(["check", "--format", "json", "--path"])
        .arg(&root));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    common::assert_matches_schema(schema, &report);
    assert_eq!(report["package"]["name"], "shopify-osiris");
    assert_eq!(report["diagnostics"][0]["source_line"], "family: shopify");
    assert_eq!(report["diagnostics"][0]["column"], 1);
}

#[test]
fn a_missing_directory_is_a_clear_error() {
    let sandbox = Sandbox::new();
    let output = run(sandbox.ocp().args(["check", "--path", "nowhere"]));
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output), "error: `nowhere` does not exist\n");
}

#[test]
fn every_code_is_documented() {
    let docs = include_str!("../docs/check-codes.md");
    let codes = include_str!("../src/check/codes.rs");
    for line in codes
        .lines()
        .filter(|line| line.starts_with("pub const") && line.contains(": &str = \""))
    {
        let code = line.split('"').nth(1).expect("a quoted code");
        assert!(
            docs.contains(&format!("| {code} |")),
            "{code} is not in docs/check-codes.md"
        );
    }
}

/// Runs `ocp` as an unprivileged user when the tests run as root (permission bits do not
/// stop root), so an unreadable directory is unreadable.
fn ocp_unprivileged(sandbox: &Sandbox) -> std::process::Command {
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !is_root {
        return sandbox.ocp();
    }
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(sandbox.dir.path(), fs::Permissions::from_mode(0o755))
        .expect("open the sandbox to others");
    let mut command = std::process::Command::new("setpriv");
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_ocp"))
        .env("NO_COLOR", "1")
        .env("OCP_HOME", sandbox.home())
        .current_dir(sandbox.work());
    command
}

#[test]
fn an_unreadable_directory_is_reported_not_skipped() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    let root = generate(&sandbox, "locked");
    let locked = root.join("src/shopify_osiris/private");
    fs::create_dir_all(&locked).expect("mkdir");
    fs::write(locked.join("data.py"), "x = 1\n").expect("write");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).expect("chmod");
    let output = run(ocp_unprivileged(&sandbox)
        .args(["check", "--path"])
        .arg(&root));
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).expect("chmod back");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("error[F005]: cannot read `src/shopify_osiris/private`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn format_placeholders_and_marked_examples_are_not_credentials() {
    let sandbox = Sandbox::new();
    let root = generate(&sandbox, "placeholders");
    apply(
        &root,
        &Edit::Replace(
            DRIVER,
            "DEFAULT_PAGE_SIZE = 100\n",
            "DEFAULT_PAGE_SIZE = 100\n\
             URL = f\"mysql+pymysql://{user}:{password}@db.example.com/app\"\n\
             LEGACY = \"postgresql://%(user)s:%(password)s@db/app\"\n\
             SHELL = \"https://robot:${ROBOT_PASSWORD}@git.example.com/repo.git\"\n\
             FIXTURE_TOKEN = \"shpat_0123456789abcdef0123456789abcdef\"  # pragma: allowlist secret\n\
             # pragma: allowlist nextline secret\n\
             OTHER_TOKEN = \"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\"\n",
        ),
    );
    let output = run(sandbox.ocp().args(["check", "--path"]).arg(&root));
    assert_eq!(
        stderr(&output),
        "     Checked shopify-osiris v0.1.0: no problems found\n"
    );
    assert_eq!(output.status.code(), Some(0));

    // The same credential without the pragma is found, on the line it is on.
    apply(
        &root,
        &Edit::Replace(DRIVER, "  # pragma: allowlist secret\n", "\n"),
    );
    let output = run(sandbox.ocp().args(["check", "--path"]).arg(&root));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("error[X002]")
            && stderr(&output).contains("--> src/shopify_osiris/driver.py:19:18"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn allowed_codes_are_left_out_and_counted() {
    let sandbox = Sandbox::new();
    let root = generate(&sandbox, "allowed");
    for edit in [
        Edit::Replace(
            DRIVER,
            "def run(self, *, step_id: str,",
            "def run(self, step_id: str,",
        ),
        Edit::Replace(
            DRIVER,
            "DEFAULT_PAGE_SIZE = 100\n",
            "DEFAULT_PAGE_SIZE = 100\nSHOP_TOKEN = \"shpat_0123456789abcdef0123456789abcdef\"\n",
        ),
        Edit::Replace(
            "pyproject.toml",
            "[tool.pytest.ini_options]",
            "[tool.ocp.check]\nallow = [\"D004\", \"x002\"]\n\n[tool.pytest.ini_options]",
        ),
    ] {
        apply(&root, &edit);
    }
    let output = run(sandbox.ocp().args(["check", "--path"]).arg(&root));
    assert_eq!(
        stderr(&output),
        "     Checked shopify-osiris v0.1.0: no problems found (2 findings allowed by `[tool.ocp.check]`: D004, X002)\n"
    );
    let json = run(sandbox
        .ocp()
        .args(["check", "--format", "json", "--path"])
        .arg(&root));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    common::assert_matches_schema(include_str!("../schemas/check-report.schema.json"), &report);
    assert_eq!(report["summary"]["allowed"], 2);
    assert_eq!(report["summary"]["ok"], true);
    assert_eq!(report["diagnostics"], serde_json::json!([]));
}
