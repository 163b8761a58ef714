//! The two output streams and what a command fails with. Machine output goes to stdout,
//! diagnostics to stderr; a reader that closes a stream (`tdgen … | head`) ends the writing to
//! it quietly, a closed or failing stdout is exit 2, and diagnostics that cannot be written
//! (`2>/dev/full`) leave the exit code to the command.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Why a command failed, which decides the exit code.
pub enum Failure {
    Invalid,
    /// `diff` found changes that would be rejected or are unsafe.
    Blocking,
    Other(anyhow::Error),
    /// Writing to stdout or stderr failed (other than a reader closing it).
    Output(std::io::Error),
}

/// The two streams. Once a reader closes one (`tdgen … | head`), nothing more is written to it
/// and the command finishes with its own exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Out,
    Err,
}

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

pub fn write_to(stream: Stream, text: &str) -> Result<(), Failure> {
    let closed = match stream {
        Stream::Out => &STDOUT_CLOSED,
        Stream::Err => &STDERR_CLOSED,
    };
    if closed.load(Ordering::Relaxed) {
        return Ok(());
    }
    let written = match stream {
        Stream::Out => {
            if !stdout_is_open() {
                // The standard library drops writes to a closed descriptor without a word:
                // `tdgen render >&-` would exit 0 having written nothing.
                return Err(Failure::Output(std::io::Error::other(
                    "stdout is closed: nothing was written",
                )));
            }
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush())
        }
        Stream::Err => {
            let mut stderr = std::io::stderr().lock();
            stderr.write_all(text.as_bytes()).and_then(|()| stderr.flush())
        }
    };
    match written {
        Ok(()) => Ok(()),
        // A reader that went away, or diagnostics with nowhere to go (`2>/dev/full`): the
        // command's own outcome stands.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe || stream == Stream::Err => {
            closed.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => Err(Failure::Output(e)),
    }
}

/// Whether stdout was open when tdgen started. Rust's runtime re-opens a closed standard
/// descriptor on `/dev/null` for reading and writing before `main`; a shell's `>/dev/null`
/// opens it write-only. So on Linux, stdout on `/dev/null` opened read-write was closed.
#[cfg(target_os = "linux")]
fn stdout_is_open() -> bool {
    let target = std::fs::read_link("/proc/self/fd/1");
    if !target.is_ok_and(|t| t == std::path::Path::new("/dev/null")) {
        return true;
    }
    let info = std::fs::read_to_string("/proc/self/fdinfo/1").unwrap_or_default();
    let flags = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|f| u32::from_str_radix(f.trim(), 8).ok());
    // O_ACCMODE is 3; O_RDWR is 2.
    flags.is_none_or(|f| f & 3 != 2)
}

#[cfg(not(target_os = "linux"))]
fn stdout_is_open() -> bool {
    true
}
/// Machine or human output: stdout.
pub fn out(text: &str) -> Result<(), Failure> {
    write_to(Stream::Out, text)
}

/// Diagnostics: stderr.
pub fn err(text: &str) -> Result<(), Failure> {
    write_to(Stream::Err, text)
}

impl From<tdgen::Error> for Failure {
    fn from(e: tdgen::Error) -> Self {
        Failure::Other(e.into())
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Other(e)
    }
}
