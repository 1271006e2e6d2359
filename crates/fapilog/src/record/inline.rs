//! The record's storage: a fixed inline array with an explicit length, and a
//! heap vector taken only when a call outgrows it.
//!
//! Unlike a general small vector, a push is one compare and one store: the
//! inline length doubles as the "spilled" flag (it is set past the end once
//! the items have moved to the heap), so the fast path never looks anywhere
//! else. The inline slots past the length are left uninitialized, so an
//! empty vector costs a length and an empty `Vec` to make, whatever `N`.

use std::fmt;
use std::io;
use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};
use std::ptr;

/// Up to `N` items inline, then all of them on the heap.
///
/// The length and the (boxed, so one word) heap pointer come first, so a
/// record in a queue slot touches only the cache lines it fills.
#[repr(C)]
pub(crate) struct InlineVec<T: Copy, const N: usize> {
    /// Items in use (and initialized) at the start of `inline`;
    /// [`Self::SPILLED`] once they live in `heap`.
    len: usize,
    /// Boxed on purpose: one word in every queue slot instead of three, for
    /// a vector that exists only in the rare call that spills.
    #[allow(clippy::box_collection)]
    heap: Option<Box<Vec<T>>>,
    inline: [MaybeUninit<T>; N],
}

impl<T: Copy, const N: usize> InlineVec<T, N> {
    /// Past the end of `inline`: every inline access misses, so the fast
    /// paths fall through to the heap without a separate flag.
    const SPILLED: usize = N + 1;

    #[inline(always)]
    pub(crate) const fn new() -> Self {
        InlineVec {
            len: 0,
            heap: None,
            inline: [MaybeUninit::uninit(); N],
        }
    }

    /// Makes `*p` an empty vector in place, writing only the length and the
    /// (absent) heap vector.
    ///
    /// # Safety
    /// `p` must be valid for writes.
    #[inline(always)]
    pub(crate) unsafe fn init_in(p: *mut Self) {
        // SAFETY: the caller's contract; `inline` may stay uninitialized.
        unsafe {
            ptr::addr_of_mut!((*p).len).write(0);
            ptr::addr_of_mut!((*p).heap).write(None);
        }
    }

    #[inline(always)]
    pub(crate) fn push(&mut self, item: T) {
        match self.inline.get_mut(self.len) {
            Some(slot) => {
                slot.write(item);
                self.len += 1;
            }
            None => self.push_heap(item),
        }
    }

    #[inline(always)]
    pub(crate) fn extend_from_slice(&mut self, items: &[T]) {
        match self.inline.get_mut(self.len..self.len + items.len()) {
            Some(dst) => {
                // SAFETY: `dst` is exactly `items.len()` slots of `inline`,
                // which `items` (a shared borrow) cannot overlap.
                unsafe { copy_short(items, dst.as_mut_ptr().cast::<T>()) };
                self.len += items.len();
            }
            None => self.extend_heap(items),
        }
    }

    /// Keeps the first `len` items.
    pub(crate) fn truncate(&mut self, len: usize) {
        match &mut self.heap {
            Some(heap) => heap.truncate(len),
            None => self.len = self.len.min(len),
        }
    }

    #[cold]
    #[inline(never)]
    fn push_heap(&mut self, item: T) {
        self.spill(1).push(item);
    }

    #[cold]
    #[inline(never)]
    fn extend_heap(&mut self, items: &[T]) {
        self.spill(items.len()).extend_from_slice(items);
    }

    /// Moves the inline items to the heap (with room for `more`), once.
    fn spill(&mut self, more: usize) -> &mut Vec<T> {
        if self.heap.is_none() {
            let mut heap = Vec::with_capacity((2 * N).max(self.len + more));
            heap.extend_from_slice(self);
            self.len = Self::SPILLED;
            self.heap = Some(Box::new(heap));
        }
        self.heap.get_or_insert_with(Box::default)
    }
}

