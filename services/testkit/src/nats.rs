use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A nats-server with JetStream on loopback, owned by one test. Killed when dropped.
pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    store: tempfile::TempDir,
    sync_always: bool,
}

impl NatsServer {
    /// Start on a free port with a fresh store.
    pub async fn start() -> NatsServer {
        Self::start_with(false)
    }

    /// Start a server that fsyncs every JetStream write (`sync_interval: always`) instead of the
    /// default of every 2 minutes, for durability comparisons.
    pub async fn start_syncing_always() -> NatsServer {
        Self::start_with(true)
    }

    fn start_with(sync_always: bool) -> NatsServer {
        let store = tempfile::tempdir().expect("temp dir for the JetStream store");
        let mut server = NatsServer { child: None, port: 0, store, sync_always };
        server.spawn();
        server
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub async fn client(&self) -> async_nats::Client {
        async_nats::connect(self.url()).await.expect("connect to the test nats-server")
    }

    /// Stop the server abruptly (SIGKILL): in-flight work on the server side is cut off.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start again on the same port with the same store, as after a crash or an upgrade.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn spawn(&mut self) {
        let bin = std::env::var("NATS_SERVER_BIN").unwrap_or_else(|_| "nats-server".to_owned());
        // Port -1 lets the server pick a free one, which it reports; a restart reuses it.
        let port = if self.port == 0 { "-1".to_owned() } else { self.port.to_string() };
        let mut command = Command::new(&bin);
        command.args(["--jetstream", "--addr", "127.0.0.1", "--port", &port, "--store_dir"]).arg(self.store.path());
        if self.sync_always {
            let config = self.store.path().join("sync-always.conf");
            std::fs::write(&config, "jetstream { sync_interval: always }\n").expect("write the server config");
            command.arg("--config").arg(config);
        }
        let mut child = command
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {bin}: {e} (install it with scripts/install-deps.sh)"));
        let stderr = child.stderr.take().expect("piped stderr");
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        // Read the log until the server says where it listens and that it is ready, then keep
        // draining it so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut port = None;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("Listening for client connections on ").nth(1) {
                    port = rest.rsplit(':').next().and_then(|p| p.trim().parse::<u16>().ok());
                }
                if line.contains("Server is ready") {
                    let _ = ready_tx.send(port);
                }
            }
        });
        let port = ready_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("nats-server did not become ready within 20 s")
            .expect("nats-server did not report its port");
        self.port = port;
        self.child = Some(child);
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}
