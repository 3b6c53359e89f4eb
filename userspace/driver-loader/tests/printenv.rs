//! `printenv` for each of falcoctl's special cases: real `os-release` files (as the distributions ship
//! them) under a host root, real `uname -r` / `uname -v` pairs of those distributions' kernels, and
//! the values falcoctl prints for them. Also the precedence of flags, environment and falcoctl.yaml.

use std::collections::HashMap;
use std::path::Path;

use driver_loader::kernel::Kernel;
use driver_loader::settings::{self, FileDriver, Given, Plan};
use driver_loader::target::Target;
use driver_loader::{Arch, DriverType};

const UBUNTU: &str = r#"PRETTY_NAME="Ubuntu 22.04.3 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.3 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
UBUNTU_CODENAME=jammy
"#;

const AMZN2: &str = r#"NAME="Amazon Linux"
VERSION="2"
ID="amzn"
ID_LIKE="centos rhel fedora"
VERSION_ID="2"
PRETTY_NAME="Amazon Linux 2"
ANSI_COLOR="0;33"
CPE_NAME="cpe:2.3:o:amazon:amazon_linux:2"
HOME_URL="https://amazonlinux.com/"
SUPPORT_END="2025-06-30"
"#;

const AMZN2022: &str = r#"NAME="Amazon Linux"
VERSION="2022"
ID="amzn"
ID_LIKE="fedora"
VERSION_ID="2022"
PLATFORM_ID="platform:al2022"
PRETTY_NAME="Amazon Linux 2022"
ANSI_COLOR="0;33"
CPE_NAME="cpe:2.3:o:amazon:amazon_linux:2022"
HOME_URL="https://aws.amazon.com/linux/"
BUG_REPORT_URL="https://github.com/amazonlinux/amazon-linux-2022"
"#;

const AMZN2023: &str = r#"NAME="Amazon Linux"
VERSION="2023"
ID="amzn"
ID_LIKE="fedora"
VERSION_ID="2023"
PLATFORM_ID="platform:al2023"
PRETTY_NAME="Amazon Linux 2023"
ANSI_COLOR="0;33"
CPE_NAME="cpe:2.3:o:amazon:amazon_linux:2023"
HOME_URL="https://aws.amazon.com/linux/"
BUG_REPORT_URL="https://github.com/amazonlinux/amazon-linux-2023"
SUPPORT_END="2028-03-15"
"#;

const AMZN1: &str = r#"NAME="Amazon Linux AMI"
VERSION="2018.03"
ID="amzn"
ID_LIKE="rhel fedora"
VERSION_ID="2018.03"
PRETTY_NAME="Amazon Linux AMI 2018.03"
ANSI_COLOR="0;33"
CPE_NAME="cpe:/o:amazon:linux:2018.03:ga"
HOME_URL="http://aws.amazon.com/amazon-linux-ami/"
"#;

const BOTTLEROCKET: &str = r#"NAME=Bottlerocket
ID=bottlerocket
VERSION="1.15.1 (aws-k8s-1.27)"
PRETTY_NAME="Bottlerocket OS 1.15.1 (aws-k8s-1.27)"
VARIANT_ID=aws-k8s-1.27
VERSION_ID=1.15.1
BUILD_ID=264e294c
HOME_URL="https://github.com/bottlerocket-os/bottlerocket"
SUPPORT_URL="https://github.com/bottlerocket-os/bottlerocket/discussions"
BUG_REPORT_URL="https://github.com/bottlerocket-os/bottlerocket/issues"
DOCUMENTATION_URL="https://bottlerocket.dev"
"#;

const TALOS: &str = r#"NAME="Talos"
ID=talos
VERSION_ID=v1.5.0
PRETTY_NAME="Talos (v1.5.0)"
HOME_URL="https://www.talos.dev/"
BUG_REPORT_URL="https://github.com/siderolabs/talos/issues"
VENDOR_NAME="Sidero Labs"
VENDOR_URL="https://www.siderolabs.com/"
"#;

const MINIKUBE: &str = r#"NAME=Buildroot
VERSION=2021.02.12-1-g379fb5d-dirty
ID=buildroot
VERSION_ID=2021.02.12
PRETTY_NAME="Buildroot 2021.02.12"
"#;

