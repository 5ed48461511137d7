//! One function per user-facing operation. An operation takes a plain `*Opts` struct (already
//! resolved from flags, environment and config by the CLI) and the [`Shell`](crate::shell::Shell)
//! for status lines, calls the domain modules, and returns a result the CLI renders.

pub mod add;
pub mod audit;
pub mod build;
pub mod changes;
pub mod check;
pub mod checkpoints;
pub mod config;
pub mod environment;
pub mod history;
pub mod index;
pub mod install;
pub mod key;
pub mod migrate;
pub mod new;
pub mod owner;
pub mod publish;
pub mod registry;
pub mod schema;
pub mod search;
pub mod sign;
pub mod site;
pub mod test;
pub mod uninstall;
pub mod verify;
pub mod version;
