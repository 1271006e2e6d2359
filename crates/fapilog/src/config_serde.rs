//! Serde for the settings types, written by two small macros instead of
//! `#[derive]`.
//!
//! The settings structs all read the same way: every field optional (the
//! struct's `Default` fills the rest), unknown fields refused, enums as
//! their snake_case names. Deriving that cost a proc-macro build (`syn` and
//! `serde_derive`, seconds of a clean build) and a visitor per type and per
//! input format. Here each struct goes through one JSON object instead: the
//! part that depends on the input format is a single
//! `serde_json::Map::deserialize` shared by every type, and each field is
//! read from its JSON value. The errors are serde's own ("unknown field
//! `x`, expected one of …", "invalid type: …"), with the field named.

use serde::de::Error as _;
use serde_json::{Map, Value};

/// Reads a settings struct: `set` stores one field's value (or refuses an
/// unknown key) and is called for every key of the input's object.
pub(crate) fn read_struct<'de, D: serde::Deserializer<'de>>(
    d: D,
    set: &mut dyn FnMut(&str, Value) -> Result<(), serde_json::Error>,
) -> Result<(), D::Error> {
    let map = <Map<String, Value> as serde::Deserialize>::deserialize(d)?;
    set_all(map, set).map_err(D::Error::custom)
}

fn set_all(
    map: Map<String, Value>,
    set: &mut dyn FnMut(&str, Value) -> Result<(), serde_json::Error>,
) -> Result<(), serde_json::Error> {
    map.into_iter().try_for_each(|(k, v)| set(&k, v))
}

/// Stores one field read from its JSON value, naming the field in the error.
pub(crate) fn field<T: serde::de::DeserializeOwned>(
    slot: &mut T,
    name: &str,
    value: Value,
) -> Result<(), serde_json::Error> {
    *slot = serde_json::from_value(value)
        .map_err(|e| serde_json::Error::custom(format_args!("{name}: {e}")))?;
    Ok(())
}

/// The error for a key the struct does not have, as serde words it.
pub(crate) fn unknown(key: &str, fields: &'static [&'static str]) -> serde_json::Error {
    serde_json::Error::unknown_field(key, fields)
}

/// Collects a struct's fields as JSON values, in declaration order, then
/// serializes them as one map.
#[derive(Default)]
pub(crate) struct Fields {
    fields: Vec<(&'static str, Value)>,
    error: Option<serde_json::Error>,
}

impl Fields {
    pub(crate) fn put<T: serde::Serialize + ?Sized>(&mut self, name: &'static str, value: &T) {
        match serde_json::to_value(value) {
            Ok(v) => self.fields.push((name, v)),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
    }

    pub(crate) fn serialize<S: serde::Serializer>(self, s: S) -> Result<S::Ok, S::Error> {
        match self.error {
            Some(e) => Err(serde::ser::Error::custom(e)),
            None => s.collect_map(self.fields.iter().map(|(k, v)| (k, v))),
        }
    }
}

/// Serialize and Deserialize for a settings struct whose fields are
/// optional (missing ones keep the struct's `Default`) and which refuses
/// unknown fields: what `#[serde(default, deny_unknown_fields)]` did. The
/// fields listed after `required` must be present.
macro_rules! settings_serde {
    ($ty:ident { $($field:ident),* $(,)? } $(required $($req:ident),+)?) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                #[allow(unused_mut)]
                let mut fields = $crate::config_serde::Fields::default();
                $( fields.put(stringify!($field), &self.$field); )*
                fields.serialize(s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                const FIELDS: &[&str] = &[$(stringify!($field)),*];
                #[allow(unused_mut)]
                let mut this = <$ty as Default>::default();
                let mut missing: Vec<&'static str> = vec![$($(stringify!($req)),+)?];
                $crate::config_serde::read_struct(d, &mut |key, _value| {
                    missing.retain(|m| *m != key);
                    match key {
                        $( stringify!($field) => {
                            $crate::config_serde::field(&mut this.$field, key, _value)
                        } )*
                        _ => Err($crate::config_serde::unknown(key, FIELDS)),
                    }
                })?;
                match missing.first() {
                    Some(name) => Err(serde::de::Error::missing_field(*name)),
                    None => Ok(this),
                }
            }
        }
    };
}

