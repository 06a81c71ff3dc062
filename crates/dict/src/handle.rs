//! The machinery behind a [`Dict`](crate::Dict) handle: the root, the
//! mapped generation, and the retry loop every operation runs in (lock the
//! key's shard; if the generation is stale, remap; if there is no room,
//! grow).

use std::cell::{Ref, RefCell};
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use mproc_shm::{Segment, ShmError};
use mproc_sys::ProcessId;

use crate::generation::{Generation, segment_len};
use crate::grow::{Trigger, grow};
use crate::layout::TableLayout;
use crate::root::{self, FLAG_ANON_GEN0, MAX_DICT_NAME_LEN, RootInfo};
use crate::shard::NoRoom;
use crate::table::{LockDeadline, ShardGuard};
use crate::{DictError, DictOptions, Result};

/// What an operation did in one attempt.
pub(crate) enum Step<R> {
    /// Finished with this result.
    Done(R),
    /// Needs a bigger table: grow, then try again.
    NoRoom(NoRoom),
}

/// The part of a dict handle shared by its clones.
#[derive(Debug)]
pub(crate) struct Shared {
    root: Segment,
    /// The root's generation word, found (bounds- and alignment-checked)
    /// once: every operation loads it.
    generation: NonNull<AtomicU64>,
    pub(crate) info: RootInfo,
    /// The process that removes the generation names on drop: the creator,
    /// unless persistent.
    remove_by: Option<ProcessId>,
}

// SAFETY: `generation` points into `root`'s mapping, which `Shared` owns
// and which lives as long as it; an `AtomicU64` is Send and Sync.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

impl Shared {
    fn new(root: Segment, info: RootInfo, remove_by: Option<ProcessId>) -> Result<Shared> {
        let generation = NonNull::from(root::generation_word(&root)?);
        Ok(Shared {
            root,
            generation,
            info,
            remove_by,
        })
    }

    /// The root's generation word.
    #[inline]
    pub(crate) fn generation_word(&self) -> &AtomicU64 {
        // SAFETY: the pointer came from a checked `Region::get` on `root`,
        // whose mapping lives (unmoved: a mapping does not move when its
        // `Segment` does) as long as `self`.
        unsafe { self.generation.as_ref() }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Not in the parent's copy of a dict a forked child's body
        // captured: the child's copy removes the tables when done.
        if self.root.removes_on_drop(self.remove_by) {
            let first = u64::from(self.info.flags & FLAG_ANON_GEN0 != 0);
            let last = root::current_generation(&self.root).unwrap_or(0);
            root::unlink_generations(&self.info, first, last);
        }
    }
}

/// The dict handle's state: shared part and this handle's mapping of the
/// current generation.
#[derive(Debug)]
pub(crate) struct Handle {
    pub(crate) shared: Arc<Shared>,
    current: RefCell<Arc<Generation>>,
    /// How long an operation waits for shard locks (`None`: as long as
    /// their holders live).
    pub(crate) lock_timeout: Option<Duration>,
}

enum GenRef<'a> {
    Cell(Ref<'a, Arc<Generation>>),
    Local(Arc<Generation>),
}

impl Deref for GenRef<'_> {
    type Target = Generation;
    fn deref(&self) -> &Generation {
        match self {
            GenRef::Cell(r) => r,
            GenRef::Local(g) => g,
        }
    }
}

