#!/usr/bin/env bash
# Download binary packages (*.deb) from Debian's archive, without touching the system's apt state
# (a private deb list under <dest-dir>/.apt).
#
#   ci/debian-binary.sh <dest-dir> <pkg>[:<arch>][=<version>] [...]
#
# Prints the path of each .deb (one per line). The arch is amd64 unless given (`:arm64`); without
# a version the newest one in the index is taken (Debian rotates point releases, so tests should
# not pin one). The file name and sha256 come from the archive's signed Packages index (suites
# trixie and bookworm), the bytes from the pool, and the sha256 is checked. Files already in
# <dest-dir> are not downloaded again; the index is fetched once and refreshed only when it lacks
# the package or names a file the pool no longer has. Tests use it for real upstream bytes that
# Debian ships only in binary packages (its non-free-firmware source pool is not reachable here).
set -euo pipefail
dest=${1:?usage: $0 <dest-dir> <pkg>[:<arch>][=<version>]...}; shift
. "$(dirname "$0")/apt-private.sh"
apt_private "$dest" bin.sources 'Types: deb' 'Suites: trixie bookworm' \
  'Components: main contrib non-free non-free-firmware' 'Architectures: amd64 arm64' 'Targets: Packages' \
  'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg'
# Both arches whatever dpkg is configured for; and apt-cache's binary cache kept (Debian's container
# images turn it off), so that a lookup in the cached index takes milliseconds, not seconds.
O=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$state/parts" -o "Dir::State::Lists=$state/lists"
   -o "Dir::Cache=$state/cache" -o Dir::Cache::pkgcache=pkgcache.bin
   -o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o APT::Architectures::=arm64)

fresh=
update() {
  apt-get "${O[@]}" -qq update >&2
  touch "$state/.updated"
  fresh=1
}

# "<version> <filename> <sha256>" of each stanza of $pkg for $arch (or for all arches) in the index.
stanzas() {
  apt-cache "${O[@]}" show "$pkg:$arch" "$pkg:all" 2>/dev/null | awk -v pkg="$pkg" -v arch="$arch" '
    function flush() { if (p == pkg && (a == arch || a == "all") && f != "") print v, f, s; p = a = v = f = s = "" }
    /^$/ { flush(); next }
    /^Package: / { p = $2 }
    /^Architecture: / { a = $2 }
    /^Version: / { v = $2 }
    /^Filename: / { f = $2 }
    /^SHA256: / { s = $2 }
    END { flush() }
  ' || true
}

# The stanza wanted: exactly $ver, or the newest when $ver is empty (versions compared by dpkg).
# Empty when the index has none.
resolve() {
  local best= line v
  while read -r line; do
    v=${line%% *}
    if [ -n "$ver" ]; then
      [ "$v" = "$ver" ] && { best=$line; break; }
    elif [ -z "$best" ] || dpkg --compare-versions "$v" gt "${best%% *}"; then
      best=$line
    fi
  done < <(stanzas)
  echo "$best"
}

# Downloads pool file $1 with sha256 $2 into $dest; fails (exit 1) on a sha256 mismatch, returns
# 1 when the pool no longer has it (an index older than the archive).
download() {
  local name tmp
  name=$(basename "$1")
  tmp="$dest/.$name.part"
  curl -fsSL --retry 3 -o "$tmp" "$uri/$1" || { rm -f "$tmp"; return 1; }
  echo "$2  $tmp" | sha256sum -c --quiet - >&2 || { echo "debian-binary: sha256 mismatch for $name" >&2; rm -f "$tmp"; exit 1; }
  mv "$tmp" "$dest/$name"
}

for spec in "$@"; do
  pkg=${spec%%=*}; ver=; [ "$pkg" != "$spec" ] && ver=${spec#*=}
  arch=amd64; case $pkg in *:*) arch=${pkg#*:}; pkg=${pkg%%:*} ;; esac
  found=
  if [ -n "$ver" ]; then
    found=$(ls "$dest/${pkg}_${ver#*:}_$arch.deb" "$dest/${pkg}_${ver#*:}_all.deb" 2>/dev/null | head -1 || true)
  fi
  if [ -z "$found" ]; then
    [ -e "$state/.updated" ] || update
    # An index from an earlier run may be older than the archive: when it lacks the package or
    # its file is gone from the pool, refresh it once and try again.
    while :; do
      v= file= sum=
      read -r v file sum < <(resolve) || true
      if [ -n "$file" ]; then
        found="$dest/$(basename "$file")"
        { [ -e "$found" ] || download "$file" "$sum"; } && break
      fi
      if [ -n "$fresh" ]; then
        if [ -z "$file" ]; then
          have=$(stanzas | awk '{print $1}' | sort -u | paste -sd ' ')
          echo "debian-binary: $pkg${ver:+=$ver} ($arch) is not in the Packages index of $uri (suites trixie bookworm)${have:+; versions there: $have}" >&2
        else
          echo "debian-binary: cannot download $uri/$file ($pkg=$v, $arch)" >&2
        fi
        exit 1
      fi
      update
    done
  fi
  echo "$found"
done
