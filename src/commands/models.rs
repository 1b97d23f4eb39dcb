//! `edgewatch models list|verify|import`: the model files `models.toml` names, on a
//! box that cannot download: what is there, whether each file is intact, and
//! bringing a file in from a USB stick (copied, checked, then moved into place).

use super::CommandError;
use serde::Deserialize;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
struct Manifest {
    model: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Entry {
    name: String,
    kind: String,
    package: String,
    version: String,
    licence: String,
    files: Vec<File>,
}

#[derive(Debug, Deserialize)]
struct File {
    path: String,
    sha256: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Ok,
    Missing,
    Damaged,
}

fn load(dir: &Path) -> Result<Manifest, CommandError> {
    let path = dir.join("models.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        CommandError::Usage(format!(
            "{}: {e} (pass --dir with the models directory: models/ in a checkout, /usr/share/edgewatch/models when installed)",
            path.display()
        ))
    })?;
    toml::from_str(&text).map_err(|e| CommandError::Usage(format!("{}: {e}", path.display())))
}

/// SHA-256 of a file, reading it in blocks; `progress` gets bytes read so far.
fn sha256_file(path: &Path, mut progress: impl FnMut(u64)) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
        done += n as u64;
        progress(done);
    }
    Ok(crate::digest::hex(ctx.finish().as_ref()))
}

/// Where a named file is: under the models directory, except that ONNX Runtime
/// ships in the daemon's package (`/usr/lib/edgewatch`), found the way the
/// daemon finds it when the models directory has no copy.
fn located(dir: &Path, e: &Entry, f: &File) -> PathBuf {
    let here = dir.join(&f.path);
    if e.kind != "runtime" || here.is_file() {
        return here;
    }
    crate::ml::runtime::locate(None)
        .ok()
        .filter(|p| p.file_name() == here.file_name())
        .unwrap_or(here)
}

fn state(path: &Path, f: &File) -> State {
    match sha256_file(path, |_| {}) {
        Ok(h) if h == f.sha256 => State::Ok,
        Ok(_) => State::Damaged,
        Err(_) => State::Missing,
    }
}

/// One line per file; `verify` hashes every file (slow for large ones), `list`
/// only checks presence and size.
pub fn list(dir: &Path, verify: bool) -> Result<(String, bool), CommandError> {
    let m = load(dir)?;
    let mut out = String::new();
    let mut all_ok = true;
    for e in &m.model {
        out.push_str(&format!(
            "{} ({}): {} {} from PyPI, {}\n",
            e.name, e.kind, e.package, e.version, e.licence
        ));
        for f in &e.files {
            let path = located(dir, e, f);
            let size = std::fs::metadata(&path).map(|m| m.len()).ok();
            let mut shown = match (verify, size) {
                (_, None) => "missing".to_owned(),
                (false, Some(s)) => format!("present, {} bytes", s),
                (true, Some(_)) => match state(&path, f) {
                    State::Ok => "ok (sha256 matches)".to_owned(),
                    State::Damaged => "DAMAGED (sha256 differs)".to_owned(),
                    State::Missing => "missing".to_owned(),
                },
            };
            all_ok &= !(shown.starts_with("missing") || shown.starts_with("DAMAGED"));
            if size.is_some() && !path.starts_with(dir) {
                shown.push_str(&format!(" at {}", path.display()));
            }
            out.push_str(&format!("  {:<52} {shown}\n", f.path));
        }
    }
    if !all_ok {
        out.push_str("fetch with scripts/fetch-models.sh, or bring the files and run `edgewatch models import FILE`\n");
    }
    Ok((out, all_ok))
}

/// Copies `src` into the models directory if its sha256 is one `models.toml` names.
pub fn import(dir: &Path, src: &Path) -> Result<String, CommandError> {
    let m = load(dir)?;
    let total = std::fs::metadata(src)
        .map_err(|e| CommandError::Usage(format!("{}: {e}", src.display())))?
        .len();
    let mut last = 0;
    let hash = sha256_file(src, |done| {
        let pct = done * 100 / total.max(1);
        if pct >= last + 10 || done == total {
            last = pct;
            eprint!("\rchecking {}: {pct:>3}%", src.display());
            let _ = std::io::stderr().flush();
        }
    })
    .map_err(|e| CommandError::Usage(format!("{}: {e}", src.display())))?;
    eprintln!();
    let Some((entry, file)) = m
        .model
        .iter()
        .flat_map(|e| e.files.iter().map(move |f| (e, f)))
        .find(|(_, f)| f.sha256 == hash)
    else {
        return Err(CommandError::Usage(format!(
            "{}: sha256 {hash} is not a file models.toml names (a damaged copy, or another version)",
            src.display()
        )));
    };
    let dest: PathBuf = dir.join(&file.path);
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| CommandError::Usage(format!("{}: {e}", parent.display())))?;
    }
    let part = dest.with_extension("part");
    std::fs::copy(src, &part)
        .map_err(|e| CommandError::Usage(format!("{}: {e}", part.display())))?;
    if sha256_file(&part, |_| {}).ok().as_deref() != Some(hash.as_str()) {
        let _ = std::fs::remove_file(&part);
        return Err(CommandError::Usage(format!(
            "{}: the copy differs from the source (disk full?)",
            part.display()
        )));
    }
    std::fs::rename(&part, &dest)
        .map_err(|e| CommandError::Usage(format!("{}: {e}", dest.display())))?;
    Ok(format!(
        "imported {} as {} ({})\n",
        src.display(),
        dest.display(),
        entry.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_verify_and_import_by_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("models.toml"),
            format!(
                "[[model]]\nname = \"m\"\nkind = \"embedding\"\npackage = \"p\"\nversion = \"1\"\nlicence = \"MIT\"\n\
                 files = [{{ path = \"m/w.bin\", sha256 = \"{}\" }}]\n",
                crate::digest::sha256_hex(b"weights")
            ),
        )
        .unwrap();
        let (out, ok) = list(d, true).unwrap();
        assert!(
            !ok && out.contains("m/w.bin") && out.contains("missing"),
            "{out}"
        );
        // A stranger file is refused; the right one lands in place, verified.
        let usb = tempfile::tempdir().unwrap();
        std::fs::write(usb.path().join("other.bin"), b"nope").unwrap();
        let e = import(d, &usb.path().join("other.bin"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a file models.toml names"), "{e}");
        std::fs::write(usb.path().join("w.bin"), b"weights").unwrap();
        assert!(import(d, &usb.path().join("w.bin"))
            .unwrap()
            .contains("imported"));
        let (out, ok) = list(d, true).unwrap();
        assert!(ok && out.contains("ok (sha256 matches)"), "{out}");
        // A damaged file shows.
        std::fs::write(d.join("m/w.bin"), b"weightz").unwrap();
        let (out, ok) = list(d, true).unwrap();
        assert!(!ok && out.contains("DAMAGED"), "{out}");
    }
}
