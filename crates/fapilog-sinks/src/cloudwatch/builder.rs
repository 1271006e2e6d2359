//! [`CloudWatchSinkBuilder`]: the sink's options, checked at `build`.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::api;
use super::credentials::AwsCredentials;
use super::CloudWatchSink;
use crate::adapter::Adapter;
use crate::config::ConfigError;
use crate::http_client::parse_url;

/// Options of a [`CloudWatchSink`]. Every option is checked by
/// [`build`](CloudWatchSinkBuilder::build), which names the option and its
/// value (secrets masked) when one is wrong. `Debug` never shows secrets.
#[must_use]
pub struct CloudWatchSinkBuilder {
    name: String,
    group: Setting,
    stream: Option<Setting>,
    region: Option<Setting>,
    endpoint: Option<Setting>,
    credentials: Option<AwsCredentials>,
    create_group: bool,
    create_stream: bool,
    timeout: Duration,
    ca_file: Option<std::path::PathBuf>,
}

/// A value and the key it came from (named in errors).
#[derive(Debug)]
struct Setting {
    key: String,
    value: String,
}

impl Setting {
    fn new(key: &str, value: impl Into<String>) -> Setting {
        Setting {
            key: key.to_owned(),
            value: value.into(),
        }
    }
}

impl fmt::Debug for CloudWatchSinkBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudWatchSinkBuilder")
            .field("name", &self.name)
            .field("log_group", &self.group.value)
            .field("log_stream", &self.stream.as_ref().map(|s| &s.value))
            .field("region", &self.region.as_ref().map(|s| &s.value))
            .field("endpoint_url", &self.endpoint.as_ref().map(|s| &s.value))
            .field("credentials", &self.credentials)
            .field("create_log_group", &self.create_group)
            .field("create_log_stream", &self.create_stream)
            .field("timeout", &self.timeout)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl CloudWatchSinkBuilder {
    pub(crate) fn new(group: String) -> CloudWatchSinkBuilder {
        CloudWatchSinkBuilder {
            name: "cloudwatch".to_owned(),
            group: Setting::new("log_group", group),
            stream: None,
            region: None,
            endpoint: None,
            credentials: None,
            create_group: true,
            create_stream: true,
            timeout: Duration::from_secs(30),
            ca_file: None,
        }
    }

    /// The sink's name in metrics and diagnostics (default `"cloudwatch"`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The log stream (default `{hostname}-{unix seconds}`, as fapilog).
    pub fn log_stream(mut self, stream: impl Into<String>) -> Self {
        self.stream = Some(Setting::new("log_stream", stream));
        self
    }

    /// The AWS region (default `AWS_REGION`, then `AWS_DEFAULT_REGION`).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(Setting::new("region", region));
        self
    }

    /// Another endpoint than `https://logs.{region}.amazonaws.com` (moto,
    /// LocalStack, a VPC endpoint).
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(Setting::new("endpoint_url", url));
        self
    }

    /// The credentials (default `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`).
    pub fn credentials(mut self, credentials: AwsCredentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Creates the log group when a put finds it missing (default true, as fapilog).
    pub fn create_log_group(mut self, create: bool) -> Self {
        self.create_group = create;
        self
    }

    /// Creates the log stream when a put finds it missing (default true, as fapilog).
    pub fn create_log_stream(mut self, create: bool) -> Self {
        self.create_stream = create;
        self
    }

    /// Trusts only the CA certificates of this PEM file (a private CA)
    /// instead of Mozilla's roots, for an `https` endpoint. Read at
    /// `build`: a missing file, or one without a PEM certificate, is an
    /// error naming `ca_file` and the path.
    pub fn ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Longest one call may take (default 30 s); then it is retried.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Names the settings keys in errors (`sink_config.cloudwatch.region`).
    pub(crate) fn keys_from(mut self, prefix: &str) -> Self {
        let key = |name: &str| format!("{prefix}.{name}");
        self.group.key = key("log_group_name");
        for (s, name) in [
            (&mut self.stream, "log_stream_name"),
            (&mut self.region, "region"),
            (&mut self.endpoint, "endpoint_url"),
        ] {
            if let Some(s) = s {
                s.key = key(name);
            }
        }
        self
    }

    /// Checks every option and builds the sink. Nothing is sent yet: a
    /// service that is down now does not fail the build.
    pub fn build(self) -> Result<Adapter<CloudWatchSink>, ConfigError> {
        check_group(&self.group)?;
        let stream = match self.stream {
            Some(s) => s,
            None => Setting::new("log_stream", default_stream()),
        };
        check_stream(&stream)?;
        let region = match self.region {
            Some(r) => r,
            None => region_from_env().ok_or_else(|| {
                ConfigError::missing(
                    "region",
                    "set it on the builder, in FAPILOG_CLOUDWATCH__REGION, AWS_REGION or AWS_DEFAULT_REGION",
                )
            })?,
        };
        if !valid_region(&region.value) {
            return Err(ConfigError::invalid(
                &region.key,
                &region.value,
                "an AWS region such as us-east-1 ([a-z]{2}(-[a-z]+)+-[0-9]+)",
            ));
        }
        let url = match &self.endpoint {
            Some(e) => parse_url(&e.key, &e.value)?,
            None => {
                let default = format!("https://logs.{}.amazonaws.com/", region.value);
                parse_url("endpoint_url", &default)?
            }
        };
        let credentials = match self.credentials.or_else(AwsCredentials::from_env) {
            Some(c) => c,
            None => {
                return Err(ConfigError::missing(
                    "AWS_ACCESS_KEY_ID",
                    "AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or call .credentials(..)",
                ))
            }
        };
        if credentials.access_key_id.is_empty()
            || credentials
                .access_key_id
                .chars()
                .any(|c| !c.is_ascii_alphanumeric())
        {
            return Err(ConfigError::invalid(
                "access_key_id",
                &credentials.access_key_id,
                "an AWS access key id (letters and digits)",
            ));
        }
        if credentials.secret_access_key.is_empty() {
            return Err(ConfigError::missing(
                "secret_access_key",
                "the secret of the AWS access key",
            ));
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::invalid("timeout", "0s", "a positive duration"));
        }
        let client = api::Client::new(
            url,
            region.value,
            credentials,
            self.timeout,
            self.ca_file.as_deref(),
        )?;
        Ok(Adapter::new(CloudWatchSink {
            name: self.name,
            group: self.group.value,
            stream: stream.value,
            create_group: self.create_group,
            create_stream: self.create_stream,
            timeout: self.timeout,
            client,
        }))
    }
}

