//! Go's runtime function table (`runtime.pclntab`). It stays in every Go binary, stripped or
//! not, because the runtime needs it for stack traces and the GC; so function names remain
//! recoverable after `-s -w`. Layouts follow Go's `debug/gosym/pclntab.go`.

use memchr::memmem;

use super::memory::read_uint;

/// The table layouts, named after the Go release that introduced each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Go 1.2 – 1.15 (magic 0xfffffffb).
    V1_2,
    /// Go 1.16 – 1.17 (magic 0xfffffffa).
    V1_16,
    /// Go 1.18 – 1.19 (magic 0xfffffff0).
    V1_18,
    /// Go 1.20 and later (magic 0xfffffff1).
    V1_20,
}

impl Version {
    /// "1.2", "1.16", "1.18" or "1.20".
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1_2 => "1.2",
            Version::V1_16 => "1.16",
            Version::V1_18 => "1.18",
            Version::V1_20 => "1.20",
        }
    }

    fn from_magic(magic: u32) -> Option<Version> {
        match magic {
            0xffff_fffb => Some(Version::V1_2),
            0xffff_fffa => Some(Version::V1_16),
            0xffff_fff0 => Some(Version::V1_18),
            0xffff_fff1 => Some(Version::V1_20),
            _ => None,
        }
    }
}

/// A validated function table over the bytes that start at its magic.
#[derive(Debug, Clone)]
pub struct Pclntab<'a> {
    /// Layout version.
    pub version: Version,
    /// Byte order of the table.
    pub big_endian: bool,
    /// Pointer size of the target (4 or 8).
    pub ptr_size: u8,
    nfunc: usize,
    funcnametab: &'a [u8],
    /// Exactly the function-name table (1.16+: it ends where the compilation-unit table
    /// starts), when the header delimits it.
    funcnames: Option<&'a [u8]>,
    functab: &'a [u8],
    funcdata: &'a [u8],
    /// The whole table, from the magic to the end of what the caller gave.
    data: &'a [u8],
    /// The pc-value tables (`pctab`): pcdata offsets index into it.
    pctab: &'a [u8],
}

