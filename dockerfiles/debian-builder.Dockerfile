# rebuild's Debian builder image, modelled on pkgforge's debian-builder-unstable
# (pkgforge/devscripts Github/Runners/debian-builder-unstable.dockerfile).
#
# Built offline by `rebuild runner bootstrap`: BASE is the local Debian bookworm
# image that mmdebstrap made from dockerfiles/debian-builder.packages (pkgforge
# installs its packages with apt at this point; here they are already in the
# base). The build runs with network none, so nothing below may download.
# Differences from pkgforge's image: Debian bookworm instead of unstable, the
# C.UTF-8 locale (bookworm's glibc has it built in; generating en_US.UTF-8 would
# need the locales package and localedef under QEMU), no sudo, no tools fetched
# from pkgforge's servers (soar, eget, appimagetool, dockerc, go, rustup).
ARG BASE
FROM ${BASE}

ENV DEBIAN_FRONTEND="noninteractive" \
    GIT_ASKPASS="/bin/echo" \
    GIT_TERMINAL_PROMPT="0" \
    LANG="C.UTF-8" \
    LC_ALL="C.UTF-8" \
    PATH="/usr/local/musl/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# One RUN: under QEMU every step costs seconds. /build-bins is where pkgforge's
# 2025 recipes collect their outputs (`docker cp <name>:/build-bins/. …`).
RUN mkdir -p /build-bins \
 && { id runner >/dev/null 2>&1 || useradd --create-home --shell /bin/bash runner; } \
 && echo "LC_ALL=C.UTF-8" >> /etc/environment \
 && echo "LANG=C.UTF-8" > /etc/locale.conf

# rebuild's git wrapper: with REBUILD_SOURCE_COMMIT set (a `HEAD-<sha>-<date>`
# version), a `git clone` is checked out at the published commit.
COPY runners/git-pin /usr/local/bin/git
RUN chmod 0755 /usr/local/bin/git

WORKDIR /
CMD ["bash"]
