"""Publish a pkgforge/builds package as build.py does, for tests.

  python3 builds_publish.py <build.toml> <host> <image-as-pulled> <out-dir>

The steps of build.py's build(): fetch exactly the pinned commit and check
it, SOURCE_DATE_EPOCH from the commit, `docker run` of `sh -euc` in /build
with build.py's environment, stage the artifacts with modes by content,
and the archive written with gzip + tarfile. Differences from build.py:
the image reference is the one pulled from the loopback registry, and the
container has no network (tests stay on 127.0.0.1).
"""
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

cfg = tomllib.loads(Path(sys.argv[1]).read_text())
host, image, out = sys.argv[2], sys.argv[3], Path(sys.argv[4])
work = out / "work"
repo = work / "src"
shutil.rmtree(work, ignore_errors=True)
repo.mkdir(parents=True)
src, b = cfg["source"], cfg["build"]
target = b["target"][host]


def git(*args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


git("init", "-q")
git("remote", "add", "origin", src["git"])
git("fetch", "-q", "--depth", "1", "origin", src["commit"])
git("checkout", "-q", "FETCH_HEAD")
assert git("rev-parse", "HEAD") == src["commit"]
epoch = git("show", "-s", "--format=%ct", "HEAD")

env = ["-e", f"TARGET={target}", "-e", f"SOURCE_DATE_EPOCH={epoch}", "-e", "LC_ALL=C", "-e", "TZ=UTC",
       "-e", "CARGO_HOME=/build/.cargo"]
for k, v in (b.get("env") or {}).items():
    env += ["-e", f"{k}={v}"]
deps = b.get("deps") or []
prelude = f"apk add --no-cache {' '.join(deps)}\n" if deps else ""
# --userns host: the publisher's own build writes into the caller's clone (an engine that remaps user
# namespaces would make its root an unprivileged uid there); rebuild's containers never get this.
subprocess.run(["docker", "run", "--rm", "--userns", "host", "--network", "none", "-v", f"{repo.resolve()}:/build", "-w", "/build",
                *env, image, "sh", "-euc", prelude + b["script"]["run"]], check=True)

stage = work / "stage"
stage.mkdir()
for frm, to in cfg["artifact"].items():
    path = repo / frm.replace("${target}", target)
    shutil.copy2(path, stage / to)
    is_elf = (stage / to).open("rb").read(4) == b"\x7fELF"
    (stage / to).chmod(0o755 if is_elf else 0o644)

archive = out / f"{cfg['pkg']['name']}-{src['version']}-{host}.tar.gz"
# the archive step of build.py, shared with the archive tests
subprocess.run([sys.executable, str(Path(__file__).with_name("builds_archive.py")), str(stage), str(archive), epoch], check=True)
shutil.rmtree(work, ignore_errors=True)
print(archive)
