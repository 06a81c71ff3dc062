//! What a worker is told to run: a type-erased trampoline plus the user's
//! function, both as [`FnOffset`]s (valid after fork and after spawn), and
//! the trampolines that decode arguments, call, and encode outcomes.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, Ordering};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::codec::{Ret, append};
use super::error::PoolError;
use super::records::Stage;
use crate::fn_offset::FnOffset;

/// One chunk as a worker sees it.
pub(crate) struct ChunkInput<'a> {
    /// The arguments, postcard-encoded one after the other.
    pub(crate) args: &'a [u8],
    /// How many.
    pub(crate) count: u32,
    /// Tasks below this index are not run: their outcomes were recovered
    /// from a worker that died later in the chunk.
    pub(crate) first: u32,
    /// Indices not to run (a worker died running them earlier).
    pub(crate) skips: &'a [u32],
    /// Where the index of the task being run is published, so that the
    /// parent knows which task a dead worker held.
    pub(crate) progress: &'a AtomicU32,
    /// Where each finished task's outcome is mirrored before the next task
    /// starts, so that a death does not lose it.
    pub(crate) stage: Option<&'a Stage<'a>>,
}

/// Runs a chunk: `function` is the user's function's address in this
/// process (unused by trampolines that know their function statically).
pub(crate) type Trampoline = fn(function: usize, input: &ChunkInput<'_>, out: &mut Vec<u8>);

/// A trampoline and a function, as sent to workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Call {
    pub(crate) trampoline: FnOffset,
    pub(crate) function: FnOffset,
}

impl Call {
    /// The call of `f(A) -> R` for each argument.
    pub(crate) fn of_fn<A, R>(f: fn(A) -> R) -> Result<Call, PoolError>
    where
        A: DeserializeOwned,
        R: Serialize,
    {
        Ok(Call {
            trampoline: FnOffset::of_addr(run_fn::<A, R> as Trampoline as usize)?,
            function: FnOffset::of(f)?,
        })
    }

    /// The call of the zero-sized callable `F` with each argument tuple
    /// spread out.
    pub(crate) fn of_star<F, Args, R>() -> Result<Call, PoolError>
    where
        F: StarFn<Args, R>,
        Args: DeserializeOwned,
        R: Serialize,
    {
        let size = std::mem::size_of::<F>();
        if size != 0 {
            return Err(PoolError::CapturingFunction { size });
        }
        let trampoline = FnOffset::of_addr(run_star::<F, Args, R> as Trampoline as usize)?;
        Ok(Call {
            trampoline,
            function: trampoline,
        })
    }

    /// Runs this call on a chunk in a worker.
    ///
    /// # Safety
    ///
    /// `self` must have been made by [`Call::of_fn`] or [`Call::of_star`]
    /// in a process running the same executable file as the caller.
    pub(crate) unsafe fn run(self, input: &ChunkInput<'_>, out: &mut Vec<u8>) {
        // SAFETY: by the caller's contract, the trampoline offset was made
        // from a `Trampoline` of this executable.
        let trampoline =
            unsafe { std::mem::transmute::<usize, Trampoline>(self.trampoline.addr()) };
        trampoline(self.function.addr(), input, out);
    }
}

/// Calls the `fn(A) -> R` at `function` on each argument.
fn run_fn<A: DeserializeOwned, R: Serialize>(
    function: usize,
    input: &ChunkInput<'_>,
    out: &mut Vec<u8>,
) {
    // SAFETY: this trampoline is named only by `Call::of_fn::<A, R>`, next
    // to the offset of a `fn(A) -> R`, resolved in a process running the
    // same executable (fork copies it; spawn checks it in `init`).
    let f = unsafe { std::mem::transmute::<usize, fn(A) -> R>(function) };
    run_items(input, out, f);
}

