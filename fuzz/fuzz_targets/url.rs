//! Fuzzes the URLs users write (`--pprof`, `--base-url`, the forge's API URL): any text is
//! taken apart or refused with a message, never a panic, and what is accepted is coherent —
//! a scheme goready speaks, a host, the authority a `Host` header can carry, and a path that
//! starts at the root.
#![no_main]

use goready::http::UrlParts;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(url) = UrlParts::parse(text) else {
        return;
    };
    assert!(!url.host.is_empty(), "{text:?} gave no host");
    assert!(url.authority.contains(url.host.as_str()), "{text:?}: {url:?}");
    assert!(!url.authority.contains('@'), "{text:?} kept credentials");
    assert!(url.path.is_empty() || url.path.starts_with('/'), "{text:?}: {url:?}");
    let scheme = if url.https { "https://" } else { "http://" };
    assert!(
        text.get(..scheme.len()).is_some_and(|s| s.eq_ignore_ascii_case(scheme)),
        "{text:?} read as {scheme}"
    );
    // What was accepted reads again to the same parts.
    let again = UrlParts::parse(&format!("{scheme}{}{}", url.authority, url.path))
        .expect("an accepted URL, written back, parses");
    assert_eq!(again, url);
});
