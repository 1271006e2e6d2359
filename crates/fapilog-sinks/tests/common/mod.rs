//! Test helpers shared by the sink tests. Each test file takes what it uses.
#![allow(dead_code)]

pub mod certs;
pub mod http_server;

use std::time::{Duration, Instant};

use fapilog::sinks::{BreakerPolicy, RetryPolicy, SinkOptions, WhenFull};
use fapilog::{Pipeline, SinkMetrics};

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

/// The metrics of the pipeline's sink `name`.
pub fn sink_metrics(p: &Pipeline, name: &str) -> SinkMetrics {
    p.metrics()
        .sinks
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no sink {name}"))
}

/// Retries that outlast any outage a test makes: short waits, no limit
/// but a long time budget.
pub fn patient_retry() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(u32::MAX)
        .initial(Duration::from_millis(10))
        .max_delay(Duration::from_millis(200))
        .max_elapsed(Duration::from_secs(600))
}

/// A sink's options for "nothing may be lost": `Block`, patient retries,
/// no breaker.
pub fn patient() -> SinkOptions {
    SinkOptions::new()
        .when_full(WhenFull::Block)
        .retry(patient_retry())
        .breaker(BreakerPolicy::off())
}

/// Gives up fast and opens the breaker after two failures: two attempts
/// 5 ms apart, then `cooldown` before each probe.
pub fn failing_fast(cooldown: Duration) -> SinkOptions {
    SinkOptions::new()
        .retry(
            RetryPolicy::default()
                .max_attempts(2)
                .initial(Duration::from_millis(5)),
        )
        .breaker(
            BreakerPolicy::default()
                .failure_threshold(2)
                .cooldown(cooldown)
                .max_cooldown(cooldown),
        )
}
