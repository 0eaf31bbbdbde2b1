//! A connection of the proxy, to a client or to a server: TCP or a unix socket,
//! as twemproxy allows for both `listen:` and `servers:`.
//!
//! An enum rather than a generic parameter: the session and the backend link
//! stay one (non-generic) piece of code, and the per-call cost is one `match`
//! on a value that never changes, which the branch predictor absorbs. The read
//! half can wait for readability alone, so an idle client costs no read buffer.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{tcp, unix, TcpListener, TcpStream, UnixListener, UnixStream};

/// Runs `$body` with `$s` bound to the inner value of whichever variant `$value` is.
macro_rules! either {
    ($value:expr, $ty:ident, $s:ident => $body:expr) => {
        match $value {
            $ty::Tcp($s) => $body,
            $ty::Unix($s) => $body,
        }
    };
}

/// An open connection.
#[derive(Debug)]
pub enum Stream {
    /// TCP.
    Tcp(TcpStream),
    /// A unix socket.
    Unix(UnixStream),
}

/// A [`Stream`] detached from the runtime that opened it, to be attached in
/// another one (a worker's), whose reactor then watches it.
#[derive(Debug)]
pub enum Detached {
    /// TCP.
    Tcp(std::net::TcpStream),
    /// A unix socket.
    Unix(std::os::unix::net::UnixStream),
}

impl Detached {
    /// Registers the socket with the current runtime.
    ///
    /// # Errors
    /// The registration failed.
    pub fn attach(self) -> io::Result<Stream> {
        match self {
            Detached::Tcp(s) => TcpStream::from_std(s).map(Stream::Tcp),
            Detached::Unix(s) => UnixStream::from_std(s).map(Stream::Unix),
        }
    }
}

/// The reading half of a [`Stream`].
#[derive(Debug)]
pub enum ReadHalf {
    /// TCP.
    Tcp(tcp::OwnedReadHalf),
    /// A unix socket.
    Unix(unix::OwnedReadHalf),
}

/// The writing half of a [`Stream`].
#[derive(Debug)]
pub enum WriteHalf {
    /// TCP.
    Tcp(tcp::OwnedWriteHalf),
    /// A unix socket.
    Unix(unix::OwnedWriteHalf),
}

impl Stream {
    /// Connects to `addr`: a unix socket when it is an absolute path (a server
    /// line's host never starts with `/`), else `host:port`.
    ///
    /// # Errors
    /// The connection cannot be made.
    pub async fn connect(addr: &str) -> io::Result<Stream> {
        if addr.starts_with('/') {
            UnixStream::connect(addr).await.map(Stream::Unix)
        } else {
            TcpStream::connect(addr).await.map(Stream::Tcp)
        }
    }

    /// TCP_NODELAY (and SO_KEEPALIVE when asked); nothing to do on a unix socket.
    pub fn tune(&self, keepalive: bool) {
        if let Stream::Tcp(socket) = self {
            let _ = socket.set_nodelay(true);
            if keepalive {
                let _ = socket2::SockRef::from(socket).set_keepalive(true);
            }
        }
    }

    /// Deregisters the socket from this runtime; it stays non-blocking.
    ///
    /// # Errors
    /// The deregistration failed.
    pub fn detach(self) -> io::Result<Detached> {
        match self {
            Stream::Tcp(s) => s.into_std().map(Detached::Tcp),
            Stream::Unix(s) => s.into_std().map(Detached::Unix),
        }
    }

    /// Splits into halves that can be used from two tasks.
    pub fn into_split(self) -> (ReadHalf, WriteHalf) {
        match self {
            Stream::Tcp(s) => {
                let (r, w) = s.into_split();
                (ReadHalf::Tcp(r), WriteHalf::Tcp(w))
            }
            Stream::Unix(s) => {
                let (r, w) = s.into_split();
                (ReadHalf::Unix(r), WriteHalf::Unix(w))
            }
        }
    }
}

