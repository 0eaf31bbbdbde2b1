//! The proxy's open client connections, and the bounded drain that ends them on
//! shutdown.
//!
//! Draining raises one stop signal that every session watches: a session stops
//! reading, treats what it has read as the last of its input, and its writer
//! still answers every request already read before the connection closes.
//! Connections still open when the deadline passes have their tasks (the session
//! and its writer) aborted, which closes the socket without a late reply. No
//! descriptor is kept per connection: a client costs one file descriptor.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::AbortHandle;

/// Every open client connection of a proxy.
#[derive(Debug)]
pub struct Clients {
    /// The tasks serving each open connection, to abort past the deadline.
    open: Mutex<HashMap<u64, Vec<AbortHandle>>>,
    /// How many are open; the drain waits for 0.
    count: watch::Sender<usize>,
    /// Raised once, when the drain begins.
    stop: watch::Sender<bool>,
}

impl Default for Clients {
    fn default() -> Self {
        Clients {
            open: Mutex::new(HashMap::new()),
            count: watch::Sender::new(0),
            stop: watch::Sender::new(false),
        }
    }
}

impl Clients {
    /// Registers connection `id` before its session is spawned; it stays
    /// registered until the returned guard is dropped.
    pub fn open(self: &Arc<Self>, id: u64) -> Registered {
        let mut open = self.open.lock();
        open.insert(id, Vec::new());
        self.count.send_replace(open.len());
        Registered {
            clients: Arc::clone(self),
            id,
        }
    }

    /// Remembers a task serving connection `id`, to abort it past the deadline.
    pub fn spawned(&self, id: u64, task: AbortHandle) {
        if let Some(tasks) = self.open.lock().get_mut(&id) {
            tasks.push(task);
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

    /// Ends every connection: tells each session to stop reading, so it answers
    /// what it has read and closes; waits up to `deadline` for all of them, then
    /// aborts those left. Returns how many had to be aborted.
    pub async fn drain(&self, deadline: Duration) -> usize {
        self.stop.send_replace(true);
        let mut count = self.count.subscribe();
        let drained = tokio::time::timeout(deadline, count.wait_for(|n| *n == 0)).await;
        if drained.is_ok() {
            return 0;
        }
        let left: Vec<Vec<AbortHandle>> =
            self.open.lock().drain().map(|(_, tasks)| tasks).collect();
        self.count.send_replace(0);
        for task in left.iter().flatten() {
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

impl Registered {
    /// Resolves once the drain has begun: time to stop reading.
    pub fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut stop = self.clients.stop.subscribe();
        async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        }
    }

    /// Remembers the connection's writer task. It goes first in the list, so a
    /// drain past its deadline aborts it before the session: a session going
    /// first would drop its connections and let the writer send a late error.
    pub fn spawned(&self, task: AbortHandle) {
        if let Some(tasks) = self.clients.open.lock().get_mut(&self.id) {
            tasks.insert(0, task);
        }
    }
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
    use tokio::net::{TcpListener, TcpStream};

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
        let registered = clients.open(1);
        assert_eq!(clients.len(), 1);
        // A session: read until told to stop, then answer and leave.
        let session = tokio::spawn(async move {
            let mut buf = [0u8; 64];
            let stopped = registered.stopped();
            tokio::pin!(stopped);
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    read = server.read(&mut buf) => assert!(read.unwrap() > 0),
                }
            }
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
        let registered = clients.open(7);
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
        drop(clients.open(3));
        drop(server);
        let done = tokio::spawn(async {});
        clients.spawned(3, done.abort_handle());
        assert!(clients.is_empty());
        assert_eq!(clients.drain(Duration::from_millis(10)).await, 0);
    }
}
