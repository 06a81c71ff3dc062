//! Signal numbers, by name.

/// A POSIX signal, by name, for [`kill`](crate::kill) and
/// [`set_parent_death_signal`](crate::set_parent_death_signal).
///
/// # Examples
///
/// ```
/// use mproc_sys::Signal;
///
/// assert_eq!(Signal::Term.as_raw(), 15);
/// assert_eq!(Signal::from_raw(9), Some(Signal::Kill));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signal {
    /// `SIGHUP`.
    Hup,
    /// `SIGINT`.
    Int,
    /// `SIGQUIT`.
    Quit,
    /// `SIGABRT`.
    Abrt,
    /// `SIGKILL`: cannot be caught.
    Kill,
    /// `SIGSEGV`.
    Segv,
    /// `SIGUSR1`.
    Usr1,
    /// `SIGUSR2`.
    Usr2,
    /// `SIGTERM`: what Python's `terminate()` sends.
    Term,
    /// `SIGSTOP`: cannot be caught.
    Stop,
    /// `SIGCONT`.
    Cont,
}

impl Signal {
    /// The signal's number on this platform.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mproc_sys::Signal::Kill.as_raw(), 9);
    /// ```
    pub fn as_raw(self) -> i32 {
        match self {
            Signal::Hup => libc::SIGHUP,
            Signal::Int => libc::SIGINT,
            Signal::Quit => libc::SIGQUIT,
            Signal::Abrt => libc::SIGABRT,
            Signal::Kill => libc::SIGKILL,
            Signal::Segv => libc::SIGSEGV,
            Signal::Usr1 => libc::SIGUSR1,
            Signal::Usr2 => libc::SIGUSR2,
            Signal::Term => libc::SIGTERM,
            Signal::Stop => libc::SIGSTOP,
            Signal::Cont => libc::SIGCONT,
        }
    }

    /// The named signal with this number, if it is one of those named here.
    ///
    /// # Examples
    ///
    /// ```
    /// use mproc_sys::Signal;
    /// assert_eq!(Signal::from_raw(15), Some(Signal::Term));
    /// assert_eq!(Signal::from_raw(0), None);
    /// ```
    pub fn from_raw(raw: i32) -> Option<Signal> {
        [
            Signal::Hup,
            Signal::Int,
            Signal::Quit,
            Signal::Abrt,
            Signal::Kill,
            Signal::Segv,
            Signal::Usr1,
            Signal::Usr2,
            Signal::Term,
            Signal::Stop,
            Signal::Cont,
        ]
        .into_iter()
        .find(|s| s.as_raw() == raw)
    }
}
