//! The sockets: a UDP socket or a TCP/TLS stream, opened lazily, checked
//! for a peer that went away before each write, and dropped on any error
//! so the next send reconnects.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpStream, UdpSocket};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// A byte stream to the receiver.
pub(crate) enum Stream {
    Tcp(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    /// Connects to `addr`, then shakes hands when `tls` is given.
    pub(crate) async fn connect(
        addr: &str,
        tls: Option<&(Arc<ClientConfig>, ServerName<'static>)>,
    ) -> io::Result<Stream> {
        let tcp = TcpStream::connect(addr).await?;
        // Each request is one write of many frames: send it at once.
        tcp.set_nodelay(true)?;
        match tls {
            None => Ok(Stream::Tcp(tcp)),
            Some((config, name)) => {
                let tls = TlsConnector::from(Arc::clone(config))
                    .connect(name.clone(), tcp)
                    .await?;
                Ok(Stream::Tls(Box::new(tls)))
            }
        }
    }

    /// Writes all of `bytes` and pushes them to the socket.
    pub(crate) async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
            Stream::Tls(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
        }
    }

    /// `true` when the receiver has closed the connection (or it failed):
    /// a read that would not block returns end-of-stream or an error.
    /// Syslog receivers never send data, so whatever arrives (a TLS
    /// session ticket, stray bytes) is read and ignored. Writing to a
    /// half-closed socket would succeed once and lose that write: this
    /// check before each write closes most of that window.
    pub(crate) async fn peer_closed(&mut self) -> bool {
        // A read is tried only when the runtime has seen the socket become
        // readable: yielding first lets it poll its I/O driver, so a FIN
        // (the receiver died) that arrived while it was busy is seen now.
        tokio::task::yield_now().await;
        match self {
            Stream::Tcp(s) => closed(s).await,
            Stream::Tls(s) => closed(s.as_mut()).await,
        }
    }

    /// Closes the connection cleanly (TLS `close_notify`, then TCP FIN)
    /// and reads until the receiver closes its side. The reading matters:
    /// a socket closed with unread bytes in it (a TLS session ticket the
    /// receiver sent after the handshake) makes the kernel send a reset
    /// rather than a FIN, and a reset makes the receiver discard what it
    /// has not read yet: the last requests, already counted as written.
    /// The caller bounds the wait.
    pub(crate) async fn close(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => {
                s.shutdown().await?;
                drain(s).await
            }
            Stream::Tls(s) => {
                s.shutdown().await?;
                drain(s.as_mut()).await
            }
        }
    }
}

/// Reads and drops whatever arrives until end-of-stream (or an error: a
/// TLS receiver that closes without `close_notify` ends here too).
async fn drain<S: AsyncRead + Unpin>(s: &mut S) -> io::Result<()> {
    let mut buf = [0u8; 1024];
    while s.read(&mut buf).await? > 0 {}
    Ok(())
}

async fn closed<S: AsyncRead + Unpin>(s: &mut S) -> bool {
    let mut buf = [0u8; 1024];
    poll_fn(|cx| loop {
        let mut rb = ReadBuf::new(&mut buf);
        match Pin::new(&mut *s).poll_read(cx, &mut rb) {
            Poll::Pending => return Poll::Ready(false),
            Poll::Ready(Err(_)) => return Poll::Ready(true),
            Poll::Ready(Ok(())) if rb.filled().is_empty() => return Poll::Ready(true),
            Poll::Ready(Ok(())) => continue,
        }
    })
    .await
}

/// A UDP socket connected to the receiver (so the kernel reports a
/// refused port on a later send).
pub(crate) async fn udp(addr: &str) -> io::Result<UdpSocket> {
    let target: SocketAddr = tokio::net::lookup_host(addr)
        .await?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{addr} has no address")))?;
    let local: SocketAddr = if target.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let socket = UdpSocket::bind(local).await?;
    socket.connect(target).await?;
    Ok(socket)
}
