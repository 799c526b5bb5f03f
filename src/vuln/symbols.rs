//! Function names of a binary (`net/http.(*Client).Do`, `golang.org/x/text/language.Parse`,
//! `main.main`) split into the (package, symbol) pairs the database's `imports` speak of
//! (`net/http`, `Client.Do`), the way govulncheck v1.9.0 splits them: generic instantiations
//! (`[...]`, `[go.shape.int]`) are skipped while finding the package and receiver, a pointer
//! receiver's `(*T)` becomes `T`, the package path is URL-unescaped (`%2e` → `.`), and
//! compiler-generated names (`go:`/`type:` since Go 1.20, `go.`/`type.` before) belong to no
//! package.

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
        let mut by_package: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for name in names {
            let (pkg, sym) = split(name, naming);
            let pkg = if pkg == "main" && !main_path.is_empty() {
                main_path.to_string()
            } else {
                pkg
            };
            by_package.entry(pkg).or_default().insert(sym);
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
    match (name.find('['), name.rfind(']')) {
        (Some(start), Some(end)) if start < end => {
            std::borrow::Cow::Owned(format!("{}{}", &name[..start], &name[end + 1..]))
        }
        _ => std::borrow::Cow::Borrowed(name),
    }
}

fn package_name(name: &str, naming: Naming) -> String {
    let plain = without_instantiation(name);
    let generated = match naming {
        Naming::Go120 => plain.starts_with("go:") || plain.starts_with("type:"),
        Naming::Go118 => plain.starts_with("go.") || plain.starts_with("type."),
        Naming::Older => false,
    };
    if generated {
        return String::new();
    }
    let pathend = plain.rfind('/').unwrap_or(0);
    match plain[pathend..].find('.') {
        Some(i) => plain[..pathend + i].to_string(),
        None => String::new(),
    }
}

fn receiver_name(name: &str) -> &str {
    let plain = without_instantiation(name);
    let pathend = plain.rfind('/').unwrap_or(0);
    let (Some(l), Some(r)) = (plain[pathend..].find('.'), plain[pathend..].rfind('.')) else {
        return "";
    };
    if l == r {
        return "";
    }
    // The package's dot is before any bracket, so `pathend + l` holds in the full name too.
    let Some(r) = name.get(pathend..).and_then(|s| s.rfind('.')) else {
        return "";
    };
    name.get(pathend + l + 1..pathend + r).unwrap_or("")
}

fn base_name(name: &str) -> &str {
    let plain = without_instantiation(name);
    match plain.rfind('.') {
        Some(mut i) => {
            if plain.len() != name.len() {
                let bracket = name.find('[').unwrap_or(0);
                if i > bracket {
                    i = name.rfind('.').unwrap_or(i);
                }
            }
            name.get(i + 1..).unwrap_or("")
        }
        None => name,
    }
}

/// One function name as (package, symbol), govulncheck's `parseName`.
pub fn split(name: &str, naming: Naming) -> (String, String) {
    let mut symbol = base_name(name).to_string();
    let receiver = receiver_name(name);
    if !receiver.is_empty() {
        let receiver = if receiver.starts_with("(*") {
            receiver.trim_matches(|c| c == '(' || c == '*' || c == ')')
        } else {
            receiver
        };
        symbol = format!("{receiver}.{symbol}");
    }
    let package = package_name(name, naming);
    (path_unescape(&package), symbol)
}

/// URL path unescaping (`%2e` → `.`); a malformed escape leaves the text as it was.
fn path_unescape(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
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
                None => return s.to_string(),
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
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
