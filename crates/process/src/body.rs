//! What a child runs: the closure itself after a fork, or a recipe
//! (trampoline, function, serialized arguments) after a spawn.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ProcessError, Result};
use crate::fn_offset::FnOffset;
use crate::outcome::Outcome;

/// How a spawned child calls its function: the function's address in the
/// child and its serialized arguments in, the exit status out. One
/// trampoline is instantiated per function type, so the child learns the
/// types from the trampoline it is told to call.
pub(crate) type Trampoline = fn(usize, &[u8]) -> Result<i32>;

/// What a spawned child is told to run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Recipe {
    pub(crate) trampoline: FnOffset,
    pub(crate) function: FnOffset,
    pub(crate) args: Vec<u8>,
}

/// A child's work, runnable after a fork and describable for a spawn.
pub(crate) trait Body {
    /// Runs the work in a forked child, returning its exit status.
    fn run(self: Box<Self>) -> i32;
    /// Describes the work for a spawned child.
    fn recipe(&self) -> Result<Recipe>;
}

/// A closure. Spawnable only if it captures nothing (is zero-sized).
pub(crate) struct ClosureBody<F>(pub(crate) F);

impl<F, R> Body for ClosureBody<F>
where
    F: FnOnce() -> R,
    R: Outcome,
{
    fn run(self: Box<Self>) -> i32 {
        (self.0)().exit_code()
    }

    fn recipe(&self) -> Result<Recipe> {
        let size = std::mem::size_of::<F>();
        if size != 0 {
            return Err(ProcessError::CapturingClosure { size });
        }
        let trampoline = FnOffset::of_addr(call_stateless::<F, R> as Trampoline as usize)?;
        Ok(Recipe {
            trampoline,
            function: trampoline,
            args: Vec::new(),
        })
    }
}

/// Calls a closure type that captures nothing, re-created from no bytes.
fn call_stateless<F, R>(_function: usize, _args: &[u8]) -> Result<i32>
where
    F: FnOnce() -> R,
    R: Outcome,
{
    if std::mem::size_of::<F>() != 0 {
        return Err(ProcessError::BadPayload {
            reason: "stateless trampoline for a closure with state",
        });
    }
    // SAFETY: `F` is zero-sized, so it has no bytes whose validity could be
    // violated. The parent held a value of this very closure type (the
    // recipe is only built from one), and re-creating it here is the same
    // as the byte-for-byte copy a fork makes of it.
    let f: F = unsafe { std::mem::zeroed() };
    Ok(f().exit_code())
}

/// A function with arguments, as Python's `Process(target=f, args=...)`.
pub(crate) struct CallBody<A, R> {
    pub(crate) function: fn(A) -> R,
    pub(crate) args: A,
}

impl<A, R> Body for CallBody<A, R>
where
    A: Serialize + DeserializeOwned,
    R: Outcome,
{
    fn run(self: Box<Self>) -> i32 {
        (self.function)(self.args).exit_code()
    }

    fn recipe(&self) -> Result<Recipe> {
        let args = postcard::to_stdvec(&self.args)
            .map_err(|source| ProcessError::EncodeArguments { source })?;
        Ok(Recipe {
            trampoline: FnOffset::of_addr(call_with_args::<A, R> as Trampoline as usize)?,
            function: FnOffset::of(self.function)?,
            args,
        })
    }
}

/// Decodes `A` and calls the `fn(A) -> R` at `function`.
fn call_with_args<A, R>(function: usize, args: &[u8]) -> Result<i32>
where
    A: DeserializeOwned,
    R: Outcome,
{
    let args: A =
        postcard::from_bytes(args).map_err(|source| ProcessError::DecodeArguments { source })?;
    // SAFETY: this trampoline is only named in a recipe built by
    // `CallBody<A, R>::recipe`, next to the offset of its `fn(A) -> R`;
    // `init` resolved that offset after checking that this process runs the
    // parent's executable file.
    let f = unsafe { std::mem::transmute::<usize, fn(A) -> R>(function) };
    Ok(f(args).exit_code())
}

/// Runs a recipe in a spawned child.
///
/// # Safety
///
/// `recipe` must come from [`Body::recipe`] in a process running the same
/// executable file as the caller.
pub(crate) unsafe fn run_recipe(recipe: &Recipe) -> Result<i32> {
    // SAFETY: by the caller's contract the trampoline offset was made from a
    // `Trampoline` of this executable.
    let trampoline: Trampoline =
        unsafe { std::mem::transmute::<usize, Trampoline>(recipe.trampoline.addr()) };
    trampoline(recipe.function.addr(), &recipe.args)
}
