//! `sinsp`: read, filter, print and write system-call captures, with sysdig's habits.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;

use sinsp::capture::{self, CaptureOptions};
use sinsp::fields::{FieldArg, FIELDS};
use sinsp::filter_fields::EventFilter;
use sinsp::format::{Format, DEFAULT_FORMAT};
use sinsp::inspector::Output;
use sinsp::render::{RenderOptions, DEFAULT_PRINT_LEN};

const EXAMPLES: &str = "\
Examples:
  sinsp -r trace.scap                          print every event, as `sysdig -r` does
  sinsp -r trace.scap proc.name=cat            only the events of processes called cat
  sinsp -r trace.scap \"evt.type in (open, openat) and fd.name contains /etc\"
  sinsp -r trace.scap -p \"%evt.time %proc.name %fd.name\" evt.type=openat
  sinsp -r trace.scap -j -n 10                 the first 10 events as JSON lines
  sinsp -r trace.scap -w opens.scap evt.type=openat   keep only the openat events
  sinsp -l                                     list the fields filters and formats can use
  sinsp --driver kmod -w live.scap -n 10000    capture live with the kernel module
  sinsp --driver modern-bpf proc.name=cat      capture live with the CO-RE eBPF probe (no module needed)
  sinsp --driver bpf=/tmp/probe.o -n 100       capture with a per-kernel probe built by driverkit
  sinsp --driver bpf -n 100                    capture with the probe driver-loader placed at ~/.falco/falco-bpf.o";

/// Reads .scap captures the way sysdig does: same default line, same filters, same -p formats.
#[derive(Parser, Debug)]
#[command(name = "sinsp", version, about, after_help = EXAMPLES)]
struct Cli {
    /// Read events from this capture file (plain or gzip-compressed .scap).
    #[arg(
        short = 'r',
        long = "read",
        value_name = "FILE",
        conflicts_with = "driver"
    )]
    read: Option<PathBuf>,

    /// Capture live with a driver: `kmod` (the kernel module; devices /dev/<name><cpu>), `modern-bpf`
    /// (the CO-RE eBPF probe built into sinsp; needs a kernel with BTF), `bpf=PATH` (a per-kernel
    /// probe.o built for this kernel), `bpf` (the one `driver-loader install --type ebpf` placed at
    /// $FALCO_BPF_PROBE or ~/.falco/falco-bpf.o), or `auto` (the first the kernel can run, by a feature probe).
    #[arg(long, value_name = "DRIVER")]
    driver: Option<String>,

    /// Size of the eBPF ring buffer in bytes (a power of two multiple of the page size).
    #[arg(long, value_name = "BYTES", default_value_t = 8 * 1024 * 1024)]
    bpf_buffer_bytes: u32,

    /// Name of the loaded kernel module and of its devices.
    #[arg(long, value_name = "NAME", default_value = "scap")]
    driver_name: String,

    /// Write the events that pass the filter to this capture file (nothing is printed unless -p is given).
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    write: Option<PathBuf>,

    /// Compress the file written with -w (gzip).
    #[arg(short = 'z', long = "compress", requires = "write")]
    compress: bool,

    /// Output format, e.g. "%evt.num %proc.name %evt.info"; a leading * prints events with missing fields too.
    #[arg(short = 'p', long = "print", value_name = "FORMAT")]
    print: Option<String>,

    /// Print events as JSON objects, one per line.
    #[arg(short = 'j', long = "json")]
    json: bool,

    /// Stop after this many events have passed the filter.
    #[arg(short = 'n', long = "numevents", value_name = "N")]
    numevents: Option<u64>,

    /// How many bytes of data buffers to print [default: 80; with -j, all of them].
    #[arg(short = 's', long = "snaplen", value_name = "LEN")]
    snaplen: Option<usize>,

    /// List the fields that filters and formats can use, then exit.
    #[arg(short = 'l', long = "list")]
    list: bool,

    /// A filter, e.g. proc.name=cat and evt.type=openat (the words are joined with spaces).
    #[arg(
        value_name = "FILTER",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    filter: Vec<String>,
}

fn list_fields(out: &mut impl Write) -> std::io::Result<()> {
    let mut class = "";
    for def in FIELDS {
        let this_class = def.name.split('.').next().unwrap_or("");
        if this_class != class {
            writeln!(out, "\n----------------------\nField Class: {this_class}\n")?;
            class = this_class;
        }
        let name = match def.arg {
            FieldArg::None => def.name.to_owned(),
            FieldArg::Required | FieldArg::Optional => format!("{}[...]", def.name),
        };
        writeln!(out, "{name:<24} {}", def.description)?;
    }
    Ok(())
}

