//! Builder images: named in driverkit's scheme (`<target|any>-<arch>_gcc12.0.0_gcc11.0.0-<tag>` in a
//! builder repository), found among the Docker engine's local images or in a YAML index file, chosen by
//! driverkit's rules, and made locally with `driverkit images build` (a debootstrapped Debian with the
//! toolchain, imported into Docker) because no registry is reachable from where builds run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;
use serde::Deserialize;

use crate::kernelrelease::Arch;
use crate::targets::GccVersion;

pub use crate::apt::{apt_mirror, AptMirror};

/// One gcc of one image: images with several compilers appear once per compiler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// What `docker run` takes: `falcosecurity/driverkit-builder:any-x86_64_gcc12.0.0_gcc11.0.0-latest`.
    pub name: String,
    /// `any`, or the one target the image is for.
    pub target: String,
    pub gcc: GccVersion,
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("no builder image for {arch} with tag `{tag}` in {repos}: build one with `driverkit images build` (or pass --builderimage)")]
    None { arch: &'static str, tag: String, repos: String },
    #[error("builder image index {path}: {detail}")]
    Index { path: PathBuf, detail: String },
    #[error("the Docker engine: {0}; is dockerd running? (`dockerd &`, or see README)")]
    Docker(String),
    #[error("making the builder image: {0}")]
    Build(String),
}

/// The repository part of a builder image name, as the engine lists it (`docker.io/` dropped).
pub fn normalize_repo(repo: &str) -> &str {
    repo.strip_prefix("docker.io/").unwrap_or(repo)
}

/// `any-x86_64_gcc12.0.0_gcc11.0.0-latest`.
pub fn tag_for(target: &str, arch: Arch, gccs: &[GccVersion], tag: &str) -> String {
    let gccs: String = gccs.iter().map(|g| format!("_gcc{g}")).collect();
    format!("{target}-{}{gccs}-{tag}", arch.non_deb())
}

/// Images among `tags` (full `repo:tag` names) that fit the target, architecture and tag.
pub fn parse_tags(
    tags: &[impl AsRef<str>],
    repos: &[String],
    target: &str,
    arch: Arch,
    tag: &str,
) -> Vec<Image> {
    let pattern = format!(
        r"^(?P<target>{}|any)-{}(?P<gccs>(_gcc[0-9]+\.[0-9]+\.[0-9]+)+)-{}$",
        regex::escape(target),
        arch.non_deb(),
        regex::escape(tag)
    );
    let Ok(re) = Regex::new(&pattern) else { return Vec::new() };
    let mut found = Vec::new();
    // Repositories in priority order: the first that offers a (target, gcc) wins.
    for repo in repos {
        let repo = normalize_repo(repo);
        for full in tags.iter().map(AsRef::as_ref) {
            let Some((image_repo, image_tag)) = full.rsplit_once(':') else { continue };
            if normalize_repo(image_repo) != repo {
                continue;
            }
            let Some(caps) = re.captures(image_tag) else { continue };
            for gcc in caps["gccs"].split("_gcc").filter(|s| !s.is_empty()) {
                if let Some(gcc) = GccVersion::parse(gcc) {
                    found.push(Image {
                        name: full.to_owned(),
                        target: caps["target"].to_owned(),
                        gcc,
                    });
                }
            }
        }
    }
    found
}

#[derive(Deserialize)]
struct Index {
    images: Vec<IndexImage>,
}

#[derive(Deserialize)]
struct IndexImage {
    target: String,
    name: String,
    arch: String,
    tag: String,
    gcc_versions: Vec<String>,
}

/// Images listed in a YAML index (driverkit's `--builderrepo /path/index.yaml`).
pub fn from_index(path: &Path, target: &str, arch: Arch, tag: &str) -> Result<Vec<Image>, ImageError> {
    let fail = |detail: String| ImageError::Index { path: path.to_owned(), detail };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let index: Index = serde_yaml_ng::from_str(&text).map_err(|e| fail(e.to_string()))?;
    let mut found = Vec::new();
    for image in index.images {
        if image.arch != arch.non_deb() || image.tag != tag || (image.target != "any" && image.target != target) {
            continue;
        }
        for gcc in &image.gcc_versions {
            let gcc = GccVersion::parse(gcc).ok_or_else(|| fail(format!("gcc version `{gcc}` of {}", image.name)))?;
            found.push(Image { name: image.name.clone(), target: image.target.clone(), gcc });
        }
    }
    Ok(found)
}

