#!/usr/bin/env bash
# Sourced by debian-source.sh and debian-binary.sh: a private apt state under <dest>/.apt, so the
# system's apt configuration and lists are never touched.
#
#   apt_private <dest-dir> <sources-file-name> <stanza-without-URIs...>
#
# Makes <dest-dir> absolute in $dest, sets $state (<dest>/.apt), $uri (the Debian URI the
# machine is configured with) and writes $state/parts/<sources-file-name> with `URIs: $uri`
# inserted after the stanza's first line (`Types: ...`).
apt_private() {
  mkdir -p "$1"
  dest=$(cd "$1" && pwd)
  state="$dest/.apt"
  mkdir -p "$state/parts" "$state/lists/partial" "$state/cache/archives/partial"
  uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  uri=${uri:-http://deb.debian.org/debian}
  local name=$2 types=$3; shift 3
  { printf '%s\nURIs: %s\n' "$types" "$uri"; printf '%s\n' "$@"; } > "$state/parts/$name"
}
