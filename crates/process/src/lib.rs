//! Processes for mproc (work in progress).