impl<T: Copy, const N: usize> Deref for InlineVec<T, N> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        match self.inline.get(..self.len) {
            // SAFETY: the first `len` inline slots are initialized, and
            // `MaybeUninit<T>` has the layout of `T`.
            Some(items) => unsafe { &*(items as *const [MaybeUninit<T>] as *const [T]) },
            None => self.heap.as_deref().map_or(&[], Vec::as_slice),
        }
    }
}

impl<T: Copy, const N: usize> DerefMut for InlineVec<T, N> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        match self.inline.get_mut(..self.len) {
            // SAFETY: as in `deref`.
            Some(items) => unsafe { &mut *(items as *mut [MaybeUninit<T>] as *mut [T]) },
            None => self.heap.as_deref_mut().map_or(&mut [], Vec::as_mut_slice),
        }
    }
}

/// Copies `src` to `dst`. Short byte strings (most keys and values) are
/// copied with a few unaligned moves instead of a call to `memcpy`.
///
/// # Safety
/// `dst` must be valid for writes of `src.len()` items and not overlap `src`.
#[inline(always)]
unsafe fn copy_short<T: Copy>(src: &[T], dst: *mut T) {
    let n = src.len();
    if size_of::<T>() != 1 || n > 32 {
        // SAFETY: the caller's contract.
        unsafe { ptr::copy_nonoverlapping(src.as_ptr(), dst, n) };
        return;
    }
    let s = src.as_ptr().cast::<u8>();
    let d = dst.cast::<u8>();
    // SAFETY: every read is inside `src` and every write inside `dst` (each
    // pair of moves covers `0..n` from both ends, overlapping in the middle).
    unsafe {
        if n >= 16 {
            let (a, b) = (
                ptr::read_unaligned(s.cast::<u128>()),
                ptr::read_unaligned(s.add(n - 16).cast::<u128>()),
            );
            ptr::write_unaligned(d.cast::<u128>(), a);
            ptr::write_unaligned(d.add(n - 16).cast::<u128>(), b);
        } else if n >= 8 {
            let (a, b) = (
                ptr::read_unaligned(s.cast::<u64>()),
                ptr::read_unaligned(s.add(n - 8).cast::<u64>()),
            );
            ptr::write_unaligned(d.cast::<u64>(), a);
            ptr::write_unaligned(d.add(n - 8).cast::<u64>(), b);
        } else if n >= 4 {
            let (a, b) = (
                ptr::read_unaligned(s.cast::<u32>()),
                ptr::read_unaligned(s.add(n - 4).cast::<u32>()),
            );
            ptr::write_unaligned(d.cast::<u32>(), a);
            ptr::write_unaligned(d.add(n - 4).cast::<u32>(), b);
        } else {
            for i in 0..n {
                *d.add(i) = *s.add(i);
            }
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
        let mut v: InlineVec<u32, 3> = InlineVec::new();
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
        let mut b: InlineVec<u8, 4> = InlineVec::new();
        b.extend_from_slice(b"ab");
        b.extend_from_slice(b"cde");
        assert_eq!(&*b, b"abcde");
        let mut e: InlineVec<u8, 4> = InlineVec::new();
        e.extend_from_slice(b"abcd");
        assert_eq!(&*e, b"abcd");
        e.truncate(1);
        e.extend_from_slice(b"z");
        assert_eq!(&*e, b"az");
    }

    #[test]
    fn copies_every_short_length_exactly() {
        let src: Vec<u8> = (1..=40).collect();
        for n in 0..=src.len() {
            let mut b: InlineVec<u8, 64> = InlineVec::new();
            b.push(0);
            b.extend_from_slice(&src[..n]);
            b.push(0xff);
            assert_eq!(b.len(), n + 2);
            assert_eq!(&b[1..=n], &src[..n], "length {n}");
            assert_eq!((b[0], b[n + 1]), (0, 0xff));
        }
    }

    #[test]
    fn formats_into_itself() {
        use std::fmt::Write as _;
        let mut b: InlineVec<u8, 4> = InlineVec::new();
        let _ = write!(b, "{}-{}", 12, String::from("xyz"));
        assert_eq!(&*b, b"12-xyz");
    }
}
