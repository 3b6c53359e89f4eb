//! The kernel list, in falcosecurity/kernel-crawler's JSON format, and the boot images beside it.
//!
//! `list.json` is an object keyed by target; each value is a list of entries whose keys come in the
//! order kernel-crawler writes them (`kernelversion`, `kernelrelease`, `target`, then `headers`, or
//! `kernelconfigdata` for image-based distributions). `kernelversion` is always a JSON string there;
//! a number is accepted on reading because hand-written lists have used one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer, Visitor};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}:{column}: not a kernel list: {message} (fix the file or crawl it again with `kernel-crawler crawl`)")]
    Parse { path: PathBuf, line: usize, column: usize, message: String },
    #[error("writing {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("encoding {path}: {source}")]
    Encode { path: PathBuf, source: serde_json::Error },
}

/// One kernel: what driverkit needs to build for it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Entry {
    pub kernelversion: String,
    pub kernelrelease: String,
    pub target: String,
    pub headers: Vec<String>,
    /// Base64 of the kernel's `.config`, for distributions that ship images rather than header packages.
    pub kernelconfigdata: Option<String>,
}

impl Serialize for Entry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let with_headers = !self.headers.is_empty() || self.kernelconfigdata.is_none();
        let n = 3 + usize::from(with_headers) + usize::from(self.kernelconfigdata.is_some());
        let mut st = s.serialize_struct("Entry", n)?;
        st.serialize_field("kernelversion", &self.kernelversion)?;
        st.serialize_field("kernelrelease", &self.kernelrelease)?;
        st.serialize_field("target", &self.target)?;
        if let Some(data) = &self.kernelconfigdata {
            st.serialize_field("kernelconfigdata", data)?;
        }
        if with_headers {
            st.serialize_field("headers", &self.headers)?;
        }
        st.end()
    }
}

#[derive(Deserialize)]
struct RawEntry {
    #[serde(deserialize_with = "string_or_number")]
    kernelversion: String,
    kernelrelease: String,
    target: String,
    #[serde(default)]
    headers: Vec<String>,
    #[serde(default)]
    kernelconfigdata: Option<String>,
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = RawEntry::deserialize(d)?;
        Ok(Entry {
            kernelversion: r.kernelversion,
            kernelrelease: r.kernelrelease,
            target: r.target,
            headers: r.headers,
            kernelconfigdata: r.kernelconfigdata,
        })
    }
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string or an integer")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
    }
    d.deserialize_any(V)
}

/// A whole `list.json`: target → entries.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct List(pub BTreeMap<String, Vec<Entry>>);

impl List {
    pub fn read(path: impl AsRef<Path>) -> Result<List, ListError> {
        read_json(path.as_ref())
    }

    /// Writes the list sorted (targets by name, entries by release), pretty-printed with a trailing
    /// newline, through a temporary file in the same folder so a reader never sees half a list.
    pub fn write_atomic(&self, path: impl AsRef<Path>) -> Result<(), ListError> {
        let mut sorted = self.clone();
        for entries in sorted.0.values_mut() {
            entries.sort_by(|a, b| {
                natural_cmp(&a.kernelrelease, &b.kernelrelease)
                    .then_with(|| natural_cmp(&a.kernelversion, &b.kernelversion))
            });
        }
        write_json_atomic(path.as_ref(), &sorted)
    }

    /// Every entry of every target.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.0.values().flatten()
    }

    /// Total number of entries.
    pub fn len(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Orders runs of digits by value, so `6.12.95` comes before `6.12.117`; a diff of two crawls then
/// shows a new kernel where it belongs.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (trim_zeros(&a[..da]), trim_zeros(&b[..db]));
                let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let z = d.iter().take_while(|&&c| c == b'0').count();
    &d[z..]
}

/// Where the bootable kernel of a release is: the package holding its `vmlinuz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootImage {
    /// What `uname -r` prints under this kernel (the ABI name, `6.1.0-47-amd64`).
    pub uname: String,
    pub package: String,
    pub url: String,
    /// Lower-case hex, from the archive's index.
    pub sha256: String,
}

/// `images.json`: kernelrelease (as in `list.json`) → its boot image.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Images(pub BTreeMap<String, BootImage>);

impl Images {
    pub fn read(path: impl AsRef<Path>) -> Result<Images, ListError> {
        read_json(path.as_ref())
    }

