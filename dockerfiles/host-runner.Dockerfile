# rebuild's host-runner image: where the outer part of a pkgforge 2025 recipe
# runs (the `run` script that calls `docker run … <builder> bash -l -c '…'`,
# `docker cp`, then sorts files with `file`, `rsync` and the like).
# Its `docker` is rebuild's shim (runners/docker-shim), which forwards the
# subset recipes use to rebuild; the recipe never sees the engine's socket.
#
# Built offline by `rebuild runner bootstrap` on the same mmdebstrap base as
# the Debian builder (ARG BASE); the build context is this file plus runners/.
ARG BASE
FROM ${BASE}

ENV DEBIAN_FRONTEND="noninteractive" \
    GIT_ASKPASS="/bin/echo" \
    GIT_TERMINAL_PROMPT="0" \
    LANG="C.UTF-8" \
    LC_ALL="C.UTF-8" \
    PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

COPY runners/ /opt/rebuild/runners/
RUN chmod 0755 /opt/rebuild/runners/docker-shim \
 && ln -sf /opt/rebuild/runners/docker-shim /usr/local/bin/docker \
 && chmod 0755 /opt/rebuild/runners/git-pin \
 && ln -sf /opt/rebuild/runners/git-pin /usr/local/bin/git \
 && mkdir -p /build-bins

WORKDIR /
CMD ["bash"]
