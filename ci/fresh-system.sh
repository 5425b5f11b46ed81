#!/usr/bin/env bash
# Runs a command of this workspace on a fresh Debian 12 system, to check that `ci/setup.sh`
# installs everything the README's commands need (a long-lived development machine hides a
# package installed by hand). As root:
#
#   bash ci/fresh-system.sh [--dir DIR] [-- COMMAND...]     (default COMMAND: .ci/run)
#
# What it does, and says so as it goes:
#   - installs debootstrap when missing (apt-get),
#   - makes DIR/root (default /var/tmp/talos-ext-fresh/root, removed first) a minimal bookworm
#     (`debootstrap --variant=minbase`, plus ca-certificates) from the Debian archive this
#     machine's apt uses,
#   - adds only what a new machine of ours has before the README's commands run: this machine's
#     apt sources and TLS trust (its CA certificates, pip's `cert`), Rust (rustup's toolchains and
#     proxies) and Go (GOROOT, as /usr/local/go),
#   - clones this workspace's HEAD (committed work only) into DIR/root/work/talos-ext,
#   - mounts /proc, /sys, /dev and /dev/pts into it (unmounted on exit, whatever happens) and
#     runs COMMAND there in a clean environment, printing its wall time and exit status.
# DIR stays for inspection (logs, caches); the next run removes it. Nothing else on the machine
# changes. A run of `.ci/run` takes about as long as on the machine itself (35 min on 2 cores).
set -euo pipefail

say() { printf 'fresh-system: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

DIR=/var/tmp/talos-ext-fresh
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) [ $# -ge 2 ] || die "--dir needs a directory"; DIR=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument \`$1\` (usage: bash ci/fresh-system.sh [--dir DIR] [-- COMMAND...])" ;;
  esac
done
[ $# -gt 0 ] || set -- .ci/run
COMMAND="$*"

[ "$(id -u)" -eq 0 ] || die "run me as root (debootstrap, chroot and mounts need it)"
WORKSPACE=$(cd "$(dirname "$0")/.." && pwd)
ROOT=$DIR/root

# The Rust and Go a new machine of ours comes with: this machine's.
RUSTUP=${RUSTUP_HOME:-$HOME/.rustup}
CARGO=${CARGO_HOME:-$HOME/.cargo}
[ -d "$RUSTUP/toolchains" ] || die "no rustup toolchains in $RUSTUP (set RUSTUP_HOME)"
[ -x "$CARGO/bin/cargo" ] || die "no cargo in $CARGO/bin (set CARGO_HOME)"
GO=$(command -v go || true)
[ -z "$GO" ] && [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go
[ -n "$GO" ] || die "no Go toolchain (\`go\` on PATH or /usr/local/go)"
GOROOT=$("$GO" env GOROOT)

SOURCES=/etc/apt/sources.list.d/debian.sources
[ -f "$SOURCES" ] || die "$SOURCES not found: I take the Debian archive's URI from it"
MIRROR=$(awk '/^URIs:/ { print $2; exit }' "$SOURCES")
[ -n "$MIRROR" ] || die "$SOURCES has no URIs: line"

if ! command -v debootstrap >/dev/null; then
  say "installing debootstrap (apt-get install debootstrap)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

mounted=()
# shellcheck disable=SC2317  # called by the EXIT trap
unmount_all() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[$i]}" 2>/dev/null || umount -l "${mounted[$i]}" || true; done
}
trap unmount_all EXIT

for m in dev/pts dev sys proc; do
  if mountpoint -q "$ROOT/$m" 2>/dev/null; then umount "$ROOT/$m" || umount -l "$ROOT/$m"; fi
done
if [ -e "$DIR" ]; then
  say "removing the previous fresh system $DIR"
  rm -rf --one-file-system "$DIR"
fi
mkdir -p "$DIR"

started=$(date +%s)
# ca-certificates too: the machine's own CA is added to it below (a new machine has both).
say "debootstrap --variant=minbase --include=ca-certificates bookworm $ROOT $MIRROR (log: $DIR/debootstrap.log)"
debootstrap --variant=minbase --include=ca-certificates bookworm "$ROOT" "$MIRROR" >"$DIR/debootstrap.log" 2>&1 \
  || die "debootstrap failed: see $DIR/debootstrap.log"

say "adding this machine's apt sources and TLS trust"
rm -f "$ROOT/etc/apt/sources.list"
cp /etc/apt/sources.list.d/*.sources "$ROOT/etc/apt/sources.list.d/"
# Only the files that set how apt acquires (a snapshot archive needs Check-Valid-Until false, say),
# not the host's hooks.
for f in /etc/apt/apt.conf.d/*; do
  if grep -q '^Acquire::' "$f"; then cp "$f" "$ROOT/etc/apt/apt.conf.d/"; fi
done
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$ROOT/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
  chroot "$ROOT" update-ca-certificates >/dev/null
fi
[ -f /etc/pip.conf ] && cp /etc/pip.conf "$ROOT/etc/pip.conf"

# Hard links where the file system allows (the toolchains are read only here), copies otherwise.
copy_tree() { mkdir -p "$(dirname "$2")"; cp -al "$1" "$2" 2>/dev/null || { rm -rf "$2"; cp -a "$1" "$2"; }; }
say "adding Rust ($RUSTUP, $CARGO/bin) and Go ($GOROOT, $("$GO" env GOVERSION))"
copy_tree "$RUSTUP" "$ROOT/root/.rustup"
mkdir -p "$ROOT/root/.cargo"
cp -a "$CARGO/bin" "$ROOT/root/.cargo/bin"
copy_tree "$GOROOT" "$ROOT/usr/local/go"

say "cloning $WORKSPACE at $(git -C "$WORKSPACE" rev-parse --short HEAD) into $ROOT/work/talos-ext"
git -C "$WORKSPACE" diff --quiet HEAD || say "note: uncommitted changes in $WORKSPACE are not in the clone"
git clone -q "$WORKSPACE" "$ROOT/work/talos-ext"

for m in proc sys dev dev/pts; do
  mount --bind "/$m" "$ROOT/$m"
  mounted+=("$ROOT/$m")
done
say "ready after $(( $(date +%s) - started )) s; running \`$COMMAND\` in $ROOT/work/talos-ext"

CA=/etc/ssl/certs/ca-certificates.crt
ran=$(date +%s)
status=0
chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" RUSTUP_AUTO_INSTALL=0 \
  PATH=/root/.cargo/bin:/usr/local/go/bin:/root/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  SSL_CERT_FILE=$CA SSL_CERT_DIR=/etc/ssl/certs CURL_CA_BUNDLE=$CA REQUESTS_CA_BUNDLE=$CA PIP_CERT=$CA GIT_SSL_CAINFO=$CA \
  /bin/bash -c "cd /work/talos-ext && $COMMAND" || status=$?
elapsed=$(( $(date +%s) - ran ))
say "\`$COMMAND\` took $((elapsed / 60))m$(printf '%02d' $((elapsed % 60)))s on the fresh system and exited $status ($DIR stays for inspection)"
exit "$status"
