//! The one bounded reader of OCP tarballs. The store's unpacker, `ocp sign`, `ocp verify`,
//! `ocp install ./x.tar.gz` and the component directory all read archives through
//! [`read_entries`], so they agree on what
//! an archive holds, and every limit holds before anything trusts the archive (before a
//! signature is checked, a manifest parsed or a byte written).
//!
//! The `tar` crate reads a GNU long name or a PAX header into memory whole, whatever size its
//! header claims: 2 MB of gzip can claim 2 GiB. So the archive is read in the crate's *raw*
//! mode, where extension headers arrive as plain entries, and this module applies them
//! itself after checking their size. What it refuses:
//!
//! - more than [`Limits::max_entries`] headers, a file past [`Limits::max_file_bytes`], more
//!   than [`Limits::max_total_bytes`] in all, an extension header past
//!   [`Limits::max_extension_bytes`];
//! - symlinks and hard links of any kind (an OCP contains none), device files, fifos, sparse
//!   files, and PAX records that would change an entry's size;
//! - paths that are not [`RelativePath`]s below one top folder, names that are not UTF-8,
//!   the same path twice, a file where a folder is (or the other way round);
//! - anything but zeros after the end of the tar archive.
//!
//! It never writes: it hands each file's contents to the caller's visitor.

use std::collections::BTreeSet;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::Bound;

use tar::EntryType;

use crate::model::{RelativePath, shown_path};

/// What reading allows at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Headers of every kind (files, folders, long names, PAX records).
    pub max_entries: usize,
    /// The contents of every entry together, once decompressed.
    pub max_total_bytes: u64,
    /// One file's contents.
    pub max_file_bytes: u64,
    /// One GNU long name or PAX header's contents.
    pub max_extension_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 20_000,
            max_total_bytes: 512 << 20,
            max_file_bytes: 256 << 20,
            max_extension_bytes: 64 << 10,
        }
    }
}

/// How much may follow the tar archive's end marker (it is padded to a 10 KiB record).
const MAX_TRAILER_BYTES: u64 = 1 << 20;

/// Why an archive was refused.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Not gzip, or gzip that does not hold a tar archive.
    #[error("it is not a gzip-compressed tar archive")]
    NotAnArchive,
    #[error("refusing {entry}: {reason}")]
    Unsafe { entry: String, reason: String },
    #[error("the archive is larger than ocp reads: {limit}")]
    TooLarge { limit: String },
    #[error("the archive holds no files")]
    Empty,
    #[error("the archive is damaged")]
    Damaged(#[source] io::Error),
}

/// One file or folder of the archive, below its top folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveEntry {
    Directory(RelativePath),
    File {
        path: RelativePath,
        size: u64,
        executable: bool,
    },
}

/// What reading found besides the entries themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveSummary {
    /// The one top folder (`shopify_osiris-1.0.0`).
    pub top: String,
    /// Every file's path below it.
    pub files: BTreeSet<RelativePath>,
}

/// Reads the gzipped tar archive from `reader`, calling `visit` with every file and folder
/// below the top folder (the top folder itself is not visited). A file's contents reader
/// yields exactly its size; what `visit` leaves unread is skipped. An error from `visit`
/// stops reading and is returned as it is.
pub fn read_entries<R: Read, E: From<ArchiveError>>(
    reader: R,
    limits: &Limits,
    mut visit: impl FnMut(&ArchiveEntry, &mut dyn Read) -> Result<(), E>,
) -> Result<ArchiveSummary, E> {
    let mut buffered = BufReader::new(reader);
    let magic = buffered.fill_buf().map_err(ArchiveError::Damaged)?;
    if !magic.starts_with(&[0x1f, 0x8b]) {
        return Err(ArchiveError::NotAnArchive.into());
    }
    let mut archive = tar::Archive::new(flate2::bufread::MultiGzDecoder::new(buffered));
    let mut state = State::new(limits);
    {
        let entries = archive.entries().map_err(ArchiveError::Damaged)?.raw(true);
        for (index, entry) in entries.enumerate() {
            let entry = match entry {
                Ok(entry) => entry,
                // A first header that does not parse: this was never a tar archive.
                Err(_) if index == 0 => return Err(ArchiveError::NotAnArchive.into()),
                Err(error) => return Err(ArchiveError::Damaged(error).into()),
            };
            if let Some((item, mut data)) = state.next(entry)? {
                visit(&item, &mut data)?;
            }
        }
    }
    state.finish()?;
    let mut rest = archive.into_inner().take(MAX_TRAILER_BYTES + 1);
    let mut buffer = [0u8; 8192];
    let mut trailer: u64 = 0;
    loop {
        let read = rest.read(&mut buffer).map_err(ArchiveError::Damaged)?;
        if read == 0 {
            break;
        }
        trailer += read as u64;
        if trailer > MAX_TRAILER_BYTES || buffer[..read].iter().any(|b| *b != 0) {
            return Err(ArchiveError::Unsafe {
                entry: "the end of the archive".to_owned(),
                reason: "data follows the end of the tar archive".to_owned(),
            }
            .into());
        }
    }
    Ok(ArchiveSummary {
        top: state.top.unwrap_or_default(),
        files: state.files,
    })
}

