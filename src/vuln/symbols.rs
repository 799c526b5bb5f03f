//! Function names of a binary (`net/http.(*Client).Do`, `golang.org/x/text/language.Parse`,
//! `main.main`) split into the (package, symbol) pairs the database's `imports` speak of
//! (`net/http`, `Client.Do`), the way govulncheck v1.9.0 splits them: generic instantiations
//! (`[...]`, `[go.shape.int]`) are skipped while finding the package and receiver, a pointer
//! receiver's `(*T)` becomes `T`, the package path is URL-unescaped (`%2e` → `.`), and
//! compiler-generated names (`go:`/`type:` since Go 1.20, `go.`/`type.` before) belong to no
//! package.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// The naming convention of compiler-generated symbols, which changed in Go 1.20.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// Go 1.20 and later: `go:` and `type:` prefixes.
    Go120,
    /// Go 1.18 and 1.19: `go.` and `type.` prefixes.
    Go118,
    /// Older tables: no prefix is special.
    Older,
}

/// The binary's functions, per package: what matching asks about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageSymbols {
    /// Package import path → symbols (`Func`, `Type.Method`).
    pub by_package: BTreeMap<String, BTreeSet<String>>,
}

impl PackageSymbols {
    /// Splits every name and files it under its package. Names of package `main` go under
    /// `main_path` (the binary's main package path), as the database names it.
    pub fn from_names<'a>(
        names: impl IntoIterator<Item = &'a str>,
        naming: Naming,
        main_path: &str,
    ) -> PackageSymbols {
        PackageSymbols::from_names_of(names, naming, main_path, |_| true)
    }

    /// [`PackageSymbols::from_names`] keeping only the packages `wanted` accepts (import
    /// paths, after `main` became `main_path`). A name's package is found without copying it,
    /// so the names of unwanted packages cost a scan of their bytes and nothing else.
    pub fn from_names_of<S: AsRef<str>>(
        names: impl IntoIterator<Item = S>,
        naming: Naming,
        main_path: &str,
        wanted: impl Fn(&str) -> bool,
    ) -> PackageSymbols {
        let mut by_package: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for name in names {
            let name = name.as_ref();
            let pkg = package_name(name, naming);
            let pkg: &str = if pkg == "main" && !main_path.is_empty() {
                main_path
            } else {
                &pkg
            };
            if !wanted(pkg) {
                continue;
            }
            let sym = symbol_name(name);
            match by_package.get_mut(pkg) {
                Some(set) => {
                    set.insert(sym);
                }
                None => {
                    by_package.insert(pkg.to_string(), BTreeSet::from([sym]));
                }
            }
        }
        PackageSymbols { by_package }
    }

    /// Whether any function of `package` is in the binary.
    pub fn has_package(&self, package: &str) -> bool {
        self.by_package.contains_key(package)
    }

    /// The symbols of `package` in the binary.
    pub fn of(&self, package: &str) -> Option<&BTreeSet<String>> {
        self.by_package.get(package)
    }
}

/// `name` with the outermost `[...]` removed (from the first `[` to the last `]`).
fn without_instantiation(name: &str) -> std::borrow::Cow<'_, str> {
    // Most names have no brackets: one search, and the name is borrowed.
    let Some(start) = find(b'[', name) else {
        return std::borrow::Cow::Borrowed(name);
    };
    match (Some(start), rfind(b']', name)) {
        (Some(start), Some(end)) if start < end => {
            std::borrow::Cow::Owned(format!("{}{}", &name[..start], &name[end + 1..]))
        }
        _ => std::borrow::Cow::Borrowed(name),
    }
}

/// The first `byte` (ASCII) of `s`: `str::find` of a char, by the vectorised search (the
/// names are split by the ten thousand, and this is most of the work).
fn find(byte: u8, s: &str) -> Option<usize> {
    memchr::memchr(byte, s.as_bytes())
}

/// The last `byte` (ASCII) of `s`, as [`find`].
fn rfind(byte: u8, s: &str) -> Option<usize> {
    memchr::memrchr(byte, s.as_bytes())
}

/// The package of `name`, `%`-escapes undone; borrowed from `name` unless it had to change.
fn package_name(name: &str, naming: Naming) -> Cow<'_, str> {
    let plain = without_instantiation(name);
    let generated = match naming {
        Naming::Go120 => plain.starts_with("go:") || plain.starts_with("type:"),
        Naming::Go118 => plain.starts_with("go.") || plain.starts_with("type."),
        Naming::Older => false,
    };
    if generated {
        return Cow::Borrowed("");
    }
    let pathend = rfind(b'/', &plain).unwrap_or(0);
    let Some(i) = find(b'.', &plain[pathend..]) else {
        return Cow::Borrowed("");
    };
    let pkg = &plain[..pathend + i];
    // The brackets come after the package in every name that has both: the package is then
    // the start of `name` itself.
    let pkg = match name.get(..pkg.len()) {
        Some(start) if start == pkg => Cow::Borrowed(start),
        _ => Cow::Owned(pkg.to_string()),
    };
    path_unescape(pkg)
}

/// The symbol part of `name` (`Func`, `Type.Method`), govulncheck's `parseName` less the
/// package.
fn symbol_name(name: &str) -> String {
    let base = base_name(name);
    let receiver = receiver_name(name);
    if receiver.is_empty() {
        return base.to_string();
    }
    let receiver = if receiver.starts_with("(*") {
        receiver.trim_matches(|c| c == '(' || c == '*' || c == ')')
    } else {
        receiver
    };
    format!("{receiver}.{base}")
}

