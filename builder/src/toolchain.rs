//! The builder image and gcc of a build, chosen once the headers are unpacked: a kernel module must
//! be built by the compiler the kernel was (newer kernels pass flags older gccs reject, and their
//! kbuild helpers need their suite's glibc), and the headers' `.config` names it
//! (`CONFIG_CC_VERSION_TEXT`, `CONFIG_GCC_VERSION`). `gccversion` in the config wins over the headers;
//! a target's preference and driverkit's rule by kernel series apply only when the headers do not say.

use std::path::Path;

use bollard::Docker;

use crate::config::BuildConfig;
use crate::executor::BuildError;
use crate::images::{self, Image, ImageError};
use crate::targets::GccVersion;

/// The builder image and the compiler inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolchain {
    pub image: String,
    /// `/usr/bin/gcc-12.0.0`.
    pub cc: String,
}

/// The compiler a kernel's headers say the kernel was built with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelCompiler {
    /// `14.2.0`.
    pub gcc: GccVersion,
    /// `gcc-14 (Debian 14.2.0-19) 14.2.0`, when the config has the text.
    pub text: Option<String>,
}

/// Reads the compiler from kernel config text (`.config` or `include/config/auto.conf`):
/// `CONFIG_GCC_VERSION=140200` first, else the version at the end of a gcc's
/// `CONFIG_CC_VERSION_TEXT`. `None` for a clang-built kernel or a config that names neither.
pub fn parse_kernel_config(text: &str) -> Option<KernelCompiler> {
    let value = |key: &str| {
        text.lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix(key)
                    .and_then(|rest| rest.strip_prefix('='))
            })
            .map(|v| v.trim().trim_matches('"').to_owned())
    };
    let cc_text = value("CONFIG_CC_VERSION_TEXT");
    if value("CONFIG_CC_IS_CLANG").as_deref() == Some("y") {
        return None;
    }
    let from_number = value("CONFIG_GCC_VERSION")
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|n| *n > 0)
        .map(|n| GccVersion(n / 10000, (n / 100) % 100, n % 100));
    let from_text = || {
        let t = cc_text.as_deref()?;
        if !t.to_ascii_lowercase().contains("gcc") {
            return None;
        }
        t.split_whitespace().rev().find_map(|w| {
            let w = w.trim_matches(|c: char| !c.is_ascii_digit());
            (w.contains('.') && w.chars().all(|c| c.is_ascii_digit() || c == '.'))
                .then(|| GccVersion::parse(w))
                .flatten()
        })
    };
    let gcc = from_number.or_else(from_text)?;
    Some(KernelCompiler {
        gcc,
        text: cc_text.filter(|t| !t.is_empty()),
    })
}

/// The compiler named by the kernel tree at `kerneldir`.
pub fn kernel_compiler(kerneldir: &Path) -> Option<KernelCompiler> {
    [".config", "include/config/auto.conf"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(kerneldir.join(f)).ok())
        .find_map(|text| parse_kernel_config(&text))
}

/// Where the wanted gcc came from, in the order they win.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GccSource {
    /// `gccversion` of the config.
    Config,
    /// The kernel's own compiler, from its headers.
    Headers,
    /// The target's preference for the release.
    Target,
    /// driverkit's rule by kernel series.
    Default,
}

/// Builder images name gccs by series (`12.0.0`, and `4.8.0` for the old two-number series): the
/// series of an exact version.
pub fn series(gcc: GccVersion) -> GccVersion {
    if gcc.0 >= 5 {
        GccVersion(gcc.0, 0, 0)
    } else {
        GccVersion(gcc.0, gcc.1, 0)
    }
}

/// The gcc a build wants and why.
pub fn wanted_gcc(
    build: &BuildConfig,
    headers: Option<&KernelCompiler>,
) -> (GccVersion, GccSource) {
    if let Some(gcc) = build.gcc_version {
        return (gcc, GccSource::Config);
    }
    if let Some(found) = headers {
        return (series(found.gcc), GccSource::Headers);
    }
    match build.target.gcc_version(&build.kernel) {
        Some(gcc) => (gcc, GccSource::Target),
        None => (GccVersion::default_for(&build.kernel), GccSource::Default),
    }
}

/// The image for `wanted`: with the gcc from the headers, an image with the same series (the
/// target's own first, then the one nearest the exact version the headers name); otherwise, and when
/// no image has that series, driverkit's rule ([`images::choose`]: exact, else the nearest older).
pub fn pick<'a>(
    available: &'a [Image],
    target: &str,
    wanted: GccVersion,
    source: GccSource,
    exact: Option<GccVersion>,
) -> Option<&'a Image> {
    if source == GccSource::Headers {
        let exact = exact.unwrap_or(wanted);
        let distance = |g: GccVersion| {
            (g.2 as i64 - exact.2 as i64).abs() + 100 * (g.1 as i64 - exact.1 as i64).abs()
        };
        let same = available
            .iter()
            .filter(|i| series(i.gcc) == series(wanted))
            .min_by_key(|i| (i.target != target, distance(i.gcc)));
        if same.is_some() {
            return same;
        }
    }
    images::choose(available, target, wanted)
}

