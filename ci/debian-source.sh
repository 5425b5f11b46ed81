#!/usr/bin/env bash
# Download upstream release tarballs (*.orig.tar.*) from Debian's source archive, without
# touching the system's apt state (a private deb-src list under <dest-dir>/.apt).
#
#   ci/debian-source.sh <dest-dir> <srcpkg>=<version> [...]
#
# Prints the path of each .orig tarball (one per line). The file name and sha256 come from the
# archive's signed Sources index, the bytes from the pool, and the sha256 is checked. Files
# already in <dest-dir> are not downloaded again. Tests use it to build real upstream code: the
# pinned upstream URLs are unreachable here, Debian's archive is reachable.
set -euo pipefail
dest=${1:?usage: $0 <dest-dir> <srcpkg>=<version>...}; shift
. "$(dirname "$0")/apt-private.sh"
apt_private "$dest" src.sources 'Types: deb-src' 'Suites: sid trixie forky' \
  'Components: main contrib non-free non-free-firmware' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg'
O=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$state/parts" -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache")
updated=
for spec in "$@"; do
  pkg=${spec%%=*}; ver=${spec#*=}
  upstream=${ver#*:}; upstream=${upstream%-*}
  found=$(ls "$dest/${pkg}_${upstream}".orig.tar.* "$dest/${pkg}_${upstream}".tar.* 2>/dev/null | grep -v '\.asc$' | head -1 || true)
  if [ -z "$found" ]; then
    if [ -z "$updated" ] && [ ! -e "$state/.updated" ]; then
      apt-get "${O[@]}" -qq update >&2
      touch "$state/.updated"
    fi
    updated=1
    # The stanza of exactly this version: its directory and the orig tarball's sha256 and name.
    read -r dir sum name < <(apt-cache "${O[@]}" showsrc "$pkg" | awk -v ver="$ver" -v up="$upstream" -v pkg="$pkg" '
      function flush() { if (p == pkg && v == ver && n != "") { print d, s, n; done = 1; exit } p = v = d = n = s = "" }
      /^$/ { flush(); next }
      /^Package: / { p = $2 }
      /^Version: / { v = $2 }
      /^Directory: / { d = $2 }
      /^Checksums-Sha256:/ { insum = 1; next }
      /^[^ ]/ { insum = 0 }
      # The name prefix is compared literally: versions like `0.18+ds` hold regex characters.
      insum && index($3, pkg "_" up) == 1 && substr($3, length(pkg "_" up) + 1) ~ /^(\.orig)?\.tar\.[a-z0-9]+$/ { s = $1; n = $3 }
      END { if (!done) flush() }
    ')
    if [ -z "${name:-}" ]; then
      echo "debian-source: $pkg=$ver has no .orig tarball in the Sources index (see: apt-cache showsrc $pkg)" >&2
      exit 1
    fi
    tmp="$dest/.$name.part"
    curl -fsSL --retry 3 -o "$tmp" "$uri/$dir/$name"
    echo "$sum  $tmp" | sha256sum -c --quiet - >&2 || { echo "debian-source: sha256 mismatch for $name" >&2; rm -f "$tmp"; exit 1; }
    mv "$tmp" "$dest/$name"
    found="$dest/$name"
    unset dir sum name
  fi
  echo "$found"
done