/// Calls the zero-sized callable `F` on each argument tuple.
fn run_star<F, Args, R>(_function: usize, input: &ChunkInput<'_>, out: &mut Vec<u8>)
where
    F: StarFn<Args, R>,
    Args: DeserializeOwned,
    R: Serialize,
{
    run_items(input, out, |args: Args| F::call_star(args));
}

/// Decodes, runs and encodes each task of a chunk, publishing progress.
fn run_items<A: DeserializeOwned, R: Serialize>(
    input: &ChunkInput<'_>,
    out: &mut Vec<u8>,
    f: impl Fn(A) -> R,
) {
    let mut rest = input.args;
    // The chunk's entry began here (`wire::begin_outcomes`).
    let entry_start = out.len();
    for i in 0..input.count {
        // SYNC POINT with the parent's load of `progress` after this
        // process died: which task was running.
        input.progress.store(i, Ordering::Release);
        // A `Deserialize` that panics fails the rest of the chunk as bad
        // bytes do, rather than kill the worker.
        let decoded = in_task(|| {
            panic::catch_unwind(AssertUnwindSafe(|| postcard::take_from_bytes::<A>(rest)))
        })
        .unwrap_or_else(|payload| Err(panicked_in("decoding the argument", payload)));
        let arg = match decoded {
            Ok((arg, tail)) => {
                rest = tail;
                arg
            }
            Err(e) => {
                // The rest of the chunk cannot be found either.
                let reason = e.to_string();
                for _ in i..input.count {
                    let _ = append(&Ret::<()>::BadArgument(reason.clone()), out);
                }
                if let Some(stage) = input.stage {
                    stage.commit(out, input.count);
                }
                break;
            }
        };
        if i < input.first || input.skips.contains(&i) {
            let _ = append(&Ret::<()>::Skipped, out);
            if let Some(stage) = input.stage {
                stage.commit(out, i + 1);
            }
            continue;
        }
        let outcome = in_task(|| panic::catch_unwind(AssertUnwindSafe(|| f(arg))));
        match outcome {
            Ok(value) => {
                let before = out.len();
                // A `Serialize` or `Drop` of the value that panics makes
                // the outcome unencodable, rather than kill the worker.
                let encoded = in_task(|| {
                    panic::catch_unwind(AssertUnwindSafe(|| {
                        let r = append(&Ret::Ok(&value), out);
                        drop(value);
                        r
                    }))
                })
                .unwrap_or_else(|payload| {
                    out.truncate(before);
                    Err(format!(
                        "panicked while encoding the result: {}",
                        panic_message(payload)
                    ))
                })
                .and_then(|()| {
                    // The entry's length travels as a `u32`; 1 KiB is left
                    // for the short error outcomes of the tasks after it.
                    let len = out.len() - entry_start;
                    if len > super::wire::MAX_CHUNK_BYTES - 1024 {
                        out.truncate(before);
                        return Err(format!(
                            "the chunk's outcomes would take {len} bytes, more than {} (use a smaller chunksize)",
                            super::wire::MAX_CHUNK_BYTES
                        ));
                    }
                    Ok(())
                });
                if let Err(reason) = encoded {
                    let _ = append(&Ret::<()>::Unencodable(reason), out);
                }
            }
            Err(payload) => {
                let _ = append(&Ret::<()>::Panicked(panic_message(payload)), out);
            }
        }
        // Staged before the next task starts: a death from here on does
        // not lose this outcome.
        if let Some(stage) = input.stage {
            stage.commit(out, i + 1);
        }
    }
    // All ran (and their outcomes are staged): a death from here on
    // loses no task.
    input.progress.store(input.count, Ordering::Release);
}

std::thread_local! {
    static IN_TASK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` marked as a task, so that the worker's panic hook stays quiet
/// (the panic is reported to the caller instead).
fn in_task<T>(f: impl FnOnce() -> T) -> T {
    IN_TASK.with(|t| t.set(true));
    let out = f();
    IN_TASK.with(|t| t.set(false));
    out
}

/// Installs a panic hook that says nothing for panics inside tasks and
/// defers to the previous hook otherwise. Called once in each worker.
pub(crate) fn quiet_task_panics() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if !IN_TASK.with(|t| t.get()) {
            previous(info);
        }
    }));
}

/// A decoding error standing for a panic while `doing` something.
fn panicked_in(doing: &str, payload: Box<dyn std::any::Any + Send>) -> postcard::Error {
    // postcard's error type carries no message; say what happened on
    // stderr, as an unexpected panic would, and fail as bad bytes.
    eprintln!(
        "pool worker: panicked while {doing}: {}",
        panic_message(payload)
    );
    postcard::Error::SerdeDeCustom
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        // Dropping an unknown payload may itself panic: leak it.
        std::mem::forget(payload);
        "Box<dyn Any>".to_owned()
    }
}

/// A function called with the elements of a tuple spread out, as Python's
/// `starmap` does: implemented for zero-sized callables (function items and
/// closures that capture nothing) of one to six arguments.
///
/// # Examples
///
/// ```
/// use mproc_process::StarFn;
///
/// fn add(a: u32, b: u32) -> u32 { a + b }
/// fn call<F: StarFn<(u32, u32), u32>>(_: F) -> u32 { F::call_star((2, 3)) }
/// assert_eq!(call(add), 5);
/// ```
pub trait StarFn<Args, R>: Copy + Send + Sync + 'static {
    /// Calls the function with `args` spread out. The callable is
    /// re-created from no bytes: it must be zero-sized (checked when the
    /// pool is given one).
    fn call_star(args: Args) -> R;
}

macro_rules! star_fn {
    ($($t:ident),+) => {
        impl<F, R, $($t),+> StarFn<($($t,)+), R> for F
        where
            F: Fn($($t),+) -> R + Copy + Send + Sync + 'static,
        {
            #[allow(non_snake_case)]
            fn call_star(($($t,)+): ($($t,)+)) -> R {
                let f = conjure::<F>();
                f($($t),+)
            }
        }
    };
}

star_fn!(A1);
star_fn!(A1, A2);
star_fn!(A1, A2, A3);
star_fn!(A1, A2, A3, A4);
star_fn!(A1, A2, A3, A4, A5);
star_fn!(A1, A2, A3, A4, A5, A6);

/// The one value of a zero-sized callable type (`Call::of_star` refuses
/// others before any worker sees them).
fn conjure<F: Copy>() -> F {
    assert_eq!(
        std::mem::size_of::<F>(),
        0,
        "starmap needs a function or a closure that captures nothing"
    );
    // SAFETY: `F` is zero-sized (checked above), so it has no bytes whose
    // validity could be violated; it is `Copy`, so making a value of it
    // is what copying the one the caller had would do. The pool only
    // names `F` after being handed a value of it.
    unsafe { std::mem::zeroed() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::codec::take_ret;

    fn double(x: u32) -> u32 {
        if x == 3 {
            panic!("three");
        }
        x * 2
    }

    fn run_chunk(call: Call, args: &[u32], skips: &[u32]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for a in args {
            append(a, &mut bytes).unwrap();
        }
        let progress = AtomicU32::new(99);
        let input = ChunkInput {
            args: &bytes,
            count: args.len() as u32,
            first: 0,
            skips,
            progress: &progress,
            stage: None,
        };
        let mut out = Vec::new();
        // SAFETY: made by Call::of_fn/of_star in this process.
        unsafe { call.run(&input, &mut out) };
        assert_eq!(progress.load(Ordering::Relaxed), args.len() as u32);
        out
    }

    #[test]
    fn runs_skips_and_catches_panics() {
        quiet_task_panics();
        let call = Call::of_fn(double as fn(u32) -> u32).unwrap();
        let out = run_chunk(call, &[1, 2, 3, 4], &[1]);
        let (a, rest) = take_ret::<u32>(&out).unwrap();
        let (b, rest) = take_ret::<u32>(rest).unwrap();
        let (c, rest) = take_ret::<u32>(rest).unwrap();
        let (d, rest) = take_ret::<u32>(rest).unwrap();
        assert!(matches!(a, Ret::Ok(2)));
        assert!(matches!(b, Ret::Skipped));
        assert!(matches!(c, Ret::Panicked(m) if m == "three"));
        assert!(matches!(d, Ret::Ok(8)));
        assert!(rest.is_empty());
    }

    #[test]
    fn star_calls_spread_tuples() {
        fn add(a: u32, b: u32) -> u32 {
            a + b
        }
        fn star_call<F: StarFn<(u32, u32), u32>>(_: F) -> Call {
            Call::of_star::<F, (u32, u32), u32>().unwrap()
        }
        let call = star_call(add);
        let mut bytes = Vec::new();
        append(&(2u32, 5u32), &mut bytes).unwrap();
        let progress = AtomicU32::new(0);
        let input = ChunkInput {
            args: &bytes,
            count: 1,
            first: 0,
            skips: &[],
            progress: &progress,
            stage: None,
        };
        let mut out = Vec::new();
        // SAFETY: made by Call::of_star in this process.
        unsafe { call.run(&input, &mut out) };
        assert!(matches!(take_ret::<u32>(&out).unwrap().0, Ret::Ok(7)));
    }
}