const FLATCAR: &str = r#"NAME="Flatcar Container Linux by Kinvolk"
ID=flatcar
ID_LIKE=coreos
VERSION=3510.2.6
VERSION_ID=3510.2.6
BUILD_ID=2023-08-07-1638
SYSEXT_LEVEL=1.0
PRETTY_NAME="Flatcar Container Linux by Kinvolk 3510.2.6 (Oklo)"
ANSI_COLOR="38;5;75"
HOME_URL="https://flatcar.org/"
BUG_REPORT_URL="https://issues.flatcar.org"
FLATCAR_BOARD="amd64-usr"
CPE_NAME="cpe:2.3:o:flatcar-linux:flatcar_linux:3510.2.6:*:*:*:*:*:*:*"
"#;

const DEBIAN: &str = r#"PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
"#;

const RHEL: &str = r#"NAME="Red Hat Enterprise Linux"
VERSION="9.2 (Plow)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="9.2"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Red Hat Enterprise Linux 9.2 (Plow)"
ANSI_COLOR="0;31"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:redhat:enterprise_linux:9::baseos"
HOME_URL="https://www.redhat.com/"
DOCUMENTATION_URL="https://access.redhat.com/documentation/en-us/red_hat_enterprise_linux/9/"
BUG_REPORT_URL="https://bugzilla.redhat.com/"
REDHAT_BUGZILLA_PRODUCT="Red Hat Enterprise Linux 9"
REDHAT_BUGZILLA_PRODUCT_VERSION=9.2
REDHAT_SUPPORT_PRODUCT="Red Hat Enterprise Linux"
REDHAT_SUPPORT_PRODUCT_VERSION="9.2"
"#;

const CENTOS7: &str = r#"NAME="CentOS Linux"
VERSION="7 (Core)"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="7"
PRETTY_NAME="CentOS Linux 7 (Core)"
ANSI_COLOR="0;31"
CPE_NAME="cpe:/o:centos:centos:7"
HOME_URL="https://www.centos.org/"
BUG_REPORT_URL="https://bugs.centos.org/"
"#;

const COS: &str = r#"NAME="Container-Optimized OS"
ID=cos
PRETTY_NAME="Container-Optimized OS from Google"
HOME_URL="https://cloud.google.com/container-optimized-os/docs"
BUG_REPORT_URL="https://cloud.google.com/container-optimized-os/docs/resources/support-policy#contact_us"
GOOGLE_METRICS_PRODUCT_ID=26
KERNEL_COMMIT_ID=ab5a4d01a4f4c9e7a1f3f3a0a6c0b5e2c1d2e3f4
GOOGLE_CRASH_ID=Lakitu
VERSION=109
VERSION_ID=109
BUILD_ID=17800.66.78
"#;

const ORACLE: &str = r#"NAME="Oracle Linux Server"
VERSION="9.3"
ID="ol"
ID_LIKE="fedora"
VARIANT="Server"
VARIANT_ID="server"
VERSION_ID="9.3"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Oracle Linux Server 9.3"
ANSI_COLOR="0;31"
CPE_NAME="cpe:/o:oracle:linux:9:3:server"
HOME_URL="https://linux.oracle.com/"
"#;

/// A host root holding `files`, the plan for `kernel` on it, and its printenv as a map.
fn plan_on(
    files: &[(&str, &str)],
    release: &str,
    version: &str,
    types: &[DriverType],
) -> (Plan, HashMap<String, String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
    }
    let kernel = Kernel {
        release: release.into(),
        version: version.into(),
        arch: Arch::X86_64,
    };
    let given = Given {
        types: Some(types.iter().map(|t| t.to_string()).collect()),
        version: Some("8.0.0+driver".into()),
        host_root: Some(dir.path().to_string_lossy().into_owned()),
        ..Given::default()
    };
    let settings =
        settings::resolve(&given, &|_| None, &FileDriver::default(), dir.path()).expect("settings");
    let target = Target::discover(&settings.host_root, &kernel).expect("target");
    let plan = Plan::new(settings, kernel, target, &|| false).expect("plan");
    let vars = plan
        .printenv()
        .lines()
        .map(|l| {
            let (k, v) = l.split_once('=').expect("NAME=value");
            (k.to_owned(), v.trim_matches('"').to_owned())
        })
        .collect();
    (plan, vars)
}