/// The image and compiler of a build. `kerneldir` is the prepared kernel tree, whose `.config` names
/// the kernel's compiler; `docker` lists the local images (without it, or `for_cluster` when the
/// engine cannot be asked, the names `driverkit images build` gives are chosen from, since a cluster
/// pulls images itself). A custom `builderimage` is used as given, with the wanted gcc.
pub async fn choose(
    docker: Option<&Docker>,
    build: &BuildConfig,
    kerneldir: Option<&Path>,
    for_cluster: bool,
) -> Result<Toolchain, BuildError> {
    let headers = kerneldir.and_then(kernel_compiler);
    match &headers {
        Some(found) => tracing::info!(
            gcc = %found.gcc,
            text = found.text.as_deref().unwrap_or(""),
            "the kernel's headers name its compiler"
        ),
        None => tracing::info!("the kernel's headers name no gcc: choosing by kernel version"),
    }
    let (wanted, source) = wanted_gcc(build, headers.as_ref());
    let (custom, tag) = match build.builder_image.as_deref() {
        Some(img) if img == "auto" || img.starts_with("auto:") => {
            (None, img.strip_prefix("auto:").unwrap_or("latest"))
        }
        Some(img) => (Some(img), "latest"),
        None => (None, "latest"),
    };
    if let Some(image) = custom {
        tracing::info!(image, gcc = %wanted, from = ?source, "using the configured builder image");
        return Ok(Toolchain {
            image: image.to_owned(),
            cc: format!("/usr/bin/gcc-{wanted}"),
        });
    }
    let mut available = match docker {
        Some(docker) => match images::docker::available(
            docker,
            &build.builder_repos,
            &build.target_name,
            build.arch,
            tag,
        )
        .await
        {
            Ok(found) => found,
            Err(_) if for_cluster => Vec::new(),
            Err(e) => return Err(e.into()),
        },
        None => Vec::new(),
    };
    if available.is_empty() && (for_cluster || docker.is_none()) {
        let names = images::built_names(&build.builder_repos, build.arch, tag);
        available = images::parse_tags(
            &names,
            &build.builder_repos,
            &build.target_name,
            build.arch,
            tag,
        );
    }
    if source == GccSource::Config {
        available.retain(|i| i.gcc == wanted);
    }
    let image = pick(
        &available,
        &build.target_name,
        wanted,
        source,
        headers.as_ref().map(|h| h.gcc),
    )
    .ok_or_else(|| ImageError::None {
        arch: build.arch.non_deb(),
        tag: tag.to_owned(),
        repos: build.builder_repos.join(", "),
    })?;
    if series(image.gcc) != series(wanted) {
        tracing::warn!(wanted = %wanted, from = ?source, using = %image.gcc, "no image has the gcc this kernel wants; using the nearest older one (`driverkit images build` makes one per Debian suite)");
    }
    tracing::info!(image = %image.name, gcc = %image.gcc, wanted = %wanted, from = ?source, "builder image chosen");
    Ok(Toolchain {
        image: image.name.clone(),
        cc: format!("/usr/bin/gcc-{}", image.gcc),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernelrelease::Arch;

    #[test]
    fn the_compiler_is_read_from_the_kernel_config() {
        let trixie = "CONFIG_CC_VERSION_TEXT=\"gcc-14 (Debian 14.2.0-19) 14.2.0\"\nCONFIG_CC_IS_GCC=y\nCONFIG_GCC_VERSION=140200\n";
        assert_eq!(
            parse_kernel_config(trixie),
            Some(KernelCompiler {
                gcc: GccVersion(14, 2, 0),
                text: Some("gcc-14 (Debian 14.2.0-19) 14.2.0".into())
            })
        );
        // auto.conf spells values the same way; without the number, the text's version is used.
        let text_only = "CONFIG_CC_VERSION_TEXT=\"gcc-10 (Debian 10.2.1-6) 10.2.1 20210110\"\n";
        assert_eq!(
            parse_kernel_config(text_only).map(|c| c.gcc),
            Some(GccVersion(10, 2, 1))
        );
        let sid = "CONFIG_GCC_VERSION=160100\n";
        assert_eq!(
            parse_kernel_config(sid),
            Some(KernelCompiler {
                gcc: GccVersion(16, 1, 0),
                text: None
            })
        );
        let clang = "CONFIG_CC_VERSION_TEXT=\"Debian clang version 19.1.7\"\nCONFIG_CC_IS_CLANG=y\nCONFIG_GCC_VERSION=0\n";
        assert_eq!(parse_kernel_config(clang), None);
        assert_eq!(
            parse_kernel_config("CONFIG_CC_VERSION_TEXT=\"Debian clang version 19.1.7\"\n"),
            None
        );
        assert_eq!(
            parse_kernel_config("CONFIG_GCC_VERSION=garbage\n# nothing\n"),
            None
        );
        assert_eq!(parse_kernel_config(""), None);
    }

    #[test]
    fn the_tree_is_read_from_dot_config_then_auto_conf() {
        let dir = tempfile::tempdir().expect("tmp");
        assert_eq!(kernel_compiler(dir.path()), None);
        std::fs::create_dir_all(dir.path().join("include/config")).expect("mkdir");
        std::fs::write(
            dir.path().join("include/config/auto.conf"),
            "CONFIG_GCC_VERSION=120200\n",
        )
        .expect("write");
        assert_eq!(
            kernel_compiler(dir.path()).map(|c| c.gcc),
            Some(GccVersion(12, 2, 0))
        );
        std::fs::write(dir.path().join(".config"), "CONFIG_GCC_VERSION=140200\n").expect("write");
        assert_eq!(
            kernel_compiler(dir.path()).map(|c| c.gcc),
            Some(GccVersion(14, 2, 0))
        );
    }

    fn suite_images() -> Vec<Image> {
        let repos = vec![crate::config::DEFAULT_BUILDER_REPO.to_owned()];
        let mut names = images::built_names(&repos, Arch::Amd64, "latest");
        names.push(format!(
            "{}:centos-x86_64_gcc4.8.5-latest",
            crate::config::DEFAULT_BUILDER_REPO
        ));
        names.push(format!(
            "{}:any-x86_64_gcc4.8.0-latest",
            crate::config::DEFAULT_BUILDER_REPO
        ));
        images::parse_tags(&names, &repos, "centos", Arch::Amd64, "latest")
    }

    #[test]
    fn the_headers_gcc_picks_its_suites_image() {
        let found = suite_images();
        let by_headers = |gcc| {
            pick(&found, "debian", series(gcc), GccSource::Headers, Some(gcc))
                .map(|i| (i.name.clone(), i.gcc))
        };
        let (name, gcc) = by_headers(GccVersion(14, 2, 0)).expect("trixie");
        assert_eq!(
            (
                name.ends_with(":any-x86_64_gcc14.0.0_gcc13.0.0-latest"),
                gcc
            ),
            (true, GccVersion(14, 0, 0)),
            "{name}"
        );
        let (name, gcc) = by_headers(GccVersion(16, 1, 0)).expect("sid");
        assert_eq!(
            (
                name.ends_with(":any-x86_64_gcc16.0.0_gcc15.0.0-latest"),
                gcc
            ),
            (true, GccVersion(16, 0, 0)),
            "{name}"
        );
        assert_eq!(
            by_headers(GccVersion(10, 2, 1)).map(|p| p.1),
            Some(GccVersion(10, 0, 0))
        );
        assert_eq!(
            by_headers(GccVersion(12, 2, 0)).map(|p| p.1),
            Some(GccVersion(12, 0, 0))
        );
        // Old series: the target's own image with the exact version beats `any` with the series.
        let centos = pick(
            &found,
            "centos",
            GccVersion(4, 8, 0),
            GccSource::Headers,
            Some(GccVersion(4, 8, 5)),
        )
        .expect("centos");
        assert_eq!(
            (centos.target.as_str(), centos.gcc),
            ("centos", GccVersion(4, 8, 5))
        );
        // A gcc no image has: driverkit's nearest older one.
        assert_eq!(
            by_headers(GccVersion(17, 1, 0)).map(|p| p.1),
            Some(GccVersion(16, 0, 0))
        );
        // By version rule, no headers: the exact series of the rule.
        let rule = pick(
            &found,
            "debian",
            GccVersion(14, 0, 0),
            GccSource::Default,
            None,
        )
        .expect("rule");
        assert_eq!(rule.gcc, GccVersion(14, 0, 0));
    }

    #[test]
    fn series_round_old_gccs_to_two_numbers() {
        assert_eq!(series(GccVersion(14, 2, 0)), GccVersion(14, 0, 0));
        assert_eq!(series(GccVersion(4, 8, 5)), GccVersion(4, 8, 0));
    }

    fn build(extra: &str) -> BuildConfig {
        crate::config::Layer::from_yaml(&format!(
            "kernelrelease: 6.12.95-1~bpo12+1-amd64\ntarget: debian\noutput:\n  module: /tmp/x/scap.ko\n{extra}"
        ))
        .expect("yaml")
        .into_build()
        .expect("valid")
    }

    #[test]
    fn config_beats_headers_beats_the_kernel_series() {
        let headers = KernelCompiler { gcc: GccVersion(12, 2, 0), text: None };
        // bookworm-backports' 6.12 was built with gcc 12; by its series driverkit would say 14.
        assert_eq!(wanted_gcc(&build(""), Some(&headers)), (GccVersion(12, 0, 0), GccSource::Headers));
        assert_eq!(wanted_gcc(&build(""), None), (GccVersion(14, 0, 0), GccSource::Default));
        assert_eq!(wanted_gcc(&build("gccversion: 11\n"), Some(&headers)), (GccVersion(11, 0, 0), GccSource::Config));
        let centos = crate::config::Layer::from_yaml(
            "kernelrelease: 3.10.0-1160.el7.x86_64\ntarget: centos\noutput:\n  module: /tmp/x/scap.ko\n",
        )
        .expect("yaml")
        .into_build()
        .expect("valid");
        assert_eq!(wanted_gcc(&centos, None).1, GccSource::Target);
    }
}