impl<'a> Pclntab<'a> {
    /// Parses and validates a table starting at `data[0]`. `None` unless the header, the
    /// table bounds and the first function's name all check out.
    pub fn parse(data: &'a [u8]) -> Option<Pclntab<'a>> {
        if data.len() < 16 || data[4] != 0 || data[5] != 0 {
            return None;
        }
        if !matches!(data[6], 1 | 2 | 4) || !matches!(data[7], 4 | 8) {
            return None;
        }
        let magic4: [u8; 4] = data[..4].try_into().ok()?;
        let (version, big_endian) = match Version::from_magic(u32::from_le_bytes(magic4)) {
            Some(v) => (v, false),
            None => (Version::from_magic(u32::from_be_bytes(magic4))?, true),
        };
        let ptr_size = data[7];
        let ps = usize::from(ptr_size);
        let word = |n: usize| -> Option<usize> {
            let at = 8 + n * ps;
            usize::try_from(read_uint(data.get(at..at + ps)?, big_endian)?).ok()
        };
        let tail = |off: usize| data.get(off..);
        let (nfunc, funcnametab, funcdata, field) = match version {
            Version::V1_18 | Version::V1_20 => (word(0)?, tail(word(3)?)?, tail(word(7)?)?, 4),
            Version::V1_16 => (word(0)?, tail(word(2)?)?, tail(word(6)?)?, ps),
            Version::V1_2 => (word(0)?, data, data, ps),
        };
        let pctab = match version {
            Version::V1_18 | Version::V1_20 => tail(word(6)?)?,
            Version::V1_16 => tail(word(5)?)?,
            Version::V1_2 => data,
        };
        let funcnames = match version {
            Version::V1_18 | Version::V1_20 => data.get(word(3)?..word(4)?),
            Version::V1_16 => data.get(word(2)?..word(3)?),
            Version::V1_2 => None,
        };
        let functab_start = match version {
            Version::V1_2 => 8 + ps,
            _ => data.len() - funcdata.len(),
        };
        // A real table never has more functions than it has bytes to describe them.
        if nfunc == 0 || nfunc > data.len() / 8 {
            return None;
        }
        let functab_len = (nfunc.checked_mul(2)? + 1).checked_mul(field)?;
        let functab = data.get(functab_start..functab_start.checked_add(functab_len)?)?;
        let table = Pclntab {
            version,
            big_endian,
            ptr_size,
            nfunc,
            funcnametab,
            funcnames,
            functab,
            funcdata,
            data,
            pctab,
        };
        // The first function must have a readable, non-empty name.
        table.name(0).filter(|n| !n.is_empty())?;
        Some(table)
    }

    /// Finds a table anywhere in `data` by its magic, validated by [`Pclntab::parse`].
    /// Returns the table and its offset in `data`: of each magic (newest first, little-endian
    /// before big), the first place it parses, and of those the one with most functions.
    pub fn scan(data: &'a [u8]) -> Option<(usize, Pclntab<'a>)> {
        // Every magic is three 0xff bytes and one of these, then two zero bytes (the pad):
        // the file is searched once for the 0xff run rather than once per magic and order.
        const LOW: [u8; 4] = [0xf1, 0xf0, 0xfa, 0xfb];
        let mut first: [Option<(usize, Pclntab<'a>)>; 8] = Default::default();
        let mut try_at = |pattern: usize, at: usize| {
            if first[pattern].is_none()
                && let Some(t) = Pclntab::parse(&data[at..])
            {
                first[pattern] = Some((at, t));
            }
        };
        let mut from = 0;
        while let Some(found) = data
            .get(from..)
            .and_then(|rest| memmem::find(rest, &[0xff; 3]))
        {
            let run = from + found;
            // The run's end: a magic's 0xff bytes are all of a run (its low byte is not 0xff).
            let end = run
                + 3
                + data[run + 3..]
                    .iter()
                    .position(|&b| b != 0xff)
                    .unwrap_or(data.len() - run - 3);
            let pad = |at: usize| data.get(at..at + 2) == Some(&[0, 0][..]);
            // Little-endian: low byte, the run of exactly three, the pad.
            if end - run == 3
                && pad(end)
                && let Some(low) = run.checked_sub(1)
                && let Some(k) = LOW.iter().position(|&m| m == data[low])
            {
                try_at(2 * k, low);
            }
            // Big-endian: the run's last three bytes, the low byte, the pad.
            if let Some(k) = data.get(end).and_then(|b| LOW.iter().position(|m| m == b))
                && pad(end + 1)
            {
                try_at(2 * k + 1, end - 3);
            }
            from = end;
        }
        let mut best: Option<(usize, Pclntab<'a>)> = None;
        for (at, t) in first.into_iter().flatten() {
            if best.as_ref().is_none_or(|(_, b)| t.nfunc > b.nfunc) {
                best = Some((at, t));
            }
        }
        best
    }

    /// Number of functions in the table.
    pub fn len(&self) -> usize {
        self.nfunc
    }

    /// Whether the table lists no functions (never true for a validated table).
    pub fn is_empty(&self) -> bool {
        self.nfunc == 0
    }

    fn uint(&self, b: &[u8]) -> Option<u64> {
        read_uint(b, self.big_endian)
    }

    /// Size of a functab field and of `_func`'s first field (the entry): a u32 offset since
    /// Go 1.18, a pointer before.
    fn field_size(&self) -> usize {
        match self.version {
            Version::V1_18 | Version::V1_20 => 4,
            _ => usize::from(self.ptr_size),
        }
    }

    /// Offset of function `i`'s `_func` record in the function data (the table itself before
    /// Go 1.16, `pclntable` since).
    fn func_offset(&self, i: usize) -> Option<usize> {
        let field = self.field_size();
        let at = i.checked_mul(2)?.checked_add(1)?.checked_mul(field)?;
        usize::try_from(self.uint(self.functab.get(at..at.checked_add(field)?)?)?).ok()
    }

    /// The size of function `i`'s code: the distance from its entry to the next function's
    /// (the table ends with a sentinel entry).
    pub fn func_size(&self, i: usize) -> Option<u64> {
        let field = self.field_size();
        let entry = |k: usize| -> Option<u64> {
            let at = k.checked_mul(2)?.checked_mul(field)?;
            self.uint(self.functab.get(at..at.checked_add(field)?)?)
        };
        entry(i.checked_add(1)?)?.checked_sub(entry(i)?)
    }

    /// The name of function `i`, or `None` where the table points outside itself.
    pub fn name(&self, i: usize) -> Option<&'a [u8]> {
        // _func starts with the entry; nameOff follows. funcoff comes from the file: every
        // sum with it is checked.
        let name_at = self.func_offset(i)?.checked_add(self.field_size())?;
        let name_off = self.uint(self.funcdata.get(name_at..name_at.checked_add(4)?)?)?;
        self.name_at(u32::try_from(name_off).ok()?)
    }

    /// The NUL-terminated name at `offset` in the function-name table (what `_func.nameOff`
    /// and an inline tree entry's name offset index).
    pub fn name_at(&self, offset: u32) -> Option<&'a [u8]> {
        let name = self.funcnametab.get(usize::try_from(offset).ok()?..)?;
        let end = memchr::memchr(0, name)?;
        Some(&name[..end])
    }

    /// Whether `offset` is where a name starts in the function-name table (the first byte,
    /// or one after a NUL): a sanity check for name offsets read from elsewhere.
    pub fn is_name_start(&self, offset: u32) -> bool {
        let Ok(at) = usize::try_from(offset) else {
            return false;
        };
        if at >= self.funcnametab.len() {
            return false;
        }
        if let Some(names) = self.funcnames
            && at >= names.len()
        {
            return false;
        }
        at == 0 || self.funcnametab[at - 1] == 0
    }

    /// Function `i`'s `_func` record, from its first byte to the end of the function data
    /// (the record's length depends on its pcdata and funcdata counts).
    pub fn func_record(&self, i: usize) -> Option<&'a [u8]> {
        self.funcdata.get(self.func_offset(i)?..)
    }

    /// Where function `i`'s `_func` record starts, as an offset from the table's magic:
    /// pre-1.18 funcdata pointers are aligned in memory, and the table is pointer-aligned.
    pub fn func_record_position(&self, i: usize) -> Option<usize> {
        let base = self.data.len() - self.funcdata.len();
        base.checked_add(self.func_offset(i)?)
    }

    /// The pc-value tables that `_func.pcdata` offsets index.
    pub fn pctab(&self) -> &'a [u8] {
        self.pctab
    }

