//! Listening sockets of the service's processes, read from Linux's /proc: the sockets each
//! process holds (`/proc/PID/fd/* -> socket:[inode]`) joined with the kernel's TCP tables
//! (`/proc/PID/net/tcp`, `tcp6`, state `0A` = LISTEN). No configuration and no cooperation
//! from the service: whatever it listens on, goready sees.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One listening TCP socket of the service.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ListenSocket {
    /// The address it is bound to (`0.0.0.0:8080`, `[::]:8080`, `127.0.0.1:6060`).
    pub addr: SocketAddr,
    /// A process of the service holding it.
    pub pid: i32,
    /// Kernel socket inode (what ties the fd to the TCP table).
    pub inode: u64,
}

impl ListenSocket {
    /// Reachable only from this machine.
    pub fn is_loopback(&self) -> bool {
        is_loopback(self.addr.ip())
    }

    /// Bound to every interface (`0.0.0.0` or `::`).
    pub fn is_wildcard(&self) -> bool {
        self.addr.ip().is_unspecified()
    }

    /// Where goready connects to reach it: a wildcard socket through loopback (IPv4 first,
    /// since a `::` socket is usually dual-stack), a concrete address as it is.
    pub fn connect_addrs(&self) -> Vec<SocketAddr> {
        let port = self.addr.port();
        match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => {
                vec![SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port)]
            }
            IpAddr::V6(ip) if ip.is_unspecified() => vec![
                SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port),
                SocketAddr::new(Ipv6Addr::LOCALHOST.into(), port),
            ],
            IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
                Some(v4) => vec![SocketAddr::new(v4.into(), port)],
                None => vec![self.addr],
            },
            IpAddr::V4(_) => vec![self.addr],
        }
    }

    /// `0.0.0.0:8080 (all interfaces)`, `127.0.0.1:6060 (loopback)`, for messages.
    pub fn describe(&self) -> String {
        let scope = if self.is_wildcard() {
            "all interfaces"
        } else if self.is_loopback() {
            "loopback"
        } else {
            "a network interface"
        };
        format!("{} ({scope})", self.addr)
    }
}

/// 127.0.0.0/8, `::1`, and their IPv4-mapped forms.
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// The LISTEN rows of a /proc/net/tcp or tcp6 table: (bound address, socket inode).
/// Addresses are printed as the kernel's in-memory words in hex, so they are decoded with
/// the host's byte order; ports are plain big hex numbers.
pub fn parse_tcp_table(text: &str) -> Vec<(SocketAddr, u64)> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
        if fields.len() < 10 || fields[3] != "0A" {
            continue;
        }
        let (Some(addr), Ok(inode)) = (parse_hex_addr(fields[1]), fields[9].parse::<u64>()) else {
            continue;
        };
        out.push((addr, inode));
    }
    out
}

fn parse_hex_addr(text: &str) -> Option<SocketAddr> {
    if !text.is_ascii() {
        return None;
    }
    let (ip_hex, port_hex) = text.split_once(':')?;
    let port = u16::from_str_radix(port_hex, 16).ok()?;
    let ip = match ip_hex.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(ip_hex)?.to_ne_bytes())),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4]
                    .copy_from_slice(&word(&ip_hex[i * 8..i * 8 + 8])?.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

fn word(hex: &str) -> Option<u32> {
    u32::from_str_radix(hex, 16).ok()
}

/// Socket inodes a process holds open (`/proc/PID/fd/N -> socket:[INODE]`).
pub fn socket_inodes(pid: i32) -> Vec<u64> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|target| {
            let t = target.to_str()?;
            t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect()
}

/// The listening TCP sockets held by `pids`, each once, ordered by address. The TCP tables
/// are read from the first pid's network namespace (the service's, not goready's).
pub fn listening_sockets(pids: &[i32]) -> Vec<ListenSocket> {
    let Some(&first) = pids.first() else {
        return Vec::new();
    };
    let mut table: HashMap<u64, SocketAddr> = HashMap::new();
    for name in ["tcp", "tcp6"] {
        if let Ok(text) = std::fs::read_to_string(format!("/proc/{first}/net/{name}")) {
            table.extend(parse_tcp_table(&text).into_iter().map(|(a, i)| (i, a)));
        }
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for &pid in pids {
        for inode in socket_inodes(pid) {
            if let Some(&addr) = table.get(&inode) {
                if seen.insert(inode) {
                    out.push(ListenSocket { addr, pid, inode });
                }
            }
        }
    }
    out.sort_by_key(|s| (s.addr.port(), s.addr.ip()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn parses_kernel_tcp_tables() {
        // 127.0.0.1:8080 listening, 0.0.0.0:22 listening, one established row.
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0 100 0 0 10 0\n   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1\n   2: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 333 1\n";
        let rows = parse_tcp_table(v4);
        if cfg!(target_endian = "little") {
            assert_eq!(
                rows,
                vec![
                    ("127.0.0.1:8080".parse().unwrap(), 12345),
                    ("0.0.0.0:22".parse().unwrap(), 222)
                ]
            );
        }
        let v6 = "  sl header\n   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 777 1\n   1: 00000000000000000000000000000000:1770 00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 778 1\n";
        let rows = parse_tcp_table(v6);
        if cfg!(target_endian = "little") {
            assert_eq!(rows[0], ("[::1]:80".parse().unwrap(), 777));
            assert_eq!(rows[1], ("[::]:6000".parse().unwrap(), 778));
        }
        assert!(
            parse_tcp_table("garbage\n0: zz:zz 0A\n   0: 0100007F:XYZ 0 0A a b c d e f\n")
                .is_empty()
        );
    }

    #[test]
    fn finds_this_processs_own_listener() {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        let me = std::process::id() as i32;
        let found = listening_sockets(&[me]);
        let s = found
            .iter()
            .find(|s| s.addr == addr)
            .unwrap_or_else(|| panic!("{addr} not in {found:?}"));
        assert!(s.is_loopback() && !s.is_wildcard());
        assert_eq!(s.connect_addrs(), vec![addr]);
    }

    #[test]
    fn classifies_addresses() {
        let s = |a: &str| ListenSocket {
            addr: a.parse().unwrap(),
            pid: 1,
            inode: 1,
        };
        assert!(s("0.0.0.0:1").is_wildcard());
        assert!(!s("0.0.0.0:1").is_loopback());
        assert!(s("[::]:1").is_wildcard());
        assert!(s("[::ffff:127.0.0.1]:1").is_loopback());
        assert!(!s("10.1.2.3:1").is_loopback());
        assert_eq!(
            s("[::]:9").connect_addrs()[0],
            "127.0.0.1:9".parse::<SocketAddr>().unwrap()
        );
        assert!(s("0.0.0.0:9").describe().contains("all interfaces"));
    }
}
