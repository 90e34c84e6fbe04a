//! Inserts a virtual CPx card in the vpcd reader of a pcscd (see scripts/card-lab.sh) and keeps it
//! there until killed (killing it removes the card). Prints `inserted` once vpcd took the card.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use testkit::vcard::{MAX_TRIES, VirtualCard};

#[derive(Parser)]
#[command(
    name = "passerelle-virtual-card",
    about = "Virtual CPx card for the vpcd reader (tests only)"
)]
struct Args {
    /// vpcd port of the reader (VPCD_PORT of the card lab; Debian's system vpcd uses 35963).
    #[arg(long, env = "VPCD_PORT")]
    port: u16,
    /// Authentication certificate (DER).
    #[arg(long)]
    cert: PathBuf,
    /// Private key of the certificate (PKCS#8 DER).
    #[arg(long)]
    key: PathBuf,
    /// Holder PIN, 4 to 8 digits.
    #[arg(long)]
    pin: String,
    /// PIN tries left at insertion (0 = blocked).
    #[arg(long, default_value_t = MAX_TRIES)]
    tries: u8,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("passerelle-virtual-card: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let read = |path: &PathBuf| std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()));
    let card = VirtualCard::new(&read(&args.cert)?, &read(&args.key)?, &args.pin)
        .map_err(|e| e.to_string())?
        .with_tries(args.tries);
    let inserted = card
        .insert_with_retry(args.port, Duration::from_secs(10))
        .map_err(|e| format!("vpcd on 127.0.0.1:{}: {e}", args.port))?;
    println!("inserted");
    let _ = std::io::stdout().flush();
    inserted
        .wait()
        .map_err(|e| format!("vpcd connection: {e}"))?;
    eprintln!("passerelle-virtual-card: the reader closed the connection (pcscd stopped)");
    Ok(())
}
