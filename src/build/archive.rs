//! The reproducible tar.gz writer: entries in the order given (the planner sorts them),
//! every header with the same mtime, uid/gid 0, no user or group names, mode 0644 or 0755,
//! and a gzip header without a timestamp or file name. Same inputs, same bytes, anywhere.

use std::io::Write;

use flate2::{Compression, GzBuilder};
use tar::{EntryType, Header};

/// One file in the archive: its path below the top folder, contents and executable bit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveEntry {
    pub path: String,
    pub bytes: Vec<u8>,
    pub executable: bool,
}

/// Builds the archive in memory: `{base_name}/{entry.path}` for every entry.
pub fn write_tar_gz(
    base_name: &str,
    entries: &[ArchiveEntry],
    mtime: u64,
) -> std::io::Result<Vec<u8>> {
    let encoder = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::best());
    let mut builder = tar::Builder::new(encoder);
    builder.mode(tar::HeaderMode::Deterministic);
    for entry in entries {
        let mut header = Header::new_gnu();
        header.set_entry_type(EntryType::Regular);
        header.set_size(entry.bytes.len() as u64);
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        header.set_username("")?;
        header.set_groupname("")?;
        header.set_mode(if entry.executable { 0o755 } else { 0o644 });
        builder.append_data(
            &mut header,
            format!("{base_name}/{}", entry.path),
            entry.bytes.as_slice(),
        )?;
    }
    let mut encoder = builder.into_inner()?;
    encoder.flush()?;
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn same_input_same_bytes_and_clean_headers() {
        let entries = vec![
            ArchiveEntry {
                path: "a.txt".into(),
                bytes: b"hello".to_vec(),
                executable: false,
            },
            ArchiveEntry {
                path: format!("{}/long.py", "d".repeat(120)),
                bytes: b"x".to_vec(),
                executable: true,
            },
        ];
        let first = write_tar_gz("pkg-1.0.0", &entries, 946_684_800).expect("archive");
        let second = write_tar_gz("pkg-1.0.0", &entries, 946_684_800).expect("archive");
        assert_eq!(first, second);
        // gzip header: no mtime (bytes 4..8), no FNAME flag (bit 3 of byte 3).
        assert_eq!(&first[4..8], &[0, 0, 0, 0]);
        assert_eq!(first[3] & 0x08, 0);
        let mut tar_bytes = Vec::new();
        flate2::read::GzDecoder::new(first.as_slice())
            .read_to_end(&mut tar_bytes)
            .expect("gunzip");
        let mut archive = tar::Archive::new(tar_bytes.as_slice());
        let mut seen = Vec::new();
        for entry in archive.entries().expect("entries") {
            let entry = entry.expect("entry");
            let header = entry.header();
            assert_eq!(header.mtime().expect("mtime"), 946_684_800);
            assert_eq!(
                (header.uid().expect("uid"), header.gid().expect("gid")),
                (0, 0)
            );
            seen.push((
                entry.path().expect("path").display().to_string(),
                header.mode().expect("mode"),
            ));
        }
        assert_eq!(seen[0], ("pkg-1.0.0/a.txt".to_owned(), 0o644));
        assert_eq!(seen[1].1, 0o755);
        assert!(seen[1].0.ends_with("/long.py"));
    }
}
