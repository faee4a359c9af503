#!/usr/bin/env bash
# Makes the local base image etcd-ts/base:bookworm-node<version> when it is missing (reused when it exists):
# a Debian bookworm root filesystem from debootstrap (--variant=minbase, plus libstdc++6 and
# ca-certificates, which node needs), `docker import`ed, with this machine's Node 20 binary in
# /usr/local/bin/node (where the public node:20-bookworm-slim image has it). For machines that cannot pull
# node:20-bookworm-slim; the Dockerfile's default stays that public image.
#
# Why this Node: the project needs Node >= 20 (package.json engines; Debian bookworm's own nodejs is
# 18.20), and the Node 20 here is an installed .deb (NodeSource's nodejs, repackaged) whose repository is
# not configured, so apt cannot download it again. Its binary is copied from the installed package after
# `dpkg --verify nodejs` says its files are the package's; node needs only libc, libstdc++ and libgcc,
# all from Debian. npm is not carried: the images are built from the host's npm ci (see build.sh).
# Prints the image name on stdout. Needs root (debootstrap).
set -euo pipefail
node_bin="$(command -v node)"
version="$("$node_bin" --version | sed 's/^v//')"
case "$version" in 20.*) ;; *) echo "base.sh: needs Node 20 on the host, found $version" >&2; exit 1 ;; esac
image="etcd-ts/base:bookworm-node${version}"
if docker image inspect "$image" >/dev/null 2>&1; then echo "$image"; exit 0; fi

pkg="$(dpkg -S "$(readlink -f "$node_bin")" 2>/dev/null | cut -d: -f1 || true)"
if [ -n "$pkg" ]; then
  # an empty answer: every file of the package is as installed
  if [ -n "$(dpkg --verify "$pkg" 2>&1 | grep ' /usr/bin/node$' || true)" ]; then
    echo "base.sh: $(readlink -f "$node_bin") differs from package $pkg's" >&2; exit 1
  fi
  pkg_version="$(dpkg-query -W -f '${Version}' "$pkg")"
else
  pkg_version="(not from a package)"
fi
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
work="$(mktemp -d "${TMPDIR:-/tmp}/etcd-ts-base.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "base.sh: debootstrap bookworm (minbase) from $mirror into $work" >&2
debootstrap --variant=minbase --include=libstdc++6,ca-certificates bookworm "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -20 "$work/debootstrap.log" >&2; exit 1; }
install -m 0755 "$(readlink -f "$node_bin")" "$work/root/usr/local/bin/node"
# what an image does not need: apt's downloaded lists and packages, docs, man pages, locales
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"* \
  "$work/root/usr/share/doc/"* "$work/root/usr/share/man/"* "$work/root/usr/share/info/"* "$work/root/usr/share/locale/"*
chroot "$work/root" /usr/local/bin/node --version >/dev/null
tar -C "$work/root" --numeric-owner -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' \
  --message "debootstrap bookworm minbase + node $version ($pkg $pkg_version)" \
  - "$image" >/dev/null
echo "base.sh: made $image" >&2
echo "$image"