    /// Header word `n` after the magic's 8 bytes (nfunc is word 0), pointer-sized.
    pub fn header_word(&self, n: usize) -> Option<u64> {
        let ps = usize::from(self.ptr_size);
        let at = 8usize.checked_add(n.checked_mul(ps)?)?;
        self.uint(self.data.get(at..at.checked_add(ps)?)?)
    }

    /// Whether some function's name starts with `prefix`. Searches the name table in one
    /// pass where the header delimits it, instead of touching every function record.
    pub fn has_function_with_prefix(&self, prefix: &[u8]) -> bool {
        match self.funcnames {
            Some(names) => {
                names.starts_with(prefix)
                    || memmem::find_iter(names, prefix).any(|at| at > 0 && names[at - 1] == 0)
            }
            None => self.names().any(|n| n.starts_with(prefix)),
        }
    }

    /// Whether a function of exactly this name is in the table.
    pub fn has_function(&self, name: &[u8]) -> bool {
        match self.funcnames {
            Some(names) => {
                let mut whole = Vec::with_capacity(name.len() + 1);
                whole.extend_from_slice(name);
                whole.push(0);
                names.starts_with(&whole)
                    || memmem::find_iter(names, &whole).any(|at| at > 0 && names[at - 1] == 0)
            }
            None => self.names().any(|n| n == name),
        }
    }

