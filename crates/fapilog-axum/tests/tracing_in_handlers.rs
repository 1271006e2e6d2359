//! `tracing` events and `log` records inside handlers carry the request's
//! context (own process: the subscriber and the `log` logger are global).

mod common;

use fapilog::testing::LogCapture;
use fapilog_tracing::{FapilogLayer, LogBridge};
use tracing_subscriber::layer::SubscriberExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracing_and_log_lines_in_handlers_carry_the_request_id() {
    let bridged = LogCapture::new();
    let subscriber =
        tracing_subscriber::registry().with(FapilogLayer::new(bridged.logger("tracing")));
    tracing::subscriber::set_global_default(subscriber).expect("global subscriber");
    LogBridge::new(bridged.logger("log"))
        .install()
        .expect("log bridge");

    let server = common::Server::start().await;
    for (_, reply) in common::concurrent_user_requests(server.addr, 8, "trq").await {
        assert_eq!(reply.status, 200);
    }
    server.stop().await;

    let via_tracing = bridged.find_all("user loaded (via tracing)");
    assert_eq!(via_tracing.len(), 8);
    for line in via_tracing {
        let id = line
            .str("context.request_id")
            .expect("request id")
            .to_owned();
        line.assert_field("context.user_id", id.trim_start_matches("trq-"))
            .assert_field("context.correlation_id", id.as_str())
            .assert_field("logger", "tracing_in_handlers::common::example");
        assert_eq!(line.str("context.trace_id").map(str::len), Some(32));
    }
    let via_log: Vec<_> = bridged.filter(|l| {
        l.message()
            .is_some_and(|m| m.starts_with("cache miss for user"))
    });
    assert_eq!(via_log.len(), 8);
    for line in via_log {
        let id = line.str("context.request_id").expect("request id");
        let n = id.trim_start_matches("trq-");
        line.assert_field("message", format!("cache miss for user {n} (via log)"))
            .assert_field("level", "DEBUG");
    }
}