fn run(cli: Cli) -> Result<ExitCode> {
    if cli.list {
        let stdout = std::io::stdout();
        list_fields(&mut stdout.lock()).context("writing the field list")?;
        return Ok(ExitCode::SUCCESS);
    }
    let filter_text = cli.filter.join(" ");
    let filter = if filter_text.trim().is_empty() {
        None
    } else {
        Some(EventFilter::compile(&filter_text).map_err(|e| anyhow::anyhow!("{e}"))?)
    };
    let format_text = cli
        .print
        .clone()
        .unwrap_or_else(|| DEFAULT_FORMAT.to_owned());
    let format = Format::parse(&format_text)
        .map_err(|e| anyhow::anyhow!("{e}\n  in format: {format_text}"))?;
    let output = match (cli.json, &cli.write, &cli.print) {
        (true, _, _) => Output::Json(format),
        (false, Some(_), None) => Output::None,
        _ => Output::Text(format),
    };
    let render = RenderOptions {
        // As sysdig: text output cuts buffers at 80 bytes, JSON output keeps them whole.
        print_len: cli.snaplen.unwrap_or(if cli.json {
            usize::MAX
        } else {
            DEFAULT_PRINT_LEN
        }),
    };
    if let Some(driver) = &cli.driver {
        return live_capture(&cli, driver, filter, output, render);
    }
    let Some(input) = cli.read.clone() else {
        bail!("nothing to read: give a capture file with -r FILE, or capture live with --driver kmod (see --help)");
    };
    let options = CaptureOptions {
        input,
        write: cli.write.clone(),
        compress: cli.compress,
        max_events: cli.numevents,
        render: RenderOptions {
            // As sysdig: text output cuts buffers at 80 bytes, JSON output keeps them whole.
            print_len: cli.snaplen.unwrap_or(if cli.json {
                usize::MAX
            } else {
                DEFAULT_PRINT_LEN
            }),
        },
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let summary = capture::read_file(&options, filter, output, &mut out);
    out.flush().ok();
    let summary = summary?;
    if let Some(error) = summary.error {
        eprintln!("sinsp: {error}");
        eprintln!(
            "sinsp: {} events were read before the damage and printed above",
            summary.events_read
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn live_capture(
    cli: &Cli,
    driver: &str,
    filter: Option<EventFilter>,
    output: Output,
    render: RenderOptions,
) -> Result<ExitCode> {
    use scap::engine::features::{Driver, Features};
    let features = Features::probe();
    let driver = match driver {
        "auto" => match features.usable().first() {
            Some(d) => {
                eprintln!("sinsp: --driver auto chose {} ({features:?})", d.name());
                d.name()
            }
            None => bail!("no driver can run on this kernel: {features:?}"),
        },
        other => other,
    };
    if matches!(driver, "modern-bpf" | "modern_bpf") {
        if let Some(why) = features.missing_for(Driver::ModernBpf) {
            bail!("the CO-RE eBPF probe cannot run here: {why}; use --driver kmod with a module built for this kernel (driverkit)");
        }
    }
    let mut engine: Box<dyn scap::engine::Engine> = match driver {
        "kmod" => {
            let engine = scap::engine::kmod::KmodEngine::open(&cli.driver_name, &cli.driver_name)
                .with_context(|| {
                format!("opening the {} kernel module's devices", cli.driver_name)
            })?;
            if let Some(len) = cli.snaplen {
                engine.set_snaplen(len.min(65000) as u32)?;
            }
            Box::new(engine)
        }
        "modern-bpf" | "modern_bpf" => {
            let mut engine = scap::engine::bpf::BpfEngine::open(cli.bpf_buffer_bytes)
                .context("starting the CO-RE eBPF probe")?;
            eprintln!("sinsp: driver: {}", engine.build());
            if let Some(len) = cli.snaplen {
                engine.set_snaplen(len.min(65000) as u32)?;
            }
            Box::new(engine)
        }
        other if other == "bpf" || other.starts_with("bpf=") => {
            let path = match other.strip_prefix("bpf=") {
                Some(path) => std::path::PathBuf::from(path),
                None => scap::engine::bpf::default_probe_path().context(
                    "--driver bpf without a path looks for $FALCO_BPF_PROBE or $HOME/.falco/falco-bpf.o, and neither HOME nor FALCO_BPF_PROBE is set",
                )?,
            };
            let path = path.as_path();
            let mut engine = scap::engine::bpf::BpfEngine::open_object(path, cli.bpf_buffer_bytes)
                .with_context(|| format!("starting the eBPF probe {}", path.display()))?;
            eprintln!("sinsp: driver: {}", engine.build());
            if let Some(len) = cli.snaplen {
                engine.set_snaplen(len.min(65000) as u32)?;
            }
            Box::new(engine)
        }
        other => bail!("unknown driver '{other}': use --driver kmod, --driver modern-bpf, --driver bpf (the probe a loader placed at ~/.falco/falco-bpf.o) or --driver bpf=PATH/probe.o"),
    };
    let options = sinsp::live::LiveOptions {
        write: cli.write.clone(),
        compress: cli.compress,
        max_events: cli.numevents,
        render,
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let stats = sinsp::live::capture(engine.as_mut(), &options, filter, output, &mut out)?;
    out.flush().ok();
    let skipped: Vec<String> = engine
        .skipped_runs()
        .iter()
        .map(|(program, n)| format!("{program} {n}"))
        .collect();
    let skipped = if skipped.is_empty() {
        String::new()
    } else {
        format!(": {}", skipped.join(", "))
    };
    eprintln!(
        "sinsp: {} events seen by the driver, {} dropped (buffer full {}, page faults {}, busy {}, no scratch area {}, skipped by the kernel {}{skipped})",
        stats.events,
        stats.drops() + stats.preemptions,
        stats.drops_buffer,
        stats.drops_pf,
        stats.preemptions,
        stats.drops_other,
        stats.drops_skipped
    );
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // A closed pipe (`sinsp ... | head`) is not an error worth reporting.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("sinsp: {e:#}");
            ExitCode::FAILURE
        }
    }
}