/// driverkit's choice: the image for the target (else `any`) that has the wanted gcc; failing that, the
/// highest gcc not above the wanted one (or the lowest of all, when every gcc is newer).
pub fn choose<'a>(images: &'a [Image], target: &str, wanted: GccVersion) -> Option<&'a Image> {
    let exact = |t: &str| images.iter().find(|i| i.target == t && i.gcc == wanted);
    if let Some(found) = exact(target).or_else(|| exact("any")) {
        return Some(found);
    }
    let mut gccs: Vec<GccVersion> = images.iter().map(|i| i.gcc).collect();
    gccs.sort();
    let best = gccs.iter().rev().find(|g| **g <= wanted).or(gccs.first())?;
    images
        .iter()
        .find(|i| i.target == target && i.gcc == *best)
        .or_else(|| images.iter().find(|i| i.gcc == *best))
}

/// The Debian suites builder images are made from, each with the two gccs it carries. The sets are
/// disjoint, so a gcc major names one suite: the kernel's own compiler brings the image of the suite
/// the kernel was built in, whose glibc its `linux-kbuild` helper binaries were linked against.
pub const SUITES: &[(&str, [u64; 2])] = &[
    ("bullseye", [10, 9]),
    ("bookworm", [12, 11]),
    ("trixie", [14, 13]),
    ("sid", [16, 15]),
];

/// The tools every image has besides its gccs (driverkit's recipe and `make bpf` need them).
const TOOLS: &[&str] = &[
    "gcc", "make", "cmake", "clang", "llvm", "kmod", "libelf-dev", "dwarves", "bc", "flex", "bison",
    "libssl-dev", "xz-utils", "zstd", "binutils", "cpio", "rsync", "file", "python3", "ca-certificates",
    "curl", "libbpf-dev",
];

/// What `driverkit images build` puts into an image.
#[derive(Debug, Clone)]
pub struct ImageRecipe {
    pub suite: String,
    pub mirror: String,
    /// The keyring debootstrap checks the suite's Release with (`None`: debootstrap's default).
    pub keyring: Option<PathBuf>,
    pub gccs: Vec<GccVersion>,
    pub packages: Vec<String>,
}

impl ImageRecipe {
    /// The recipe of one of [`SUITES`], downloading from `mirror`.
    pub fn for_suite(suite: &str, mirror: &str) -> Option<ImageRecipe> {
        let (name, gccs) = SUITES.iter().find(|(name, _)| *name == suite)?;
        let mut packages: Vec<String> = TOOLS.iter().map(|t| (*t).to_owned()).collect();
        packages.extend(gccs.iter().map(|g| format!("gcc-{g}")));
        Some(ImageRecipe {
            suite: (*name).to_owned(),
            mirror: mirror.trim_end_matches('/').to_owned(),
            keyring: None,
            gccs: gccs.iter().map(|g| GccVersion(*g, 0, 0)).collect(),
            packages,
        })
    }

    /// Every suite's recipe.
    pub fn all(mirror: &str) -> Vec<ImageRecipe> {
        SUITES.iter().filter_map(|(suite, _)| ImageRecipe::for_suite(suite, mirror)).collect()
    }

    /// Names what goes into the image, so an image made from an older recipe is recognised and remade.
    /// The mirror is left out: any mirror of the same suite gives the same image.
    pub fn fingerprint(&self) -> String {
        let text = format!("{} {} {:?}", self.suite, self.packages.join(","), self.gccs);
        crate::outputs::digest(text.as_bytes())[..16].to_owned()
    }

    /// The image's tag in driverkit's scheme: `any-x86_64_gcc12.0.0_gcc11.0.0-<tag>`.
    pub fn tag(&self, arch: Arch, tag: &str) -> String {
        tag_for("any", arch, &self.gccs, tag)
    }
}

/// The names `driverkit images build` gives, for choosing without an engine to look at (a cluster
/// pulls its images itself).
pub fn built_names(repos: &[String], arch: Arch, tag: &str) -> Vec<String> {
    let recipes = ImageRecipe::all("");
    repos
        .iter()
        .flat_map(|repo| recipes.iter().map(move |r| format!("{}:{}", normalize_repo(repo), r.tag(arch, tag))))
        .collect()
}

