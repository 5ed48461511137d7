//! The stable codes of `ocp check` findings. A code never changes meaning once released;
//! `docs/check-codes.md` explains each one. Prefixes: `F` files, `S` spec.yaml, `P`
//! pyproject.toml, `V` versions, `R` ranges stated twice, `D` the driver, `X` secrets.

// Files.
pub const MISSING_FILE: &str = "F001";
pub const MISSING_DOC: &str = "F002";
pub const NOT_UTF8: &str = "F003";
pub const SYMLINK_LEAVES: &str = "F004";
pub const UNREADABLE: &str = "F005";
pub const SYMLINK: &str = "F006";
pub const OSIRIS_NAMESPACE: &str = "F007";

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
pub const BUILTIN_NAME: &str = "S023";
pub const EXAMPLE_CONFIG: &str = "S024";

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
pub const RUNTIME_PACKAGE: &str = "P013";
pub const ALLOW_LIST: &str = "P014";

// Versions.
pub const VERSION_MISMATCH: &str = "V001";
pub const BAD_VERSION: &str = "V002";

// The Osiris range.
pub const OSIRIS_RANGE_DISAGREES: &str = "R001";
pub const PYTHON_RANGE_DISAGREES: &str = "R002";

// The driver.
pub const DRIVER_MODULE: &str = "D001";
pub const DRIVER_CLASS: &str = "D002";
pub const DRIVER_RUN: &str = "D003";
pub const DRIVER_SIGNATURE: &str = "D004";
pub const DRIVER_IMPORT: &str = "D005";

// Secrets.
pub const SECRET_NOT_DECLARED: &str = "X001";
pub const CREDENTIAL_LITERAL: &str = "X002";
pub const SECRET_DEFAULT: &str = "X003";

/// Findings that `[tool.ocp.check] allow` cannot silence: a package with one of them cannot
/// be built, installed or loaded by Osiris (or, for S023, must never be published).
pub const NOT_ALLOWABLE: &[&str] = &[
    MISSING_FILE,
    NOT_UTF8,
    SYMLINK_LEAVES,
    UNREADABLE,
    SYMLINK,
    OSIRIS_NAMESPACE,
    YAML_SYNTAX,
    SPEC_NOT_MAPPING,
    SCHEMA,
    PLAN_FAMILY_ROLE,
    PLAN_OSIRIS_VERSION,
    PLAN_PLUGIN_VERSION,
    DRIVER_COLON,
    REQUIRES_TWO_BOUNDS,
    DEPRECATED_FIELD,
    COMPONENT_NAME,
    VERSION_NOT_STRING,
    NO_DRIVER,
    BUILTIN_NAME,
    TOML_SYNTAX,
    PROJECT_FIELD,
    OSIRIS_DEPENDENCY,
    NO_ENTRY_POINTS,
    ENTRY_POINT_NAME,
    ENTRY_POINT_TARGET,
    PACKAGE_DATA,
    BAD_REQUIREMENT,
    README_FIELD,
    VERSION_MISMATCH,
    BAD_VERSION,
    DRIVER_MODULE,
    DRIVER_CLASS,
    DRIVER_RUN,
];

/// Every code, so an `allow` list can be checked for typos.
pub const ALL: &[&str] = &[
    MISSING_FILE,
    MISSING_DOC,
    NOT_UTF8,
    SYMLINK_LEAVES,
    UNREADABLE,
    SYMLINK,
    OSIRIS_NAMESPACE,
    YAML_SYNTAX,
    SPEC_NOT_MAPPING,
    SCHEMA,
    YAML_ALIAS,
    YAML11_BOOLEAN,
    PLAN_FAMILY_ROLE,
    PLAN_OSIRIS_VERSION,
    PLAN_PLUGIN_VERSION,
    DRIVER_COLON,
    REQUIRES_TWO_BOUNDS,
    DEPRECATED_FIELD,
    LOAD_MODE,
    COMPONENT_NAME,
    VERSION_NOT_STRING,
    NO_DRIVER,
    BUILTIN_NAME,
    EXAMPLE_CONFIG,
    TOML_SYNTAX,
    PROJECT_FIELD,
    REQUIRES_PYTHON,
    OSIRIS_DEPENDENCY,
    NO_ENTRY_POINTS,
    ENTRY_POINT_NAME,
    ENTRY_POINT_TARGET,
    PACKAGE_DATA,
    DISTRIBUTION_NAME,
    BAD_REQUIREMENT,
    OSIRIS_UPPER_BOUND,
    README_FIELD,
    RUNTIME_PACKAGE,
    ALLOW_LIST,
    VERSION_MISMATCH,
    BAD_VERSION,
    OSIRIS_RANGE_DISAGREES,
    PYTHON_RANGE_DISAGREES,
    DRIVER_MODULE,
    DRIVER_CLASS,
    DRIVER_RUN,
    DRIVER_SIGNATURE,
    DRIVER_IMPORT,
    SECRET_NOT_DECLARED,
    CREDENTIAL_LITERAL,
    SECRET_DEFAULT,
];
