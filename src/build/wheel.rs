//! The reproducible pure-Python wheel beside the sdist: `{name}-{version}-py3-none-any.whl`.
//!
//! It holds the import packages from `src/` (or, without a `src/` folder, the package's
//! import package at the root), one `components/<component>/spec.yaml` per component at the
//! wheel root, and the `.dist-info` folder (`METADATA`, `WHEEL`, `entry_points.txt`, license
//! files and `RECORD`). Osiris 0.5.7 reads specs only from `site-packages/components/`, which
//! is where pip and uv unpack the root of a pure wheel, so `pip install x.whl` makes the
//! component visible to it.
//!
//! Reproducible like the tarball: entries in a fixed order (sorted, `.dist-info` last and
//! `RECORD` at the very end), every timestamp the same (`SOURCE_DATE_EPOCH`, at least
//! 1980-01-01, the floor of zip), modes 0644, deflate at a fixed level.

use std::collections::BTreeMap;
use std::io::{Cursor, Write};

use base64::Engine;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::{ArchiveEntry, BuildError, BuildPlan};
use crate::model::ComponentName;
use crate::package::pyproject::Pyproject;

/// The wheel's tag: pure Python 3, any ABI, any platform.
pub const TAG: &str = "py3-none-any";
const WHEEL_VERSION: &str = "1.0";
/// 1980-01-01T00:00:00Z: zip cannot store an earlier time.
const ZIP_EPOCH: u64 = 315_532_800;

/// What goes into the wheel, in order.
#[derive(Debug)]
pub struct WheelPlan {
    pub file_name: String,
    pub entries: Vec<ArchiveEntry>,
}

impl WheelPlan {
    pub fn paths(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|entry| entry.path.clone())
            .collect()
    }
}

/// Plans the wheel from the sdist's plan: its files, PKG-INFO (as `METADATA`) and manifest.
pub fn plan(pyproject: &Pyproject, sdist: &BuildPlan) -> Result<WheelPlan, BuildError> {
    let stem = format!("{}-{}", sdist.name.file_stem(), sdist.version);
    let dist_info = format!("{stem}.dist-info");
    let by_path: BTreeMap<&str, &ArchiveEntry> = sdist
        .entries
        .iter()
        .map(|entry| (entry.path.as_str(), entry))
        .collect();

    let import_root = format!("{}/", sdist.name.import_name());
    let has_src = by_path.keys().any(|path| path.starts_with("src/"));
    let mut files: Vec<ArchiveEntry> = by_path
        .values()
        .filter_map(|entry| {
            let path = if has_src {
                entry.path.strip_prefix("src/")?.to_owned()
            } else if entry.path.starts_with(&import_root) {
                entry.path.clone()
            } else {
                return None;
            };
            Some(ArchiveEntry {
                path,
                bytes: entry.bytes.clone(),
                executable: false,
            })
        })
        .collect();
    for component in &sdist.manifest.components {
        let name: ComponentName =
            component
                .name
                .parse()
                .map_err(|_| BuildError::UnsafeComponentName {
                    name: component.name.clone(),
                })?;
        let spec = by_path
            .get(component.spec.as_str())
            .ok_or_else(|| BuildError::MissingSpec(component.spec.clone()))?;
        files.push(ArchiveEntry {
            path: format!("components/{name}/spec.yaml"),
            bytes: spec.bytes.clone(),
            executable: false,
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));

    let mut metadata = vec![
        ArchiveEntry {
            path: format!("{dist_info}/METADATA"),
            bytes: by_path
                .get("PKG-INFO")
                .map(|entry| entry.bytes.clone())
                .ok_or(BuildError::MissingField("PKG-INFO"))?,
            executable: false,
        },
        ArchiveEntry {
            path: format!("{dist_info}/WHEEL"),
            bytes: format!(
                "Wheel-Version: {WHEEL_VERSION}\nGenerator: ocp ({})\nRoot-Is-Purelib: true\nTag: {TAG}\n",
                env!("CARGO_PKG_VERSION")
            )
            .into_bytes(),
            executable: false,
        },
    ];
    let entry_points = entry_points_txt(pyproject);
    if !entry_points.is_empty() {
        metadata.push(ArchiveEntry {
            path: format!("{dist_info}/entry_points.txt"),
            bytes: entry_points.into_bytes(),
            executable: false,
        });
    }
    for license in by_path
        .keys()
        .filter(|path| !path.contains('/') && is_license_file(path))
    {
        metadata.push(ArchiveEntry {
            path: format!("{dist_info}/licenses/{license}"),
            bytes: by_path[license].bytes.clone(),
            executable: false,
        });
    }
    metadata.sort_by(|a, b| a.path.cmp(&b.path));
    files.extend(metadata);
    if let Some(pair) = files.windows(2).find(|pair| pair[0].path == pair[1].path) {
        return Err(BuildError::DuplicatePath(pair[0].path.clone()));
    }
    let record_path = format!("{dist_info}/RECORD");
    let record = record(&files, &record_path);
    files.push(ArchiveEntry {
        path: record_path,
        bytes: record.into_bytes(),
        executable: false,
    });
    Ok(WheelPlan {
        file_name: format!("{stem}-{TAG}.whl"),
        entries: files,
    })
}

fn is_license_file(path: &str) -> bool {
    let upper = path.to_ascii_uppercase();
    ["LICENSE", "LICENCE", "COPYING", "NOTICE"]
        .iter()
        .any(|prefix| upper.starts_with(prefix))
}

/// `entry_points.txt`: `[project.scripts]` as `console_scripts`, `[project.gui-scripts]` as
/// `gui_scripts`, and every `[project.entry-points.<group>]`, groups and names in order.
fn entry_points_txt(pyproject: &Pyproject) -> String {
    let mut groups: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut add = |group: &str, table: &dyn toml_edit::TableLike| {
        let entries = groups.entry(group.to_owned()).or_default();
        for (name, value) in table.iter() {
            if let Some(target) = value.as_str() {
                entries.push((name.to_owned(), target.to_owned()));
            }
        }
    };
    for (key, group) in [
        ("scripts", "console_scripts"),
        ("gui-scripts", "gui_scripts"),
    ] {
        if let Some((item, _)) = pyproject.project_item(key)
            && let Some(table) = item.as_table_like()
        {
            add(group, table);
        }
    }
    if let Some((item, _)) = pyproject.project_item("entry-points")
        && let Some(table) = item.as_table_like()
    {
        for (group, item) in table.iter() {
            if let Some(inner) = item.as_table_like() {
                add(group, inner);
            }
        }
    }
    let mut out = String::new();
    for (group, mut entries) in groups.into_iter().filter(|(_, e)| !e.is_empty()) {
        entries.sort();
        out.push_str(&format!("[{group}]\n"));
        for (name, target) in entries {
            out.push_str(&format!("{name} = {target}\n"));
        }
        out.push('\n');
    }
    out
}

/// `RECORD`: `path,sha256=<urlsafe base64 without padding>,size` per file, then its own line.
fn record(files: &[ArchiveEntry], record_path: &str) -> String {
    let mut out = String::new();
    for file in files {
        let digest =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(&file.bytes));
        out.push_str(&format!(
            "{},sha256={digest},{}\n",
            csv_field(&file.path),
            file.bytes.len()
        ));
    }
    out.push_str(&format!("{},,\n", csv_field(record_path)));
    out
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// Writes the wheel in memory with every entry stamped `mtime` (seconds since 1970).
pub fn write_wheel(entries: &[ArchiveEntry], mtime: u64) -> zip::result::ZipResult<Vec<u8>> {
    let time = zip_time(mtime);
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for entry in entries {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(9))
            .last_modified_time(time)
            .unix_permissions(if entry.executable { 0o755 } else { 0o644 });
        writer.start_file(entry.path.as_str(), options)?;
        writer.write_all(&entry.bytes)?;
    }
    Ok(writer.finish()?.into_inner())
}

