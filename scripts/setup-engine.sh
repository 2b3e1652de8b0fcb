#!/usr/bin/env bash
# Installs and starts everything rebuild needs on a fresh Debian machine:
# a Docker engine (no bridge network), QEMU user emulation for aarch64 with
# its binfmt_misc handler, mmdebstrap (offline base images), binutils that
# understand aarch64, and the tools the tests and benchmarks compare against.
# Idempotent: running it again only checks and starts what is missing.
set -euo pipefail

log() { printf '[setup-engine] %s\n' "$*" >&2; }
need_root() { [ "$(id -u)" -eq 0 ] || { log "must run as root (apt-get, dockerd, binfmt_misc)"; exit 1; }; }
need_root

PACKAGES=(
  docker.io qemu-user-static binfmt-support mmdebstrap
  binutils binutils-aarch64-linux-gnu binutils-x86-64-linux-gnu
  b3sum file ca-certificates
  # npm ci builds the native modules (better-sqlite3, zstd-napi) with node-gyp
  g++ make python3
)
# Extra packages for tests (chromium for the HTML reports, docker-registry for
# the loopback OCI registry, rustc for the forensic toolchain cases, minisign to sign test artifacts, cross binutils so
# post-processing is tested on i386, arm, riscv64 and mips files,
# squashfs-tools/zip/zstd/xz-utils/python3 to make the archives and AppImages
# the artifact tests compare (rebuild itself unpacks only inside its
# container), git and busybox-static for the pkgforge/builds tests: a loopback
# git daemon and a tiny builder image, postgresql for the audit farm: the tests
# start their own throw-away clusters on 127.0.0.1 with initdb/pg_ctl) and for benchmarks (diffoscope, openssl, gcc for the compare bench's executables),
# chosen by flag.
TEST_PACKAGES=(
  chromium docker-registry rustc minisign git busybox-static postgresql
  squashfs-tools zip zstd xz-utils python3
  binutils-i686-linux-gnu binutils-arm-linux-gnueabihf binutils-riscv64-linux-gnu binutils-mips-linux-gnu
  # the forensic corpus on other toolchains and machines (built on the host,
  # foreign ones run with qemu-user and the cross sysroot)
  clang lld golang-go
  gcc-i686-linux-gnu libc6-dev-i386-cross gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  gcc-s390x-linux-gnu libc6-dev-s390x-cross binutils-s390x-linux-gnu
  gcc-mips-linux-gnu libc6-dev-mips-cross
)
# User-namespace remapping (container root is an unprivileged host uid) is
# on by default when the host supports it; --no-userns-remap turns it off.
USERNS_REMAP=auto
for arg in "$@"; do
  case "$arg" in
    --with-test-tools) PACKAGES+=("${TEST_PACKAGES[@]}") ;;
    --with-bench-tools) PACKAGES+=(diffoscope-minimal hyperfine openssl gcc libc6-dev) ;;
    --userns-remap) USERNS_REMAP=on ;;
    --no-userns-remap) USERNS_REMAP=off ;;
    *) log "unknown option $arg (known: --with-test-tools --with-bench-tools --userns-remap --no-userns-remap)"; exit 2 ;;
  esac
done

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# binfmt_misc: mount it if the kernel has it but nothing mounted it.
if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
  log "mounting binfmt_misc"
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  log "registering the qemu-aarch64 handler"
  update-binfmts --enable qemu-aarch64 2>/dev/null || true
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] && [ -e /usr/lib/binfmt.d/qemu-aarch64.conf ]; then
  # update-binfmts may be unable to act without systemd: register by hand.
  cat /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  log "could not register the aarch64 binfmt handler; aarch64 builds will fail"
  exit 1
fi

