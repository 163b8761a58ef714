//! Reading what users hand tdgen (a spec, a previous render) with a size limit: no legitimate
//! input comes near it, and `-f /dev/zero` must not grow to gigabytes.

use std::io::Read;
use std::path::Path;

use crate::error::Error;

/// The largest input tdgen reads: 4 MiB.
pub const MAX_INPUT_BYTES: u64 = 4 * 1024 * 1024;

/// Read a file (or `-` for stdin) as UTF-8, refusing more than 4 MiB.
pub fn read_limited(path: &Path) -> Result<String, Error> {
    let io = |error| Error::Io {
        path: path.to_owned(),
        error,
    };
    if path.as_os_str() == "-" {
        return read_bounded(std::io::stdin().lock(), path);
    }
    let file = std::fs::File::open(path).map_err(io)?;
    read_bounded(file, path)
}

/// Read a file found in a directory (a fleet's spec, a file of a previous render) as
/// [`read_limited`] does, but only a regular file (a link to one is followed): a FIFO, a socket
/// or a device there is refused, never opened, so a walk cannot block on it.
pub(crate) fn read_regular(path: &Path) -> Result<String, Error> {
    let meta = std::fs::metadata(path).map_err(|error| Error::Io {
        path: path.to_owned(),
        error,
    })?;
    if !meta.is_file() {
        return Err(Error::Io {
            path: path.to_owned(),
            error: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file (a FIFO, socket or device in a directory is never read): remove it or rename it",
            ),
        });
    }
    read_limited(path)
}

/// Read at most [`MAX_INPUT_BYTES`] from `reader`; more is an error naming `path`.
pub fn read_bounded(reader: impl Read, path: &Path) -> Result<String, Error> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| Error::Io {
            path: path.to_owned(),
            error,
        })?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(Error::TooLarge {
            path: path.to_owned(),
            limit: MAX_INPUT_BYTES,
        });
    }
    String::from_utf8(bytes).map_err(|e| Error::Io {
        path: path.to_owned(),
        error: std::io::Error::new(std::io::ErrorKind::InvalidData, format!("not UTF-8 text ({e})")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_above_the_limit_are_refused() {
        let big = vec![b'a'; MAX_INPUT_BYTES as usize + 1];
        let err = read_bounded(&big[..], Path::new("big.yaml")).unwrap_err();
        assert!(matches!(err, Error::TooLarge { .. }), "{err}");
        let fits = vec![b'a'; MAX_INPUT_BYTES as usize];
        assert_eq!(read_bounded(&fits[..], Path::new("ok")).unwrap().len(), fits.len());
    }
}
