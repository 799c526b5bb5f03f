//! `docker:NAME`: the image comes from a Docker daemon by `docker save`, run under the
//! process supervisor. `docker save` writes manifest.json last, so its output is spooled to
//! a temporary file (the archive as docker writes it, layers still packed) and read from
//! there like any tarball; the file is removed when the run ends.

use std::io::Read;

use anyhow::{Context, bail};

use crate::cancel::Cancel;
use crate::process::{self, Stop};

/// Runs `docker save NAME` into a temporary file.
pub fn save(name: &str, cancel: &Cancel) -> anyhow::Result<tempfile::NamedTempFile> {
    if name.is_empty() || name.starts_with('-') {
        bail!("docker:{name}: give an image name, e.g. docker:app:ci");
    }
    let mut spool = tempfile::Builder::new()
        .prefix("goready-image-")
        .suffix(".tar")
        .tempfile()
        .context("cannot create a temporary file for docker save's output")?;
    let cmd = process::cmd("docker", ["save", name]);
    let mut child = match process::spawn(&cmd, Stop::Kill) {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!(
                "docker:{name} needs the docker CLI, and it is not on PATH; save the image to a file instead (docker save {name} -o app.tar) and give its path"
            )
        }
        Err(e) => return Err(e).context("cannot run docker save"),
    };
    let mut stdout = child.take_stdout().context("docker save: no stdout")?;
    let mut stderr = child.take_stderr();
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.take(64 << 10).read_to_string(&mut text);
        }
        text
    });
    let mut buf = vec![0u8; 1 << 20];
    loop {
        if cancel.is_cancelled() {
            child.terminate(std::time::Duration::from_secs(2));
            cancel.check()?;
        }
        let n = stdout
            .read(&mut buf)
            .context("reading docker save's output")?;
        if n == 0 {
            break;
        }
        std::io::Write::write_all(&mut spool, &buf[..n]).context("writing docker save's output")?;
    }
    let status = child.wait().context("waiting for docker save")?;
    let stderr = err_reader.join().unwrap_or_default();
    if !status.success() {
        let said = stderr.trim();
        if said.contains("Cannot connect to the Docker daemon")
            || said.contains("docker daemon")
            || said.contains("connect:")
        {
            bail!(
                "docker:{name}: no Docker daemon answers ({said}); save the image to a file where one runs (docker save {name} -o app.tar) and give its path"
            );
        }
        bail!("docker save {name} failed ({status}): {said}");
    }
    Ok(spool)
}
