//! Test helpers shared by the sink tests. Each test file takes what it uses.
#![allow(dead_code)]

pub mod http_server;

use std::time::{Duration, Instant};

/// Waits until `cond` holds, polling, for at most `within`; `true` if it did.
pub fn wait_until(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A loopback port nothing listens on (right now).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    l.local_addr().expect("local address").port()
}