fn receiver_name(name: &str) -> &str {
    let plain = without_instantiation(name);
    let pathend = rfind(b'/', &plain).unwrap_or(0);
    let (Some(l), Some(r)) = (
        find(b'.', &plain[pathend..]),
        rfind(b'.', &plain[pathend..]),
    ) else {
        return "";
    };
    if l == r {
        return "";
    }
    // The package's dot is before any bracket, so `pathend + l` holds in the full name too.
    let Some(r) = name.get(pathend..).and_then(|s| rfind(b'.', s)) else {
        return "";
    };
    name.get(pathend + l + 1..pathend + r).unwrap_or("")
}

fn base_name(name: &str) -> &str {
    let plain = without_instantiation(name);
    match rfind(b'.', &plain) {
        Some(mut i) => {
            if plain.len() != name.len() {
                let bracket = find(b'[', name).unwrap_or(0);
                if i > bracket {
                    i = rfind(b'.', name).unwrap_or(i);
                }
            }
            name.get(i + 1..).unwrap_or("")
        }
        None => name,
    }
}

/// One function name as (package, symbol), govulncheck's `parseName`.
pub fn split(name: &str, naming: Naming) -> (String, String) {
    (package_name(name, naming).into_owned(), symbol_name(name))
}

/// URL path unescaping (`%2e` → `.`); a malformed escape leaves the text as it was.
fn path_unescape(s: Cow<'_, str>) -> Cow<'_, str> {
    if !s.contains('%') {
        return s;
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                None => return s,
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(unescaped) => Cow::Owned(unescaped),
        Err(_) => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(name: &str) -> (String, String) {
        split(name, Naming::Go120)
    }

    fn pair(p: &str, n: &str) -> (String, String) {
        (p.to_string(), n.to_string())
    }

    #[test]
    fn splits_functions_methods_and_pointer_receivers() {
        assert_eq!(
            s("golang.org/x/text/language.ParseAcceptLanguage"),
            pair("golang.org/x/text/language", "ParseAcceptLanguage")
        );
        assert_eq!(s("net/http.(*Client).Do"), pair("net/http", "Client.Do"));
        assert_eq!(
            s("crypto/tls.Conn.Handshake"),
            pair("crypto/tls", "Conn.Handshake")
        );
        assert_eq!(s("main.main"), pair("main", "main"));
        assert_eq!(s("runtime.main.func1"), pair("runtime", "main.func1"));
    }

    #[test]
    fn generic_instantiations_and_escapes_are_handled_as_govulncheck_does() {
        // The package and receiver are found without the brackets; the base name keeps them.
        assert_eq!(
            s("example.com/m/p.Map[go.shape.int,go.shape.string]"),
            pair("example.com/m/p", "Map[go.shape.int,go.shape.string]")
        );
        assert_eq!(
            s("example.com/m/p.(*Set[...]).Add"),
            pair("example.com/m/p", "Set[...].Add")
        );
        assert_eq!(
            s("gopkg.in/yaml%2ev3.(*parser).parse"),
            pair("gopkg.in/yaml.v3", "parser.parse")
        );
    }

    #[test]
    fn compiler_generated_names_have_no_package() {
        assert_eq!(s("type:.eq.main.T").0, "");
        assert_eq!(s("go:buildid").0, "");
        assert_eq!(split("type..eq.main.T", Naming::Go118).0, "");
        // Before 1.18's convention, `go.` is an ordinary prefix.
        assert_eq!(split("go.buildid", Naming::Older).0, "go");
    }

    #[test]
    fn main_is_filed_under_the_main_package_path() {
        let syms = PackageSymbols::from_names(
            ["main.main", "main.(*srv).run", "fmt.Println"],
            Naming::Go120,
            "example.com/svc/cmd/svc",
        );
        let main = syms.of("example.com/svc/cmd/svc").unwrap();
        assert!(main.contains("main") && main.contains("srv.run"));
        assert!(syms.has_package("fmt"));
        assert!(!syms.has_package("main"));
    }

    #[test]
    fn only_wanted_packages_are_kept_and_split_as_split_does() {
        let names = [
            "main.main",
            "gopkg.in/yaml%2ev3.(*parser).parse",
            "example.com/m/p.(*Set[...]).Add",
            "fmt.Println",
            "type:.eq.main.T",
        ];
        let all = PackageSymbols::from_names(names, Naming::Go120, "example.com/svc");
        let wanted = ["example.com/svc", "gopkg.in/yaml.v3", "example.com/m/p"];
        let some = PackageSymbols::from_names_of(names, Naming::Go120, "example.com/svc", |p| {
            wanted.contains(&p)
        });
        // The wanted packages as from_names files them (escapes undone, main renamed).
        let mut expected = all.clone();
        expected
            .by_package
            .retain(|p, _| wanted.contains(&p.as_str()));
        assert_eq!(some, expected);
        assert_eq!(some.by_package.len(), 3);
        for name in names {
            let (pkg, sym) = split(name, Naming::Go120);
            assert_eq!(package_name(name, Naming::Go120), pkg, "{name}");
            assert_eq!(symbol_name(name), sym, "{name}");
        }
    }

    #[test]
    fn hostile_names_do_not_panic() {
        for name in [
            "",
            ".",
            "..",
            "[",
            "]",
            "][",
            "a.b[",
            "a/b.c]d.e[",
            "%",
            "%zz.x",
            "a.(*",
            "/.",
            "é.ü[.]",
        ] {
            let _ = s(name);
            let _ = split(name, Naming::Go118);
        }
    }
}
