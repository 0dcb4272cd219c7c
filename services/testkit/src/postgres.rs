//! A private Postgres cluster for tests that stop the database under a running worker.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use crate::PortHold;

/// `initdb` + `pg_ctl` on a free port in a temporary directory, owned by the `postgres` user
/// when the tests run as root (Postgres refuses to run as root). Stopped and removed on drop.
pub struct PostgresServer {
    dir: tempfile::TempDir,
    port: u16,
    /// The port, while the server is not running (before its first start, and while stopped).
    held: Mutex<Option<PortHold>>,
}

impl PostgresServer {
    pub fn start() -> PostgresServer {
        let dir = tempfile::Builder::new().prefix("testkit-pg-").tempdir().expect("a temporary directory");
        if is_root() {
            run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()));
        }
        let server = PostgresServer { dir, port: crate::free_port(), held: Mutex::default() };
        // Held through `initdb` (a second or two) as through an outage.
        server.hold_port();
        run(as_postgres(&pg_bin("initdb"))
            .args(["-U", "postgres", "--auth=trust", "--encoding=UTF8", "-D"])
            .arg(server.data()));
        server.resume();
        server
    }

    /// Connection URL of the `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stop the server (fast shutdown: open connections are cut, as in an outage).
    pub fn stop(&self) {
        run(as_postgres(&pg_bin("pg_ctl")).args(["-m", "fast", "-w", "stop", "-D"]).arg(self.data()));
        self.hold_port();
    }

    /// Start it again on the same port, with its data.
    pub fn resume(&self) {
        self.held().take();
        let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1", self.port, self.dir.path().display());
        let log = self.dir.path().join("postgres.log");
        // The server's own log says why it did not start; the directory is gone after the test.
        run_explained(
            as_postgres(&pg_bin("pg_ctl"))
                .args(["-w", "-t", "30", "-o", &options, "-l"])
                .arg(&log)
                .arg("-D")
                .arg(self.data())
                .arg("start"),
            || std::fs::read_to_string(&log).unwrap_or_default(),
        );
    }

    /// Keep the port while the server is not running (see `PortHold`).
    fn hold_port(&self) {
        let hold = PortHold::new(self.port).unwrap_or_else(|e| panic!("holding port {} for Postgres: {e}", self.port));
        *self.held() = Some(hold);
    }

    fn held(&self) -> MutexGuard<'_, Option<PortHold>> {
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let _ = as_postgres(&pg_bin("pg_ctl")).args(["-m", "immediate", "-w", "stop", "-D"]).arg(self.data()).output();
    }
}

fn pg_bin(name: &str) -> PathBuf {
    PathBuf::from(std::env::var("PG_BIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".to_owned())).join(name)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.starts_with(b"0\n"))
}

fn as_postgres(program: &std::path::Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command) {
    run_explained(command, String::new);
}

/// Run `command`; if it fails, panic with its output and what `explain` adds.
fn run_explained(command: &mut Command, explain: impl FnOnce() -> String) {
    let output = command.output().unwrap_or_else(|e| panic!("running {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        explain()
    );
}
