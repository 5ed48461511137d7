#![allow(dead_code)]

//! A real MySQL-compatible server for tests: Debian's MariaDB (`apt-get install -y
//! mariadb-server`; `.ci/run` installs it), started by the test itself as a child process,
//! in a temporary data directory, listening on 127.0.0.1 only, and stopped when the value is
//! dropped. The packaged system service is never used. A machine without MariaDB fails the
//! test with a message that says how to install it.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The database every server starts with.
pub const DATABASE: &str = "shop";
/// The user and password clients use. The server runs with `--skip-grant-tables`, so any
/// password is accepted; the tests still pass one, as Osiris's connections do.
pub const USER: &str = "osiris";
pub const PASSWORD: &str = "maria-test-password";

/// A running server; dropping it stops the server and removes its data.
pub struct MariaDb {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

/// The folders MariaDB's programs live in on Debian, besides PATH.
const SBIN: &[&str] = &["/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"];

fn program(name: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(SBIN.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the MySQL tests need MariaDB's `{name}`: install it with `apt-get install -y mariadb-server` (`.ci/run` does)"
            )
        })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("find a free port on 127.0.0.1")
}

impl MariaDb {
    /// Initializes a data directory and starts a server on a free port of 127.0.0.1.
    pub fn start() -> MariaDb {
        let dir = tempfile::Builder::new()
            .prefix("ocp-mariadb-")
            .tempdir()
            .expect("create a directory for MariaDB");
        let data = dir.path().join("data");
        let mut install = Command::new(program("mariadb-install-db"));
        install
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg("--skip-test-db")
            .arg("--auth-root-authentication-method=normal");
        if is_root() {
            install.arg("--user=root");
        }
        let output = install.output().expect("run mariadb-install-db");
        assert!(
            output.status.success(),
            "mariadb-install-db failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let port = free_port();
        let socket = dir.path().join("mysqld.sock");
        let log = dir.path().join("error.log");
        let mut server = Command::new(program("mariadbd"));
        server
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!(
                "--pid-file={}",
                dir.path().join("mysqld.pid").display()
            ))
            .arg(format!("--log-error={}", log.display()))
            .arg(format!("--port={port}"))
            .arg("--bind-address=127.0.0.1")
            .arg("--skip-grant-tables")
            .arg("--innodb-buffer-pool-size=16M")
            .arg("--skip-log-bin")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if is_root() {
            server.arg("--user=root");
        }
        let child = server.spawn().expect("start mariadbd");
        let mut db = MariaDb { port, dir, child };
        db.wait_until_ready(&log);
        db.client(&format!("CREATE DATABASE {DATABASE}"));
        db
    }

    fn wait_until_ready(&mut self, log: &Path) {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "mariadbd exited ({status}):\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && self.try_client("SELECT 1").is_ok()
            {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "mariadbd did not answer within 90 seconds:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn try_client(&self, sql: &str) -> Result<String, String> {
        let output = Command::new(program("mariadb"))
            .arg("--no-defaults")
            .arg("--protocol=tcp")
            .arg("--host=127.0.0.1")
            .arg(format!("--port={}", self.port))
            .arg(format!("--user={USER}"))
            .arg("--batch")
            .arg("--skip-column-names")
            .arg("-e")
            .arg(sql)
            .output()
            .map_err(|error| error.to_string())?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }

    /// Runs SQL with the `mariadb` client and returns what it printed.
    pub fn client(&self, sql: &str) -> String {
        self.try_client(sql)
            .unwrap_or_else(|error| panic!("`{sql}` failed: {error}"))
    }

    /// An `osiris_connections.yaml` whose default `mysql` connection is this server; the
    /// password comes from the environment variable `password_variable`.
    pub fn connections_yaml(&self, password_variable: &str) -> String {
        format!(
            "version: 1\nconnections:\n  mysql:\n    local:\n      default: true\n      host: 127.0.0.1\n      port: {}\n      database: {DATABASE}\n      user: {USER}\n      password: ${{{password_variable}}}\n",
            self.port
        )
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        // The data directory goes with `dir`, dropped after this.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
