#!/usr/bin/env bash
# Builds the lab's base image without a registry: debootstrap (minbase) from the
# machine's own apt mirror, packages installed in a chroot, then `docker import`.
# Usage: base-image.sh IMAGE_TAG PACKAGES...   (env: LAB_CACHE dir for the rootfs tarball)
# Re-uses $LAB_CACHE/base-<suite>-<hash of the package list>.tar when it exists, so a second
# `lab:up` imports in seconds; the image carries the list in its label l4lb-lab.packages.
set -euo pipefail

tag=$1; shift
pkgs=("$@")
cache=${LAB_CACHE:?LAB_CACHE must name a cache directory}
. /etc/os-release
suite=${VERSION_CODENAME:-bookworm}
# The cache is per package list: a changed list (lab.yaml packages) makes a new rootfs.
pkgkey=$(printf '%s\n' "${pkgs[@]}" | sort | tr '\n' ' ')
tarball=$cache/base-$suite-$(printf '%s' "$pkgkey" | sha256sum | cut -c1-12).tar

# The first apt source serving the release suite itself (not -security/-updates).
find_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # deb822 stanzas: print URIs of stanzas whose Suites contain the bare suite and Types has deb
    awk -v suite="$suite" '
      BEGIN { RS=""; FS="\n" }
      {
        uris=""; ok=0; deb=0; enabled=1
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { uris=$i; sub(/^URIs:[ \t]*/, "", uris) }
          if ($i ~ /^Suites:/) { n=split(substr($i, 8), s, /[ \t]+/); for (j = 1; j <= n; j++) if (s[j] == suite) ok=1 }
          if ($i ~ /^Types:/ && $i ~ /(^|[ \t])deb([ \t]|$)/) deb=1
          if ($i ~ /^Enabled:[ \t]*no/) enabled=0
        }
        if (ok && deb && enabled && uris != "") { split(uris, u, /[ \t]+/); print u[1] }
      }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v suite="$suite" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i+1) == suite) print $i }' "$f"
  done
}

if [ ! -s "$tarball" ]; then
  mirror=$(find_mirror | grep -E '^(https?|file)://' | head -n1 || true)
  [ -n "$mirror" ] || { echo "base-image: no apt source for suite $suite found in /etc/apt" >&2; exit 1; }
  echo "base-image: debootstrap $suite from the configured apt mirror"
  rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
  cleanup() { umount "$rootfs/proc" 2>/dev/null || true; rm -rf "$rootfs"; }
  trap cleanup EXIT
  debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" > "$cache/debootstrap.log" 2>&1 \
    || { tail -n 30 "$cache/debootstrap.log" >&2; exit 1; }
  # No daemon may start inside the chroot while packages install.
  printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"
  chmod +x "$rootfs/usr/sbin/policy-rc.d"
  mount -t proc proc "$rootfs/proc"
  chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}" \
    > "$cache/chroot-install.log" 2>&1 || { tail -n 30 "$cache/chroot-install.log" >&2; exit 1; }
  chroot "$rootfs" apt-get clean
  umount "$rootfs/proc"
  rm -f "$rootfs/usr/sbin/policy-rc.d"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
  tar --numeric-owner -C "$rootfs" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
fi
# The label lets lab:up see that an existing image was made for another package list.
docker import -c "LABEL l4lb-lab.packages=\"${pkgkey% }\"" "$tarball" "$tag" > /dev/null
echo "base-image: imported $tag"