fn zip_time(mtime: u64) -> DateTime {
    let seconds = i64::try_from(mtime.max(ZIP_EPOCH)).unwrap_or(i64::MAX);
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|at| {
            DateTime::from_date_and_time(
                u16::try_from(at.year()).ok()?,
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute(),
                at.second(),
            )
            .ok()
        })
        // Past 2107, the last year zip can store: its last moment, never the clock.
        .unwrap_or_else(|| {
            DateTime::from_date_and_time(2107, 12, 31, 23, 59, 58).unwrap_or_default()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_lines_hash_like_pip() {
        let files = vec![ArchiveEntry {
            path: "a/b.py".into(),
            bytes: b"hello".to_vec(),
            executable: false,
        }];
        assert_eq!(
            record(&files, "x-1.dist-info/RECORD"),
            "a/b.py,sha256=LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ,5\nx-1.dist-info/RECORD,,\n"
        );
    }

    #[test]
    fn zip_times_are_clamped_to_1980() {
        let early = zip_time(0);
        assert_eq!((early.year(), early.month(), early.day()), (1980, 1, 1));
        let y2k = zip_time(super::super::DEFAULT_MTIME);
        assert_eq!((y2k.year(), y2k.hour(), y2k.second()), (2000, 0, 0));
        assert_eq!(zip_time(u64::MAX).year(), 2107);
    }

    #[test]
    fn same_entries_same_bytes() {
        let entries = vec![ArchiveEntry {
            path: "m/__init__.py".into(),
            bytes: b"x = 1\n".to_vec(),
            executable: false,
        }];
        let first = write_wheel(&entries, 1_700_000_000).expect("wheel");
        let second = write_wheel(&entries, 1_700_000_000).expect("wheel");
        assert_eq!(first, second);
        assert_ne!(first, write_wheel(&entries, 1_700_000_100).expect("wheel"));
    }
}
