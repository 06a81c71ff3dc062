//! `Process`: the builder of a child process, as Python's
//! `Process(target, args, name, daemon)`.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::body::{Body, CallBody, ClosureBody};
use crate::child::Child;
use crate::current::reap_finished;
use crate::error::Result;
use crate::outcome::Outcome;
use crate::start_method::{StartMethod, get_start_method};
use crate::target::Target;
use crate::{fork, spawn};

/// A process to be started: its work, name, daemon flag and start method.
/// [`start`](Self::start) creates it and hands back a [`Child`].
///
/// With the fork start method (the default) the work may be any closure,
/// even one borrowing from the caller's stack: the child runs on a copy of
/// the parent's memory and never returns into the parent's frames. With
/// the spawn start method it must be a non-capturing closure or a function
/// with serializable arguments ([`with_args`](Self::with_args)).
///
/// As in Python, the child's standard input (descriptor 0) is `/dev/null`,
/// whatever the start method; stdout and stderr are the parent's. A forked
/// child reading `std::io::stdin()` sees end of file once it has used up
/// what the parent had already buffered there before the fork (its copy of
/// that buffer); and, as for any lock, it must not touch stdin if another
/// thread of the parent was blocked reading it at the fork.
///
/// A `Process` that is never started does nothing, and has no `join`: it
/// is a compile error to join what was not started.
///
/// ```compile_fail
/// let p = mproc_process::Process::new(|| ());
/// p.join(); // no such method: only a started `Child` can be joined
/// ```
///
/// # Examples
///
/// ```
/// use mproc_process::Process;
///
/// let numbers = vec![1, 2, 3];
/// let child = Process::new(|| {
///     let sum: i32 = numbers.iter().sum();
///     sum // the exit code
/// })
/// .name("summer")
/// .start()
/// .unwrap();
/// assert_eq!(child.join().unwrap(), 6);
/// ```
#[must_use = "a Process does nothing until started"]
pub struct Process<'a> {
    body: Box<dyn Body + 'a>,
    name: Option<String>,
    daemon: bool,
    method: Option<StartMethod>,
}

impl<'a> Process<'a> {
    /// A process that runs `f`: `()` or `Ok(_)` exit 0, an `i32` is the
    /// exit code, `Err(e)` prints `e` and exits 1, a panic exits 1,
    /// [`exit(n)`](crate::exit()) exits `n` from anywhere.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = mproc_process::Process::new(|| Err::<(), _>("no")).start().unwrap();
    /// assert_eq!(c.join().unwrap(), 1);
    /// ```
    pub fn new<F, R>(f: F) -> Process<'a>
    where
        F: FnOnce() -> R + 'a,
        R: Outcome,
    {
        Process::from_body(Box::new(ClosureBody(f)))
    }

    /// A process that calls `function(args)`, as Python's
    /// `Process(target=function, args=args)`. Works with both start
    /// methods: for spawn, `args` are serialized with postcard (at
    /// [`start`](Self::start), which fails if they cannot be) and `function`
    /// is sent as an [`FnOffset`](crate::FnOffset). Closures that capture
    /// nothing coerce to `fn(A) -> R`.
    ///
    /// # Examples
    ///
    /// ```
    /// fn power((base, exp): (i32, u32)) -> i32 {
    ///     base.pow(exp) % 256
    /// }
    /// let c = mproc_process::Process::with_args(power, (3, 5)).start().unwrap();
    /// assert_eq!(c.join().unwrap(), 243);
    /// ```
    pub fn with_args<A, R>(function: fn(A) -> R, args: A) -> Process<'a>
    where
        A: Serialize + DeserializeOwned + 'a,
        R: Outcome + 'a,
    {
        Process::from_body(Box::new(CallBody { function, args }))
    }

    /// A process that runs `target.run()`: the analogue of subclassing
    /// Python's `Process` and overriding `run`. To spawn a target, make it
    /// serializable and use
    /// `Process::with_args(|mut t: MyTarget| t.run(), target)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_process::{Process, Target};
    ///
    /// struct Exit(i32);
    /// impl Target for Exit {
    ///     fn run(&mut self) { mproc_process::exit(self.0) }
    /// }
    /// let c = Process::from_target(Exit(9)).start().unwrap();
    /// assert_eq!(c.join().unwrap(), 9);
    /// ```
    pub fn from_target<T: Target + 'a>(mut target: T) -> Process<'a> {
        Process::new(move || target.run())
    }

