//! The `tdgen` command: a thin layer from arguments to library calls and exit codes.

#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
