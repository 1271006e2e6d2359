//! The worker-side value tree: what stages read and change after the queue.
//!
//! Strings borrow from the queued record wherever they can (`Text::Borrowed`),
//! so building an event for the common flat case allocates nothing.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

/// A string in an event: borrowed from the record, shared, or owned.
#[derive(Clone)]
pub enum Text<'a> {
    /// Borrowed from the queued record or from static data.
    Borrowed(&'a str),
    /// Shared with bound context or configuration.
    Shared(Arc<str>),
    /// Owned, typically written by a stage.
    Owned(String),
}

impl Text<'_> {
    /// The string.
    pub fn as_str(&self) -> &str {
        match self {
            Text::Borrowed(s) => s,
            Text::Shared(s) => s,
            Text::Owned(s) => s,
        }
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> Text<'static> {
        match self {
            Text::Borrowed(s) => Text::Owned(s.to_owned()),
            Text::Shared(s) => Text::Shared(s),
            Text::Owned(s) => Text::Owned(s),
        }
    }

    /// A borrowed view of this text.
    pub fn view(&self) -> Text<'_> {
        Text::Borrowed(self.as_str())
    }
}

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Text<'_> {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Text<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text<'_> {}

impl PartialEq<str> for Text<'_> {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(s: &'a str) -> Self {
        Text::Borrowed(s)
    }
}

impl From<String> for Text<'_> {
    fn from(s: String) -> Self {
        Text::Owned(s)
    }
}

impl From<Arc<str>> for Text<'_> {
    fn from(s: Arc<str>) -> Self {
        Text::Shared(s)
    }
}

/// A JSON-like value in an event.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A float (NaN and infinities are written as strings).
    F64(f64),
    /// A string.
    Str(Text<'a>),
    /// An array.
    Array(Vec<Value<'a>>),
    /// An object, keys in insertion order.
    Map(Map<'a>),
}

impl<'a> Value<'a> {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(t) => Some(t.as_str()),
            _ => None,
        }
    }

    /// The map, if this is one.
    pub fn as_map(&self) -> Option<&Map<'a>> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The map, mutably, if this is one.
    pub fn as_map_mut(&mut self) -> Option<&mut Map<'a>> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The integer, if this is one that fits an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::I64(v) => Some(v),
            Value::U64(v) => i64::try_from(v).ok(),
            _ => None,
        }
    }

    /// `true` for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// A string value that borrows `s`.
    pub fn str(s: &'a str) -> Self {
        Value::Str(Text::Borrowed(s))
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(b),
            Value::I64(v) => Value::I64(v),
            Value::U64(v) => Value::U64(v),
            Value::F64(v) => Value::F64(v),
            Value::Str(t) => Value::Str(t.into_owned()),
            Value::Array(a) => Value::Array(a.into_iter().map(Value::into_owned).collect()),
            Value::Map(m) => Value::Map(m.into_owned()),
        }
    }

    /// A view of this value whose strings borrow from it (nested arrays and
    /// maps are copied shallowly).
    pub fn view(&self) -> Value<'_> {
        match self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(*b),
            Value::I64(v) => Value::I64(*v),
            Value::U64(v) => Value::U64(*v),
            Value::F64(v) => Value::F64(*v),
            Value::Str(t) => Value::Str(t.view()),
            Value::Array(a) => Value::Array(a.iter().map(Value::view).collect()),
            Value::Map(m) => Value::Map(m.view()),
        }
    }

    /// Parses JSON text into a value whose unescaped strings borrow from `json`.
    pub fn from_json(json: &'a str) -> Result<Value<'a>, serde_json::Error> {
        use serde::Deserialize;
        let mut de = serde_json::Deserializer::from_str(json);
        let v = Value::deserialize(&mut de)?;
        de.end()?;
        Ok(v)
    }
}

impl From<&'static str> for Value<'_> {
    fn from(s: &'static str) -> Self {
        Value::Str(Text::Borrowed(s))
    }
}

impl From<String> for Value<'_> {
    fn from(s: String) -> Self {
        Value::Str(Text::Owned(s))
    }
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::I64(v)
    }
}

impl From<u64> for Value<'_> {
    fn from(v: u64) -> Self {
        Value::U64(v)
    }
}

impl From<f64> for Value<'_> {
    fn from(v: f64) -> Self {
        Value::F64(v)
    }
}

impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

/// An insertion-ordered object with unique keys.
///
/// A small vector rather than a hash map: events have a handful of keys, and
/// a linear scan over them beats hashing.
#[derive(Clone, Default, PartialEq)]
pub struct Map<'a> {
    entries: Vec<(Text<'a>, Value<'a>)>,
}

impl fmt::Debug for Map<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl<'a> Map<'a> {
    /// An empty map.
    pub fn new() -> Self {
        Map {
            entries: Vec::new(),
        }
    }

