//! The `seisbatch` binary: all of it is `seisbatch::main` (src/cli), so the command line's
//! types stay inside the library and off its public surface.

fn main() -> std::process::ExitCode {
    seisbatch::main()
}
