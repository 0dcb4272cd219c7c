use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::ports::ServerProcess;

/// The users of `deploy/nats/nats-server.conf`, and the environment variable of each password.
pub const NATS_USERS: [(&str, &str); 6] = [
    ("admin", "NATS_ADMIN_PASSWORD"),
    ("api", "NATS_API_PASSWORD"),
    ("extract-worker", "NATS_EXTRACT_WORKER_PASSWORD"),
    ("cleanup-worker", "NATS_CLEANUP_WORKER_PASSWORD"),
    ("scheduler", "NATS_SCHEDULER_PASSWORD"),
    ("outbox-relay", "NATS_OUTBOX_RELAY_PASSWORD"),
];

/// A nats-server with JetStream on loopback, owned by one test. Killed when dropped.
pub struct NatsServer {
    /// Before `store`: fields drop in order, and the process goes before its files.
    process: ServerProcess,
    port: u16,
    store: tempfile::TempDir,
    sync_always: bool,
    /// With the shipped authorization config: each user's (random) password.
    passwords: Option<Vec<(&'static str, String)>>,
    violations: Arc<Mutex<Vec<String>>>,
}

impl NatsServer {
    /// Start on a free port with a fresh store.
    pub async fn start() -> NatsServer {
        Self::start_with(false, None)
    }

    /// Start a server that fsyncs every JetStream write (`sync_interval: always`) instead of the
    /// default of every 2 minutes, for durability comparisons.
    pub async fn start_syncing_always() -> NatsServer {
        Self::start_with(true, None)
    }

    /// Start with the shipped `deploy/nats/nats-server.conf` (users and permissions), each
    /// user with a fresh random password.
    pub async fn start_with_auth() -> NatsServer {
        let passwords = NATS_USERS.iter().map(|(user, _)| (*user, uuid::Uuid::new_v4().simple().to_string())).collect();
        Self::start_with(false, Some(passwords))
    }

