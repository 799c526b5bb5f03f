//! The `goready` command: parses arguments and dispatches; the work lives in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(goready::cli::main())
}
