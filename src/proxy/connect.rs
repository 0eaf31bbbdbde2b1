//! Opening a server connection before it carries requests: TCP (or a unix
//! socket) with the pool's connect timeout and keepalive, then twemproxy's AUTH and SELECT; and the two
//! small RESP helpers that talk to a server outside the pipelined loop (writing a
//! command, reading one reply). Shared by the pool's links ([`super::backend`])
//! and subscriber connections ([`super::subscriber`]).

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::backend::{BackendError, Endpoint};
use super::stream::Stream;
use crate::resp::{Decoder, Frame};

/// Opens a connection to `endpoint`, AUTHed and SELECTed as the pool says.
///
/// # Errors
/// Connecting failed, timed out, or the server refused the handshake.
pub async fn connect(endpoint: &Endpoint) -> Result<Stream, BackendError> {
    let connecting = Stream::connect(&endpoint.addr);
    let socket = match endpoint.connect_timeout {
        Some(limit) => tokio::time::timeout(limit, connecting)
            .await
            .map_err(|_| BackendError::Timeout)?,
        None => connecting.await,
    }
    .map_err(|e| BackendError::from_io(&e))?;
    socket.tune(endpoint.keepalive);
    handshake(socket, endpoint).await
}

/// AUTH and SELECT, as twemproxy sends them on every new server connection.
async fn handshake(mut socket: Stream, endpoint: &Endpoint) -> Result<Stream, BackendError> {
    let mut commands: Vec<Vec<&[u8]>> = Vec::new();
    if let Some(password) = &endpoint.auth {
        commands.push(vec![b"AUTH", password.as_bytes()]);
    }
    let db = endpoint.db.to_string();
    if endpoint.db != 0 {
        commands.push(vec![b"SELECT", db.as_bytes()]);
    }
    if commands.is_empty() {
        return Ok(socket);
    }
    let mut out = BytesMut::new();
    for args in &commands {
        encode_command(args, &mut out);
    }
    socket
        .write_all(&out)
        .await
        .map_err(|e| BackendError::from_io(&e))?;
    let mut decoder = Decoder::default();
    let mut buf = BytesMut::new();
    for args in &commands {
        let reply = read_frame(&mut socket, &mut decoder, &mut buf).await?;
        if let Frame::Error(text) = reply {
            let what = String::from_utf8_lossy(args[0]).to_string();
            return Err(BackendError::Handshake(format!(
                "server refused the proxy's {what}: {}",
                String::from_utf8_lossy(&text)
            )));
        }
    }
    Ok(socket)
}

/// Reads one reply frame from `socket`, buffering in `buf`.
///
/// # Errors
/// The connection broke or the bytes are not RESP.
pub async fn read_frame(
    socket: &mut Stream,
    decoder: &mut Decoder,
    buf: &mut BytesMut,
) -> Result<Frame, BackendError> {
    loop {
        match decoder.decode(buf) {
            Ok(Some(frame)) => return Ok(frame),
            Ok(None) => {}
            Err(err) => return Err(BackendError::Protocol(err.to_string())),
        }
        let n = socket
            .read_buf(buf)
            .await
            .map_err(|e| BackendError::from_io(&e))?;
        if n == 0 {
            return Err(BackendError::Io("Connection closed by server".into()));
        }
    }
}

/// Writes a command as a RESP multibulk.
pub fn encode_command(args: &[&[u8]], out: &mut BytesMut) {
    use bytes::BufMut;
    out.put_u8(b'*');
    out.extend_from_slice(itoa::Buffer::new().format(args.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for arg in args {
        out.put_u8(b'$');
        out.extend_from_slice(itoa::Buffer::new().format(arg.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}