/// The label an image carries with its recipe's fingerprint.
pub const RECIPE_LABEL: &str = "driverkit.recipe";
/// The label naming the Debian suite an image was made from.
pub const SUITE_LABEL: &str = "driverkit.suite";

/// Makes the root filesystem of a builder image in `rootfs` with debootstrap, with driverkit's
/// `/usr/bin/gcc-<X.Y.Z>` links.
pub fn debootstrap(recipe: &ImageRecipe, rootfs: &Path, log: &Path) -> Result<(), ImageError> {
    let log_file = std::fs::File::create(log).map_err(|e| ImageError::Build(format!("{}: {e}", log.display())))?;
    let err_file = log_file.try_clone().map_err(|e| ImageError::Build(e.to_string()))?;
    tracing::info!(suite = %recipe.suite, mirror = %recipe.mirror, dir = %rootfs.display(), log = %log.display(), "debootstrap (a few minutes)");
    let mut command = Command::new("debootstrap");
    command.arg("--variant=minbase").arg(format!("--include={}", recipe.packages.join(",")));
    if let Some(keyring) = &recipe.keyring {
        command.arg(format!("--keyring={}", keyring.display()));
    }
    let status = command
        .arg(&recipe.suite)
        .arg(rootfs)
        .arg(&recipe.mirror)
        .stdout(log_file)
        .stderr(err_file)
        .status()
        .map_err(|e| ImageError::Build(format!("running debootstrap ({e}); install it with `apt-get install debootstrap`")))?;
    if !status.success() {
        let mut tail = tail_of(log, 15);
        if tail.contains("NO_PUBKEY") || tail.contains("unknown key") || tail.contains("Release signed by") {
            tail.push_str(&format!(
                "\nthe host's keyring lacks the key {} is signed with: unpack a newer debian-archive-keyring .deb \
                 (`dpkg-deb -x`) and pass --keyring DIR/usr/share/keyrings/debian-archive-keyring.gpg",
                recipe.suite
            ));
        }
        return Err(ImageError::Build(format!(
            "debootstrap of {} from {} failed ({status}); last lines of {}:\n{tail}",
            recipe.suite,
            recipe.mirror,
            log.display()
        )));
    }
    for gcc in &recipe.gccs {
        let link = rootfs.join(format!("usr/bin/gcc-{gcc}"));
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(format!("gcc-{}", gcc.0), &link)
            .map_err(|e| ImageError::Build(format!("{}: {e}", link.display())))?;
        if !rootfs.join(format!("usr/bin/gcc-{}", gcc.0)).exists() {
            return Err(ImageError::Build(format!("gcc-{} is not in the image", gcc.0)));
        }
    }
    // Nothing in a build reads apt's caches; they only make the image bigger.
    let _ = std::fs::remove_dir_all(rootfs.join("var/cache/apt/archives"));
    let _ = std::fs::remove_dir_all(rootfs.join("var/lib/apt/lists"));
    Ok(())
}

