//! The shared test server itself answers, records and shuts down.

mod common;

use common::http_server::{Reply, Server};

#[test]
fn the_test_server_records_requests_and_follows_its_script() {
    let server = Server::start(Reply::Status(204));
    server.script([Reply::retry_after(429, "2")]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (first, second) = rt.block_on(async {
        let mut s = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let req = b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi";
        s.write_all(req).await.unwrap();
        let mut buf = vec![0; 512];
        let n = s.read(&mut buf).await.unwrap();
        let first = String::from_utf8_lossy(&buf[..n]).to_string();
        s.write_all(req).await.unwrap();
        let n = s.read(&mut buf).await.unwrap();
        (first, String::from_utf8_lossy(&buf[..n]).to_string())
    });
    assert!(first.starts_with("HTTP/1.1 429"), "{first}");
    assert!(
        first.to_ascii_lowercase().contains("retry-after: 2"),
        "{first}"
    );
    assert!(second.starts_with("HTTP/1.1 204"), "{second}");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].path, "/x");
    assert_eq!(reqs[0].body, b"hi");
    let addr = server.addr;
    server.shutdown();
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the port refuses once shut down"
    );
}
