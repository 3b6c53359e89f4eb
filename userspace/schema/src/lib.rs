//! Parser and validator for `driver/schema/events.schema`, the single source of truth for event numbers,
//! parameter layouts, flag tables and syscall routing.
//!
//! Both code generators read the schema through this crate: `cargo xtask codegen` writes the C headers for
//! `driver/` and `bpf/`, and `userspace/scap`'s build script writes the Rust tables. Keeping one parser means
//! the two sides cannot disagree about what the file says.
//!
//! The grammar is line based (see `driver/schema/README.md`): `#` starts a comment, `[section]` or
//! `[section argument]` opens a section, and every other non-blank line is one record of that section.

pub mod c;
pub mod fillers;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

/// A name with a numeric value: param types, print formats, categories, flag bits, errno and signal numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub name: String,
    pub value: u64,
}

/// One entry of a flag or enum table, e.g. `O_RDONLY PPM_O_RDONLY 0x1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagEntry {
    /// The name printed by sysdig, e.g. `O_RDONLY`.
    pub name: String,
    /// The C constant the driver uses, e.g. `PPM_O_RDONLY`; `None` when the table uses a literal.
    pub constant: Option<String>,
    pub value: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagTable {
    pub name: String,
    pub entries: Vec<FlagEntry>,
}

/// Extra information attached to a parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamInfo {
    None,
    /// The flag/enum table that names the parameter's bits or values.
    Flags(String),
    /// For `FSRELPATH`: the index of the parameter holding the directory fd.
    DirFd(u8),
    /// For `DYN`: the dynamic table whose entry is selected by the parameter's first byte.
    Dynamic(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub ptype: String,
    pub format: String,
    pub info: ParamInfo,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub number: u16,
    /// Symbol without the `PPME_` prefix, e.g. `SYSCALL_OPEN_E`.
    pub symbol: String,
    /// User-visible name, e.g. `open`.
    pub name: String,
    pub category: String,
    pub flags: Vec<String>,
    pub params: Vec<Param>,
}

impl Event {
    /// libs encodes direction in the low bit of the event number: even is enter, odd is exit.
    pub fn is_enter(&self) -> bool {
        self.number & 1 == 0
    }
}

/// A dynamic parameter table: the parameter's first byte selects one of these type/format pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamicTable {
    pub name: String,
    pub entries: Vec<Param>,
}

/// A system-independent syscall code (`PPM_SC_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallCode {
    pub value: u64,
    /// Symbol without `PPM_SC_`, e.g. `NEWFSSTAT`.
    pub name: String,
    /// The name generic events show, e.g. `newfstatat`.
    pub display: String,
    pub category: String,
}

/// One row of the native syscall routing table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syscall {
    /// The kernel's name, as in `__NR_<native>`.
    pub native: String,
    /// The `PPM_SC_<code>` symbol, when the syscall has one.
    pub code: Option<String>,
    /// `UF_*` flags, enter event and exit event, when the syscall has dedicated events.
    pub events: Option<SyscallEvents>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallEvents {
    pub flags: Vec<String>,
    pub enter: String,
    pub exit: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    pub param_types: Vec<Named>,
    pub print_formats: Vec<Named>,
    pub categories: Vec<Named>,
    pub event_flags: Vec<Named>,
    pub syscall_flags: Vec<Named>,
    pub events: Vec<Event>,
    pub dynamic_tables: Vec<DynamicTable>,
    pub flag_tables: Vec<FlagTable>,
    /// `PPM_SC_*` codes, in code order.
    pub syscall_codes: Vec<SyscallCode>,
    pub syscalls: Vec<Syscall>,
    pub errnos: Vec<Named>,
    pub signals: Vec<Named>,
    /// Wire-level constants that are not flag tables, e.g. `PPM_AT_FDCWD -100`.
    pub constants: Vec<(String, i64)>,
}

/// A schema error, with the line it was found on (1-based; 0 when it concerns the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "schema: {}", self.message)
        } else {
            write!(f, "schema line {}: {}", self.line, self.message)
        }
    }
}

impl std::error::Error for SchemaError {}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, SchemaError> {
    Err(SchemaError {
        line,
        message: message.into(),
    })
}

fn parse_number(line: usize, text: &str) -> Result<u64, SchemaError> {
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    match parsed {
        Ok(v) => Ok(v),
        Err(_) => err(
            line,
            format!("'{text}' is not a number (decimal or 0x-prefixed hex)"),
        ),
    }
}