pub fn tail_of(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Groups images by name for listing: name → (target, gccs).
pub fn by_name(images: &[Image]) -> BTreeMap<String, (String, Vec<GccVersion>)> {
    let mut m: BTreeMap<String, (String, Vec<GccVersion>)> = BTreeMap::new();
    for i in images {
        m.entry(i.name.clone())
            .or_insert_with(|| (i.target.clone(), Vec::new()))
            .1
            .push(i.gcc);
    }
    m
}

/// The Docker side: listing and importing images.
pub mod docker {
    use bollard::query_parameters::{CreateImageOptionsBuilder, ListImagesOptionsBuilder};
    use bollard::Docker;
    use futures_util::StreamExt;

    use super::*;

    pub fn connect() -> Result<Docker, ImageError> {
        Docker::connect_with_local_defaults().map_err(|e| ImageError::Docker(e.to_string()))
    }

    /// The recipe fingerprint an image was made with, if it carries one.
    pub async fn recipe_of(docker: &Docker, name: &str) -> Option<Option<String>> {
        let image = docker.inspect_image(name).await.ok()?;
        Some(image.config.and_then(|c| c.labels).and_then(|l| l.get(RECIPE_LABEL).cloned()))
    }

    /// Every `repo:tag` the engine has.
    pub async fn local_tags(docker: &Docker) -> Result<Vec<String>, ImageError> {
        let images = docker
            .list_images(Some(ListImagesOptionsBuilder::new().all(false).build()))
            .await
            .map_err(|e| ImageError::Docker(e.to_string()))?;
        Ok(images.into_iter().flat_map(|i| i.repo_tags).collect())
    }

    /// Images for the build from the configured repositories (engine-local) and index files, in order.
    pub async fn available(
        docker: &Docker,
        repos: &[String],
        target: &str,
        arch: Arch,
        tag: &str,
    ) -> Result<Vec<Image>, ImageError> {
        let tags = local_tags(docker).await?;
        let mut found = Vec::new();
        for repo in repos {
            if Path::new(repo).is_file() {
                found.extend(from_index(Path::new(repo), target, arch, tag)?);
            } else {
                found.extend(parse_tags(&tags, std::slice::from_ref(repo), target, arch, tag));
            }
        }
        Ok(found)
    }

    /// `docker import` of a root filesystem directory as `repo:tag`.
    pub async fn import(docker: &Docker, rootfs: &Path, repo: &str, tag: &str, labels: &[(&str, &str)]) -> Result<(), ImageError> {
        let tarball = rootfs.with_extension("tar");
        let status = Command::new("tar")
            .arg("-C")
            .arg(rootfs)
            .args(["--numeric-owner", "-cf"])
            .arg(&tarball)
            .arg(".")
            .status()
            .map_err(|e| ImageError::Build(format!("running tar: {e}")))?;
        if !status.success() {
            return Err(ImageError::Build(format!("tar of {} failed ({status})", rootfs.display())));
        }
        let file = tokio::fs::File::open(&tarball)
            .await
            .map_err(|e| ImageError::Build(format!("{}: {e}", tarball.display())))?;
        let body = bollard::body_try_stream(tokio_util::io::ReaderStream::new(file));
        let options = CreateImageOptionsBuilder::new()
            .from_src("-")
            .repo(normalize_repo(repo))
            .tag(tag)
            .changes(labels.iter().map(|(k, v)| format!("LABEL {k}={v}")).collect())
            .build();
        let mut progress = docker.create_image(Some(options), Some(body), None);
        let mut result = Ok(());
        while let Some(item) = progress.next().await {
            if let Err(e) = item {
                result = Err(ImageError::Docker(format!("importing {repo}:{tag}: {e}")));
                break;
            }
        }
        let _ = std::fs::remove_file(&tarball);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPO: &str = "docker.io/falcosecurity/driverkit-builder";

    fn images() -> Vec<Image> {
        let tags = [
            "falcosecurity/driverkit-builder:any-x86_64_gcc12.0.0_gcc11.0.0-latest",
            "falcosecurity/driverkit-builder:any-x86_64_gcc8.0.0_gcc6.0.0_gcc5.0.0_gcc4.9.0_gcc4.8.0-latest",
            "falcosecurity/driverkit-builder:centos-x86_64_gcc4.8.5-latest",
            "falcosecurity/driverkit-builder:any-aarch64_gcc12.0.0_gcc11.0.0-latest",
            "falcosecurity/driverkit-builder:any-x86_64_gcc13.0.0-master",
            "someone/else:any-x86_64_gcc14.0.0-latest",
        ];
        parse_tags(&tags, &[REPO.to_owned()], "centos", Arch::Amd64, "latest")
    }

    #[test]
    fn tags_follow_driverkits_scheme() {
        assert_eq!(
            tag_for("any", Arch::Amd64, &[GccVersion(12, 0, 0), GccVersion(11, 0, 0)], "latest"),
            "any-x86_64_gcc12.0.0_gcc11.0.0-latest"
        );
        let found = images();
        assert_eq!(found.len(), 8, "{found:?}");
        assert!(found.iter().all(|i| !i.name.contains("aarch64") && !i.name.contains("master")));
        assert!(found.iter().any(|i| i.target == "centos" && i.gcc == GccVersion(4, 8, 5)));
    }

    #[test]
    fn the_image_is_chosen_like_driverkit_does() {
        let found = images();
        let pick = |wanted| choose(&found, "centos", wanted).map(|i| (i.target.clone(), i.gcc));
        assert_eq!(pick(GccVersion(12, 0, 0)), Some(("any".into(), GccVersion(12, 0, 0))));
        assert_eq!(pick(GccVersion(4, 8, 5)), Some(("centos".into(), GccVersion(4, 8, 5))));
        // 6.12 wants gcc 14: the nearest lower one offered is used.
        assert_eq!(pick(GccVersion(14, 0, 0)), Some(("any".into(), GccVersion(12, 0, 0))));
        assert_eq!(pick(GccVersion(3, 0, 0)), Some(("any".into(), GccVersion(4, 8, 0))));
        assert_eq!(choose(&[], "centos", GccVersion(12, 0, 0)), None);
    }

    #[test]
    fn an_index_file_lists_images_like_driverkit() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("index.yaml");
        std::fs::write(
            &path,
            "images:\n  - target: any\n    name: local/builder:1\n    arch: x86_64\n    tag: latest\n    gcc_versions: [\"12\", \"11\"]\n\
             \x20 - target: debian\n    name: local/arm:1\n    arch: aarch64\n    tag: latest\n    gcc_versions: [\"12\"]\n",
        )
        .expect("write");
        let found = from_index(&path, "debian", Arch::Amd64, "latest").expect("read");
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].gcc, GccVersion(12, 0, 0));
        std::fs::write(&path, "images: [").expect("write");
        assert!(from_index(&path, "debian", Arch::Amd64, "latest").is_err());
    }

    #[test]
    fn each_suite_has_its_image_named_by_its_gccs() {
        let recipes = ImageRecipe::all("http://mirror.example/debian/");
        let tags: Vec<String> = recipes.iter().map(|r| r.tag(Arch::Amd64, "latest")).collect();
        assert_eq!(
            tags,
            [
                "any-x86_64_gcc10.0.0_gcc9.0.0-latest",
                "any-x86_64_gcc12.0.0_gcc11.0.0-latest",
                "any-x86_64_gcc14.0.0_gcc13.0.0-latest",
                "any-x86_64_gcc16.0.0_gcc15.0.0-latest",
            ]
        );
        let sid = ImageRecipe::for_suite("sid", "http://mirror.example/debian/").expect("sid");
        assert_eq!(sid.mirror, "http://mirror.example/debian");
        assert!(sid.packages.iter().any(|p| p == "gcc-16") && sid.packages.iter().any(|p| p == "gcc-15"), "{:?}", sid.packages);
        for tool in ["make", "cmake", "clang", "llvm", "libbpf-dev", "libelf-dev", "dwarves", "bc", "flex", "bison", "kmod", "zstd"] {
            assert!(recipes.iter().all(|r| r.packages.iter().any(|p| p == tool)), "{tool} in every image");
        }
        // The fingerprint names what is in the image, not where it was downloaded from.
        let elsewhere = ImageRecipe::for_suite("sid", "http://other.example/debian").expect("sid");
        assert_eq!(sid.fingerprint(), elsewhere.fingerprint());
        let fingerprints: std::collections::BTreeSet<String> = recipes.iter().map(ImageRecipe::fingerprint).collect();
        assert_eq!(fingerprints.len(), 4);
        assert!(ImageRecipe::for_suite("buster", "http://mirror.example/debian").is_none());
    }

    #[test]
    fn without_an_engine_the_built_names_are_chosen_from() {
        let repos = vec!["docker.io/falcosecurity/driverkit-builder".to_owned(), "registry.example/builders".to_owned()];
        let names = built_names(&repos, Arch::Arm64, "latest");
        assert_eq!(names.len(), 8);
        assert_eq!(names[0], "falcosecurity/driverkit-builder:any-aarch64_gcc10.0.0_gcc9.0.0-latest");
        assert_eq!(names[7], "registry.example/builders:any-aarch64_gcc16.0.0_gcc15.0.0-latest");
        let found = parse_tags(&names, &repos, "debian", Arch::Arm64, "latest");
        assert_eq!(found.len(), 16, "two gccs per image");
        let pick = choose(&found, "debian", GccVersion(14, 0, 0)).expect("an image");
        assert_eq!(pick.name, "falcosecurity/driverkit-builder:any-aarch64_gcc14.0.0_gcc13.0.0-latest", "the first repository wins");
    }
}
