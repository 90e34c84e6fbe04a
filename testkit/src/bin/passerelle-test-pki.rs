//! Writes the test PKI into a folder: `passerelle-test-pki <dir>`. Used by `scripts/test.sh` for
//! nginx, the server's trust settings, the virtual card and Playwright's client certificates.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: passerelle-test-pki <dir>");
        return ExitCode::from(2);
    };
    match testkit::pki::generate(&dir) {
        Ok(pki) => {
            println!(
                "test PKI written to {} ({} holders)",
                pki.dir.display(),
                pki.holders.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("passerelle-test-pki: {e}");
            ExitCode::FAILURE
        }
    }
}