fn parse_named(line: usize, fields: &[&str]) -> Result<Named, SchemaError> {
    match fields {
        [name, value] => Ok(Named {
            name: (*name).to_owned(),
            value: parse_number(line, value)?,
        }),
        _ => err(
            line,
            format!("expected 'NAME VALUE', found {} fields", fields.len()),
        ),
    }
}

fn parse_param(line: usize, spec: &str) -> Result<Param, SchemaError> {
    let parts: Vec<&str> = spec.split(':').collect();
    if parts.len() < 3 || parts.len() > 4 {
        return err(
            line,
            format!("parameter '{spec}' is not name:TYPE:FORMAT[:info]"),
        );
    }
    let info = match parts.get(3) {
        None => ParamInfo::None,
        Some(extra) => {
            if let Some(index) = extra.strip_prefix("dirfd=") {
                let index = parse_number(line, index)?;
                ParamInfo::DirFd(u8::try_from(index).map_err(|_| SchemaError {
                    line,
                    message: format!("dirfd index {index} does not fit a u8"),
                })?)
            } else if let Some(table) = extra.strip_prefix("dyn=") {
                ParamInfo::Dynamic(table.to_owned())
            } else {
                ParamInfo::Flags((*extra).to_owned())
            }
        }
    };
    Ok(Param {
        name: parts[0].to_owned(),
        ptype: parts[1].to_owned(),
        format: parts[2].to_owned(),
        info,
    })
}

fn parse_event(line: usize, text: &str) -> Result<Event, SchemaError> {
    let mut rest = text;
    let mut fields = Vec::with_capacity(5);
    for _ in 0..5 {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        if end == 0 {
            return err(
                line,
                "an event needs: number symbol name category flags [params]",
            );
        }
        fields.push(&rest[..end]);
        rest = &rest[end..];
    }
    let number = parse_number(line, fields[0])?;
    let number = u16::try_from(number).map_err(|_| SchemaError {
        line,
        message: format!("event number {number} does not fit a u16"),
    })?;
    let flags = if fields[4] == "NONE" {
        Vec::new()
    } else {
        fields[4].split('|').map(str::to_owned).collect()
    };
    let rest = rest.trim();
    let params = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split(", ")
            .map(|p| parse_param(line, p.trim()))
            .collect::<Result<_, _>>()?
    };
    Ok(Event {
        number,
        symbol: fields[1].to_owned(),
        name: fields[2].to_owned(),
        category: fields[3].to_owned(),
        flags,
        params,
    })
}

impl Schema {
    /// Reads and validates a schema file.
    pub fn load(path: &Path) -> Result<Schema, SchemaError> {
        let text = std::fs::read_to_string(path).map_err(|e| SchemaError {
            line: 0,
            message: format!("cannot read {}: {e}", path.display()),
        })?;
        Schema::parse(&text)
    }