    pub fn write_atomic(&self, path: impl AsRef<Path>) -> Result<(), ListError> {
        write_json_atomic(path.as_ref(), self)
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ListError> {
    let text = std::fs::read(path).map_err(|source| ListError::Read { path: path.to_owned(), source })?;
    serde_json::from_slice(&text).map_err(|e| ListError::Parse {
        path: path.to_owned(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<(), ListError> {
    let mut text =
        serde_json::to_vec_pretty(value).map_err(|source| ListError::Encode { path: path.to_owned(), source })?;
    text.push(b'\n');
    let werr = |source| ListError::Write { path: path.to_owned(), source };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(werr)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".list-")
        .tempfile_in(&dir)
        .map_err(werr)?;
    tmp.write_all(&text).map_err(werr)?;
    // Temporary files are created private; the list is for everyone to read, as a plain write would be.
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644)).map_err(werr)?;
    }
    tmp.as_file().sync_all().map_err(werr)?;
    tmp.persist(path).map_err(|e| werr(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(rel: &str) -> Entry {
        Entry {
            kernelversion: "1".into(),
            kernelrelease: rel.into(),
            target: "debian".into(),
            headers: vec![format!("http://mirror.example/debian/pool/main/l/linux/linux-headers-{rel}.deb")],
            kernelconfigdata: None,
        }
    }

    #[test]
    fn entries_keep_kernel_crawlers_key_order() {
        let text = serde_json::to_string(&entry("6.1.170-3-amd64")).expect("encodes");
        let keys: Vec<usize> = ["\"kernelversion\"", "\"kernelrelease\"", "\"target\"", "\"headers\""]
            .iter()
            .map(|k| text.find(k).expect("key present"))
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(text.contains("\"kernelversion\":\"1\""), "kernelversion is a string: {text}");
        assert!(!text.contains("kernelconfigdata"));

        let image = Entry {
            kernelversion: "1_1.19.0".into(),
            kernelrelease: "6.1.90".into(),
            target: "talos".into(),
            headers: vec![],
            kernelconfigdata: Some("Q09ORklHX1g9eQo=".into()),
        };
        let text = serde_json::to_string(&image).expect("encodes");
        assert!(text.ends_with("\"kernelconfigdata\":\"Q09ORklHX1g9eQo=\"}"), "{text}");
        assert!(!text.contains("headers"));
    }

    #[test]
    fn write_then_read_gives_the_same_list_sorted_with_a_newline() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x86_64/list.json");
        let mut list = List::default();
        list.0.insert("debian".into(), vec![entry("6.1.170-3-rt-amd64"), entry("5.10.244-1-amd64")]);
        list.write_atomic(&path).expect("written");
        let text = std::fs::read_to_string(&path).expect("read back");
        assert!(text.ends_with("]\n}\n"), "{text}");
        assert!(text.contains("\n  \"debian\": [\n    {\n      \"kernelversion\": \"1\","), "{text}");
        let back = List::read(&path).expect("parses");
        let rels: Vec<&str> = back.entries().map(|e| e.kernelrelease.as_str()).collect();
        assert_eq!(rels, ["5.10.244-1-amd64", "6.1.170-3-rt-amd64"]);
        // Only the list itself is left in the folder: the temporary file was renamed, not copied.
        let names: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["list.json"]);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    #[test]
    fn releases_sort_by_the_value_of_their_numbers() {
        let mut v = ["6.12.117-1-amd64", "6.12.95-1~bpo12+1-amd64", "6.1.170-3-amd64", "5.10.223-1-amd64", "6.12.117-1-amd64"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["5.10.223-1-amd64", "6.1.170-3-amd64", "6.12.95-1~bpo12+1-amd64", "6.12.117-1-amd64", "6.12.117-1-amd64"]);
        assert_eq!(natural_cmp("a007", "a7"), std::cmp::Ordering::Equal);
    }

    #[test]
    fn malformed_json_names_the_file_line_and_column() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("list.json");
        std::fs::write(&path, "{\n  \"debian\": [\n    {\"kernelversion\": \"1\",, }\n").expect("write");
        let err = List::read(&path).expect_err("malformed");
        match &err {
            ListError::Parse { line, column, .. } => assert_eq!((*line, *column), (3, 27)),
            other => panic!("wrong error: {other}"),
        }
        assert!(err.to_string().contains("list.json:3:27"), "{err}");
    }

    #[test]
    fn a_numeric_kernelversion_is_read_as_a_string() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("list.json");
        std::fs::write(
            &path,
            r#"{"centos": [{"kernelversion": 1, "kernelrelease": "4.18.0-372.9.1.el8.x86_64", "target": "centos", "headers": ["u"]}]}"#,
        )
        .expect("write");
        let list = List::read(&path).expect("parses");
        assert_eq!(list.0["centos"][0].kernelversion, "1");
    }

    #[test]
    fn images_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("images.json");
        let mut images = Images::default();
        images.0.insert(
            "6.1.170-3-amd64".into(),
            BootImage {
                uname: "6.1.0-47-amd64".into(),
                package: "linux-image-6.1.0-47-amd64-unsigned".into(),
                url: "http://mirror.example/debian/pool/x.deb".into(),
                sha256: "ab".repeat(32),
            },
        );
        images.write_atomic(&path).expect("written");
        assert_eq!(Images::read(&path).expect("parses"), images);
        std::fs::write(&path, "{\"6.1.170-3-amd64\": {\"uname\": 3}}").expect("write");
        assert!(matches!(Images::read(&path), Err(ListError::Parse { .. })));
    }
}
