//! Messages for the person at the terminal, written so that they can never end a run:
//! `eprintln!`/`println!` panic when the stream is gone (`2>/dev/full`, a closed pipe such as
//! `seisbatch run ... 2>&1 | head -1`), which killed runs mid-way without a report. Every
//! message of the binary goes through `errln!` (stderr) or `outln!` (stdout), which drop the text when it cannot be written: the
//! report and the exit code carry what matters.

use std::io::Write;

/// One line to stderr; a write error (closed pipe, full disk) is ignored.
pub fn err_line(args: std::fmt::Arguments) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_fmt(args).and_then(|()| e.write_all(b"\n"));
}

/// One line to stdout; a write error is ignored.
pub fn out_line(args: std::fmt::Arguments) {
    let mut o = std::io::stdout().lock();
    let _ = o
        .write_fmt(args)
        .and_then(|()| o.write_all(b"\n"))
        .and_then(|()| o.flush());
}

/// `eprintln!` that never panics.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::console::err_line(format_args!($($arg)*))
    };
}

/// `println!` that never panics.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::console::out_line(format_args!($($arg)*))
    };
}

pub(crate) use {errln, outln};
