//! A global allocator for fuzz targets that keeps a few freed *large* blocks
//! and hands them back to the next request of exactly the same layout.
//!
//! Why: `FileSource::from_reader` allocates (and zero-fills) a 4 MiB read
//! buffer per capture, whatever the input's size. Under ASan every
//! allocation that large is a fresh `mmap` and every free a `munmap`, so
//! each execution paid ~1000 page faults: `pcap_file` ran at ~70 exec/s,
//! two thirds of it in the kernel (measured with `perf`). Reusing the
//! block turns that into one `memset`. Only blocks of at least
//! [`MIN_RECYCLED`] bytes are kept (a handful at a time), so ASan still
//! checks every ordinary allocation; a recycled block is memory ASan
//! considers live, which costs nothing but use-after-free detection on
//! those few buffers.
//!
//! Everything still comes from and goes back to [`System`], so a block is
//! valid for any later `realloc` / `dealloc`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;

/// Smallest block worth keeping.
pub const MIN_RECYCLED: usize = 1 << 20;
/// How many freed blocks are kept at most.
const SLOTS: usize = 4;

/// See the module documentation.
pub struct Recycle {
    /// (size, align, address) of kept blocks; `size == 0` marks an empty slot.
    slots: Mutex<[(usize, usize, usize); SLOTS]>,
}

impl Recycle {
    pub const fn new() -> Self {
        Recycle {
            slots: Mutex::new([(0, 0, 0); SLOTS]),
        }
    }
}

impl Default for Recycle {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every pointer returned was obtained from `System` with the same
// layout it is handed out for (a kept block is only reused for a request
// with identical size and alignment), and every block is either kept or
// returned to `System` exactly once.
unsafe impl GlobalAlloc for Recycle {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= MIN_RECYCLED
            && let Ok(mut slots) = self.slots.try_lock()
            && let Some(slot) = slots
                .iter_mut()
                .find(|s| s.0 == layout.size() && s.1 == layout.align())
        {
            let addr = slot.2;
            *slot = (0, 0, 0);
            return addr as *mut u8;
        }
        // SAFETY: forwarded with the caller's (valid, non-zero-size) layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() >= MIN_RECYCLED
            && let Ok(mut slots) = self.slots.try_lock()
            && let Some(slot) = slots.iter_mut().find(|s| s.0 == 0)
        {
            *slot = (layout.size(), layout.align(), ptr as usize);
            return;
        }
        // SAFETY: `ptr` came from `System` with this layout (see above).
        unsafe { System.dealloc(ptr, layout) }
    }

    /// A large block grows (`circular::Buffer::grow` doubles the 4 MiB
    /// buffer for a record that claims more) through the cache too:
    /// `System.realloc` would map a fresh block and unmap the old one.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.size().max(new_size) < MIN_RECYCLED {
            // SAFETY: every block, kept or not, is a `System` block of `layout`.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        // SAFETY: `new_layout` is valid and non-zero-sized (>= 1 MiB, or the
        // old block was); the regions are distinct blocks, each at least
        // `min(old, new)` bytes long; the old block is released once.
        unsafe {
            let new = self.alloc(new_layout);
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}