impl ReadHalf {
    /// Waits until a read may succeed (it may still find nothing).
    ///
    /// # Errors
    /// The socket failed.
    pub async fn readable(&self) -> io::Result<()> {
        either!(self, ReadHalf, s => s.readable().await)
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        either!(self.get_mut(), Stream, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        either!(self.get_mut(), Stream, s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        either!(self.get_mut(), Stream, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        either!(self.get_mut(), Stream, s => Pin::new(s).poll_shutdown(cx))
    }
}

impl AsyncRead for ReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        either!(self.get_mut(), ReadHalf, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for WriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        either!(self.get_mut(), WriteHalf, s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        either!(self.get_mut(), WriteHalf, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        either!(self.get_mut(), WriteHalf, s => Pin::new(s).poll_shutdown(cx))
    }
}

/// A bound listener. A unix socket's file is removed when the listener is
/// dropped, so a stopped (or reloaded-away) pool leaves no stale socket behind.
#[derive(Debug)]
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// A unix socket, with its path.
    Unix(UnixListener, SocketFile),
}

impl From<TcpListener> for Listener {
    fn from(listener: TcpListener) -> Self {
        Listener::Tcp(listener)
    }
}

impl Listener {
    /// Binds a unix socket at `path`, with `mode` permissions if given. A socket
    /// file left by a process that is gone is removed first; one a live process
    /// still accepts on is an error, and so is any other kind of file.
    ///
    /// # Errors
    /// The path is taken, or binding or setting the mode failed.
    pub async fn bind_unix(path: &Path, mode: Option<u32>) -> io::Result<Listener> {
        remove_stale_socket(path).await?;
        let listener = UnixListener::bind(path)?;
        let file = SocketFile(path.to_path_buf());
        if let Some(mode) = mode {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        }
        Ok(Listener::Unix(listener, file))
    }

    /// Waits for the next client.
    ///
    /// # Errors
    /// Accepting failed (out of descriptors, for one).
    pub async fn accept(&self) -> io::Result<Stream> {
        match self {
            Listener::Tcp(l) => l.accept().await.map(|(s, _)| Stream::Tcp(s)),
            Listener::Unix(l, _) => l.accept().await.map(|(s, _)| Stream::Unix(s)),
        }
    }

    /// Where it listens, for logs: `host:port` or the socket path.
    pub fn local_addr(&self) -> String {
        match self {
            Listener::Tcp(l) => l
                .local_addr()
                .map_or_else(|e| e.to_string(), |a| a.to_string()),
            Listener::Unix(_, file) => file.0.display().to_string(),
        }
    }
}

/// The path of a bound unix socket, removed on drop.
#[derive(Debug)]
pub struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn remove_stale_socket(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(()); // nothing there
    };
    let taken = |why: &str| io::Error::new(io::ErrorKind::AddrInUse, why.to_string());
    if !meta.file_type().is_socket() {
        return Err(taken("the path exists and is not a socket"));
    }
    if UnixStream::connect(path).await.is_ok() {
        return Err(taken("another process accepts on this socket"));
    }
    std::fs::remove_file(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_unix_listener_replaces_a_stale_socket_and_removes_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap()); // stale file
        let listener = Listener::bind_unix(&path, Some(0o600)).await.unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let client = tokio::spawn({
            let path = path.display().to_string();
            async move {
                let mut s = Stream::connect(&path).await.unwrap();
                s.write_all(b"ping").await.unwrap();
                let mut back = [0u8; 4];
                s.read_exact(&mut back).await.unwrap();
                back
            }
        });
        let (mut reader, mut writer) = listener.accept().await.unwrap().into_split();
        let mut got = [0u8; 4];
        reader.read_exact(&mut got).await.unwrap();
        writer.write_all(&got).await.unwrap();
        assert_eq!(&client.await.unwrap(), b"ping");
        let taken = Listener::bind_unix(&path, None).await.unwrap_err();
        assert!(taken.to_string().contains("another process"), "{taken}");
        drop(listener);
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn a_path_that_is_not_a_socket_is_left_alone() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let err = Listener::bind_unix(file.path(), None).await.unwrap_err();
        assert!(err.to_string().contains("not a socket"), "{err}");
        assert!(file.path().exists());
    }
}
