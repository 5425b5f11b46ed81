#!/bin/sh
# Fetch the kernel's own `scripts/sign-file` from Debian's linux-kbuild-6.12 package (bookworm-security)
# into a cache directory, for the byte-for-byte comparison tests of talos-ext-kmod.
#
# Usage: fetch-sign-file.sh <cache-dir>
# Prints the path of the sign-file binary on stdout. Everything else goes to stderr.
# Needs apt-get and dpkg; the .deb is downloaded with `apt-get download` (no root needed for that, but
# `apt-get update` needs root when the package lists are missing).
set -eu
cache=${1:?usage: fetch-sign-file.sh <cache-dir>}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

find_existing() {
    for f in "$cache"/root/usr/lib/linux-kbuild-6.12*/scripts/sign-file; do
        [ -x "$f" ] && { echo "$f"; return 0; }
    done
    return 1
}
find_existing && exit 0

pick_package() {
    apt-cache search --names-only '^linux-kbuild-6\.12' | awk '{print $1}' | sort -V | tail -n 1
}
pkg=$(pick_package || true)
if [ -z "$pkg" ]; then
    echo "fetch-sign-file: no linux-kbuild-6.12 package in the apt lists, running apt-get update" >&2
    apt-get update >&2
    pkg=$(pick_package)
fi
[ -n "$pkg" ] || { echo "fetch-sign-file: no linux-kbuild-6.12 package found (is bookworm-security configured?)" >&2; exit 1; }
echo "fetch-sign-file: downloading $pkg" >&2
cd "$cache"
rm -f ./*.deb
apt-get download "$pkg" >&2
rm -rf root.tmp && mkdir root.tmp
dpkg -x ./"$pkg"_*.deb root.tmp
rm -rf root && mv root.tmp root
rm -f ./*.deb
find_existing