    /// Parses and validates schema text.
    pub fn parse(text: &str) -> Result<Schema, SchemaError> {
        let mut schema = Schema::default();
        let mut section: Option<(String, Option<String>, usize)> = None;
        let mut seen_sections = HashSet::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = raw.split('#').next().unwrap_or("").trim_end();
            if content.trim().is_empty() {
                continue;
            }
            if let Some(header) = content.trim().strip_prefix('[') {
                let Some(header) = header.strip_suffix(']') else {
                    return err(
                        line,
                        format!("section header '{content}' lacks its closing ']'"),
                    );
                };
                let mut words = header.split_whitespace();
                let kind = words.next().unwrap_or("").to_owned();
                let arg = words.next().map(str::to_owned);
                if !seen_sections.insert((kind.clone(), arg.clone())) {
                    return err(line, format!("section [{header}] appears twice"));
                }
                match (kind.as_str(), &arg) {
                    ("flags", Some(name)) => schema.flag_tables.push(FlagTable {
                        name: name.clone(),
                        entries: Vec::new(),
                    }),
                    ("dynamic", Some(name)) => schema.dynamic_tables.push(DynamicTable {
                        name: name.clone(),
                        entries: Vec::new(),
                    }),
                    ("flags" | "dynamic", None) => {
                        return err(line, format!("section [{kind}] needs a table name"))
                    }
                    (
                        "param_types" | "print_formats" | "categories" | "event_flags"
                        | "syscall_flags" | "events" | "syscall_codes" | "syscalls" | "errno"
                        | "signals" | "constants",
                        None,
                    ) => {}
                    _ => return err(line, format!("unknown section [{header}]")),
                }
                section = Some((kind, arg, line));
                continue;
            }
            let Some((kind, _, _)) = &section else {
                return err(line, "record before the first [section]");
            };
            let fields: Vec<&str> = content.split_whitespace().collect();
            match kind.as_str() {
                "param_types" => schema.param_types.push(parse_named(line, &fields)?),
                "print_formats" => schema.print_formats.push(parse_named(line, &fields)?),
                "categories" => schema.categories.push(parse_named(line, &fields)?),
                "event_flags" => schema.event_flags.push(parse_named(line, &fields)?),
                "syscall_flags" => schema.syscall_flags.push(parse_named(line, &fields)?),
                "errno" => schema.errnos.push(parse_named(line, &fields)?),
                "signals" => schema.signals.push(parse_named(line, &fields)?),
                "constants" => match fields.as_slice() {
                    [name, value] => {
                        let parsed = match value.strip_prefix('-') {
                            Some(magnitude) => {
                                i64::try_from(parse_number(line, magnitude)?).map(|v| -v)
                            }
                            None => i64::try_from(parse_number(line, value)?),
                        };
                        let value = parsed.map_err(|_| SchemaError {
                            line,
                            message: format!("{value} does not fit an i64"),
                        })?;
                        schema.constants.push(((*name).to_owned(), value));
                    }
                    _ => return err(line, "expected 'NAME VALUE'"),
                },
                "syscall_codes" => match fields.as_slice() {
                    [code, symbol, display, category] => schema.syscall_codes.push(SyscallCode {
                        value: parse_number(line, code)?,
                        name: (*symbol).to_owned(),
                        display: (*display).to_owned(),
                        category: (*category).to_owned(),
                    }),
                    _ => return err(line, "expected 'CODE SYMBOL NAME CATEGORY'"),
                },
                "events" => schema.events.push(parse_event(line, content)?),
                "flags" => {
                    let entry = match fields.as_slice() {
                        [name, constant, value] => {
                            let value = parse_number(line, value)?;
                            FlagEntry {
                                name: (*name).to_owned(),
                                constant: (*constant != "-").then(|| (*constant).to_owned()),
                                value: u32::try_from(value).map_err(|_| SchemaError {
                                    line,
                                    message: format!("flag value {value:#x} does not fit 32 bits"),
                                })?,
                            }
                        }
                        _ => {
                            return err(
                                line,
                                "expected 'NAME CONSTANT VALUE' (CONSTANT may be '-')",
                            )
                        }
                    };
                    if let Some(table) = schema.flag_tables.last_mut() {
                        table.entries.push(entry);
                    }
                }
                "dynamic" => {
                    let (index, ptype, format, info) = match fields.as_slice() {
                        [i, t, f] => (*i, *t, *f, ParamInfo::None),
                        [i, t, f, table] => (*i, *t, *f, ParamInfo::Flags((*table).to_owned())),
                        _ => return err(line, "expected 'INDEX TYPE FORMAT [flag-table]'"),
                    };
                    if let Some(table) = schema.dynamic_tables.last_mut() {
                        if parse_number(line, index)? != table.entries.len() as u64 {
                            return err(
                                line,
                                format!(
                                    "dynamic entries must be numbered from 0 in order; expected {}",
                                    table.entries.len()
                                ),
                            );
                        }
                        table.entries.push(Param {
                            name: String::new(),
                            ptype: ptype.to_owned(),
                            format: format.to_owned(),
                            info,
                        });
                    }
                }
                "syscalls" => {
                    let code = |c: &str| (c != "-").then(|| c.to_owned());
                    let syscall = match fields.as_slice() {
                        [native] => Syscall {
                            native: (*native).to_owned(),
                            code: None,
                            events: None,
                        },
                        [native, c] => Syscall {
                            native: (*native).to_owned(),
                            code: code(c),
                            events: None,
                        },
                        [native, c, flags, enter, exit] => Syscall {
                            native: (*native).to_owned(),
                            code: code(c),
                            events: Some(SyscallEvents {
                                flags: flags.split('|').map(str::to_owned).collect(),
                                enter: (*enter).to_owned(),
                                exit: (*exit).to_owned(),
                            }),
                        },
                        _ => return err(line, "expected 'NATIVE CODE [FLAGS ENTER EXIT]'"),
                    };
                    schema.syscalls.push(syscall);
                }
                _ => unreachable!("section kinds are checked when the header is read"),
            }
        }
        schema.validate()?;
        Ok(schema)
    }

    fn validate(&self) -> Result<(), SchemaError> {
        fn names(v: &[Named]) -> HashSet<&str> {
            v.iter().map(|n| n.name.as_str()).collect()
        }
        let types = names(&self.param_types);
        let formats = names(&self.print_formats);
        let categories = names(&self.categories);
        let event_flags = names(&self.event_flags);
        let syscall_flags = names(&self.syscall_flags);
        let flag_tables: HashSet<&str> = self.flag_tables.iter().map(|t| t.name.as_str()).collect();
        let dynamic: HashSet<&str> = self
            .dynamic_tables
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        let whole = |message: String| SchemaError { line: 0, message };

        for required in [
            "NONE",
            "CHARBUF",
            "BYTEBUF",
            "SOCKADDR",
            "SOCKTUPLE",
            "FDLIST",
            "DYN",
            "FSRELPATH",
        ] {
            if !types.contains(required) {
                return Err(whole(format!(
                    "param type {required} is missing from [param_types]"
                )));
            }
        }
        let check_param = |what: &str, p: &Param, nparams: usize| -> Result<(), SchemaError> {
            if !types.contains(p.ptype.as_str()) {
                return Err(whole(format!("{what}: unknown param type '{}'", p.ptype)));
            }
            if !formats.contains(p.format.as_str()) {
                return Err(whole(format!(
                    "{what}: unknown print format '{}'",
                    p.format
                )));
            }
            match &p.info {
                ParamInfo::Flags(t) if !flag_tables.contains(t.as_str()) => {
                    Err(whole(format!("{what}: flag table '{t}' is not defined")))
                }
                ParamInfo::Dynamic(t) if !dynamic.contains(t.as_str()) => {
                    Err(whole(format!("{what}: dynamic table '{t}' is not defined")))
                }
                ParamInfo::DirFd(i) if usize::from(*i) >= nparams => {
                    Err(whole(format!("{what}: dirfd index {i} is out of range")))
                }
                _ => Ok(()),
            }
        };
        let mut symbols = HashMap::new();
        for (index, event) in self.events.iter().enumerate() {
            let what = format!("event {} ({})", event.number, event.symbol);
            if usize::from(event.number) != index {
                return Err(whole(format!(
                    "{what}: events must be numbered 0, 1, 2... in order; expected {index}"
                )));
            }
            let suffix_enter = event.symbol.ends_with("_E");
            let has_suffix = suffix_enter || event.symbol.ends_with("_X");
            if has_suffix && suffix_enter != event.is_enter() {
                return Err(whole(format!(
                    "{what}: the _E/_X suffix disagrees with the number's direction bit"
                )));
            }
            if symbols
                .insert(event.symbol.as_str(), event.number)
                .is_some()
            {
                return Err(whole(format!("{what}: symbol is defined twice")));
            }
            if !categories.contains(event.category.as_str()) {
                return Err(whole(format!(
                    "{what}: unknown category '{}'",
                    event.category
                )));
            }
            for flag in &event.flags {
                if !event_flags.contains(flag.as_str()) {
                    return Err(whole(format!("{what}: unknown event flag '{flag}'")));
                }
            }
            if event.params.len() > 32 {
                return Err(whole(format!("{what}: more than 32 params")));
            }
            for p in &event.params {
                check_param(&format!("{what} param '{}'", p.name), p, event.params.len())?;
            }
        }
        for table in &self.dynamic_tables {
            for p in &table.entries {
                check_param(&format!("dynamic table {}", table.name), p, usize::MAX)?;
            }
        }
        let codes: HashSet<&str> = self.syscall_codes.iter().map(|c| c.name.as_str()).collect();
        for (index, code) in self.syscall_codes.iter().enumerate() {
            if code.value != index as u64 {
                return Err(whole(format!(
                    "syscall code {}: codes must be numbered 0, 1, 2... in order",
                    code.name
                )));
            }
            if !categories.contains(code.category.as_str()) {
                return Err(whole(format!(
                    "syscall code {}: unknown category '{}'",
                    code.name, code.category
                )));
            }
        }
        for syscall in &self.syscalls {
            let what = format!("syscall {}", syscall.native);
            if let Some(code) = &syscall.code {
                if !codes.contains(code.as_str()) {
                    return Err(whole(format!("{what}: unknown syscall code '{code}'")));
                }
            }
            if let Some(ev) = &syscall.events {
                for flag in &ev.flags {
                    if !syscall_flags.contains(flag.as_str()) {
                        return Err(whole(format!("{what}: unknown syscall flag '{flag}'")));
                    }
                }
                for symbol in [&ev.enter, &ev.exit] {
                    if !symbols.contains_key(symbol.as_str()) {
                        return Err(whole(format!("{what}: unknown event '{symbol}'")));
                    }
                }
            }
        }
        Ok(())
    }

    pub fn event(&self, symbol: &str) -> Option<&Event> {
        self.events.iter().find(|e| e.symbol == symbol)
    }

    pub fn flag_table(&self, name: &str) -> Option<&FlagTable> {
        self.flag_tables.iter().find(|t| t.name == name)
    }

    /// The path of the schema in this repository, for build scripts and the code generator.
    pub fn default_path() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../driver/schema/events.schema")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_schema_loads_and_matches_libs_numbers() {
        let schema = Schema::load(&Schema::default_path()).expect("the committed schema is valid");
        assert_eq!(
            schema.events.len(),
            336,
            "PPM_EVENT_MAX of the sysdig 0.29.3 era"
        );
        let open_x = schema.event("SYSCALL_OPEN_X").expect("open exit exists");
        assert_eq!(open_x.number, 3);
        assert_eq!(open_x.params.len(), 5);
        assert_eq!(open_x.params[2].info, ParamInfo::Flags("file_flags".into()));
        let openat = schema
            .event("SYSCALL_OPENAT_2_X")
            .expect("openat exit exists");
        assert_eq!(openat.params[2].info, ParamInfo::DirFd(1));
        let execve = schema
            .event("SYSCALL_EXECVE_19_X")
            .expect("execve exit exists");
        assert_eq!(execve.params.len(), 20);
        assert_eq!(schema.syscall_codes.len(), 329, "PPM_SC_MAX");
        let o_rdonly = &schema.flag_table("file_flags").expect("table").entries;
        assert!(o_rdonly
            .iter()
            .any(|e| e.name == "O_RDONLY" && e.value == 1));
        assert!(schema
            .errnos
            .iter()
            .any(|e| e.name == "ENOENT" && e.value == 2));
    }

    #[test]
    fn errors_name_the_line() {
        let types = "[param_types]\nNONE 0\nINT8 1\nCHARBUF 9\nBYTEBUF 10\nSOCKADDR 12\nSOCKTUPLE 13\nFDLIST 16\nDYN 27\nFSRELPATH 43\n";
        let text = format!("{types}[print_formats]\nDEC 1\n[categories]\nFILE 2\n[events]\n0 X_E x OTHER NONE a:INT8:DEC\n");
        let e = Schema::parse(&text).expect_err("unknown category must fail");
        assert!(e.message.contains("unknown category 'OTHER'"), "{e}");
        let e = Schema::parse("[events]\nabc\n").expect_err("short event line");
        assert_eq!(e.line, 2);
        let e = Schema::parse("[nope]\n").expect_err("unknown section");
        assert_eq!(e.to_string(), "schema line 1: unknown section [nope]");
        let e = Schema::parse("[flags t]\nO_X P 0xzz\n").expect_err("bad number");
        assert_eq!(
            e.to_string(),
            "schema line 2: '0xzz' is not a number (decimal or 0x-prefixed hex)"
        );
    }

    #[test]
    fn direction_bit_must_match_suffix() {
        let schema = std::fs::read_to_string(Schema::default_path()).expect("schema readable");
        let broken = schema.replace("2    SYSCALL_OPEN_E ", "2    SYSCALL_OPEN_X2 ");
        let broken = broken.replace("SYSCALL_OPEN_X2", "SYSCALL_OPENX_X");
        let e = Schema::parse(&broken).expect_err("an exit symbol on an even number must fail");
        assert!(e.message.contains("direction bit"), "{e}");
    }
}
