//! A counting global allocator, so tests can prove that a lying length never turns into an allocation of the
//! claimed size: [`largest_allocation`] reports the biggest single allocation a closure made on this thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Probe;

#[global_allocator]
static PROBE: Probe = Probe;

thread_local! {
    // `const` and `Copy`: reading it never allocates and registers no destructor, so the allocator may touch it.
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // `try_with`: while a thread is being torn down the slot may be gone; such allocations are not measured.
    let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; `note` only records a size.
unsafe impl GlobalAlloc for Probe {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System.alloc` shares.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: `ptr` came from this allocator, which is `System` underneath.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, which is `System` underneath.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Runs `f` and returns its result with the size in bytes of the largest single allocation (or reallocation) it
/// made on the current thread; 0 if it allocated nothing.
pub fn largest_allocation<R>(f: impl FnOnce() -> R) -> (R, usize) {
    LARGEST.with(|largest| largest.set(0));
    let result = f();
    (result, LARGEST.with(Cell::get))
}

#[test]
fn the_probe_sees_allocations() {
    let (v, largest) = largest_allocation(|| Vec::<u8>::with_capacity(12_345));
    assert!(largest >= 12_345, "largest {largest}");
    drop(v);
    let ((), largest) = largest_allocation(|| ());
    assert_eq!(largest, 0);
}
