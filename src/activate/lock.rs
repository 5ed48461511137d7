//! The environment lock: shared for commands that read an environment (`list`, `tree`,
//! `--dry-run`), exclusive for those that change it (`install`, `update`, `uninstall`).
//!
//! The lock is an advisory `flock` on the environment's own folder (the one holding
//! `pyvenv.cfg`), so it lives with the environment whatever `OCP_HOME` each process uses,
//! two paths to one environment lock the same thing, nothing is ever written into the
//! environment to hold it, and readers need no write access. The operating system drops it
//! when the process dies, so a lock is never stale. (uv locks `<env>/.lock`; ocp runs uv
//! inside its own lock, so the two must not be the same file.)
//!
//! A holder of the exclusive lock may hand it to a child process ([`ExclusiveLock::child_handle`]):
//! the lock then lasts until the child exits too, so an installer that outlives a killed
//! ocp keeps every other ocp out until it has finished.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use super::ActivateError;
use crate::pyenv::PythonEnv;

/// An environment locked for reading: nobody changes it while this is held.
#[derive(Debug)]
pub struct SharedLock {
    held: Held,
}

/// An environment locked for changing it: nobody else reads or changes it while this is held.
#[derive(Debug)]
pub struct ExclusiveLock {
    held: Held,
}

#[derive(Debug)]
struct Held {
    /// `None` where the filesystem has no locks (some network filesystems).
    file: Option<File>,
    root: PathBuf,
}

impl SharedLock {
    /// Waits for the shared lock on `env`, calling `on_wait` first when another process
    /// holds it exclusively.
    pub fn acquire(env: &PythonEnv, on_wait: impl FnOnce()) -> Result<SharedLock, ActivateError> {
        Ok(SharedLock {
            held: Held::acquire(&env.root, false, on_wait)?,
        })
    }

    /// False where the filesystem does not support locks, so the caller can warn.
    pub fn is_effective(&self) -> bool {
        self.held.file.is_some()
    }
}

impl ExclusiveLock {
    /// Waits for the exclusive lock on `env`, calling `on_wait` first when another process
    /// holds the lock.
    pub fn acquire(
        env: &PythonEnv,
        on_wait: impl FnOnce(),
    ) -> Result<ExclusiveLock, ActivateError> {
        Ok(ExclusiveLock {
            held: Held::acquire(&env.root, true, on_wait)?,
        })
    }

    /// False where the filesystem does not support locks, so the caller can warn.
    pub fn is_effective(&self) -> bool {
        self.held.file.is_some()
    }

    /// Turns the lock into a shared one, for a reader that first had to recover.
    pub fn downgrade(self) -> Result<SharedLock, ActivateError> {
        if let Some(file) = &self.held.file {
            file.lock_shared()
                .map_err(super::io("lock", &self.held.root))?;
        }
        Ok(SharedLock { held: self.held })
    }

    /// A handle on the lock for a child process to inherit (never as its standard input: it
    /// is a folder, and Python refuses a folder as stdin): the lock is
    /// held until this process and the child have both exited. `None` without locks.
    pub fn child_handle(&self) -> Result<Option<File>, ActivateError> {
        self.held
            .file
            .as_ref()
            .map(|file| file.try_clone().map_err(super::io("lock", &self.held.root)))
            .transpose()
    }

    /// Whether this lock is on `env` (transactions check that they were given the right one).
    pub(super) fn covers(&self, env: &PythonEnv) -> bool {
        self.held.root == env.root
    }
}

impl Held {
    fn acquire(
        root: &Path,
        exclusive: bool,
        on_wait: impl FnOnce(),
    ) -> Result<Held, ActivateError> {
        let file = File::open(root).map_err(super::io("open", root))?;
        let attempt = if exclusive {
            file.try_lock()
        } else {
            file.try_lock_shared()
        };
        let result = match attempt {
            Ok(()) => Ok(()),
            Err(TryLockError::WouldBlock) => {
                on_wait();
                if exclusive {
                    file.lock()
                } else {
                    file.lock_shared()
                }
            }
            Err(TryLockError::Error(error)) => Err(error),
        };
        match result {
            Ok(()) => Ok(Held {
                file: Some(file),
                root: root.to_path_buf(),
            }),
            Err(error) if unsupported(&error) => Ok(Held {
                file: None,
                root: root.to_path_buf(),
            }),
            Err(source) => Err(ActivateError::Io {
                action: "lock",
                path: root.to_path_buf(),
                source,
            }),
        }
    }
}

/// Filesystems without `flock` (some NFS setups) answer ENOLCK or ENOTSUP.
fn unsupported(error: &std::io::Error) -> bool {
    #[cfg(target_os = "linux")]
    const ENOLCK: i32 = 37;
    #[cfg(not(target_os = "linux"))]
    const ENOLCK: i32 = 77;
    error.kind() == std::io::ErrorKind::Unsupported || error.raw_os_error() == Some(ENOLCK)
}
