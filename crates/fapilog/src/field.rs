//! What a call site hands to the logger: borrowed field values, captured into
//! the record on the caller's thread without allocating.

use std::error::Error as StdError;
use std::fmt;
use std::io;

/// One structured value at a call site, borrowed from the caller.
///
/// Build it with `From`/[`ToFieldValue`] for plain data, or with
/// [`display`], [`debug`], [`json`] and [`err`] for the rest. The macros do
/// this for you (`key = value`, `key = %display`, `key = ?debug`).
///
/// ```
/// use fapilog::{FieldValue, ToFieldValue};
/// let v: FieldValue<'_> = 42_i64.to_field_value();
/// assert!(matches!(v, FieldValue::I64(42)));
/// ```
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum FieldValue<'a> {
    /// JSON `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A float; NaN and infinities are written as the strings `"NaN"`, `"inf"`, `"-inf"`.
    F64(f64),
    /// A string.
    Str(&'a str),
    /// Written with its `Display` implementation.
    Display(&'a dyn fmt::Display),
    /// Written with its `Debug` implementation.
    Debug(&'a dyn fmt::Debug),
    /// An error: its type, message and `source()` chain go to `diagnostics.exception`.
    Error(ErrorValue<'a>),
    /// A `serde::Serialize` value, written as nested JSON.
    Json(&'a dyn SerializeJson),
}

impl fmt::Debug for FieldValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Null => f.write_str("Null"),
            FieldValue::Bool(b) => write!(f, "Bool({b})"),
            FieldValue::I64(v) => write!(f, "I64({v})"),
            FieldValue::U64(v) => write!(f, "U64({v})"),
            FieldValue::F64(v) => write!(f, "F64({v})"),
            FieldValue::Str(s) => write!(f, "Str({s:?})"),
            FieldValue::Display(d) => write!(f, "Display({d})"),
            FieldValue::Debug(d) => write!(f, "Debug({d:?})"),
            FieldValue::Error(e) => write!(f, "Error({}: {})", e.type_name, e.error),
            FieldValue::Json(_) => f.write_str("Json(..)"),
        }
    }
}

/// An error borrowed at a call site, with the name of its type.
#[derive(Clone, Copy)]
pub struct ErrorValue<'a> {
    pub(crate) type_name: &'static str,
    pub(crate) error: &'a (dyn StdError + 'static),
    pub(crate) backtrace: bool,
}

impl<'a> ErrorValue<'a> {
    /// An error known only as a trait object (bridges such as `tracing`'s
    /// `record_error`, or a boxed handler error), reported with `type_name`
    /// as its type.
    pub fn from_dyn(error: &'a (dyn StdError + 'static), type_name: &'static str) -> Self {
        ErrorValue {
            type_name,
            error,
            backtrace: false,
        }
    }

    /// Also capture a backtrace of the calling thread (slow: it walks the
    /// stack and allocates on the caller's thread; for rare, serious errors).
    #[must_use]
    pub fn with_backtrace(mut self) -> Self {
        self.backtrace = true;
        self
    }
}

/// A `serde::Serialize` value that can be written as JSON through a trait object.
///
/// Implemented for every `T: Serialize`; you do not implement it yourself.
pub trait SerializeJson {
    /// Writes `self` as compact JSON.
    fn write_json(&self, out: &mut dyn io::Write) -> Result<(), serde_json::Error>;
}

impl<T: serde::Serialize + ?Sized> SerializeJson for T {
    fn write_json(&self, out: &mut dyn io::Write) -> Result<(), serde_json::Error> {
        serde_json::to_writer(out, self)
    }
}

/// Logs `value` with its `Display` implementation.
pub fn display<T: fmt::Display>(value: &T) -> FieldValue<'_> {
    FieldValue::Display(value)
}

/// Logs `value` with its `Debug` implementation.
pub fn debug<T: fmt::Debug>(value: &T) -> FieldValue<'_> {
    FieldValue::Debug(value)
}

