//! The event tables, generated at build time from `driver/schema/events.schema`.
//!
//! The types are written here; the data (and the enums whose numbers the schema fixes) come from the
//! build script, so the kernel side and this side cannot drift apart.

/// One named value of a flag or enum table, e.g. `O_RDONLY = 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagEntry {
    pub name: &'static str,
    pub value: u32,
}

/// Extra information that some parameters carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamAux {
    None,
    /// The table naming the parameter's flags or enum values.
    Flags(&'static [FlagEntry]),
    /// For `FSRELPATH` parameters: index of the parameter holding the directory fd.
    DirFd(u8),
    /// For `DYN` parameters: the first byte of the value selects the entry describing the rest.
    Dynamic(&'static [ParamInfo]),
}

/// Description of one event parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamInfo {
    pub name: &'static str,
    pub ptype: ParamType,
    pub format: PrintFormat,
    pub aux: ParamAux,
}

/// Description of one event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventInfo {
    /// The user-visible name, e.g. `open`.
    pub name: &'static str,
    /// The schema symbol without `PPME_`, e.g. `SYSCALL_OPEN_E`.
    pub symbol: &'static str,
    /// An `EC_*` value (see [`category`]).
    pub category: u32,
    /// A set of `EF_*` bits (see [`event_flags`]).
    pub flags: u32,
    pub params: &'static [ParamInfo],
}

impl EventInfo {
    pub fn has_flag(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// Parameters whose lengths are 32-bit in the event's length array (`EF_LARGE_PAYLOAD`).
    pub fn large_payload(&self) -> bool {
        self.has_flag(event_flags::LARGE_PAYLOAD)
    }

    /// Index of the parameter called `name`.
    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }
}

include!(concat!(env!("OUT_DIR"), "/schema_tables.rs"));

/// Direction of an event: libs puts it in the low bit of the event number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Enter,
    Exit,
}

impl Direction {
    pub fn of(event_type: u16) -> Direction {
        if event_type & 1 == 0 {
            Direction::Enter
        } else {
            Direction::Exit
        }
    }

    /// `>` for enter, `<` for exit, as sysdig prints `evt.dir`.
    pub fn symbol(self) -> &'static str {
        match self {
            Direction::Enter => ">",
            Direction::Exit => "<",
        }
    }
}

/// The description of an event type, if the schema knows it.
pub fn event_info(event_type: u16) -> Option<&'static EventInfo> {
    EVENT_INFO.get(usize::from(event_type))
}

/// A flag table by schema name, e.g. `file_flags`.
pub fn flag_table(name: &str) -> Option<&'static [FlagEntry]> {
    FLAG_TABLES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
}

/// The name of an errno value, e.g. `ENOENT` for 2.
pub fn errno_name(errno: u64) -> Option<&'static str> {
    usize::try_from(errno)
        .ok()
        .and_then(|i| ERRNO_NAMES.get(i).copied().flatten())
}

/// The name of a signal, e.g. `SIGCHLD` for 17.
pub fn signal_name(signal: u64) -> Option<&'static str> {
    usize::try_from(signal)
        .ok()
        .and_then(|i| SIGNAL_NAMES.get(i).copied().flatten())
}

/// The syscall name for a `PPM_SC_*` code, as generic events print it.
pub fn syscall_name(code: u64) -> Option<&'static str> {
    usize::try_from(code)
        .ok()
        .and_then(|i| SYSCALL_NAMES.get(i).copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_match_libs_numbers() {
        assert_eq!(EVENT_MAX, 336);
        assert_eq!(ppme::SYSCALL_OPENAT_2_X, 307);
        assert_eq!(ppme::SCHEDSWITCH_6_E, 152);
        let open_x = event_info(ppme::SYSCALL_OPEN_X).expect("open exit");
        assert_eq!(open_x.name, "open");
        assert_eq!(open_x.params[0].ptype, ParamType::Fd);
        assert_eq!(open_x.params[2].aux, ParamAux::Flags(&FLAGS_FILE_FLAGS));
        assert_eq!(ParamType::from_u8(13), Some(ParamType::Socktuple));
        assert_eq!(errno_name(2), Some("ENOENT"));
        assert_eq!(signal_name(17), Some("SIGCHLD"));
        assert_eq!(syscall_name(0), Some("<unknown>"));
        assert_eq!(Direction::of(ppme::SYSCALL_OPEN_X), Direction::Exit);
        assert!(event_info(ppme::PLUGINEVENT_E)
            .expect("plugin event")
            .large_payload());
    }
}
