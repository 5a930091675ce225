//! Resident-set-size readings from `/proc/self/status`, and CPU time from `/proc/self/stat`
//! (Linux only, no `unsafe`).

use std::io;
use std::time::Duration;

/// One reading of the process's memory counters, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// `VmRSS`: resident set size now.
    pub rss_kib: u64,
    /// `VmHWM`: peak resident set size since start (or since [`reset_peak`]).
    pub hwm_kib: u64,
}

impl Memory {
    /// Reads the current process's counters.
    ///
    /// # Errors
    /// When `/proc/self/status` cannot be read or lacks `VmRSS` / `VmHWM` (not Linux).
    pub fn read() -> io::Result<Self> {
        let status = std::fs::read_to_string("/proc/self/status")?;
        parse_status(&status)
    }

    /// Peak RSS in MiB (for reports).
    pub fn hwm_mib(&self) -> f64 {
        kib_to_mib(self.hwm_kib)
    }

    /// Current RSS in MiB (for reports).
    pub fn rss_mib(&self) -> f64 {
        kib_to_mib(self.rss_kib)
    }
}

/// Converts KiB to MiB.
pub fn kib_to_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Parses the text of a `/proc/<pid>/status` file.
///
/// # Errors
/// `InvalidData` when `VmRSS` or `VmHWM` is missing or not a number.
pub fn parse_status(status: &str) -> io::Result<Memory> {
    let field = |name: &str| -> io::Result<u64> {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("no {name} in /proc/self/status"),
                )
            })
    };
    Ok(Memory {
        rss_kib: field("VmRSS:")?,
        hwm_kib: field("VmHWM:")?,
    })
}

/// Resets `VmHWM` to the current RSS (writes `5` to `/proc/self/clear_refs`, Linux ≥ 4.0),
/// so that the next reading shows the peak of what runs after this call only.
///
/// # Errors
/// When the kernel refuses the write (old kernel, restricted `/proc`).
pub fn reset_peak() -> io::Result<()> {
    std::fs::write("/proc/self/clear_refs", "5")
}

/// CPU time (user + system) this process has used so far, from `/proc/self/stat`.
///
/// Assumes `USER_HZ` = 100 (the value on every Linux/x86-64 and arm64 kernel).
///
/// # Errors
/// When `/proc/self/stat` cannot be read or parsed.
pub fn cpu_time() -> io::Result<Duration> {
    parse_stat(&std::fs::read_to_string("/proc/self/stat")?)
}

/// Parses the user + system CPU time out of a `/proc/<pid>/stat` line.
///
/// # Errors
/// `InvalidData` when the line is not in the expected format.
pub fn parse_stat(stat: &str) -> io::Result<Duration> {
    let bad = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "unexpected /proc/self/stat format",
        )
    };
    // Fields after the `(comm)`: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').ok_or_else(bad)?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .ok_or_else(bad)
    };
    let total = ticks(11)? + ticks(12)?;
    Ok(Duration::from_millis(total * 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_status() {
        let text = "Name:\tx\nVmHWM:\t   20480 kB\nVmRSS:\t    1024 kB\n";
        let m = parse_status(text).unwrap();
        assert_eq!(
            m,
            Memory {
                rss_kib: 1024,
                hwm_kib: 20480
            }
        );
        assert!((m.hwm_mib() - 20.0).abs() < 1e-9);
        assert!(parse_status("Name:\tx\n").is_err());
    }

    #[test]
    fn parses_proc_stat() {
        let line = "42 (bench mem) S 1 42 42 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 3 0 1 2 3";
        assert_eq!(parse_stat(line).unwrap(), Duration::from_millis(2810));
        assert!(parse_stat("garbage").is_err());
        assert!(cpu_time().is_ok());
    }

    #[test]
    fn reads_own_status() {
        let m = Memory::read().unwrap();
        assert!(m.hwm_kib >= m.rss_kib);
    }
}
