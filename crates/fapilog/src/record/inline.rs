//! The record's storage: a fixed inline array with an explicit length, and a
//! heap vector taken only when a call outgrows it.
//!
//! Unlike a general small vector, a push is one compare and one store: the
//! inline length doubles as the "spilled" flag (it is set past the end once
//! the items have moved to the heap), so the fast path never looks anywhere
//! else.

use std::fmt;
use std::io;
use std::ops::{Deref, DerefMut};

/// Up to `N` items inline, then all of them on the heap.
pub(crate) struct InlineVec<T: Copy, const N: usize> {
    /// Items in use in `inline`; [`Self::SPILLED`] once they live in `heap`.
    len: usize,
    inline: [T; N],
    heap: Vec<T>,
}

impl<T: Copy, const N: usize> InlineVec<T, N> {
    /// Past the end of `inline`: every inline access misses, so the fast
    /// paths fall through to the heap without a separate flag.
    const SPILLED: usize = N + 1;

    /// An empty vector; `fill` only initializes the unused inline slots.
    #[inline(always)]
    pub(crate) const fn new(fill: T) -> Self {
        InlineVec {
            len: 0,
            inline: [fill; N],
            heap: Vec::new(),
        }
    }

    #[inline(always)]
    pub(crate) fn push(&mut self, item: T) {
        match self.inline.get_mut(self.len) {
            Some(slot) => {
                *slot = item;
                self.len += 1;
            }
            None => self.push_heap(item),
        }
    }

    #[inline(always)]
    pub(crate) fn extend_from_slice(&mut self, items: &[T]) {
        match self.inline.get_mut(self.len..self.len + items.len()) {
            Some(dst) => {
                dst.copy_from_slice(items);
                self.len += items.len();
            }
            None => self.extend_heap(items),
        }
    }

    /// Keeps the first `len` items.
    pub(crate) fn truncate(&mut self, len: usize) {
        if self.len == Self::SPILLED {
            self.heap.truncate(len);
        } else {
            self.len = self.len.min(len);
        }
    }

    #[cold]
    #[inline(never)]
    fn push_heap(&mut self, item: T) {
        self.spill(1);
        self.heap.push(item);
    }

    #[cold]
    #[inline(never)]
    fn extend_heap(&mut self, items: &[T]) {
        self.spill(items.len());
        self.heap.extend_from_slice(items);
    }

    /// Moves the inline items to the heap, with room for `more`.
    fn spill(&mut self, more: usize) {
        if self.len != Self::SPILLED {
            let mut heap = Vec::with_capacity((2 * N).max(self.len + more));
            heap.extend_from_slice(&self.inline[..self.len]);
            self.heap = heap;
            self.len = Self::SPILLED;
        }
    }
}

impl<T: Copy, const N: usize> Deref for InlineVec<T, N> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        match self.inline.get(..self.len) {
            Some(items) => items,
            None => &self.heap,
        }
    }
}

impl<T: Copy, const N: usize> DerefMut for InlineVec<T, N> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        match self.inline.get_mut(..self.len) {
            Some(items) => items,
            None => &mut self.heap,
        }
    }
}

impl<'a, T: Copy, const N: usize> IntoIterator for &'a InlineVec<T, N> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T: Copy + fmt::Debug, const N: usize> fmt::Debug for InlineVec<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Text written by `Display`/`Debug` impls goes straight in (no adapter).
impl<const N: usize> fmt::Write for InlineVec<u8, N> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// For `serde_json`, which writes to an `io::Write`.
impl<const N: usize> io::Write for InlineVec<u8, N> {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.extend_from_slice(buf);
        Ok(buf.len())
    }

    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.extend_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_to_the_heap_and_keeps_order() {
        let mut v: InlineVec<u32, 3> = InlineVec::new(0);
        for i in 0..3 {
            v.push(i);
        }
        assert_eq!(&*v, [0, 1, 2]);
        v.push(3);
        v.extend_from_slice(&[4, 5]);
        assert_eq!(&*v, [0, 1, 2, 3, 4, 5]);
        v.truncate(2);
        assert_eq!(&*v, [0, 1]);
        v.push(9);
        assert_eq!(&*v, [0, 1, 9]);
    }

    #[test]
    fn a_slice_that_does_not_fit_spills_whole() {
        let mut b: InlineVec<u8, 4> = InlineVec::new(0);
        b.extend_from_slice(b"ab");
        b.extend_from_slice(b"cde");
        assert_eq!(&*b, b"abcde");
        let mut e: InlineVec<u8, 4> = InlineVec::new(0);
        e.extend_from_slice(b"abcd");
        assert_eq!(&*e, b"abcd");
        e.truncate(1);
        e.extend_from_slice(b"z");
        assert_eq!(&*e, b"az");
    }

    #[test]
    fn formats_into_itself() {
        use std::fmt::Write as _;
        let mut b: InlineVec<u8, 4> = InlineVec::new(0);
        let _ = write!(b, "{}-{}", 12, String::from("xyz"));
        assert_eq!(&*b, b"12-xyz");
    }
}