    /// Every function name the table resolves, in table order.
    pub fn names(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        (0..self.nfunc).filter_map(|i| self.name(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal Go 1.20 table, little endian, 8-byte pointers, with the given names.
    pub(crate) fn synthetic_v120(names: &[&str]) -> Vec<u8> {
        let n = names.len();
        let header_len = 8 + 8 * 8;
        let mut nametab = Vec::new();
        let mut name_offs = Vec::new();
        for name in names {
            name_offs.push(nametab.len() as u32);
            nametab.extend_from_slice(name.as_bytes());
            nametab.push(0);
        }
        let nametab_off = header_len;
        let pcln_off = nametab_off + nametab.len();
        let functab_len = (2 * n + 1) * 4;
        // _func records follow the functab: {entryOff u32, nameOff u32}.
        let mut pcln = Vec::new();
        for i in 0..n {
            pcln.extend_from_slice(&(i as u32 * 16).to_le_bytes());
            pcln.extend_from_slice(&((functab_len + 8 * i) as u32).to_le_bytes());
        }
        pcln.extend_from_slice(&(n as u32 * 16).to_le_bytes());
        for off in &name_offs {
            pcln.extend_from_slice(&0u32.to_le_bytes());
            pcln.extend_from_slice(&off.to_le_bytes());
        }
        let mut data = Vec::new();
        data.extend_from_slice(&0xffff_fff1u32.to_le_bytes());
        data.extend_from_slice(&[0, 0, 1, 8]);
        let words = [n, 0, 0, nametab_off, pcln_off, pcln_off, pcln_off, pcln_off];
        for w in words {
            data.extend_from_slice(&(w as u64).to_le_bytes());
        }
        data.extend_from_slice(&nametab);
        data.extend_from_slice(&pcln);
        data
    }

    #[test]
    fn reads_names_from_a_synthetic_table() {
        let data = synthetic_v120(&["runtime.main", "net/http/pprof.Index", "main.main"]);
        let t = Pclntab::parse(&data).unwrap();
        assert_eq!(t.version, Version::V1_20);
        assert_eq!(t.len(), 3);
        let names: Vec<_> = t
            .names()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .collect();
        assert_eq!(names, ["runtime.main", "net/http/pprof.Index", "main.main"]);
    }

    #[test]
    fn scan_finds_the_table_behind_junk() {
        let mut file = vec![0xffu8; 100];
        file.extend_from_slice(&[0xf1, 0xff, 0xff, 0xff, 0, 0, 9, 9]); // bad header, skipped
        let at = file.len();
        file.extend(synthetic_v120(&["a.b"]));
        let (found, t) = Pclntab::scan(&file).unwrap();
        assert_eq!(found, at);
        assert_eq!(t.name(0), Some(&b"a.b"[..]));
    }

    /// The search as first written: each magic in each byte order, one pass apiece.
    fn scan_per_magic(data: &[u8]) -> Option<(usize, usize)> {
        let mut best: Option<(usize, usize)> = None;
        for magic in [0xffff_fff1u32, 0xffff_fff0, 0xffff_fffa, 0xffff_fffb] {
            for needle in [magic.to_le_bytes(), magic.to_be_bytes()] {
                let pattern = [needle[0], needle[1], needle[2], needle[3], 0, 0];
                let hit = (0..data.len().saturating_sub(5))
                    .filter(|&at| data[at..at + 6] == pattern)
                    .find_map(|at| Pclntab::parse(&data[at..]).map(|t| (at, t.nfunc)));
                if let Some((at, n)) = hit
                    && best.is_none_or(|(_, b)| n > b)
                {
                    best = Some((at, n));
                }
            }
        }
        best
    }

    #[test]
    fn one_pass_scan_finds_what_a_pass_per_magic_finds() {
        let small = synthetic_v120(&["a.b"]);
        let large = synthetic_v120(&["a.b", "c.d", "e.f"]);
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        // Runs of 0xff of every length before a magic, both byte orders, tables and fakes.
        for run in 0..7 {
            for low in [0xf1u8, 0xf0, 0xfa, 0xfb, 0x00] {
                let mut le = vec![7u8; 5];
                le.extend(std::iter::repeat_n(0xff, run));
                le.extend_from_slice(&[low, 0xff, 0xff, 0xff, 0, 0, 1, 8]);
                le.extend(&small);
                inputs.push(le);
                let mut be = vec![0xffu8; run];
                be.extend_from_slice(&[0xff, 0xff, 0xff, low, 0, 0, 4, 8]);
                be.extend(std::iter::repeat_n(0xff, run));
                be.extend(&large);
                be.extend(&small);
                inputs.push(be);
            }
        }
        // Both tables, the smaller first; a magic at the very end; pseudo-random bytes.
        let mut both = small.clone();
        both.extend(&large);
        both.extend_from_slice(&[0xfb, 0xff, 0xff, 0xff, 0]);
        inputs.push(both);
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                [0xff, 0xff, 0xf1, 0x00, x as u8][(x >> 32) as usize % 5]
            })
            .collect();
        let mut noisy = noise.clone();
        noisy.extend(&large);
        noisy.extend(&noise);
        inputs.push(noise);
        inputs.push(noisy);
        for (i, data) in inputs.iter().enumerate() {
            let got = Pclntab::scan(data).map(|(at, t)| (at, t.nfunc));
            assert_eq!(got, scan_per_magic(data), "input {i}");
        }
        assert!(inputs.iter().any(|d| Pclntab::scan(d).is_some()));
    }

    #[test]
    fn every_truncation_and_corruption_is_handled() {
        let data = synthetic_v120(&["runtime.main", "main.main"]);
        for cut in 0..data.len() {
            let _ = Pclntab::parse(&data[..cut]).map(|t| t.names().count());
        }
        for i in 0..data.len() {
            for v in [0x00, 0x7f, 0xff] {
                let mut bad = data.clone();
                bad[i] = v;
                if let Some(t) = Pclntab::parse(&bad) {
                    let _ = t.names().count();
                }
            }
        }
    }

    #[test]
    fn absurd_function_counts_are_rejected() {
        let mut data = synthetic_v120(&["x"]);
        data[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(Pclntab::parse(&data).is_none());
    }
}
