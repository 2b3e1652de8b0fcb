# syntax=docker/dockerfile:1
# An alpine builder modelled on pkgforge's alpine-builder
# (pkgforge/devscripts Github/Runners/alpine-builder.dockerfile), for users
# WITH registry access. rebuild cannot build it offline: it starts FROM
# alpine:edge and installs packages from Alpine's mirrors, and no registry is
# reachable where rebuild bootstraps its Debian images. To use it:
#
#   docker build --platform linux/arm64 -t local/alpine-builder:aarch64 \
#     -f dockerfiles/alpine-builder.Dockerfile dockerfiles/
#   rebuild build <recipe> --arch aarch64 --image-map alpine-builder=local/alpine-builder:aarch64
#
# pkgforge's image installs several hundred packages and tools downloaded from
# its own servers (soar, eget, askalono, micro, go); this keeps the toolchain
# and the tools recipes use most, so outputs can still differ from pkgforge's.
ARG ALPINE=alpine:edge
FROM ${ALPINE}

RUN apk update \
 && apk upgrade --no-interactive \
 && apk add --no-interactive --no-cache \
      7zip acl-static alpine-sdk attr-static autoconf autoconf-archive automake \
      b3sum bash bc binutils bison brotli-static build-base bzip2-static \
      ca-certificates ccache clang cmake coreutils curl curl-static diffutils \
      dos2unix file findutils flex gawk gettext gettext-static git grep gzip \
      jq libarchive-static libc-dev libtool linux-headers lld lz4-static make \
      meson mold musl musl-dev musl-utils nasm ninja-build openssl-dev \
      openssl-libs-static patch patchelf perl pkgconf python3 rsync sed \
      shadow tar texinfo upx util-linux util-linux-static wget xxhash xz \
      xz-static yasm zig zlib-dev zlib-static zstd zstd-static \
 && ln -sf "/usr/bin/$(uname -m)-alpine-linux-musl-gcc" /usr/local/bin/musl-gcc \
 && mkdir -p /build-bins

ENV GIT_ASKPASS="/bin/echo"
ENV GIT_TERMINAL_PROMPT="0"