/// TARGET_ID, FIXED_KERNEL_RELEASE, FIXED_KERNEL_VERSION for `os_release` and a kernel.
fn fixed(files: &[(&str, &str)], release: &str, version: &str) -> (String, String, String) {
    let (_, v) = plan_on(files, release, version, &[DriverType::Kmod]);
    (
        v["TARGET_ID"].clone(),
        v["FIXED_KERNEL_RELEASE"].clone(),
        v["FIXED_KERNEL_VERSION"].clone(),
    )
}

fn t(a: &str, b: &str, c: &str) -> (String, String, String) {
    (a.into(), b.into(), c.into())
}

#[test]
fn printenv_prints_falcoctls_lines() {
    let (plan, _) = plan_on(
        &[("etc/os-release", DEBIAN)],
        "6.1.0-13-amd64",
        "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)",
        &[DriverType::Kmod],
    );
    let root = plan.settings.host_root.to_string_lossy().into_owned();
    assert_eq!(
        plan.printenv(),
        format!(
            "DRIVER=\"kmod\"\nDRIVERS_REPO=\"\"\nDRIVER_VERSION=\"8.0.0+driver\"\nDRIVER_NAME=\"falco\"\nHOST_ROOT=\"{root}\"\nTARGET_ID=\"debian\"\nARCH=\"x86_64\"\nKERNEL_RELEASE=\"6.1.0-13-amd64\"\nKERNEL_VERSION=\"#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)\"\nFIXED_KERNEL_RELEASE=\"6.1.55-1-amd64\"\nFIXED_KERNEL_VERSION=\"1\"\n"
        )
    );
    assert_eq!(settings::go_quote("a\"b\\c\n"), r#""a\"b\\c\n""#);
}

#[test]
fn ubuntu_flavours() {
    let os = [("etc/os-release", UBUNTU)];
    assert_eq!(
        fixed(
            &os,
            "5.15.0-1019-aws",
            "#23-Ubuntu SMP Wed Aug 17 18:33:13 UTC 2022"
        ),
        t("ubuntu-aws", "5.15.0-1019-aws", "23")
    );
    assert_eq!(
        fixed(
            &os,
            "6.2.0-1016-azure",
            "#16~22.04.1-Ubuntu SMP Tue Oct 10 17:16:08 UTC 2023"
        ),
        t("ubuntu-azure", "6.2.0-1016-azure", "16~22.04.1")
    );
    assert_eq!(
        fixed(
            &os,
            "5.15.0-1030-gcp",
            "#37-Ubuntu SMP Tue Feb 14 19:37:08 UTC 2023"
        ),
        t("ubuntu-gcp", "5.15.0-1030-gcp", "37")
    );
    assert_eq!(
        fixed(
            &os,
            "5.15.0-76-generic",
            "#83-Ubuntu SMP Thu Jun 15 19:16:32 UTC 2023"
        ),
        t("ubuntu-generic", "5.15.0-76-generic", "83")
    );
    assert_eq!(
        fixed(
            &os,
            "5.0.0-1028-aws-5.0",
            "#31-Ubuntu SMP Mon Apr 1 10:30:44 UTC 2019"
        ),
        t("ubuntu-aws", "5.0.0-1028-aws-5.0", "31")
    );
    assert_eq!(
        fixed(
            &os,
            "6.5.0-1009-oem",
            "#10-Ubuntu SMP PREEMPT_DYNAMIC Fri Nov 17 13:01:05 UTC 2023"
        ),
        t("ubuntu-oem", "6.5.0-1009-oem", "10")
    );
    // A release without a flavour is generic; a version without `-Ubuntu` is kept up to its space.
    assert_eq!(
        fixed(
            &os,
            "6.8.0",
            "#1 SMP PREEMPT_DYNAMIC Tue, 10 Oct 2023 21:10:21 +0000"
        ),
        t("ubuntu-generic", "6.8.0", "1")
    );
}

#[test]
fn amazon_linux_versions() {
    let k = "#1 SMP Tue Jun 27 22:50:00 UTC 2023";
    assert_eq!(
        fixed(
            &[("etc/os-release", AMZN2)],
            "5.10.184-175.731.amzn2.x86_64",
            k
        ),
        t("amazonlinux2", "5.10.184-175.731.amzn2.x86_64", "1")
    );
    assert_eq!(
        fixed(
            &[("etc/os-release", AMZN2022)],
            "5.15.73-45.135.amzn2022.x86_64",
            k
        ),
        t("amazonlinux2022", "5.15.73-45.135.amzn2022.x86_64", "1")
    );
    assert_eq!(
        fixed(
            &[("etc/os-release", AMZN2023)],
            "6.1.41-63.114.amzn2023.x86_64",
            "#1 SMP PREEMPT_DYNAMIC Tue Aug  1 20:47:26 UTC 2023"
        ),
        t("amazonlinux2023", "6.1.41-63.114.amzn2023.x86_64", "1")
    );
    assert_eq!(
        fixed(
            &[("etc/os-release", AMZN1)],
            "4.14.355-196.647.amzn1.x86_64",
            k
        ),
        t("amazonlinux", "4.14.355-196.647.amzn1.x86_64", "1")
    );
}

#[test]
fn image_based_distributions() {
    assert_eq!(
        fixed(
            &[("etc/os-release", BOTTLEROCKET)],
            "5.15.117",
            "#1 SMP Fri Jul 14 21:16:58 UTC 2023"
        ),
        t("bottlerocket", "5.15.117", "1_1.15.1-aws")
    );
    assert_eq!(
        fixed(
            &[("etc/os-release", TALOS)],
            "6.1.44-talos",
            "#1 SMP Thu Aug 17 14:29:09 UTC 2023"
        ),
        t("talos", "6.1.44-talos", "1_v1.5.0")
    );
    assert_eq!(
        fixed(
            &[("etc/os-release", MINIKUBE), ("etc/VERSION", "v1.31.0\n")],
            "5.10.57",
            "#1 SMP Mon Jul 10 23:35:40 UTC 2023"
        ),
        t("minikube", "5.10.57", "1_1.31.0")
    );
    assert_eq!(
        fixed(
            &[("etc/os-release", FLATCAR)],
            "5.15.125-flatcar",
            "#1 SMP Mon Aug  7 16:22:48 -00 2023"
        ),
        t("flatcar", "3510.2.6", "1")
    );
}

#[test]
fn debian_kernels_get_the_crawlers_names() {
    let os = [("etc/os-release", DEBIAN)];
    // The stable kernel, as falcoctl names it too.
    assert_eq!(
        fixed(
            &os,
            "6.1.0-47-amd64",
            "#1 SMP PREEMPT_DYNAMIC Debian 6.1.170-3 (2026-10-25)"
        ),
        t("debian", "6.1.170-3-amd64", "1")
    );
    // Backports and a newer suite's kernel in bookworm: falcoctl drops `~bpo12+1` and `~deb12u1`.
    assert_eq!(
        fixed(
            &os,
            "6.12.95+deb12-cloud-amd64",
            "#1 SMP PREEMPT_DYNAMIC Debian 6.12.95-1~bpo12+1 (2026-07-05)"
        ),
        t("debian", "6.12.95-1~bpo12+1-cloud-amd64", "1")
    );
    assert_eq!(
        fixed(
            &os,
            "6.12.107+deb12-rt-amd64",
            "#1 SMP PREEMPT_RT Debian 6.12.107-1~deb12u1 (2026-09-20)"
        ),
        t("debian", "6.12.107-1~deb12u1-rt-amd64", "1")
    );
    // falcoctl's own example: an older ABI name with a bare version given as --kernelversion.
    assert_eq!(
        fixed(&os, "5.10.0-0.deb10.22-rt-amd64", "5.10.178-3"),
        t("debian", "5.10.178-3-rt-amd64", "1")
    );
    // Without a Debian version in `uname -v`, the generic rule.
    assert_eq!(
        fixed(&os, "6.18.44-custom", "#3 SMP PREEMPT_DYNAMIC"),
        t("debian", "6.18.44-custom", "3")
    );
    // No os-release but /etc/debian_version.
    assert_eq!(
        fixed(
            &[("etc/debian_version", "12.5\n")],
            "6.1.0-13-amd64",
            "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)"
        ),
        t("debian", "6.1.55-1-amd64", "1")
    );
}

#[test]
fn rpm_distributions_and_driver_exceptions() {
    let k = "#1 SMP PREEMPT_DYNAMIC Wed Apr 12 10:45:03 EDT 2023";
    assert_eq!(
        fixed(
            &[("etc/os-release", RHEL)],
            "5.14.0-284.11.1.el9_2.x86_64",
            k
        ),
        t("rhel", "5.14.0-284.11.1.el9_2.x86_64", "1")
    );
    // CentOS 7's 3.10 runs the kmod but not the probe (4.14).
    let (plan, v) = plan_on(
        &[("etc/os-release", CENTOS7)],
        "3.10.0-1160.el7.x86_64",
        "#1 SMP Mon Oct 19 16:18:59 UTC 2020",
        &[DriverType::Ebpf, DriverType::Kmod],
    );
    assert_eq!(
        (v["TARGET_ID"].as_str(), plan.driver),
        ("centos", DriverType::Kmod)
    );
    // COS never the kmod.
    let (plan, v) = plan_on(
        &[("etc/os-release", COS)],
        "6.1.58+",
        "#1 SMP PREEMPT_DYNAMIC Sat Nov 11 10:34:31 UTC 2023",
        &[DriverType::Kmod, DriverType::Ebpf],
    );
    assert_eq!(
        (v["TARGET_ID"].as_str(), plan.driver),
        ("cos", DriverType::Ebpf)
    );
    // Oracle Linux: not the kmod on UEK.
    let (plan, _) = plan_on(
        &[("etc/os-release", ORACLE)],
        "5.15.0-101.103.2.1.el9uek.x86_64",
        "#2 SMP Tue Jan 30 21:44:09 PST 2024",
        &[DriverType::Kmod, DriverType::Ebpf],
    );
    assert_eq!(plan.driver, DriverType::Ebpf);
    // No os-release and no release file: undetermined.
    let (plan, v) = plan_on(&[], "6.1.0-13-amd64", "#1 SMP", &[DriverType::Kmod]);
    assert!(plan.undetermined());
    assert_eq!(v["TARGET_ID"], "undetermined");
}

#[test]
fn flags_over_environment_over_file_over_defaults() {
    let file = FileDriver::parse(
        "indexes:\n  - name: falcosecurity\ndriver:\n  type: [kmod]\n  name: file-name\n  repos: [http://file/driver]\n  version: 7.0.0+driver\n  hostRoot: /file\n",
    )
    .expect("yaml");
    let usr_src = Path::new("/nonexistent");
    let env_of = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    let from_file = settings::resolve(&Given::default(), &|_| None, &file, usr_src).expect("file");
    assert_eq!(from_file.types, [DriverType::Kmod]);
    assert_eq!(from_file.name, "file-name");
    assert_eq!(from_file.repos, ["http://file/driver"]);
    assert_eq!(from_file.version, "7.0.0+driver");
    assert_eq!(from_file.host_root, Path::new("/file"));
    let env = env_of(&[
        ("FALCOCTL_DRIVER_TYPE", "ebpf;kmod"),
        ("FALCOCTL_DRIVER_NAME", "env-name"),
        ("FALCOCTL_DRIVER_REPOS", "http://a/driver,http://b/driver"),
        ("FALCOCTL_DRIVER_VERSION", "9.0.0+driver"),
        ("HOST_ROOT", "/host"),
    ]);
    let from_env = settings::resolve(&Given::default(), &env, &file, usr_src).expect("env");
    assert_eq!(from_env.types, [DriverType::Ebpf, DriverType::Kmod]);
    assert_eq!(from_env.name, "env-name");
    assert_eq!(from_env.repos, ["http://a/driver", "http://b/driver"]);
    assert_eq!(from_env.version, "9.0.0+driver");
    assert_eq!(from_env.host_root, Path::new("/host"));
    let given = Given {
        types: Some(vec!["modern_ebpf".into()]),
        name: Some("flag-name".into()),
        repos: Some(vec!["http://flag/driver".into()]),
        version: Some("10.0.0+driver".into()),
        host_root: Some("/flag".into()),
    };
    let from_flags = settings::resolve(&given, &env, &file, usr_src).expect("flags");
    assert_eq!(from_flags.types, [DriverType::ModernEbpf]);
    assert_eq!(from_flags.name, "flag-name");
    assert_eq!(from_flags.version, "10.0.0+driver");
    assert_eq!(from_flags.host_root, Path::new("/flag"));
    // Defaults, with the version of the greatest DKMS source package.
    let src = tempfile::tempdir().expect("tempdir");
    for d in [
        "falco-7.0.0+driver",
        "falco-8.2.0+driver",
        "falco-8.10.1+driver",
        "other-9.0.0",
    ] {
        std::fs::create_dir(src.path().join(d)).expect("mkdir");
    }
    let defaults = settings::resolve(
        &Given::default(),
        &|_| None,
        &FileDriver::default(),
        src.path(),
    )
    .expect("defaults");
    assert_eq!(
        defaults.types,
        [DriverType::ModernEbpf, DriverType::Kmod, DriverType::Ebpf]
    );
    assert_eq!(defaults.name, "falco");
    assert!(defaults.repos.is_empty(), "{:?}", defaults.repos);
    assert_eq!(defaults.version, "8.10.1+driver");
    assert_eq!(defaults.host_root, Path::new("/"));
    // What is refused, and why.
    let err = settings::resolve(
        &Given::default(),
        &|_| None,
        &FileDriver::default(),
        usr_src,
    )
    .expect_err("no version");
    assert!(err.to_string().contains("version is mandatory"), "{err}");
    let bad = Given {
        types: Some(vec!["bpf".into()]),
        ..given.clone()
    };
    let err = settings::resolve(&bad, &|_| None, &file, usr_src).expect_err("bad type");
    assert!(
        err.to_string()
            .contains("unsupported driver type specified: bpf"),
        "{err}"
    );
    let relative = Given {
        host_root: Some("host".into()),
        ..given.clone()
    };
    let err = settings::resolve(&relative, &|_| None, &file, usr_src).expect_err("relative");
    assert!(err.to_string().contains("absolute"), "{err}");
}

#[test]
fn config_stores_the_driver_block_and_tells_falco() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("falcoctl.yaml");
    std::fs::write(
        &config,
        "indexes:\n- name: falcosecurity\n  url: https://example.invalid/index.yaml\n",
    )
    .expect("write");
    let (plan, _) = plan_on(
        &[("etc/os-release", DEBIAN)],
        "6.1.0-13-amd64",
        "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)",
        &[DriverType::Kmod],
    );
    settings::store(&plan, &config).expect("store");
    let stored = FileDriver::read(&config).expect("read");
    assert_eq!(stored.types, Some(vec!["kmod".to_owned()]));
    assert_eq!(stored.version.as_deref(), Some("8.0.0+driver"));
    let text = std::fs::read_to_string(&config).expect("read");
    assert!(text.contains("indexes:"), "other keys kept: {text}");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&config)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644, "readable as falcoctl leaves it");
    }
    let falco = dir.path().join("falco");
    std::fs::create_dir_all(&falco).expect("mkdir");
    std::fs::write(falco.join("falco.yaml"), "engine:\n  kind: modern_ebpf\n").expect("write");
    assert!(settings::update_falco(&falco, DriverType::Kmod).expect("update"));
    assert_eq!(
        std::fs::read_to_string(falco.join("config.d/engine-kind-falcoctl.yaml")).expect("read"),
        "engine:\n    kind: kmod\n"
    );
    std::fs::write(falco.join("falco.yaml"), "engine:\n  kind: nodriver\n").expect("write");
    assert!(!settings::update_falco(&falco, DriverType::Kmod).expect("update"));
}
