//! [`CountingAlloc`]: the system allocator plus a count of live bytes.
//!
//! `used_memory` in INFO is this count: what the process holds on the heap,
//! which is what `maxmemory` bounds. The binary installs it as the global
//! allocator; in a process that does not, [`allocated`] reads 0.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

/// Bytes currently allocated through [`CountingAlloc`].
pub fn allocated() -> usize {
    ALLOCATED.load(Ordering::Relaxed)
}

static PEAK: AtomicUsize = AtomicUsize::new(0);

/// The largest [`allocated`] seen at a call of this function (the server
/// calls it from its cron and when reporting), as Redis samples its peak.
pub fn peak() -> usize {
    let now = allocated();
    PEAK.fetch_max(now, Ordering::Relaxed).max(now)
}

pub struct CountingAlloc;

// SAFETY: every method forwards to `System` with the caller's layout and
// only adjusts a counter, so System's guarantees carry over unchanged.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
            ALLOCATED.fetch_add(new_size, Ordering::Relaxed);
        }
        p
    }
}
