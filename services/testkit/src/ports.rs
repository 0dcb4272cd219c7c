//! Loopback ports for test servers, and keeping them while a server is down.

use std::process::Child;

/// A free TCP port on loopback for a test's server, below the kernel's ephemeral range.
///
/// A port from that range (what `bind` to port 0 gives) is also where every client connection
/// on the machine takes its own port from, so while the server is not yet listening, or stopped
/// for a fault, any connection of any test could take it, and the server could not bind.
pub fn free_port() -> u16 {
    use rand::Rng;
    const LOWEST: u16 = 10_000;
    let below = ephemeral_range_start();
    if below > LOWEST {
        for _ in 0..1_000 {
            let port = rand::rng().random_range(LOWEST..below);
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return port;
            }
        }
    }
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// The first port of `net.ipv4.ip_local_port_range` (Linux's default where it cannot be read).
fn ephemeral_range_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// A loopback port kept while its server is down, so the server gets it back when it restarts.
///
/// Without it, another test's [`free_port`] may pick it meanwhile (and, for a port in the
/// ephemeral range, any client connection may take it as its own). The socket is bound but not
/// listening, so connections are still refused, as if nothing held the port. Released when
/// dropped.
pub struct PortHold(#[expect(dead_code, reason = "held for its binding, never read")] tokio::net::TcpSocket);

impl PortHold {
    pub fn new(port: u16) -> std::io::Result<PortHold> {
        let socket = tokio::net::TcpSocket::new_v4()?;
        // The server's own closed connections may still be in TIME_WAIT on the port.
        socket.set_reuseaddr(true)?;
        socket.bind(std::net::SocketAddr::from(([127, 0, 0, 1], port)))?;
        Ok(PortHold(socket))
    }
}

/// A test server's process. While it is killed its ports stay held ([`PortHold`]), so it starts
/// again where its clients expect it; dropping it kills the process.
#[derive(Default)]
pub(crate) struct ServerProcess {
    child: Option<Child>,
    held: Vec<PortHold>,
}

impl ServerProcess {
    /// Let go of the held ports, for the server that is about to bind them again.
    pub(crate) fn release_ports(&mut self) {
        self.held.clear();
    }

    pub(crate) fn started(&mut self, child: Child) {
        self.child = Some(child);
    }

    /// The process id while it runs.
    pub(crate) fn id(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL the process, reap it and hold `ports` until it starts again. Nothing happens if
    /// it is not running (its ports stay held).
    pub(crate) fn kill_holding(&mut self, ports: &[u16]) {
        if self.kill() {
            self.held = ports.iter().filter_map(|&port| PortHold::new(port).ok()).collect();
        }
    }

    /// Whether there was a running process to kill.
    fn kill(&mut self) -> bool {
        let Some(mut child) = self.child.take() else { return false };
        let _ = child.kill();
        let _ = child.wait();
        true
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
