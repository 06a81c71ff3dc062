//! `get_with` and `update` allocate nothing on the heap: a counting global
//! allocator watches them.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use mproc_dict::{Dict, DictOptions, TypedDict};

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations(f: impl FnOnce()) -> u64 {
    let before = ALLOCS.with(Cell::get);
    f();
    ALLOCS.with(Cell::get) - before
}

#[test]
fn hot_paths_allocate_nothing() {
    let d = Dict::new(DictOptions::new().capacity(10_000)).unwrap();
    for k in 0u64..1000 {
        d.insert(&k.to_le_bytes(), &k.to_le_bytes()).unwrap();
    }
    let t: TypedDict<u64, u64> = TypedDict::new(DictOptions::new().capacity(10_000)).unwrap();
    for k in 0u64..1000 {
        t.insert(&k, &k).unwrap();
    }
    // Warm up (per-thread identity caches).
    d.get_with(b"x", |_| ()).unwrap();

    let n = allocations(|| {
        let mut sum = 0u64;
        for k in 0u64..1000 {
            sum += d
                .get_with(&k.to_le_bytes(), |v| {
                    u64::from_le_bytes(v.try_into().unwrap())
                })
                .unwrap()
                .unwrap();
        }
        assert_eq!(sum, 999 * 1000 / 2);
    });
    assert_eq!(n, 0, "Dict::get_with allocated");

    let n = allocations(|| {
        for k in 0u64..1000 {
            d.update(&k.to_le_bytes(), |v| {
                let n = u64::from_le_bytes(v.unwrap().try_into().unwrap());
                Some((n + 1).to_le_bytes())
            })
            .unwrap();
        }
    });
    assert_eq!(n, 0, "Dict::update allocated");

    let n = allocations(|| {
        for k in 0u64..1000 {
            t.update(&k, |v| Some(v.copied().unwrap_or(0) + 1)).unwrap();
            assert_eq!(t.get_with(&k, |v| *v).unwrap(), Some(k + 1));
        }
    });
    assert_eq!(n, 0, "TypedDict::update/get_with allocated");

    // The counter works: a copying get allocates.
    assert!(allocations(|| drop(d.get(b"\0\0\0\0\0\0\0\0").unwrap())) > 0);
}
