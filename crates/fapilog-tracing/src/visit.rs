//! Event fields, visited straight into the record under construction.

use std::error::Error as StdError;
use std::fmt;

use fapilog::{Capture, ErrorValue, FieldValue};
use tracing_core::field::{Field, Visit};

/// Writes an event's fields into a [`Capture`]. For events that
/// `tracing-log` forwarded from `log`, its `log.*` fields name the logger
/// instead of becoming data.
pub(crate) struct EventVisitor<'c, 'l> {
    pub(crate) call: &'c mut Capture<'l>,
    pub(crate) from_log: bool,
    pub(crate) logger_from_target: bool,
}

impl EventVisitor<'_, '_> {
    /// `true` when the field was one of `tracing-log`'s own.
    #[inline]
    fn log_field(&mut self, name: &str, text: Option<&str>) -> bool {
        if !self.from_log || !name.starts_with("log.") {
            return false;
        }
        if let (true, "log.target", Some(target)) = (self.logger_from_target, name, text) {
            self.call.logger_name(target);
        }
        true
    }
}

impl Visit for EventVisitor<'_, '_> {
    #[inline]
    fn record_f64(&mut self, field: &Field, value: f64) {
        if !self.log_field(field.name(), None) {
            self.call.field(field.name(), FieldValue::F64(value));
        }
    }
    #[inline]
    fn record_i64(&mut self, field: &Field, value: i64) {
        if !self.log_field(field.name(), None) {
            self.call.field(field.name(), FieldValue::I64(value));
        }
    }
    #[inline]
    fn record_u64(&mut self, field: &Field, value: u64) {
        if !self.log_field(field.name(), None) {
            self.call.field(field.name(), FieldValue::U64(value));
        }
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        match i64::try_from(value) {
            Ok(v) => self.record_i64(field, v),
            Err(_) => self.call.field(field.name(), FieldValue::Display(&value)),
        }
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        match u64::try_from(value) {
            Ok(v) => self.record_u64(field, v),
            Err(_) => self.call.field(field.name(), FieldValue::Display(&value)),
        }
    }
    #[inline]
    fn record_bool(&mut self, field: &Field, value: bool) {
        if !self.log_field(field.name(), None) {
            self.call.field(field.name(), FieldValue::Bool(value));
        }
    }
    #[inline]
    fn record_str(&mut self, field: &Field, value: &str) {
        let name = field.name();
        if name == "message" {
            self.call.message(value);
        } else if !self.log_field(name, Some(value)) {
            self.call.field(name, FieldValue::Str(value));
        }
    }
    fn record_error(&mut self, field: &Field, value: &(dyn StdError + 'static)) {
        self.call.field(
            field.name(),
            FieldValue::Error(ErrorValue::from_dyn(value, "error")),
        );
    }
    #[inline]
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let name = field.name();
        if name == "message" {
            // `tracing` hands the message over as `format_args!`; its Debug
            // writes the formatted text (a literal is copied, not formatted).
            self.call.message_args(format_args!("{value:?}"));
        } else if !self.log_field(name, None) {
            self.call.field(name, FieldValue::Debug(value));
        }
    }
}
