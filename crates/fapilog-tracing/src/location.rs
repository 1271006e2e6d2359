//! Call sites as `&'static fapilog::Location`: made once per call site (cold
//! path), then found by key.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;

use fapilog::Location;

/// Leaked locations by call-site key; bounded by the program's call sites.
#[derive(Debug)]
pub(crate) struct Locations<K> {
    map: RwLock<HashMap<K, &'static Location>>,
}

impl<K: Hash + Eq> Default for Locations<K> {
    fn default() -> Self {
        Locations {
            map: RwLock::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq> Locations<K> {
    /// The location for `key`, made from `make` the first time.
    pub(crate) fn get(&self, key: K, make: impl FnOnce() -> Location) -> &'static Location {
        let read = match self.map.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(l) = read.get(&key) {
            return l;
        }
        drop(read);
        let mut write = match self.map.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        write
            .entry(key)
            .or_insert_with(|| Box::leak(Box::new(make())))
    }
}
