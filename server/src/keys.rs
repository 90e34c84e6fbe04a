//! Key files read at start (the TIQR secrets' key, the audit identifiers' key, the Pro Santé
//! Connect private key and client secret): created owner-only, and refused when someone else may
//! read them. A key readable by the group or by everyone has to be taken as leaked; starting
//! anyway would hide that.

use std::path::Path;

use crate::error::CliError;

/// Refuses `path` when its group or others have any permission on it (0600 and 0400 pass).
pub fn check_private(path: &Path) -> Result<(), CliError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(CliError::Usage(format!(
            "{path}: this key file can be read by other users (mode {mode:03o}); it must be \
             readable by its owner only (0600 or 0400). Fix it with `chmod 600 {path}` and, \
             since others could read it, consider replacing the key.",
            path = path.display(),
            mode = mode & 0o777,
        )));
    }
    Ok(())
}

/// The text of a private file (a PSC client secret, a private key in PEM), once checked.
pub fn read_private_to_string(path: &Path) -> Result<String, CliError> {
    check_private(path)?;
    std::fs::read_to_string(path).map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))
}

/// A 32-byte key: read from `path` (checked), or created there, owner-only, on first start.
pub fn read_or_create_key(
    path: &Path,
    what: &str,
    generate: impl FnOnce() -> [u8; 32],
) -> Result<[u8; 32], CliError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            check_private(path)?;
            <[u8; 32]>::try_from(bytes.as_slice())
                .map_err(|_| CliError::Usage(format!("{}: expected 32 bytes", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = generate();
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| CliError::Usage(format!("{}: {e}", dir.display())))?;
            }
            write_private(path, &key)
                .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
            tracing::info!("{what}: new key in {}", path.display());
            Ok(key)
        }
        Err(e) => Err(CliError::Usage(format!("{}: {e}", path.display()))),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?
        .write_all(bytes)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("passerelle-keys-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    // Hardening (issue 14, L-4): key files readable by others are refused at start.
    #[test]
    fn a_key_file_readable_by_others_is_refused_with_the_fix() {
        let dir = scratch("perm");
        let path = dir.join("tiqr-secrets.key");
        let key = read_or_create_key(&path, "test", || [3; 32]).unwrap();
        assert_eq!(key, [3; 32]);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // Read again: the same key.
        assert_eq!(
            read_or_create_key(&path, "test", || [4; 32]).unwrap(),
            [3; 32]
        );
        for bad in [0o644, 0o640, 0o604, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(bad)).unwrap();
            let err = read_or_create_key(&path, "test", || [4; 32])
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("mode {bad:03o}")), "{err}");
            assert!(err.contains("chmod 600"), "{err}");
            assert!(read_private_to_string(&path).is_err());
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(
            read_or_create_key(&path, "test", || [4; 32]).unwrap(),
            [3; 32]
        );
        let secret = dir.join("client-secret");
        std::fs::write(&secret, "s3cret\n").unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(read_private_to_string(&secret).is_err());
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_private_to_string(&secret).unwrap(), "s3cret\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