/// Serialize and Deserialize for a settings enum of unit variants, by the
/// names given (fapilog's spelling).
macro_rules! settings_enum_serde {
    ($ty:ident { $($variant:ident = $name:literal),+ $(,)? }) => {
        impl $ty {
            /// The setting's spelling of this value.
            fn setting_name(self) -> &'static str {
                match self {
                    $( $ty::$variant => $name, )+
                }
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.setting_name())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                const VARIANTS: &[&str] = &[$($name),+];
                let name = <String as serde::Deserialize>::deserialize(d)?;
                match name.as_str() {
                    $( $name => Ok($ty::$variant), )+
                    _ => Err(serde::de::Error::unknown_variant(&name, VARIANTS)),
                }
            }
        }
    };
}

pub(crate) use {settings_enum_serde, settings_serde};

#[cfg(test)]
mod tests {
    #[derive(Debug, PartialEq)]
    struct Probe {
        size: usize,
        name: String,
        rate: Option<f64>,
    }

    impl Default for Probe {
        fn default() -> Probe {
            Probe {
                size: 7,
                name: "seven".into(),
                rate: None,
            }
        }
    }

    settings_serde!(Probe { size, name, rate });

    #[derive(Debug, Default, PartialEq)]
    struct Rule {
        levels: Vec<String>,
        sinks: Vec<String>,
    }

    settings_serde!(Rule { levels, sinks } required sinks);

    #[test]
    fn a_required_field_must_be_present_the_others_keep_their_default() {
        let r: Rule = serde_json::from_str(r#"{"sinks": ["a"]}"#).unwrap();
        assert_eq!(
            r,
            Rule {
                levels: vec![],
                sinks: vec!["a".into()]
            }
        );
        let e = serde_json::from_str::<Rule>(r#"{"levels": ["ERROR"]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing field `sinks`"), "{e}");
        let e = serde_json::from_str::<Rule>(r#"{"sink": ["a"]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `sink`"), "{e}");
    }

    #[derive(Debug, PartialEq, Clone, Copy)]
    enum Mode {
        Fast,
        VerySlow,
    }

    settings_enum_serde!(Mode { Fast = "fast", VerySlow = "very_slow" });

    #[test]
    fn missing_fields_keep_the_default_and_given_ones_replace_it() {
        let p: Probe = serde_json::from_str(r#"{"size": 3}"#).unwrap();
        assert_eq!(
            p,
            Probe {
                size: 3,
                ..Probe::default()
            }
        );
        let p: Probe = serde_json::from_str(r#"{"rate": 0.5, "name": "x"}"#).unwrap();
        assert_eq!(
            p,
            Probe {
                size: 7,
                name: "x".into(),
                rate: Some(0.5)
            }
        );
        assert_eq!(
            serde_json::from_str::<Probe>("{}").unwrap(),
            Probe::default()
        );
    }

    #[test]
    fn unknown_fields_and_bad_values_are_refused_naming_them() {
        let e = serde_json::from_str::<Probe>(r#"{"sise": 3}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown field `sise`, expected one of `size`, `name`, `rate`"),
            "{e}"
        );
        let e = serde_json::from_str::<Probe>(r#"{"size": "big"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("size: invalid type: string \"big\""), "{e}");
        let e = serde_json::from_str::<Probe>(r#"{"size": null}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("size: invalid type: null"), "{e}");
        assert!(serde_json::from_str::<Probe>("[1]").is_err());
    }

    #[test]
    fn a_struct_round_trips_through_json() {
        let p = Probe {
            size: 1,
            name: "n".into(),
            rate: Some(2.5),
        };
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v, serde_json::json!({"size": 1, "name": "n", "rate": 2.5}));
        // Declaration order, as the derive wrote it.
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"size":1,"name":"n","rate":2.5}"#
        );
        assert_eq!(serde_json::from_value::<Probe>(v).unwrap(), p);
    }

    #[test]
    fn enums_read_and_write_their_setting_names_only() {
        assert_eq!(
            serde_json::to_string(&Mode::VerySlow).unwrap(),
            r#""very_slow""#
        );
        assert_eq!(
            serde_json::from_str::<Mode>(r#""fast""#).unwrap(),
            Mode::Fast
        );
        let e = serde_json::from_str::<Mode>(r#""Fast""#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown variant `Fast`, expected `fast` or `very_slow`"),
            "{e}"
        );
        assert!(serde_json::from_str::<Mode>("1").is_err());
    }
}
