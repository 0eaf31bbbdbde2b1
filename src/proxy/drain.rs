//! The proxy's open client connections, and the bounded drain that ends them on
//! shutdown.
//!
//! Draining half-closes each client connection for reading: its session sees the
//! end of input exactly as if the client had left, stops taking requests, and
//! its writer still answers every request already read before closing. So the
//! session needs no shutdown input of its own, whatever commands it serves. To
//! half-close a socket the session owns, the registry keeps a duplicate of its
//! descriptor (one more file descriptor per client connection). Connections
//! still open when the deadline passes are aborted.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::Shutdown;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::AbortHandle;

/// Every open client connection of a proxy.
#[derive(Debug)]
pub struct Clients {
    open: Mutex<HashMap<u64, Open>>,
    /// How many are open; the drain waits for 0.
    count: watch::Sender<usize>,
}

#[derive(Debug)]
struct Open {
    /// A duplicate of the connection's descriptor (None if it could not be made).
    socket: Option<socket2::Socket>,
    /// The session's task, once spawned.
    task: Option<AbortHandle>,
}

impl Default for Clients {
    fn default() -> Self {
        Clients {
            open: Mutex::new(HashMap::new()),
            count: watch::Sender::new(0),
        }
    }
}

impl Clients {
    /// Registers connection `id` before its session is spawned; it stays
    /// registered until the returned guard is dropped.
    pub fn open(self: &Arc<Self>, id: u64, socket: &TcpStream) -> Registered {
        let socket = socket2::SockRef::from(socket)
            .try_clone()
            .map_err(
                |err| tracing::warn!(cause = %err, "cannot keep a handle to drain this client"),
            )
            .ok();
        let mut open = self.open.lock();
        open.insert(id, Open { socket, task: None });
        self.count.send_replace(open.len());
        Registered {
            clients: Arc::clone(self),
            id,
        }
    }

    /// Remembers the task serving connection `id`, to abort it past the deadline.
    pub fn spawned(&self, id: u64, task: AbortHandle) {
        if let Some(open) = self.open.lock().get_mut(&id) {
            open.task = Some(task);
        }
    }

    /// Number of open connections.
    pub fn len(&self) -> usize {
        *self.count.borrow()
    }

    /// True when no client is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ends every connection: stops reading from each so its session answers what
    /// it has read and closes, waits up to `deadline` for all of them, then aborts
    /// those left. Returns how many had to be aborted.
    pub async fn drain(&self, deadline: Duration) -> usize {
        for open in self.open.lock().values() {
            if let Some(socket) = &open.socket {
                let _ = socket.shutdown(Shutdown::Read);
            }
        }
        let mut count = self.count.subscribe();
        let drained = tokio::time::timeout(deadline, count.wait_for(|n| *n == 0)).await;
        if drained.is_ok() {
            return 0;
        }
        let left: Vec<Open> = self.open.lock().drain().map(|(_, open)| open).collect();
        self.count.send_replace(0);
        // Sockets first: a session's writer is a task of its own, and once the
        // socket is shut it cannot send a late error as its session goes.
        for open in &left {
            if let Some(socket) = &open.socket {
                let _ = socket.shutdown(Shutdown::Both);
            }
        }
        for task in left.iter().filter_map(|open| open.task.as_ref()) {
            task.abort();
        }
        left.len()
    }

    fn close(&self, id: u64) {
        let mut open = self.open.lock();
        open.remove(&id);
        self.count.send_replace(open.len());
    }
}

/// A connection's place in [`Clients`], given up when dropped.
#[derive(Debug)]
pub struct Registered {
    clients: Arc<Clients>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.clients.close(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server)
    }

    #[tokio::test]
    async fn drain_ends_reads_and_lets_writes_finish() {
        let clients = Arc::new(Clients::default());
        let (mut client, mut server) = pair().await;
        let registered = clients.open(1, &server);
        assert_eq!(clients.len(), 1);
        // A session: read until the end of input, then answer and leave.
        let session = tokio::spawn(async move {
            let mut buf = [0u8; 64];
            while server.read(&mut buf).await.unwrap() > 0 {}
            server.write_all(b"+bye\r\n").await.unwrap();
            drop(registered);
        });
        clients.spawned(1, session.abort_handle());
        assert_eq!(clients.drain(Duration::from_secs(5)).await, 0);
        assert!(clients.is_empty());
        let mut reply = Vec::new();
        client.read_to_end(&mut reply).await.unwrap();
        assert_eq!(reply, b"+bye\r\n");
    }

    #[tokio::test]
    async fn drain_aborts_what_outlives_the_deadline() {
        let clients = Arc::new(Clients::default());
        let (_client, server) = pair().await;
        let registered = clients.open(7, &server);
        let stuck = tokio::spawn(async move {
            let _keep = (server, registered);
            std::future::pending::<()>().await;
        });
        clients.spawned(7, stuck.abort_handle());
        assert_eq!(clients.drain(Duration::from_millis(50)).await, 1);
        assert!(clients.is_empty());
        assert!(stuck.await.unwrap_err().is_cancelled());
    }

    #[tokio::test]
    async fn a_task_that_ended_before_being_recorded_leaves_nothing() {
        let clients = Arc::new(Clients::default());
        let (_client, server) = pair().await;
        drop(clients.open(3, &server));
        let done = tokio::spawn(async {});
        clients.spawned(3, done.abort_handle());
        assert!(clients.is_empty());
        assert_eq!(clients.drain(Duration::from_millis(10)).await, 0);
    }
}
