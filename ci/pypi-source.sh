#!/usr/bin/env bash
# Download source distributions (sdists) from PyPI, for upstream C code that is published there
# with its complete sources (libnvme's sdist is the whole meson project).
#
#   ci/pypi-source.sh <dest-dir> <project>==<version> [...]
#
# Prints the path of each sdist (one per line). The file and its sha256 come from the project's
# PEP 503 page (https://pypi.org/simple/<project>/, the link's `#sha256=` fragment), the bytes
# from the link, and the sha256 is checked. Files already in <dest-dir> are not downloaded again.
# Tests use it like `testing::debian_orig` (Debian's source archive): the pinned upstream URLs
# are unreachable here, PyPI is reachable. Set PYPI_SIMPLE_URL to use a mirror of the simple index.
set -euo pipefail
dest=${1:?usage: $0 <dest-dir> <project>==<version>...}; shift
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
index=${PYPI_SIMPLE_URL:-https://pypi.org/simple}

# PEP 503 name normalization: lowercase, runs of `-`, `_`, `.` become one `-`.
normalize() { printf '%s' "$1" | tr 'A-Z' 'a-z' | sed -E 's/[-_.]+/-/g'; }

for spec in "$@"; do
  case "$spec" in
    *==*) project=${spec%%==*}; version=${spec#*==} ;;
    *) echo "pypi-source: \`$spec\` is not <project>==<version>" >&2; exit 1 ;;
  esac
  want=$(normalize "$project")
  found=
  for ext in tar.gz zip tar.bz2; do
    for f in "$dest"/*-"$version.$ext"; do
      [ -f "$f" ] || continue
      base=$(basename "$f"); stem=${base%-"$version.$ext"}
      if [ "$(normalize "$stem")" = "$want" ]; then found=$f; break 2; fi
    done
  done
  if [ -z "$found" ]; then
    page=$(curl -fsSL --retry 3 -H 'Accept: text/html' "$index/$want/") \
      || { echo "pypi-source: cannot read $index/$want/" >&2; exit 1; }
    # The sdist link of exactly this version: `<name>-<version>.<ext>#sha256=<hex>`, name
    # compared after normalization (older sdists keep the project's spelling, newer ones `_`).
    url= sum= name=
    while read -r href; do
      file=${href%%#*}; file=${file##*/}; file=${file%%\?*}
      for ext in tar.gz zip tar.bz2; do
        case "$file" in
          *-"$version.$ext")
            stem=${file%-"$version.$ext"}
            if [ "$(normalize "$stem")" = "$want" ]; then
              url=${href%%#*}; name=$file
              sum=$(printf '%s' "$href" | sed -nE 's/.*#sha256=([0-9a-f]{64}).*/\1/p')
            fi ;;
        esac
      done
      [ -n "$name" ] && break
    done < <(printf '%s' "$page" | grep -oE 'href="[^"]+"' | sed -E 's/^href="//; s/"$//; s/&amp;/\&/g')
    if [ -z "$name" ]; then
      echo "pypi-source: $project==$version has no sdist on $index/$want/" >&2
      exit 1
    fi
    if [ -z "$sum" ]; then
      echo "pypi-source: the link to $name carries no #sha256= (refusing an unverified download)" >&2
      exit 1
    fi
    case "$url" in
      http://* | https://*) ;;
      *) url="$index/$want/$url" ;;
    esac
    tmp="$dest/.$name.part"
    curl -fsSL --retry 3 -o "$tmp" "$url" || { rm -f "$tmp"; echo "pypi-source: downloading $url failed" >&2; exit 1; }
    echo "$sum  $tmp" | sha256sum -c --quiet - >&2 || { echo "pypi-source: sha256 mismatch for $name" >&2; rm -f "$tmp"; exit 1; }
    mv "$tmp" "$dest/$name"
    found="$dest/$name"
  fi
  echo "$found"
done
