//! The build script: driverkit's recipe rendered from `templates/build.sh.hbs`, with the target's
//! preparation snippet (its own handlebars template beside the target) rendered into it.

use std::path::Path;

use handlebars::Handlebars;
use serde::Serialize;

use crate::config::BuildConfig;

const TEMPLATE: &str = include_str!("../templates/build.sh.hbs");

/// Where things are for one run of the script (inside the container, or on the host for `local`).
#[derive(Debug, Clone)]
pub struct Layout<'a> {
    /// The source tree's top (driverkit: `/tmp/driver`).
    pub driver_dir: &'a Path,
    pub kerneldir: &'a Path,
    /// The kernel `.config` to copy into `KERNELDIR`, when the config has one.
    pub kernel_config: Option<&'a Path>,
    /// The compiler, as `make CC=` gets it: `/usr/bin/gcc-12.0.0` in builder images.
    pub cc: &'a str,
    /// The kernel tree was given ready to use (`local --kerneldir`): the target's preparation is skipped.
    pub tree_is_ready: bool,
}

#[derive(Serialize)]
struct Data<'a> {
    driver_dir: String,
    kerneldir: String,
    kernel_config: Option<String>,
    prepare: Option<String>,
    driver_name: &'a str,
    device_name: &'a str,
    driver_version: &'a str,
    /// The version as the recipe's `sed s/.../.../` replacement takes it (a branch's `/` escaped).
    driver_version_sed: String,
    cc: &'a str,
    build_module: bool,
    module_path: String,
    build_probe: bool,
}

#[derive(Serialize)]
struct PrepareData {
    kernel_local_version: String,
    kernel_release: String,
}

/// Where the recipe leaves the module, relative to the source tree's top.
pub fn module_in_tree(driver_name: &str) -> String {
    format!("build/driver/{driver_name}.ko")
}

/// Where the recipe leaves the probe, relative to the source tree's top.
pub const PROBE_IN_TREE: &str = "build/driver/bpf/probe.o";

pub fn render(build: &BuildConfig, layout: &Layout<'_>) -> Result<String, handlebars::RenderError> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    let prepare = match build.target.prepare_script().filter(|_| !layout.tree_is_ready) {
        Some(snippet) => Some(hb.render_template(
            snippet,
            &PrepareData {
                kernel_local_version: build.kernel.full_extraversion.clone(),
                kernel_release: build.kernel_release.clone(),
            },
        )?),
        None => None,
    };
    let data = Data {
        driver_dir: layout.driver_dir.display().to_string(),
        kerneldir: layout.kerneldir.display().to_string(),
        kernel_config: layout.kernel_config.map(|p| p.display().to_string()),
        prepare,
        driver_name: &build.driver_name,
        device_name: &build.device_name,
        driver_version: &build.driver_version,
        driver_version_sed: build.driver_version.replace('/', "\\/"),
        cc: layout.cc,
        build_module: build.output_module.is_some(),
        module_path: layout.driver_dir.join(module_in_tree(&build.driver_name)).display().to_string(),
        build_probe: build.output_probe.is_some(),
    };
    hb.render_template(TEMPLATE, &data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Layer;

    #[test]
    fn the_script_is_driverkits_recipe() {
        let build = Layer::from_yaml(
            "kernelrelease: 6.1.0-47-amd64\ntarget: debian\ndriverversion: 0.1.0\nmoduledrivername: scap\n\
             moduledevicename: scapdev\noutput:\n  module: /tmp/x/scap.ko\n",
        )
        .expect("yaml")
        .into_build()
        .expect("valid");
        let script = render(
            &build,
            &Layout {
                driver_dir: Path::new("/tmp/driver"),
                kerneldir: Path::new("/tmp/kernel/usr/src/linux-headers-6.1.0-47-amd64"),
                kernel_config: None,
                cc: "/usr/bin/gcc-12.0.0",
                tree_is_ready: false,
            },
        )
        .expect("renders");
        assert!(script.contains("export KERNELDIR=/tmp/kernel/usr/src/linux-headers-6.1.0-47-amd64\n"));
        assert!(script.contains("-DDRIVER_NAME=scap \\\n  -DPROBE_NAME=scap \\\n  -DBUILD_BPF=On \\\n  -DDRIVER_VERSION=0.1.0"));
        assert!(script.contains("-DDRIVER_DEVICE_NAME=scapdev"));
        assert!(script.contains("sed -i s/'DRIVER_COMMIT \"\"'/'DRIVER_COMMIT \"0.1.0\"'/g driver/src/driver_config.h"));
        assert!(script.contains("make CC=/usr/bin/gcc-12.0.0 driver\nstrip -g /tmp/driver/build/driver/scap.ko\n"));
        assert!(!script.contains("\nmake bpf"), "no probe was asked for:\n{script}");
        assert!(!script.contains("preparation of the kernel tree"), "debian's tree is fixed on the host:\n{script}");
    }

    #[test]
    fn a_branch_driverversion_survives_the_recipes_sed() {
        let build = Layer::from_yaml(
            "kernelrelease: 6.1.0-47-amd64\ntarget: debian\ndriverversion: feature/new-probe\noutput:\n  module: /tmp/x/scap.ko\n",
        )
        .expect("yaml")
        .into_build()
        .expect("a branch is a valid driverversion");
        let layout = Layout {
            driver_dir: Path::new("/tmp/driver"),
            kerneldir: Path::new("/tmp/kernel"),
            kernel_config: None,
            cc: "/usr/bin/gcc-12.0.0",
            tree_is_ready: false,
        };
        let script = render(&build, &layout).expect("renders");
        assert!(script.contains("-DDRIVER_VERSION=feature/new-probe \\"), "{script}");
        let sed = script.lines().find(|l| l.trim_start().starts_with("sed -i")).expect("the sed line").trim().to_owned();
        // The line as the recipe runs it, on a copy of the header it edits.
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(dir.path().join("driver/src")).expect("mkdir");
        std::fs::write(dir.path().join("driver/src/driver_config.h"), "#define DRIVER_COMMIT \"\"\n").expect("write");
        let out = std::process::Command::new("sh").arg("-c").arg(&sed).current_dir(dir.path()).output().expect("sh");
        assert!(out.status.success(), "{sed}: {}", String::from_utf8_lossy(&out.stderr));
        let header = std::fs::read_to_string(dir.path().join("driver/src/driver_config.h")).expect("read");
        assert_eq!(header, "#define DRIVER_COMMIT \"feature/new-probe\"\n");
    }
}
