//! The AWS CloudWatch Logs sink: `PutLogEvents` over HTTPS, signed with
//! SigV4 by a small signer of our own (no AWS SDK to compile).
//!
//! Each event is put with its own time (milliseconds) and its envelope
//! line as the message. Batches are sorted by time and split at 10,000
//! events, 1,048,576 bytes counting 26 bytes per event, and a 24 h span;
//! events the service would refuse (larger than 1 MiB − 26 bytes, older
//! than 14 days, more than 2 h ahead) are refused before sending and
//! counted. Throttling, unavailability and 5xx are retried by the driver
//! with the same bytes; `rejectedLogEventsInfo` is a partial success (the
//! refused events are counted and diverted, never retried); a missing
//! group or stream is created once (when asked, the default) and the
//! events put again.
//!
//! ```no_run
//! use fapilog::sinks::{SinkOptions, WhenFull};
//! use fapilog_sinks::{AwsCredentials, CloudWatchSink};
//!
//! let sink = CloudWatchSink::builder("/my-app/prod")
//!     .log_stream("web-1")
//!     .region("eu-west-1")
//!     .credentials(AwsCredentials::new("AKID…", "secret…"))
//!     .build()?;
//! let pipeline = fapilog::Pipeline::builder()
//!     .sink_with(sink, SinkOptions::new().when_full(WhenFull::Block))
//!     .build()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod api;
mod builder;
mod credentials;
mod encode;
mod settings;
mod sigv4;

use std::fmt;
use std::time::{Duration, SystemTime};

use fapilog::{Batch, SinkError};

use crate::adapter::{AsyncSink, Encoded, Request};

pub use builder::CloudWatchSinkBuilder;
pub use credentials::AwsCredentials;
pub(crate) use settings::from_settings;

/// Sends batches to a CloudWatch Logs stream with `PutLogEvents`. Build
/// one with [`CloudWatchSink::builder`]; it runs behind
/// [`Adapter`](crate::Adapter). `Debug` never shows the secret key or the
/// session token.
pub struct CloudWatchSink {
    name: String,
    group: String,
    stream: String,
    create_group: bool,
    create_stream: bool,
    timeout: Duration,
    client: api::Client,
}

impl fmt::Debug for CloudWatchSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudWatchSink")
            .field("name", &self.name)
            .field("log_group", &self.group)
            .field("log_stream", &self.stream)
            .field("region", &self.client.region())
            .field(
                "endpoint",
                &crate::config::mask_url_password(self.client.url().as_str()),
            )
            .field("credentials", self.client.credentials())
            .field("create_log_group", &self.create_group)
            .field("create_log_stream", &self.create_stream)
            .finish()
    }
}

impl CloudWatchSink {
    /// A builder for a sink writing to the log group `log_group`.
    pub fn builder(log_group: impl Into<String>) -> CloudWatchSinkBuilder {
        CloudWatchSinkBuilder::new(log_group.into())
    }

    /// The log group.
    pub fn log_group(&self) -> &str {
        &self.group
    }

    /// The log stream.
    pub fn log_stream(&self) -> &str {
        &self.stream
    }

    /// Creates the group and the stream, each when asked; one that exists
    /// already is fine.
    async fn create_destination(&self) -> Result<(), SinkError> {
        let group = serde_json::json!({ "logGroupName": self.group });
        let stream = serde_json::json!({
            "logGroupName": self.group,
            "logStreamName": self.stream,
        });
        let calls = [
            (self.create_group, api::CREATE_LOG_GROUP, group),
            (self.create_stream, api::CREATE_LOG_STREAM, stream),
        ];
        for (wanted, target, body) in calls {
            if !wanted {
                continue;
            }
            let body = body.to_string();
            let reply = self.client.call(target, body.as_bytes()).await?;
            if !reply.is_ok() && !reply.is("ResourceAlreadyExistsException") {
                return Err(reply.into_error(target.trim_start_matches("Logs_20140328.")));
            }
        }
        Ok(())
    }

    /// The outcome of a `PutLogEvents` answer for `request`.
    fn outcome(reply: api::Reply, request: &Request<Vec<u8>>) -> Result<(), SinkError> {
        if !reply.is_ok() {
            return Err(reply.into_error("PutLogEvents"));
        }
        let refused = api::rejected_events(&reply.body, request.lines.len());
        if refused.is_empty() {
            return Ok(());
        }
        Err(SinkError::Partial {
            rejected: refused.iter().map(|&i| request.lines[i]).collect(),
            message: format!(
                "CloudWatch Logs refused {} of {} events (rejectedLogEventsInfo: too old, too new or expired)",
                refused.len(),
                request.lines.len()
            ),
        })
    }
}

impl AsyncSink for CloudWatchSink {
    type Body = Vec<u8>;

    fn name(&self) -> &str {
        &self.name
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn encode(&mut self, batch: &Batch) -> Result<Encoded<Vec<u8>>, SinkError> {
        Ok(encode::encode(
            batch,
            &self.group,
            &self.stream,
            SystemTime::now(),
        ))
    }

    async fn send(&mut self, request: &Request<Vec<u8>>) -> Result<(), SinkError> {
        let reply = self.client.call(api::PUT_LOG_EVENTS, &request.body).await?;
        if !reply.is("ResourceNotFoundException") {
            return Self::outcome(reply, request);
        }
        if !(self.create_group || self.create_stream) {
            return Err(SinkError::Rejected(format!(
                "CloudWatch Logs: log group {:?} or stream {:?} does not exist, and creating them is off",
                self.group, self.stream
            )));
        }
        self.create_destination().await?;
        let reply = self.client.call(api::PUT_LOG_EVENTS, &request.body).await?;
        if reply.is("ResourceNotFoundException") {
            // Just created: the service may need a moment.
            return Err(SinkError::transient(format!(
                "CloudWatch Logs: log group {:?} or stream {:?} not found right after creating it",
                self.group, self.stream
            )));
        }
        Self::outcome(reply, request)
    }
}
