//! A binary's virtual address space as the loader would map it: addresses to file bytes.
//! Every read is bounds-checked against both the mapping and the file.

/// One mapped range: `size` file bytes at `offset`, loaded at `addr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Virtual address of the first byte.
    pub addr: u64,
    /// File offset of the first byte.
    pub offset: u64,
    /// Bytes backed by the file (zero-fill beyond it is not readable here).
    pub size: u64,
}

/// The file-backed part of an address space.
#[derive(Debug, Clone)]
pub struct Memory<'a> {
    data: &'a [u8],
    ranges: Vec<Range>,
}

impl<'a> Memory<'a> {
    /// Builds the address space from ranges; ranges outside the file are clipped.
    pub fn new(data: &'a [u8], ranges: impl IntoIterator<Item = Range>) -> Self {
        let len = data.len() as u64;
        let ranges = ranges
            .into_iter()
            .filter_map(|r| {
                if r.offset >= len || r.size == 0 {
                    return None;
                }
                let size = r.size.min(len - r.offset);
                r.addr.checked_add(size).map(|_| Range { size, ..r })
            })
            .collect();
        Memory { data, ranges }
    }

    /// The bytes from `addr` to the end of the range that holds it.
    pub fn tail(&self, addr: u64) -> Option<&'a [u8]> {
        let r = self
            .ranges
            .iter()
            .find(|r| addr >= r.addr && addr - r.addr < r.size)?;
        let start = (r.offset + (addr - r.addr)) as usize;
        let end = (r.offset + r.size) as usize;
        self.data.get(start..end)
    }

    /// Exactly `len` bytes at `addr`, or `None` if they are not all file-backed in one range.
    pub fn read(&self, addr: u64, len: u64) -> Option<&'a [u8]> {
        let tail = self.tail(addr)?;
        let len = usize::try_from(len).ok()?;
        tail.get(..len)
    }

    /// Up to `len` bytes at `addr` (fewer when the range ends first).
    pub fn read_up_to(&self, addr: u64, len: u64) -> Option<&'a [u8]> {
        let tail = self.tail(addr)?;
        let len = usize::try_from(len).unwrap_or(usize::MAX).min(tail.len());
        Some(&tail[..len])
    }

    /// The file offset that backs `addr`.
    pub fn file_offset(&self, addr: u64) -> Option<u64> {
        self.ranges
            .iter()
            .find(|r| addr >= r.addr && addr - r.addr < r.size)
            .map(|r| r.offset + (addr - r.addr))
    }

    /// The address a file offset is loaded at.
    pub fn addr_of(&self, offset: u64) -> Option<u64> {
        self.ranges
            .iter()
            .find(|r| offset >= r.offset && offset - r.offset < r.size)
            .map(|r| r.addr + (offset - r.offset))
    }

    /// A pointer-sized value at `addr`.
    pub fn read_ptr(&self, addr: u64, ptr_size: u8, big_endian: bool) -> Option<u64> {
        read_uint(self.read(addr, u64::from(ptr_size))?, big_endian)
    }
}

/// Reads a 4- or 8-byte unsigned integer from the start of `b`.
pub fn read_uint(b: &[u8], big_endian: bool) -> Option<u64> {
    match b.len() {
        4 => {
            let a: [u8; 4] = b.try_into().ok()?;
            Some(u64::from(if big_endian {
                u32::from_be_bytes(a)
            } else {
                u32::from_le_bytes(a)
            }))
        }
        8 => {
            let a: [u8; 8] = b.try_into().ok()?;
            Some(if big_endian {
                u64::from_be_bytes(a)
            } else {
                u64::from_le_bytes(a)
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stay_inside_ranges_and_file() {
        let data: Vec<u8> = (0..64).collect();
        let mem = Memory::new(
            &data,
            [
                Range {
                    addr: 0x1000,
                    offset: 16,
                    size: 16,
                },
                // Claims more bytes than the file has: clipped to 8.
                Range {
                    addr: 0x2000,
                    offset: 56,
                    size: 100,
                },
                // Entirely outside the file: dropped.
                Range {
                    addr: 0x3000,
                    offset: 1000,
                    size: 4,
                },
            ],
        );
        assert_eq!(mem.read(0x1000, 2), Some(&[16u8, 17][..]));
        assert_eq!(mem.read(0x100f, 1), Some(&[31u8][..]));
        assert_eq!(mem.read(0x100f, 2), None, "crosses the end of the range");
        assert_eq!(mem.read(0x1010, 1), None);
        assert_eq!(mem.tail(0x2000).map(<[u8]>::len), Some(8));
        assert_eq!(mem.read_up_to(0x2004, 100), Some(&[60u8, 61, 62, 63][..]));
        assert_eq!(mem.tail(0x3000), None);
        assert_eq!(mem.read(u64::MAX, 1), None);
        assert_eq!(mem.read_ptr(0x1000, 4, false), Some(0x13121110));
        assert_eq!(mem.file_offset(0x1003), Some(19));
        assert_eq!(mem.addr_of(19), Some(0x1003));
        assert_eq!(mem.addr_of(40), None);
        assert_eq!(mem.read_ptr(0x1000, 4, true), Some(0x10111213));
    }
}