    fn start_with(sync_always: bool, passwords: Option<Vec<(&'static str, String)>>) -> NatsServer {
        let store = tempfile::tempdir().expect("temp dir for the JetStream store");
        let mut server = NatsServer {
            process: ServerProcess::default(),
            port: 0,
            store,
            sync_always,
            passwords,
            violations: Arc::default(),
        };
        server.spawn();
        server
    }

    /// `user`'s password on a server started with [`NatsServer::start_with_auth`].
    pub fn password(&self, user: &str) -> String {
        let passwords = self.passwords.as_ref().expect("the server was started with authorization");
        passwords.iter().find(|(name, _)| *name == user).map(|(_, p)| p.clone()).expect("a user of the shipped config")
    }

    /// Environment for a service that connects as `user`.
    pub fn env_for(&self, user: &str) -> [(&'static str, String); 3] {
        [("NATS_URL", self.url()), ("NATS_USER", user.to_owned()), ("NATS_PASSWORD", self.password(user))]
    }

    /// A client authenticated as `user`, with the per-user inbox prefix the services use.
    pub async fn client_as(&self, user: &str) -> Result<async_nats::Client, async_nats::ConnectError> {
        async_nats::ConnectOptions::with_user_and_password(user.to_owned(), self.password(user))
            .custom_inbox_prefix(format!("_INBOX_{user}"))
            .connect(self.url())
            .await
    }

    /// The refusals the server has logged so far: `… "$G/user:<user>" - Publish Violation -
    /// Subject "<subject>"` (or `Subscription Violation`).
    pub fn permission_violations(&self) -> Vec<String> {
        self.violations.lock().expect("violations lock").clone()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process id while it runs (benchmarks read its CPU time).
    pub fn pid(&self) -> Option<u32> {
        self.process.id()
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// A client with every permission (`admin` on a server with authorization).
    pub async fn client(&self) -> async_nats::Client {
        match self.passwords {
            Some(_) => self.client_as("admin").await,
            None => async_nats::connect(self.url()).await,
        }
        .expect("connect to the test nats-server")
    }

    /// Stop the server abruptly (SIGKILL): in-flight work on the server side is cut off.
    pub fn kill(&mut self) {
        self.process.kill_holding(&[self.port]);
    }

    /// Start again on the same port with the same store, as after a crash or an upgrade.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn spawn(&mut self) {
        // Port -1 lets the server pick a free one, which it reports; a restart reuses it.
        let port = if self.port == 0 { "-1".to_owned() } else { self.port.to_string() };
        self.process.release_ports();
        let mut command = nats_server_command();
        command.args(["--jetstream", "--addr", "127.0.0.1", "--port", &port, "--store_dir"]).arg(self.store.path());
        if self.sync_always {
            let config = self.store.path().join("sync-always.conf");
            std::fs::write(&config, "jetstream { sync_interval: always }\n").expect("write the server config");
            command.arg("--config").arg(config);
        }
        if let Some(passwords) = &self.passwords {
            command.arg("--config").arg(crate::repo_root().join("deploy/nats/nats-server.conf"));
            for ((_, variable), (_, password)) in NATS_USERS.iter().zip(passwords) {
                command.env(variable, password);
            }
        }
        let (child, port) = launch(command, self.violations.clone());
        self.port = port;
        self.process.started(child);
    }
}

/// Spawn a configured nats-server and wait until it is ready; returns it and its client port.
/// Its log is read on a thread until the server says where it listens and that it is ready, and
/// then kept draining (so the server never blocks on a full pipe), collecting refusals.
fn launch(mut command: Command, violations: Arc<Mutex<Vec<String>>>) -> (Child, u16) {
    let mut child = command
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting nats-server: {e} (install it with scripts/install-deps.sh)"));
    let stderr = child.stderr.take().expect("piped stderr");
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut port = None;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("Listening for client connections on ").nth(1) {
                port = rest.rsplit(':').next().and_then(|p| p.trim().parse::<u16>().ok());
            }
            if line.contains(" Violation - ") {
                violations.lock().expect("violations lock").push(line.clone());
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
    (child, port)
}

fn nats_server_command() -> Command {
    Command::new(std::env::var("NATS_SERVER_BIN").unwrap_or_else(|_| "nats-server".to_owned()))
}

/// A cluster of nats-servers with JetStream on loopback (each node its own store), for tests that
/// kill and restart nodes under load. Every node is killed when the cluster is dropped.
pub struct NatsCluster {
    nodes: Vec<ClusterNode>,
}

struct ClusterNode {
    name: String,
    client_port: u16,
    route_port: u16,
    /// Before `store`: fields drop in order, and the process goes before its files.
    process: ServerProcess,
    store: tempfile::TempDir,
}

impl NatsCluster {
    /// Start `size` nodes routed to each other and wait until JetStream has a meta leader.
    pub async fn start(size: usize) -> NatsCluster {
        let nodes = (0..size)
            .map(|i| ClusterNode {
                name: format!("n{}", i + 1),
                client_port: crate::free_port(),
                route_port: crate::free_port(),
                process: ServerProcess::default(),
                store: tempfile::tempdir().expect("temp dir for a node's store"),
            })
            .collect();
        let mut cluster = NatsCluster { nodes };
        for node in 0..size {
            cluster.spawn(node);
        }
        cluster.wait_for_jetstream().await;
        cluster
    }

    /// Every node's URL, comma-separated (`NATS_URL` for a cluster).
    pub fn urls(&self) -> String {
        self.url_list().join(",")
    }

    fn url_list(&self) -> Vec<String> {
        self.nodes.iter().map(|n| format!("nats://127.0.0.1:{}", n.client_port)).collect()
    }

    pub async fn client(&self) -> async_nats::Client {
        async_nats::ConnectOptions::new().connect(self.url_list()).await.expect("connect to the cluster")
    }

    /// SIGKILL one node: no goodbye to its peers or clients.
    pub fn kill(&mut self, node: usize) {
        let this = &mut self.nodes[node];
        this.process.kill_holding(&[this.client_port, this.route_port]);
    }

    /// Start a killed node again on its ports and store.
    pub fn restart(&mut self, node: usize) {
        self.kill(node);
        self.spawn(node);
    }

    fn spawn(&mut self, node: usize) {
        let routes =
            self.nodes.iter().map(|n| format!("nats://127.0.0.1:{}", n.route_port)).collect::<Vec<_>>().join(",");
        self.nodes[node].process.release_ports();
        let this = &self.nodes[node];
        let mut command = nats_server_command();
        command
            .args(["--jetstream", "--addr", "127.0.0.1", "--server_name", &this.name, "--cluster_name", "jobs"])
            .args(["--port", &this.client_port.to_string()])
            .args(["--cluster", &format!("nats://127.0.0.1:{}", this.route_port), "--routes", &routes])
            .arg("--store_dir")
            .arg(this.store.path());
        let (child, _) = launch(command, Arc::default());
        self.nodes[node].process.started(child);
    }

    /// Until the nodes have elected a JetStream meta leader, stream calls fail.
    async fn wait_for_jetstream(&self) {
        let js = async_nats::jetstream::new(self.client().await);
        crate::wait_until("the cluster's JetStream to elect a leader", Duration::from_secs(30), || {
            let js = js.clone();
            async move { js.query_account().await.is_ok() }
        })
        .await;
    }
}