/// Logs a `serde::Serialize` value as nested JSON.
///
/// ```
/// #[derive(serde::Serialize)]
/// struct Order { id: u32, items: Vec<&'static str> }
/// let order = Order { id: 7, items: vec!["tea"] };
/// let _field = fapilog::json(&order);
/// ```
pub fn json<T: serde::Serialize>(value: &T) -> FieldValue<'_> {
    FieldValue::Json(value)
}

/// Logs an error: type, message and `source()` chain, in `diagnostics.exception`.
pub fn err<E: StdError + 'static>(error: &E) -> ErrorValue<'_> {
    ErrorValue {
        type_name: std::any::type_name::<E>(),
        error,
        backtrace: false,
    }
}

impl<'a> From<ErrorValue<'a>> for FieldValue<'a> {
    fn from(e: ErrorValue<'a>) -> Self {
        FieldValue::Error(e)
    }
}

/// Turns a borrowed value into a [`FieldValue`]; what `key = value` in the
/// macros calls.
pub trait ToFieldValue {
    /// The value as a field.
    fn to_field_value(&self) -> FieldValue<'_>;
}

macro_rules! int_fields {
    ($variant:ident as $as:ty: $($t:ty),*) => {$(
        impl ToFieldValue for $t {
            fn to_field_value(&self) -> FieldValue<'_> { FieldValue::$variant(*self as $as) }
        }
    )*};
}
int_fields!(I64 as i64: i8, i16, i32, i64, isize);
int_fields!(U64 as u64: u8, u16, u32, u64, usize);
int_fields!(F64 as f64: f32, f64);

impl ToFieldValue for i128 {
    fn to_field_value(&self) -> FieldValue<'_> {
        match i64::try_from(*self) {
            Ok(v) => FieldValue::I64(v),
            Err(_) => FieldValue::Display(self),
        }
    }
}

impl ToFieldValue for u128 {
    fn to_field_value(&self) -> FieldValue<'_> {
        match u64::try_from(*self) {
            Ok(v) => FieldValue::U64(v),
            Err(_) => FieldValue::Display(self),
        }
    }
}

impl ToFieldValue for bool {
    fn to_field_value(&self) -> FieldValue<'_> {
        FieldValue::Bool(*self)
    }
}

impl ToFieldValue for char {
    fn to_field_value(&self) -> FieldValue<'_> {
        FieldValue::Display(self)
    }
}

impl ToFieldValue for str {
    fn to_field_value(&self) -> FieldValue<'_> {
        FieldValue::Str(self)
    }
}

impl ToFieldValue for String {
    fn to_field_value(&self) -> FieldValue<'_> {
        FieldValue::Str(self)
    }
}

impl ToFieldValue for std::borrow::Cow<'_, str> {
    fn to_field_value(&self) -> FieldValue<'_> {
        FieldValue::Str(self)
    }
}

impl ToFieldValue for std::sync::Arc<str> {
    fn to_field_value(&self) -> FieldValue<'_> {
        FieldValue::Str(self)
    }
}

impl ToFieldValue for () {
    fn to_field_value(&self) -> FieldValue<'_> {
        FieldValue::Null
    }
}

impl<T: ToFieldValue> ToFieldValue for Option<T> {
    fn to_field_value(&self) -> FieldValue<'_> {
        match self {
            Some(v) => v.to_field_value(),
            None => FieldValue::Null,
        }
    }
}

impl<T: ToFieldValue + ?Sized> ToFieldValue for &T {
    fn to_field_value(&self) -> FieldValue<'_> {
        (**self).to_field_value()
    }
}

impl ToFieldValue for FieldValue<'_> {
    fn to_field_value(&self) -> FieldValue<'_> {
        *self
    }
}

impl ToFieldValue for ErrorValue<'_> {
    fn to_field_value(&self) -> FieldValue<'_> {
        FieldValue::Error(*self)
    }
}

impl ToFieldValue for std::time::Duration {
    /// Durations are logged as fractional milliseconds.
    fn to_field_value(&self) -> FieldValue<'_> {
        FieldValue::F64(self.as_secs_f64() * 1000.0)
    }
}

impl<'a, T: ToFieldValue + ?Sized> From<&'a T> for FieldValue<'a> {
    fn from(v: &'a T) -> Self {
        v.to_field_value()
    }
}