    fn from_body(body: Box<dyn Body + 'a>) -> Process<'a> {
        Process {
            body,
            name: None,
            daemon: false,
            method: None,
        }
    }

    /// Names the child (default: `Process-N`, `Process-N:M` in a child).
    ///
    /// # Examples
    ///
    /// ```
    /// let c = mproc_process::Process::new(|| ()).name("reader").start().unwrap();
    /// assert_eq!(c.name(), "reader");
    /// c.join().unwrap();
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Process<'a> {
        self.name = Some(name.into());
        self
    }

    /// Makes the child a daemon: it is killed when this process exits
    /// (`SIGTERM` at a normal exit, then `SIGKILL` after a grace period) or
    /// dies (`SIGKILL` through `PR_SET_PDEATHSIG`). The kernel ties the
    /// parent-death signal to the *thread* that starts the child: a daemon
    /// started from a thread dies when that thread ends.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = mproc_process::Process::new(|| ()).daemon(true).start().unwrap();
    /// assert!(c.daemon());
    /// c.join().unwrap();
    /// ```
    pub fn daemon(mut self, daemon: bool) -> Process<'a> {
        self.daemon = daemon;
        self
    }

    /// Chooses how the child is created (default:
    /// [`get_start_method`](crate::get_start_method), itself
    /// [`StartMethod::Fork`] unless set).
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_process::{Process, StartMethod};
    /// let c = Process::new(|| ()).start_method(StartMethod::Fork).start().unwrap();
    /// assert_eq!(c.start_method(), StartMethod::Fork);
    /// c.join().unwrap();
    /// ```
    pub fn start_method(mut self, method: StartMethod) -> Process<'a> {
        self.method = Some(method);
        self
    }

    /// Starts the child. Children that ended without being joined are
    /// reaped first, so that dropped handles leave no zombies.
    ///
    /// With fork, the closure is the child's: `start` drops the parent's
    /// copy of it, and what it captured is handed over instead of closed
    /// (queue ends stay registered, named segments and dicts stay named,
    /// now for the child). The child runs the closure once that drop is
    /// done, so a captured value whose drop waits for something the child
    /// does makes both wait until that wait gives up. Lock guards stay
    /// with the thread that took the lock, and a [`Pool`](crate::Pool)
    /// captured this way is terminated in the parent, as on any drop.
    ///
    /// # Errors
    ///
    /// Fork: [`ProcessError::Fork`](crate::ProcessError::Fork) with the OS
    /// reason. Spawn:
    /// [`CapturingClosure`](crate::ProcessError::CapturingClosure),
    /// [`EncodeArguments`](crate::ProcessError::EncodeArguments),
    /// [`HandOff`](crate::ProcessError::HandOff),
    /// [`NotInImage`](crate::ProcessError::NotInImage),
    /// [`InitNotCalled`](crate::ProcessError::InitNotCalled), or
    /// [`Spawn`](crate::ProcessError::Spawn) with the OS reason; all
    /// before any process is created, except the last. In a daemon,
    /// [`DaemonCannotHaveChildren`](crate::ProcessError::DaemonCannotHaveChildren),
    /// as in Python.
    ///
    /// # Examples
    ///
    /// ```
    /// let child = mproc_process::Process::new(|| ()).start().unwrap();
    /// assert_eq!(child.join().unwrap(), 0);
    /// ```
    pub fn start(self) -> Result<Child> {
        {
            let mut table = crate::table::lock();
            let me = table.me();
            if me.daemon {
                return Err(crate::ProcessError::DaemonCannotHaveChildren {
                    name: me.name.clone(),
                });
            }
        }
        reap_finished();
        let method = self.method.unwrap_or_else(get_start_method);
        match method {
            StartMethod::Fork => fork::start(self.body, self.name, self.daemon),
            StartMethod::Spawn => spawn::start(self.body, self.name, self.daemon),
        }
    }
}

impl std::fmt::Debug for Process<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process")
            .field("name", &self.name)
            .field("daemon", &self.daemon)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}
