#!/usr/bin/env bash
# A local stand-in for the python:3.10-slim base image, for machines that reach no image registry
# (`make image-check` calls it when podman has no such image and cannot pull one).
#
# What python:3.10-slim is: Debian bookworm (slim), the runtime libraries CPython needs, and CPython
# 3.10 under /usr/local (pip and setuptools included). What this assembles: `debootstrap
# --variant=minbase bookworm` from Debian's packages, the same runtime libraries, and the CPython 3.10
# that scripts/find-python310 finds, copied at its own prefix (a pyenv build has an absolute RUNPATH)
# and linked from /usr/local/bin; then `podman import`, tagged as the real image is.
#
# One thing differs, on purpose, and only in the stand-in: /etc/pip.conf names the system certificate
# bundle copied from this machine, because pip inside a build trusts only its own bundle and this
# workplace reaches PyPI through its own CA. The Dockerfile knows nothing of it.
set -euo pipefail
TAG=${1:-docker.io/library/python:3.10-slim}
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
LIBS="ca-certificates netbase tzdata libssl3 libffi8 libsqlite3-0 libbz2-1.0 liblzma5 zlib1g libexpat1
      libreadline8 libncursesw6 libuuid1 libgdbm6 libnsl2 libtirpc3"

python=$(cd "$(dirname "$0")" && ./find-python310)
python=$(readlink -f "$python")
prefix=$(dirname "$(dirname "$python")")   # e.g. ~/.pyenv/versions/3.10.13
work=$(mktemp -d /var/tmp/standin-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs

echo "stand-in base: debootstrap $SUITE (minbase), runtime libraries, CPython from $prefix"
debootstrap --variant=minbase --include="$(echo $LIBS | tr ' ' ',')" "$SUITE" "$rootfs" "$MIRROR" \
  > "$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
# As slim images do: no apt lists, caches or documentation.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/usr/share/doc/* \
       "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*

mkdir -p "$rootfs$prefix"
cp -a "$prefix/." "$rootfs$prefix/"
# As the official image's Dockerfile does after installing CPython: no test suites, bytecode or static library.
find "$rootfs$prefix" -depth \( \( -type d -a \( -name test -o -name tests -o -name idle_test \) \) \
  -o \( -type f -a \( -name '*.pyc' -o -name '*.pyo' -o -name 'libpython*.a' \) \) \) -exec rm -rf '{}' +
for name in python3.10 python3 python pip3 pip; do
  target=$prefix/bin/$name
  [ -e "$rootfs$target" ] || target=$prefix/bin/python3.10
  [ "$name" = pip ] || [ "$name" = pip3 ] && target=$prefix/bin/pip3.10
  [ -e "$rootfs$target" ] && ln -sf "$target" "$rootfs/usr/local/bin/$name"
done
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$rootfs/etc/pip.conf"
chroot "$rootfs" /usr/local/bin/python -c 'import ssl, sqlite3, bz2, lzma, ctypes, readline, uuid' \
  || { echo "error: the stand-in's Python cannot import its standard modules" >&2; exit 1; }

tar -C "$rootfs" -c . | podman import \
  --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' - "$TAG" > /dev/null
echo "stand-in base: $TAG ($(podman image inspect --format '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}'))"
