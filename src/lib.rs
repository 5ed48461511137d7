//! `ocp`: the package manager and build toolchain for Osiris Component Packages (OCPs).
//!
//! # Architecture
//!
//! Dependencies point one way: `cli -> ops -> domain -> model`. A module may use the modules
//! to its right, never those to its left.
//!
//! - [`cli`]: clap definitions, one file per command. Turns flags into a plain `*Opts`
//!   struct, resolves settings once, calls one function in [`ops`], renders the result through
//!   the [`shell::Shell`], and maps errors to exit codes. Nothing else knows about clap.
//! - [`ops`]: one function per user-facing operation (`new`, `check`, `build`). Orchestrates
//!   domain modules and reports status lines through the shell it is given.
//!   Long operations are pipelines of named stages (`ops::install`: request, resolution,
//!   plan, fetch and verify, stage, commit, report), so `--dry-run` stops after the plan.
//! - domain modules, which never print and never know the CLI:
//!   - [`package`]: reads a package directory (pyproject.toml, spec.yaml, Python sources)
//!     into located models, so every finding can point at `file:line:column`; its `edit`
//!     makes the few edits `ocp add` and `ocp version` need, keeping each file's formatting;
//!   - [`check`]: the rules that `ocp check` runs over a loaded package, producing
//!     [`diagnostics::Diagnostic`]s with stable codes, and the component names each Osiris
//!     release ships (`check::builtin`, data read from the releases' wheels);
//!   - [`build`]: file selection, PKG-INFO and the `ocp.json` manifest, and the reproducible
//!     tarball writer;
//!   - [`scaffold`]: the templates embedded from `templates/` and their rendering, for a
//!     new package (`ocp new`) or one more component in an existing one (`ocp add`);
//!   - [`schemas`]: the JSON schemas embedded from `schemas/`;
//!   - [`index`]: the git-backed package index: its format (`config.json`, one JSON-lines
//!     file per package at a sharded path);
//!     `index::trust` is the one check every reader of an entry runs before acting on it
//!     (its owner signed every field resolution and installation act on);
//!     `index::reader` is how its files are read (a checkout, the commit a checkpoint names
//!     through `index::snapshot`, or a static HTTP server through `index::sparse`), and
//!     `index::checkpoint` the index key's signed checkpoints that every such reader checks
//!     files against (ops keeps the pinned key and the last accepted checkpoint:
//!     `ops::checkpoints`);
//!   - [`resolve`]: which version of each OCP to install (pubgrub over the index entries,
//!     with the environment's Osiris and Python as fixed virtual packages; a component
//!     request allows only versions that provide the component), and why nothing fits when
//!     nothing does;
//!   - [`signing`]: minisign-format keys and signatures (ed25519), the trusted comment that
//!     binds a signature to an OCP's name, version and sha256, and the trusted keys files;
//!     `signing::canonical` is the canonical form of an entry's signed fields, whose digest
//!     the trusted comment also carries;
//!   - [`lockfile`]: `ocp.lock`, what a resolution chose (versions, checksums, signers,
//!     index and environment): reading with located errors, writing in a stable order,
//!     and the difference between two locks;
//!   - [`install_spec`]: what `ocp install` may be asked for (`shopify.extractor@^1.2`);
//!   - [`pyenv`]: Python environments read from disk (site-packages, Python and Osiris
//!     versions), without starting Python;
//!   - [`store`]: the read-only plugin store under `OCP_HOME/store/v1`, filled through
//!     [`intake`];
//!   - [`intake`]: the trust boundary for tarballs: the one bounded archive reader (used by
//!     the store, `sign`, `verify`, local installs and the component directory), `ocp.json` parsed into newtypes, the
//!     checks that files, PKG-INFO, specs and the index entry agree, and what an OCP may
//!     install into an environment;
//!   - [`record`]: RECORD files written and read as CSV;
//!   - [`activate`]: installing stored packages into an environment (modules, dist-info,
//!     RECORD, component specs) and removing them, as one journaled transaction per
//!     command, under the environment lock (shared for readers, exclusive for writers),
//!     with the recovery of a transaction a killed process left;
//!   - [`fetch`]: downloads of tarballs into the cache keyed by sha256 (several at once,
//!     with retries, checked before they enter the cache), or from the cache alone offline.
//!   - [`oci`]: OCI registries as tarball storage: the distribution-spec client (blocking
//!     reqwest, the bearer-token flow, credentials from ocp's settings, Docker's and Helm's
//!     `config.json` and credential helpers), the OCP artifact's manifests, create-only
//!     pushes and pulls checked against the signed sha256.
//!   - [`site`]: the component directory, a static site made from an index (catalog of
//!     packages with verified signatures, tarball details, sanitized Markdown, askama pages,
//!     a prebuilt search index, incremental output).
//!   - [`testenv`]: the environments `ocp test` runs a package's tests in (made with uv,
//!     cached by their inputs under `OCP_HOME/test-envs/v1`), which Osiris releases exist,
//!     and running pytest with a time limit.
//!   - [`project`]: the Osiris project a command works in (`osiris.yaml` or
//!     `.osiris/config.yaml`, from the current folder upwards), where the policy is read
//!     and `ocp.lock` lives;
//!   - [`settings`]: ocp's settings resolved once per command from flags, `OCP_*`
//!     variables, the project's `plugins:` section, the user's `config.toml` and defaults,
//!     each with where it came from (`ocp config show`);
//!   - [`policy`]: the plugin policy (enabled, allowlist, denylist, trusted signers), which
//!     judges a version on its signed fields; the resolver takes it as an
//!     [`resolve::Admission`];
//!   - [`audit`]: what `ocp audit` finds, and its file checks (RECORD hashes, unclaimed
//!     files, added `.pth` files);
//!   - [`migrate`]: Osiris's built-in components read from an installation or source tree
//!     (spec, driver or connector, the sibling modules it imports) and rewritten for a
//!     package of their own, with the honest Osiris range (no release that ships the
//!     built-in), and what `ocp migrate --verify` concludes from running both side by side.
//! - [`progress`]: the `Reporter` trait through which domain code reports long work; the
//!   CLI shows it with indicatif (`cli::progress`), everyone else passes `NoReporter`.
//! - [`model`]: newtypes for the nouns (`ComponentName`, `PackageName`, `PackageVersion`,
//!   `KeyId`, `Checksum`). Parsed at the edge; the rest of the code cannot hold an
//!   invalid one.
//! - [`diagnostics`]: the finding model shared by the domain modules and its rendering
//!   (rustc-style text through `annotate-snippets`, or JSON).
//! - [`shell`]: the one output object (verbosity, color, status lines on stderr, data on
//!   stdout).
//! - [`error`]: help lines, the bug marker and exit codes, usable from every layer.
//! - [`fsutil`]: atomic writes and other filesystem helpers.
//! - [`childenv`]: the environment of the programs ocp starts (git, uv, pip), without ocp's
//!   secrets.
//! - [`home`]: where ocp keeps per-user files (`OCP_HOME`); resolved once by the CLI.

#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod activate;
pub mod audit;
pub mod build;
pub mod check;
pub mod childenv;
pub mod cli;
pub mod diagnostics;
pub mod error;
pub mod fetch;
pub mod fsutil;
pub mod home;
pub mod index;
pub mod install_spec;
pub mod intake;
pub mod lockfile;
pub mod migrate;
pub mod model;
pub mod oci;
pub mod ops;
pub mod package;
pub mod policy;
pub mod progress;
pub mod project;
pub mod pyenv;
pub mod record;
pub mod resolve;
pub mod scaffold;
pub mod schemas;
pub mod settings;
pub mod shell;
pub mod signing;
pub mod site;
pub mod store;
pub mod testenv;