/// What one pass over the raw entries has seen so far.
struct State<'l> {
    limits: &'l Limits,
    entries: usize,
    total: u64,
    long_name: Option<Vec<u8>>,
    pax_path: Option<Vec<u8>>,
    top: Option<String>,
    files: BTreeSet<RelativePath>,
    directories: BTreeSet<RelativePath>,
}

fn refuse(entry: &str, reason: impl Into<String>) -> ArchiveError {
    ArchiveError::Unsafe {
        entry: entry.to_owned(),
        reason: reason.into(),
    }
}

impl<'l> State<'l> {
    fn new(limits: &'l Limits) -> Self {
        State {
            limits,
            entries: 0,
            total: 0,
            long_name: None,
            pax_path: None,
            top: None,
            files: BTreeSet::new(),
            directories: BTreeSet::new(),
        }
    }

    /// Takes one raw entry: applies it when it is an extension header, checks it and returns
    /// it (with its contents) when it is a file or folder.
    fn next<'a, R: Read>(
        &mut self,
        mut entry: tar::Entry<'a, R>,
    ) -> Result<Option<(ArchiveEntry, tar::Entry<'a, R>)>, ArchiveError> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(ArchiveError::TooLarge {
                limit: format!("more than {} entries", self.limits.max_entries),
            });
        }
        let size = entry.size();
        let kind = entry.header().entry_type();
        let extension = matches!(
            kind,
            EntryType::GNULongName | EntryType::XHeader | EntryType::XGlobalHeader
        );
        if extension && size > self.limits.max_extension_bytes {
            let what = extension_name(kind);
            return Err(ArchiveError::TooLarge {
                limit: format!(
                    "{what} of {size} bytes (ocp reads at most {} bytes)",
                    self.limits.max_extension_bytes
                ),
            });
        }
        self.total = self.total.saturating_add(size);
        if self.total > self.limits.max_total_bytes {
            return Err(ArchiveError::TooLarge {
                limit: format!("more than {} MiB in all", self.limits.max_total_bytes >> 20),
            });
        }
        match kind {
            EntryType::GNULongName | EntryType::XHeader | EntryType::XGlobalHeader => {
                let what = extension_name(kind);
                let mut data = Vec::with_capacity(size as usize);
                (&mut entry)
                    .take(size)
                    .read_to_end(&mut data)
                    .map_err(ArchiveError::Damaged)?;
                match kind {
                    EntryType::GNULongName => {
                        if self.long_name.replace(data).is_some() {
                            return Err(refuse(what, "two long names for one entry"));
                        }
                    }
                    EntryType::XHeader => {
                        if let Some(path) = pax_path(&data, false)?
                            && self.pax_path.replace(path).is_some()
                        {
                            return Err(refuse(what, "two PAX paths for one entry"));
                        }
                    }
                    _ => {
                        pax_path(&data, true)?;
                    }
                }
                return Ok(None);
            }
            _ => {}
        }
        let raw_name = match (self.pax_path.take(), self.long_name.take()) {
            (Some(path), _) => path,
            (None, Some(mut name)) => {
                // GNU tar ends a long name with a NUL.
                if name.last() == Some(&0) {
                    name.pop();
                }
                name
            }
            (None, None) => entry.header().path_bytes().into_owned(),
        };
        let shown = shown_path(&String::from_utf8_lossy(&raw_name));
        let refused = |reason: &str| refuse(&shown, reason);
        match kind {
            EntryType::Regular | EntryType::Continuous | EntryType::Directory => {}
            EntryType::Symlink | EntryType::GNULongLink => {
                return Err(refused("it is a symlink; an OCP contains no links"));
            }
            EntryType::Link => {
                return Err(refused("it is a hard link; an OCP contains no links"));
            }
            EntryType::GNUSparse => {
                return Err(refused("sparse files are not allowed in an OCP"));
            }
            _ => {
                return Err(refused(
                    "device files, fifos and other special files are not allowed in an OCP",
                ));
            }
        }
        let name = String::from_utf8(raw_name).map_err(|_| refused("its name is not UTF-8"))?;
        let is_directory = kind == EntryType::Directory;
        let mut name = name.as_str();
        while let Some(rest) = name.strip_prefix("./") {
            name = rest;
        }
        if is_directory {
            name = name.strip_suffix('/').unwrap_or(name);
        }
        if name.starts_with('/') {
            return Err(refused("its path is absolute"));
        }
        let (top, below) = match name.split_once('/') {
            Some((top, below)) => (top, Some(below)),
            None => (name, None),
        };
        let top_path: RelativePath = top
            .parse()
            .map_err(|error: crate::model::RelativePathError| refused(&error.to_string()))?;
        match &self.top {
            None => self.top = Some(top_path.to_string()),
            Some(known) if *known != top_path.as_str() => {
                return Err(refused("an OCP has exactly one top folder"));
            }
            Some(_) => {}
        }
        let Some(below) = below else {
            if is_directory {
                return Ok(None);
            }
            return Err(refused("an OCP's files are inside its top folder"));
        };
        let path: RelativePath = below
            .parse()
            .map_err(|error: crate::model::RelativePathError| refused(&error.to_string()))?;
        if self.files.contains(&path) || self.directories.contains(&path) {
            return Err(refused("the same path appears twice in the archive"));
        }
        if path.ancestors().any(|folder| self.files.contains(folder)) {
            return Err(refused("it is inside a path that is a file"));
        }
        let item = if is_directory {
            self.directories.insert(path.clone());
            ArchiveEntry::Directory(path)
        } else {
            if size > self.limits.max_file_bytes {
                return Err(ArchiveError::TooLarge {
                    limit: format!(
                        "{shown} has more than {} MiB",
                        self.limits.max_file_bytes >> 20
                    ),
                });
            }
            if has_below(&self.files, &path) || has_below(&self.directories, &path) {
                return Err(refused("a folder of that name is already in the archive"));
            }
            self.files.insert(path.clone());
            let executable = entry.header().mode().is_ok_and(|mode| mode & 0o111 != 0);
            ArchiveEntry::File {
                path,
                size,
                executable,
            }
        };
        Ok(Some((item, entry)))
    }

    fn finish(&self) -> Result<(), ArchiveError> {
        if self.long_name.is_some() || self.pax_path.is_some() {
            return Err(refuse(
                "the end of the archive",
                "a long name header with no entry after it",
            ));
        }
        if self.top.is_none() {
            return Err(ArchiveError::Empty);
        }
        Ok(())
    }
}