# dockerd without a bridge: containers get network none (or host, on request).
# REBUILD_ENGINE_SOCK / _DATA_ROOT / _EXEC_ROOT start a separate engine (a
# second daemon next to a running one, e.g. to try remapping on a machine
# whose engine is shared); by default it is the system's engine.
SOCK=${REBUILD_ENGINE_SOCK:-/var/run/docker.sock}
ENGINE_LOG=${REBUILD_ENGINE_LOG:-/var/log/rebuild-dockerd.log}
engine_up() { DOCKER_HOST=unix://$SOCK /usr/bin/docker version >/dev/null 2>&1; }
engine_remapped() {
  DOCKER_HOST=unix://$SOCK /usr/bin/docker info --format '{{json .SecurityOptions}}' 2>/dev/null | grep -q 'name=userns'
}

# The kernel can remap when it has user namespaces and this process is not
# itself confined to a partial uid map (as inside an unprivileged container).
userns_supported() {
  [ -e /proc/self/ns/user ] || return 1
  [ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 0)" -gt 0 ] || return 1
  read -r inner outer count </proc/self/uid_map || return 1
  [ "$inner" = 0 ] && [ "$outer" = 0 ] && [ "$count" = 4294967295 ]
}

# The first 65536 ids after every range already in the file (at least 100000).
free_range_start() {
  awk -F: 'BEGIN { m = 100000 } NF >= 3 { e = $2 + $3; if (e > m) m = e } END { print m }' "$1" 2>/dev/null || echo 100000
}

# dockerd --userns-remap=default maps container ids onto the `dockremap`
# user's subordinate ranges: create the user and the ranges if missing.
ensure_dockremap() {
  getent passwd dockremap >/dev/null ||
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin dockremap
  for f in /etc/subuid /etc/subgid; do
    touch "$f"
    grep -q '^dockremap:' "$f" || echo "dockremap:$(free_range_start "$f"):65536" >>"$f"
  done
}

REMAP_ARGS=()
case "$USERNS_REMAP" in
  off) ;;
  *)
    if userns_supported; then
      ensure_dockremap
      REMAP_ARGS=(--userns-remap=default)
    elif [ "$USERNS_REMAP" = on ]; then
      log "--userns-remap: this host has no usable user namespaces (max_user_namespaces, or a partial uid map)"
      exit 1
    else
      log "no user namespaces on this host: the engine runs without remapping (results record it)"
    fi
    ;;
esac

if ! engine_up; then
  log "starting dockerd (no bridge, no iptables${REMAP_ARGS:+, user namespaces remapped})"
  mkdir -p "$(dirname "$ENGINE_LOG")" "$(dirname "$SOCK")"
  EXTRA_ARGS=()
  [ -n "${REBUILD_ENGINE_DATA_ROOT:-}" ] && EXTRA_ARGS+=(--data-root "$REBUILD_ENGINE_DATA_ROOT")
  if [ -n "${REBUILD_ENGINE_EXEC_ROOT:-}" ]; then
    EXTRA_ARGS+=(--exec-root "$REBUILD_ENGINE_EXEC_ROOT" --pidfile "$REBUILD_ENGINE_EXEC_ROOT/dockerd.pid")
  fi
  nohup /usr/sbin/dockerd --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
    "${REMAP_ARGS[@]}" "${EXTRA_ARGS[@]}" --host "unix://$SOCK" >"$ENGINE_LOG" 2>&1 &
  for _ in $(seq 1 60); do engine_up && break; sleep 1; done
  engine_up || { log "dockerd did not start; see $ENGINE_LOG"; tail -20 "$ENGINE_LOG" >&2; exit 1; }
elif [ ${#REMAP_ARGS[@]} -gt 0 ] && ! engine_remapped; then
  # Never restart a running engine: other work may be using it.
  log "the running engine on $SOCK has no user-namespace remapping and is left as it is;"
  log "  results record userNamespace \"none\". To remap, stop it and run this script again."
fi
if engine_remapped; then log "engine: user namespaces remapped"; else log "engine: no user-namespace remapping"; fi
log "engine: $(DOCKER_HOST=unix://$SOCK /usr/bin/docker version --format '{{.Server.Version}}'), qemu: $(qemu-aarch64-static --version | head -1)"
