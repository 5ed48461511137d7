//! The stable codes of `ocp check` findings. A code never changes meaning once released;
//! `docs/check-codes.md` explains each one. Prefixes: `F` files, `S` spec.yaml, `P`
//! pyproject.toml, `V` versions, `R` the Osiris range, `D` the driver, `X` secrets.

// Files.
pub const MISSING_FILE: &str = "F001";
pub const MISSING_DOC: &str = "F002";
pub const NOT_UTF8: &str = "F003";
pub const SYMLINK_LEAVES: &str = "F004";
pub const UNREADABLE: &str = "F005";
pub const SYMLINK: &str = "F006";

// spec.yaml.
pub const YAML_SYNTAX: &str = "S001";
pub const SPEC_NOT_MAPPING: &str = "S002";
pub const SCHEMA: &str = "S003";
pub const YAML_ALIAS: &str = "S004";
pub const YAML11_BOOLEAN: &str = "S005";
pub const PLAN_FAMILY_ROLE: &str = "S010";
pub const PLAN_OSIRIS_VERSION: &str = "S011";
pub const PLAN_PLUGIN_VERSION: &str = "S012";
pub const DRIVER_COLON: &str = "S013";
pub const REQUIRES_TWO_BOUNDS: &str = "S014";
pub const DEPRECATED_FIELD: &str = "S015";
pub const LOAD_MODE: &str = "S016";
pub const COMPONENT_NAME: &str = "S020";
pub const VERSION_NOT_STRING: &str = "S021";
pub const NO_DRIVER: &str = "S022";

// pyproject.toml.
pub const TOML_SYNTAX: &str = "P001";
pub const PROJECT_FIELD: &str = "P002";
pub const REQUIRES_PYTHON: &str = "P003";
pub const OSIRIS_DEPENDENCY: &str = "P004";
pub const NO_ENTRY_POINTS: &str = "P005";
pub const ENTRY_POINT_NAME: &str = "P006";
pub const ENTRY_POINT_TARGET: &str = "P007";
pub const PACKAGE_DATA: &str = "P008";
pub const DISTRIBUTION_NAME: &str = "P009";
pub const BAD_REQUIREMENT: &str = "P010";
pub const OSIRIS_UPPER_BOUND: &str = "P011";
pub const README_FIELD: &str = "P012";

// Versions.
pub const VERSION_MISMATCH: &str = "V001";
pub const BAD_VERSION: &str = "V002";

// The Osiris range.
pub const OSIRIS_RANGE_DISAGREES: &str = "R001";

// The driver.
pub const DRIVER_MODULE: &str = "D001";
pub const DRIVER_CLASS: &str = "D002";
pub const DRIVER_RUN: &str = "D003";
pub const DRIVER_SIGNATURE: &str = "D004";

// Secrets.
pub const SECRET_NOT_DECLARED: &str = "X001";
pub const CREDENTIAL_LITERAL: &str = "X002";
pub const SECRET_DEFAULT: &str = "X003";