/// `AWS_REGION`, then `AWS_DEFAULT_REGION`.
fn region_from_env() -> Option<Setting> {
    ["AWS_REGION", "AWS_DEFAULT_REGION"].iter().find_map(|k| {
        std::env::var(k)
            .ok()
            .filter(|v| !v.is_empty())
            .map(|v| Setting::new(k, v))
    })
}

/// `[a-z]{2}(-[a-z]+)+-[0-9]+`: `us-east-1`, `us-gov-west-1`, `ap-southeast-2`.
pub(crate) fn valid_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Group names: 1–512 of `[A-Za-z0-9_\-/.#]`.
fn check_group(group: &Setting) -> Result<(), ConfigError> {
    let ok = (1..=512).contains(&group.value.len())
        && group
            .value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-/.#".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            &group.key,
            &group.value,
            "1 to 512 characters of letters, digits, '_', '-', '/', '.' and '#'",
        ))
    }
}

/// Stream names: 1–512 characters, no ':' or '*'.
fn check_stream(stream: &Setting) -> Result<(), ConfigError> {
    let ok = (1..=512).contains(&stream.value.len())
        && !stream.value.contains([':', '*'])
        && !stream.value.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            &stream.key,
            &stream.value,
            "1 to 512 characters without ':', '*' or control characters",
        ))
    }
}

/// fapilog's default stream: `{hostname}-{unix seconds}`.
fn default_stream() -> String {
    let host = crate::civil::host_name()
        .map(|h| h.replace([':', '*'], "-"))
        .unwrap_or_else(|| "unknown".to_owned());
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{host}-{secs}")
}

#[cfg(test)]
mod tests {
    use super::*;

    impl CloudWatchSinkBuilder {
        fn build_err(self) -> String {
            match self.build() {
                Ok(_) => panic!("the build should fail"),
                Err(e) => e.to_string(),
            }
        }
    }

    fn creds() -> AwsCredentials {
        AwsCredentials::new("AKIDEXAMPLE", "hunter2-secret").session_token("tok-secret")
    }

    #[test]
    fn regions_follow_the_aws_pattern() {
        for ok in [
            "us-east-1",
            "eu-west-3",
            "us-gov-west-1",
            "ap-southeast-2",
            "il-central-1",
        ] {
            assert!(valid_region(ok), "{ok}");
        }
        for bad in [
            "",
            "us",
            "us-east",
            "US-EAST-1",
            "useast-1",
            "us-east-x",
            "us--1",
            "u-east-1",
            "us-east-1 ",
        ] {
            assert!(!valid_region(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_bad_option_fails_the_build_naming_key_and_value() {
        let err = CloudWatchSink::builder("/g")
            .region("mars-1")
            .credentials(creds())
            .build_err();
        assert!(err.contains("region") && err.contains("mars-1"), "{err}");
        let err = CloudWatchSink::builder("bad group!")
            .region("us-east-1")
            .credentials(creds())
            .build_err();
        assert!(
            err.contains("log_group") && err.contains("bad group!"),
            "{err}"
        );
        let err = CloudWatchSink::builder("/g")
            .region("us-east-1")
            .log_stream("a:b")
            .credentials(creds())
            .build_err();
        assert!(err.contains("log_stream") && err.contains("a:b"), "{err}");
        let err = CloudWatchSink::builder("/g")
            .region("us-east-1")
            .endpoint_url("ftp://x")
            .credentials(creds())
            .build_err();
        assert!(
            err.contains("endpoint_url") && err.contains("ftp://x"),
            "{err}"
        );
    }

    #[test]
    fn the_default_stream_is_hostname_dash_seconds() {
        let s = default_stream();
        let (host, secs) = s.rsplit_once('-').unwrap();
        assert!(!host.is_empty());
        assert!(secs.parse::<u64>().unwrap() > 1_600_000_000);
    }
}
