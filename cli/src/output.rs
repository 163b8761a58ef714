//! The two output streams and what a command fails with. Machine output goes to stdout,
//! diagnostics to stderr; a reader that closes a stream (`tdgen … | head`) ends the writing to
//! it quietly, and any other write error is exit 2.

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
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            closed.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => Err(Failure::Output(e)),
    }
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
