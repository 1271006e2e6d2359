//! While a span is entered, its fields are the thread's bound context, so
//! native `fapilog` calls inside it carry them, and leaving it restores the
//! context that was bound before.

use fapilog::testing::LogCapture;
use fapilog::{context, FieldValue};
use fapilog_tracing::FapilogLayer;
use tracing_subscriber::layer::SubscriberExt;

#[test]
fn native_calls_inside_an_entered_span_carry_its_fields() {
    let capture = LogCapture::new();
    let log = capture.logger("app");
    let sub = tracing_subscriber::registry().with(FapilogLayer::new(capture.logger("layer")));
    tracing::subscriber::with_default(sub, || {
        let _outer = context::bind(&[("tenant_id", FieldValue::Str("t-1"))]);
        let span = tracing::info_span!("job", request_id = "r-1", attempt = 2);
        {
            let _e = span.enter();
            fapilog::info!(log, "inside");
            let inner = tracing::info_span!("step", user_id = "u-9");
            inner.in_scope(|| fapilog::info!(log, "nested"));
            fapilog::info!(log, "after nested");
        }
        fapilog::info!(log, "outside");
    });
    capture
        .assert_logged("inside")
        .assert_field("context.request_id", "r-1")
        .assert_field("context.tenant_id", "t-1")
        .assert_field("data.attempt", 2);
    capture
        .assert_logged("nested")
        .assert_field("context.request_id", "r-1")
        .assert_field("context.user_id", "u-9");
    capture
        .assert_logged("after nested")
        .assert_field("context.request_id", "r-1")
        .assert_absent("context.user_id");
    capture
        .assert_logged("outside")
        .assert_field("context.tenant_id", "t-1")
        .assert_absent("context.request_id");
}