static ANON_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh base name for an anonymous dict's generation segments.
fn anonymous_base() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!(
        "mproc-dict.{}.{:x}.{}",
        mproc_sys::getpid(),
        nanos,
        ANON_COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The first layout, shrunk to fit a memory cap.
fn first_layout(opts: &DictOptions) -> Result<TableLayout> {
    let mut layout = opts.initial_layout()?;
    if let Some(cap) = opts.max_bytes
        && segment_len(&layout) > cap
    {
        let mut small = layout;
        small.arena_len = 64;
        let fixed = segment_len(&small);
        if fixed > cap || (cap - fixed) / small.shards() < 192 {
            return Err(DictError::InvalidOption {
                option: "max_bytes",
                value: cap,
            });
        }
        layout.arena_len = 64 + (cap - fixed) / small.shards() / 64 * 64;
    }
    Ok(layout)
}

impl Handle {
    /// A new dict: anonymous if `name` is `None`.
    pub(crate) fn create(name: Option<&str>, opts: &DictOptions, persist: bool) -> Result<Handle> {
        let layout = first_layout(opts)?;
        if let Some(n) = name
            && n.len() > MAX_DICT_NAME_LEN
        {
            return Err(DictError::NameTooLong {
                name: n.to_owned(),
                max: MAX_DICT_NAME_LEN as u64,
            });
        }
        let info = RootInfo {
            base: name.map_or_else(anonymous_base, root::named_base),
            first: layout,
            max_bytes: opts.max_bytes,
            flags: if name.is_none() { FLAG_ANON_GEN0 } else { 0 },
            mode: opts.mode.unwrap_or_else(mproc_shm::default_mode),
        };
        let (root, gen0) = match name {
            None => {
                let root = info.create(None)?;
                (root, Generation::create(None, info.mode, layout, |_| Ok(()))?)
            }
            Some(_) => {
                // Generation 0 is made inside the root's initializer, so an
                // opener that sees the root ready finds it.
                let mut gen0 = None;
                let root = info.create_with(name, || {
                    gen0 = Some(Generation::create(Some(&info.gen_name(0)), info.mode, layout, |_| {
                        Ok(())
                    })?);
                    Ok(())
                })?;
                let gen0 = gen0.ok_or(DictError::Corrupt {
                    what: "generation 0 not made",
                    offset: 0,
                    value: 0,
                })?;
                if persist {
                    root.persist();
                }
                (root, gen0)
            }
        };
        Ok(Handle {
            shared: Arc::new(Shared::new(
                root,
                info,
                (!persist).then(ProcessId::current_or_pid),
            )?),
            current: RefCell::new(Arc::new(gen0)),
            lock_timeout: None,
        })
    }

    /// Opens a named dict.
    pub(crate) fn open(name: &str) -> Result<Handle> {
        let root = Segment::opener(name)
            .kind(mproc_shm::SegmentKind::Dict)
            .open()?;
        let info = RootInfo::read_named(&root, name)?;
        let shared = Arc::new(Shared::new(root, info, None)?);
        let generation = open_latest(&shared)?;
        Ok(Handle {
            shared,
            current: RefCell::new(Arc::new(generation)),
            lock_timeout: None,
        })
    }

    /// Another handle on the same dict.
    pub(crate) fn duplicate(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
            current: RefCell::new(self.current.borrow().clone()),
            lock_timeout: self.lock_timeout,
        }
    }

    /// The root segment.
    pub(crate) fn root(&self) -> &Segment {
        &self.shared.root
    }

    /// Runs `op` on the locked shard `pick` chooses, remapping and growing
    /// as needed. `op` runs again after a remap or a growth.
    ///
    /// Almost every call is one pass: one shard lock, one load of the
    /// generation word. `op` is called from this one place (so that it
    /// inlines); remapping and growing are out of line.
    #[inline(always)]
    pub(crate) fn with_shard<R>(
        &self,
        pick: impl Fn(&TableLayout) -> u64,
        op: impl FnMut(&ShardGuard<'_>, &TableLayout) -> Result<Step<R>>,
    ) -> Result<R> {
        self.with_shard_until(self.lock_deadline(), pick, op)
    }

    /// When an operation that starts now stops waiting for shard locks
    /// (`None`: no lock timeout).
    #[inline]
    pub(crate) fn lock_deadline(&self) -> Option<LockDeadline> {
        self.lock_timeout.and_then(LockDeadline::after)
    }

    /// [`with_shard`](Self::with_shard) as part of an operation that
    /// started earlier: its locks are waited for until `deadline`.
    #[inline(always)]
    pub(crate) fn with_shard_until<R>(
        &self,
        mut deadline: Option<LockDeadline>,
        pick: impl Fn(&TableLayout) -> u64,
        mut op: impl FnMut(&ShardGuard<'_>, &TableLayout) -> Result<Step<R>>,
    ) -> Result<R> {
        let word = self.shared.generation_word();
        let mut local: Option<Arc<Generation>> = None;
        loop {
            let next = {
                let generation = match &local {
                    Some(g) => GenRef::Local(g.clone()),
                    None => GenRef::Cell(self.current.borrow()),
                };
                let s = pick(&generation.layout);
                // A lock that had to be waited for fixes the deadline in
                // `deadline`: the operation's further locks share it.
                let trigger = match generation.table(word).lock(s, &mut deadline)? {
                    None => None,
                    // The guard is dropped at the end of this arm, before
                    // a growth takes every lock.
                    Some(guard) => match op(&guard, &generation.layout)? {
                        Step::Done(r) => return Ok(r),
                        Step::NoRoom(why) => Some(Trigger {
                            shard: s,
                            why,
                            available: guard.available(),
                        }),
                    },
                };
                self.next_generation(&generation, trigger, deadline)?
            };
            local = self.install(next);
        }
    }

    /// The generation to retry on: grown from `generation` if `trigger`
    /// says it had no room (unless someone grew it first), else the
    /// current one, mapped anew.
    #[cold]
    #[inline(never)]
    fn next_generation(
        &self,
        generation: &Generation,
        trigger: Option<Trigger>,
        deadline: Option<LockDeadline>,
    ) -> Result<Generation> {
        let word = self.shared.generation_word();
        if let Some(t) = trigger
            && let Some(new) = grow(&self.shared.info, word, generation, t, deadline)?
        {
            return Ok(new);
        }
        open_latest(&self.shared)
    }

    /// Makes `generation` this handle's mapping; `Some` (use it for this
    /// call only) when called from inside an operation's closure, which
    /// holds the current one borrowed.
    #[cold]
    #[inline(never)]
    fn install(&self, generation: Generation) -> Option<Arc<Generation>> {
        let generation = Arc::new(generation);
        match self.current.try_borrow_mut() {
            Ok(mut c) => {
                *c = generation;
                None
            }
            Err(_) => Some(generation),
        }
    }
}

/// Times [`open_latest`] follows the generation word on before giving up:
/// each time, a growth (a copy of the whole table) happened meanwhile, so
/// only a corrupt word that keeps moving gets here.
const FOLLOW_LIMIT: usize = 200;

/// Opens the current generation named by the root (again if it moves on
/// while being opened).
///
/// # Errors
///
/// [`DictError::GenerationRemoved`] at once if the current generation's
/// name is gone while the root still names it: a grower makes a
/// generation's segment, ready under its name, before it publishes the
/// number, and removes the name only after it published the next one, so
/// a name missing under an unchanged number was removed otherwise (by
/// [`Dict::unlink`](crate::Dict::unlink), the creator's drop, or by hand)
/// and never returns.
fn open_latest(shared: &Shared) -> Result<Generation> {
    let word = shared.generation_word();
    // SYNC POINT: Acquire pairs with the Release store in `grow`.
    let mut g = word.load(Ordering::Acquire);
    let mut removed = None;
    for _ in 0..FOLLOW_LIMIT {
        if g == 0 && shared.info.flags & FLAG_ANON_GEN0 != 0 {
            return Err(DictError::Corrupt {
                what: "anonymous generation 0 cannot be reopened",
                offset: 0,
                value: 0,
            });
        }
        let segment = shared.info.gen_name(g);
        match Generation::open(&segment, g) {
            Ok(generation) => return Ok(generation),
            Err(DictError::Shm(ShmError::NotFound { .. })) => {
                // SYNC POINT: Acquire pairs with the Release store in `grow`.
                let now = word.load(Ordering::Acquire);
                let gone = DictError::GenerationRemoved {
                    generation: g,
                    segment,
                };
                if now == g {
                    return Err(gone);
                }
                removed = Some(gone);
                g = now;
            }
            Err(e) => return Err(e),
        }
    }
    Err(removed.unwrap_or(DictError::Corrupt {
        what: "generation",
        offset: 0,
        value: g,
    }))
}

/// Removes every name of the named dict `name`.
pub(crate) fn unlink_all(name: &str) -> Result<()> {
    let root = Segment::opener(name)
        .kind(mproc_shm::SegmentKind::Dict)
        .open()?;
    let info = RootInfo::read_named(&root, name)?;
    let last = root::current_generation(&root)?;
    root::unlink_generations(&info, 0, last);
    drop(root);
    Segment::unlink(name)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;
    use std::time::{Duration, Instant};

    use crate::hash::hash_key;
    use crate::{Dict, DictError, DictOptions};

    /// A key that lands in `shard` of `shards`.
    fn key_in(shard: u64, shards: u64) -> Vec<u8> {
        (0u32..)
            .map(|i| format!("k{i}").into_bytes())
            .find(|k| hash_key(k) & (shards - 1) == shard)
            .unwrap_or_default()
    }

    /// Holds `key`'s shard for `held_for` once `ready` lets everyone go.
    fn hold(d: &Dict, key: &[u8], ready: &Barrier, held_for: Duration) {
        let _ = d.update(key, |v| {
            ready.wait();
            std::thread::sleep(held_for);
            v.map(<[u8]>::to_vec)
        });
    }

    /// One lock timeout covers all the locks of an operation: an insert
    /// that waited for its shard and then grows the table (taking every
    /// shard) waits out what is left of it, not a new timeout.
    #[test]
    fn one_timeout_covers_an_operations_locks() {
        let d = Dict::new(DictOptions::new().shards(2).capacity(4)).unwrap();
        let (k0, k1) = (key_in(0, 2), key_in(1, 2));
        d.insert(&k0, b"v").unwrap();
        d.insert(&k1, b"v").unwrap();
        let mut impatient = d.clone();
        impatient.set_lock_timeout(Some(Duration::from_secs(1)));
        let ready = Barrier::new(3);
        std::thread::scope(|s| {
            let (d0, d1) = (d.clone(), d.clone());
            let (k0, k1, ready) = (&k0, &k1, &ready);
            s.spawn(move || hold(&d0, k0, ready, Duration::from_millis(800)));
            s.spawn(move || hold(&d1, k1, ready, Duration::from_secs(2)));
            ready.wait();
            let start = Instant::now();
            // Too big for the table: the insert grows it.
            let r = impatient.insert(k0, &[0u8; 64 << 10]);
            let waited = start.elapsed();
            assert!(matches!(r, Err(DictError::LockTimeout { .. })), "{r:?}");
            // 1.8 s if the growth's locks had a timeout of their own; the
            // slack is for a loaded machine.
            assert!(
                waited >= Duration::from_secs(1) && waited < Duration::from_millis(1600),
                "waited {waited:?}"
            );
        });
    }
}