/// How a message names an extension header.
fn extension_name(kind: EntryType) -> &'static str {
    match kind {
        EntryType::GNULongName => "a GNU long name",
        EntryType::XHeader => "a PAX header",
        _ => "a global PAX header",
    }
}

/// True when `set` holds a path below the folder `folder`.
fn has_below(set: &BTreeSet<RelativePath>, folder: &RelativePath) -> bool {
    // Every path below `a` sorts between `a/` and `a0` (`0` follows `/`).
    let low = format!("{folder}/");
    let high = format!("{folder}0");
    set.range::<str, _>((
        Bound::Included(low.as_str()),
        Bound::Excluded(high.as_str()),
    ))
    .next()
    .is_some()
}

/// The `path` record of a PAX header, refusing the records that would make ocp and other
/// readers disagree about the archive (`size`, sparse files, links, global paths).
fn pax_path(data: &[u8], global: bool) -> Result<Option<Vec<u8>>, ArchiveError> {
    let what = if global {
        "a global PAX header"
    } else {
        "a PAX header"
    };
    let mut path = None;
    for extension in tar::PaxExtensions::new(data) {
        let extension = extension.map_err(|_| refuse(what, "it is malformed"))?;
        let key = extension
            .key()
            .map_err(|_| refuse(what, "it is malformed"))?;
        match key {
            "path" if !global => path = Some(extension.value_bytes().to_vec()),
            "path" | "size" | "linkpath" => {
                return Err(refuse(
                    what,
                    format!("its `{key}` record is not allowed in an OCP"),
                ));
            }
            _ if key.starts_with("GNU.sparse") => {
                return Err(refuse(what, "sparse files are not allowed in an OCP"));
            }
            _ => {}
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A raw header: the name is written byte for byte, so hostile names reach the reader.
    fn header(path: &[u8], kind: EntryType, size: u64, link: Option<&str>) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_size(size);
        header.set_mode(0o644);
        let old = header.as_old_mut();
        old.name[..path.len()].copy_from_slice(path);
        if let Some(link) = link {
            old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        header.set_cksum();
        header
    }

    /// (raw name, kind, contents, link target)
    type RawEntry<'a> = (&'a [u8], EntryType, &'a [u8], Option<&'a str>);

    fn archive(entries: &[RawEntry<'_>]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for (path, kind, data, link) in entries {
            let header = header(path, *kind, data.len() as u64, *link);
            builder.append(&header, *data).expect("append");
        }
        builder.into_inner().expect("tar").finish().expect("gzip")
    }

    fn read(bytes: &[u8]) -> Result<Vec<ArchiveEntry>, ArchiveError> {
        let mut seen = Vec::new();
        read_entries(bytes, &Limits::default(), |entry, _| {
            seen.push(entry.clone());
            Ok::<(), ArchiveError>(())
        })?;
        Ok(seen)
    }

    #[test]
    fn reads_files_below_the_one_top_folder() {
        let bytes = archive(&[
            (b"pkg-1.0/", EntryType::Directory, b"", None),
            (b"./pkg-1.0/ocp.json", EntryType::Regular, b"{}", None),
            (b"pkg-1.0/src/a.py", EntryType::Regular, b"x = 1\n", None),
        ]);
        let entries = read(&bytes).expect("reads");
        assert_eq!(entries.len(), 2);
        assert!(
            matches!(&entries[1], ArchiveEntry::File { path, size: 6, .. } if path.as_str() == "src/a.py")
        );
    }

    #[test]
    fn refuses_hostile_entries() {
        for (entries, expected) in [
            (
                vec![(&b"pkg/../../evil"[..], EntryType::Regular, &b"x"[..], None)],
                "`..`",
            ),
            (
                vec![(&b"/etc/evil"[..], EntryType::Regular, &b"x"[..], None)],
                "absolute",
            ),
            (
                vec![(&b"pkg/link"[..], EntryType::Symlink, &b""[..], Some("."))],
                "symlink",
            ),
            (
                vec![(&b"pkg/link"[..], EntryType::Symlink, &b""[..], Some("a/b"))],
                "symlink",
            ),
            (
                vec![(&b"pkg/hard"[..], EntryType::Link, &b""[..], Some("pkg/a"))],
                "hard link",
            ),
            (
                vec![(&b"pkg/dev"[..], EntryType::Char, &b""[..], None)],
                "device files",
            ),
            (
                vec![(
                    &b"pkg/x\n../pip/__init__.py,,"[..],
                    EntryType::Regular,
                    &b"x"[..],
                    None,
                )],
                "control character",
            ),
            (
                vec![(&b"pkg/\xff"[..], EntryType::Regular, &b"x"[..], None)],
                "not UTF-8",
            ),
            (
                vec![(&b"pkg"[..], EntryType::Regular, &b"x"[..], None)],
                "inside its top folder",
            ),
            (
                vec![
                    (&b"pkg/a"[..], EntryType::Regular, &b"x"[..], None),
                    (&b"other/b"[..], EntryType::Regular, &b"x"[..], None),
                ],
                "one top folder",
            ),
            (
                vec![
                    (&b"pkg/ocp.json"[..], EntryType::Regular, &b"{}"[..], None),
                    (&b"pkg/ocp.json"[..], EntryType::Regular, &b"{}"[..], None),
                ],
                "twice",
            ),
            (
                vec![
                    (&b"pkg/a"[..], EntryType::Regular, &b"x"[..], None),
                    (&b"pkg/a/b"[..], EntryType::Regular, &b"x"[..], None),
                ],
                "inside a path that is a file",
            ),
            (
                vec![
                    (&b"pkg/a/b"[..], EntryType::Regular, &b"x"[..], None),
                    (&b"pkg/a"[..], EntryType::Regular, &b"x"[..], None),
                ],
                "a folder of that name",
            ),
        ] {
            let error = read(&archive(&entries)).expect_err(expected).to_string();
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }

    /// A gzip stream with a GNU long name header that claims `claimed` bytes, followed by
    /// that many zeros (which compress to almost nothing).
    fn long_name_bomb(kind: EntryType, claimed: u64) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let header = header(b"././@LongLink", kind, claimed, None);
        encoder.write_all(header.as_bytes()).expect("write");
        let zeros = vec![0u8; 1 << 20];
        let mut left = claimed;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            encoder.write_all(&zeros[..n]).expect("write");
            left -= n as u64;
        }
        encoder.finish().expect("gzip")
    }

    #[test]
    fn an_extension_header_claiming_gigabytes_fails_before_reading_it() {
        for kind in [
            EntryType::GNULongName,
            EntryType::XHeader,
            EntryType::XGlobalHeader,
        ] {
            let bytes = long_name_bomb(kind, 64 << 20);
            let started = std::time::Instant::now();
            let error = read(&bytes).expect_err("too large").to_string();
            assert!(error.contains("ocp reads at most 65536 bytes"), "{error}");
            assert!(started.elapsed() < std::time::Duration::from_secs(5));
        }
    }

    #[test]
    fn long_names_and_pax_paths_are_applied_and_checked() {
        let long = format!("pkg/{}/x.py", "d".repeat(150));
        let mut builder = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_mode(0o644);
        h.set_entry_type(EntryType::Regular);
        builder
            .append_data(&mut h, &long, &b"x"[..])
            .expect("long name");
        let record = "path=pkg/../../escape.txt\n";
        let pax = format!("{} {record}", record.len() + 3);
        let pax = pax.as_bytes();
        let pax_header = header(b"pax", EntryType::XHeader, pax.len() as u64, None);
        builder.append(&pax_header, pax).expect("pax");
        let file = header(b"pkg/innocent", EntryType::Regular, 1, None);
        builder.append(&file, &b"y"[..]).expect("file");
        let tar_bytes = builder.into_inner().expect("tar");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut encoder, &tar_bytes).expect("gzip");
        let bytes = encoder.finish().expect("gzip");
        let error = read(&bytes).expect_err("pax path").to_string();
        assert!(
            error.contains("pkg/../../escape.txt") && error.contains("`..`"),
            "{error}"
        );
    }

    #[test]
    fn pax_size_records_and_trailing_data_are_refused() {
        let pax = b"12 size=100\n";
        let bytes = archive(&[
            (b"pax", EntryType::XHeader, pax, None),
            (b"pkg/a", EntryType::Regular, b"x", None),
        ]);
        assert!(
            read(&bytes)
                .expect_err("size")
                .to_string()
                .contains("`size` record")
        );
        let mut bytes = archive(&[(b"pkg/a", EntryType::Regular, b"x", None)]);
        let mut second = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut second, b"hidden").expect("gzip");
        bytes.extend(second.finish().expect("gzip"));
        assert!(
            read(&bytes)
                .expect_err("trailer")
                .to_string()
                .contains("data follows")
        );
    }

    #[test]
    fn limits_hold() {
        let big = vec![0u8; 4096];
        let bytes = archive(&[
            (b"pkg/a", EntryType::Regular, &big, None),
            (b"pkg/b", EntryType::Regular, &big, None),
        ]);
        let tight = Limits {
            max_total_bytes: 6000,
            ..Limits::default()
        };
        let error = read_entries(bytes.as_slice(), &tight, |_, _| Ok::<(), ArchiveError>(()))
            .expect_err("too large")
            .to_string();
        assert!(error.contains("larger than ocp reads"), "{error}");
        let few = Limits {
            max_entries: 1,
            ..Limits::default()
        };
        assert!(read_entries(bytes.as_slice(), &few, |_, _| Ok::<(), ArchiveError>(())).is_err());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(
            read(b"not gzip at all"),
            Err(ArchiveError::NotAnArchive)
        ));
        let mut bytes = archive(&[(b"pkg/a", EntryType::Regular, &[7u8; 2000], None)]);
        bytes.truncate(bytes.len() / 2);
        assert!(read(&bytes).is_err());
        assert!(matches!(read(&archive(&[])), Err(ArchiveError::Empty)));
    }
}