    pub(crate) fn from_vec(entries: Vec<(Text<'a>, Value<'a>)>) -> Self {
        Map { entries }
    }

    pub(crate) fn into_vec(self) -> Vec<(Text<'a>, Value<'a>)> {
        self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    }

    /// The value under `key`, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value<'a>> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    }

    /// Follows a dotted path (`user.address.city`) through nested maps.
    pub fn get_path(&self, path: &str) -> Option<&Value<'a>> {
        let mut parts = path.split('.');
        let mut cur = self.get(parts.next()?)?;
        for p in parts {
            cur = cur.as_map()?.get(p)?;
        }
        Some(cur)
    }

    /// `true` when `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` to `value`, replacing an existing entry in place.
    pub fn insert(&mut self, key: impl Into<Text<'a>>, value: impl Into<Value<'a>>) {
        let key = key.into();
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// Appends an entry whose key the caller knows is absent (no scan).
    pub(crate) fn push_new(&mut self, key: Text<'a>, value: Value<'a>) {
        debug_assert!(self.get(&key).is_none(), "duplicate key {key:?}");
        self.entries.push((key, value));
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Value<'a>> {
        let i = self.entries.iter().position(|(k, _)| k.as_str() == key)?;
        Some(self.entries.remove(i).1)
    }

    /// Keeps the entries for which `f` returns `true`.
    pub fn retain(&mut self, mut f: impl FnMut(&str, &mut Value<'a>) -> bool) {
        self.entries.retain_mut(|(k, v)| f(k.as_str(), v));
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value<'a>)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The entries in order, values mutable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Value<'a>)> {
        self.entries.iter_mut().map(|(k, v)| (k.as_str(), v))
    }

    /// Removes every entry, keeping the allocation.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> Map<'static> {
        Map {
            entries: self
                .entries
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// A view whose strings borrow from this map.
    pub fn view(&self) -> Map<'_> {
        Map {
            entries: self
                .entries
                .iter()
                .map(|(k, v)| (k.view(), v.view()))
                .collect(),
        }
    }
}

impl<'a, K: Into<Text<'a>>, V: Into<Value<'a>>> FromIterator<(K, V)> for Map<'a> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut m = Map::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

impl<'a> From<Map<'a>> for Value<'a> {
    fn from(m: Map<'a>) -> Self {
        Value::Map(m)
    }
}

impl serde::Serialize for Value<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::I64(v) => s.serialize_i64(*v),
            Value::U64(v) => s.serialize_u64(*v),
            Value::F64(v) if v.is_finite() => s.serialize_f64(*v),
            Value::F64(v) => s.serialize_str(crate::encode::non_finite_name(*v)),
            Value::Str(t) => s.serialize_str(t.as_str()),
            Value::Array(a) => s.collect_seq(a.iter()),
            Value::Map(m) => m.serialize(s),
        }
    }
}

impl serde::Serialize for Map<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.entries.iter().map(|(k, v)| (k.as_str(), v)))
    }
}

impl<'de> serde::Deserialize<'de> for Value<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> serde::de::Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value<'de>, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value<'de>, E> {
        Ok(Value::I64(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value<'de>, E> {
        Ok(Value::U64(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value<'de>, E> {
        Ok(Value::F64(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Value<'de>, E> {
        Ok(Value::Str(Text::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value<'de>, E> {
        Ok(Value::Str(Text::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Value<'de>, E> {
        Ok(Value::Str(Text::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value<'de>, D::Error> {
        serde::Deserialize::deserialize(d)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'de>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value<'de>, A::Error> {
        let mut m = Map::new();
        while let Some(k) = map.next_key::<KeyText<'de>>()? {
            let v: Value<'de> = map.next_value()?;
            m.insert(k.0, v);
        }
        Ok(Value::Map(m))
    }
}

struct KeyText<'de>(Text<'de>);

impl<'de> serde::Deserialize<'de> for KeyText<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = KeyText<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<KeyText<'de>, E> {
                Ok(KeyText(Text::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<KeyText<'de>, E> {
                Ok(KeyText(Text::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<KeyText<'de>, E> {
                Ok(KeyText(Text::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_insert_replaces_in_place() {
        let mut m = Map::new();
        m.insert("a", 1_i64);
        m.insert("b", 2_i64);
        m.insert("a", 3_i64);
        let keys: Vec<_> = m.iter().map(|(k, _)| k.to_owned()).collect();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(m.get("a"), Some(&Value::I64(3)));
    }

    #[test]
    fn from_json_borrows_and_nests() {
        let v = Value::from_json(r#"{"user":{"name":"ann","tags":["x",1,null]}}"#).unwrap();
        let m = v.as_map().unwrap();
        assert_eq!(m.get_path("user.name").and_then(Value::as_str), Some("ann"));
        assert!(matches!(
            m.get_path("user.name"),
            Some(Value::Str(Text::Borrowed(_)))
        ));
    }
}
