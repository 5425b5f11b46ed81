#!/usr/bin/env bash
# Set up a fresh Debian (bookworm) machine for this workspace, as root.
#
# What it does, and says so as it goes:
#   - adds the arm64 dpkg architecture (package lists only; nothing arm64 runs on the host),
#   - runs `apt-get update` once,
#   - installs the Debian packages the builds and tests need, only those that are missing,
#   - installs the exact compiler release each kernel toolchain pins (clang-22 22.1.8 for Talos),
#   - creates the pinned newer meson's venv /opt/talos-ext/meson (from PyPI) for the recipes that
#     need a meson newer than Debian's (glib, QEMU).
# It changes nothing else on the system. Re-running it is cheap: it installs nothing when all is there.
set -euo pipefail

say() { printf 'setup: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  say "run me as root (I install Debian packages with apt-get)"; exit 1
fi

# Host tools, cross compilers and musl for amd64 + arm64, the build systems the engine drives,
# OCI tools the tests read images back with, and kernel-module tools.
PKGS=(
  build-essential perl pkg-config file patch xz-utils bzip2 zstd gzip pigz ca-certificates curl git
  musl-tools gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu
  musl-dev:arm64 linux-libc-dev:arm64 linux-libc-dev
  # glibc for the arm64 cross compiler: the NVIDIA container toolkit links glibc dynamically
  # (cgo with `libc = "glibc"`; it dlopens NVIDIA's glibc libraries). amd64 uses the host's libc6-dev.
  libc6-dev-arm64-cross
  autoconf automake libtool autopoint gettext meson ninja-build cmake bison flex bc
  # GNU awk: glibc's build generates files with gawk extensions (asorti); mawk cannot.
  gawk
  # libtool's ltdl.m4 (LT_SYS_SYMBOL_USCORE), which autoreconf of a libffi tag archive needs.
  libltdl-dev
  # Debian's python3 with venv: the newer meson's venv below is made with it.
  python3 python3-venv
  # dtc: QEMU's meson wants it (or the prebuilt .dtb files Debian's repacked +ds tarball drops).
  device-tree-compiler
  skopeo umoci docker-registry
  kmod dwarves libelf-dev qemu-user-static openssl
  # The keyring talos-ext-debian checks the Debian archive's indexes with (apt brings it).
  debian-archive-keyring
  # Graphviz `dot`: `cargo xtask graph` renders docs/deps.svg with it.
  graphviz
  # The compiler cache TALOS_EXT_CC_WRAPPER can name; its test builds twice through it.
  ccache
  # `ip` (a TAP interface in a private network namespace) and `unshare`: revpi-firmware's test
  # sets a MAC address there.
  iproute2 util-linux
)

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  say "adding the arm64 dpkg architecture (dpkg --add-architecture arm64) for musl-dev:arm64 and linux-libc-dev:arm64"
  dpkg --add-architecture arm64
  NEED_UPDATE=1
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ] || [ -n "${NEED_UPDATE:-}" ]; then
  say "apt-get update"
  apt-get update -qq
  UPDATED=1
fi
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${#missing[@]} missing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  say "installed"
else
  say "all ${#PKGS[@]} Debian packages already installed"
fi

# The exact compilers the kernel toolchains pin ([compiler.debian] of toolchain/toolchains/*.toml:
# Debian packages at one version, e.g. clang-22/lld-22/llvm-22 1:22.1.8-1~deb12u1 for the Talos
# kernel). Installed at exactly that version; when the archive no longer has it, say so and fail.
compilers=$(awk '
  FNR == 1 { if (pkgs != "") print FILENAME_PREV, version, pkgs; pkgs = ""; version = ""; sect = 0; FILENAME_PREV = FILENAME }
  /^\[/ { sect = ($0 == "[compiler.debian]") }
  sect && /^packages *=/ { s = $0; sub(/^[^[]*\[/, "", s); sub(/\].*$/, "", s); gsub(/[" ,]+/, " ", s); pkgs = s }
  sect && /^version *=/ { s = $0; sub(/^[^"]*"/, "", s); sub(/".*$/, "", s); version = s }
  END { if (pkgs != "") print FILENAME_PREV, version, pkgs }
' "$(dirname "$0")"/../toolchain/toolchains/*.toml)
while read -r file version pkgs; do
  [ -n "${file:-}" ] || continue
  wanted=()
  for p in $pkgs; do
    have=$(dpkg-query -W -f='${db:Status-Status} ${Version}\n' "$p" 2>/dev/null || true)
    [ "$have" = "installed $version" ] || wanted+=("$p=$version")
  done
  [ ${#wanted[@]} -gt 0 ] || { say "pinned compiler of $(basename "$file") already installed ($pkgs $version)"; continue; }
  [ -n "${UPDATED:-}" ] || { say "apt-get update"; apt-get update -qq; UPDATED=1; }
  for w in "${wanted[@]}"; do
    if ! apt-cache madison "${w%%=*}" | awk -F'|' '{gsub(/ /, "", $2); print $2}' | grep -qxF "$version"; then
      say "the Debian archive no longer has ${w%%=*} at version $version, which $(basename "$file") pins: update [compiler.debian] (and compiler.version) there"
      exit 1
    fi
  done
  say "installing the compiler $(basename "$file") pins: ${wanted[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null
  say "installed"
done <<< "$compilers"

# A newer meson than bookworm's 1.0.1, for the recipes whose upstream needs one (glib wants
# >= 1.4, QEMU's configure >= 1.5 plus pycotap): a venv of Debian's python3 at
# /opt/talos-ext/meson with exact versions from PyPI (QEMU's own wheel set is meson 1.9.0 and
# pycotap 1.3.1; glib's build scripts import `packaging`). talos-ext-build's `MesonRelease::Pinned`
# runs /opt/talos-ext/meson/bin/meson and its python; every other meson recipe keeps Debian's.
# Recreated only when the versions below differ from what the venv has.
MESON_VENV=/opt/talos-ext/meson
MESON_VENV_PKGS=(meson==1.9.0 pycotap==1.3.1 packaging==25.0)
if [ -x "$MESON_VENV/bin/python3" ] \
   && [ "$("$MESON_VENV/bin/python3" -m pip freeze --disable-pip-version-check 2>/dev/null | grep -iE '^(meson|pycotap|packaging)==' | sort -f | tr '\n' ' ')" = "$(printf '%s\n' "${MESON_VENV_PKGS[@]}" | sort -f | tr '\n' ' ')" ]; then
  say "meson venv $MESON_VENV already has ${MESON_VENV_PKGS[*]}"
else
  say "creating the meson venv $MESON_VENV (/usr/bin/python3 -m venv) and installing ${MESON_VENV_PKGS[*]} from PyPI"
  rm -rf "$MESON_VENV"
  mkdir -p "$(dirname "$MESON_VENV")"
  /usr/bin/python3 -m venv "$MESON_VENV"
  "$MESON_VENV/bin/python3" -m pip install --quiet --disable-pip-version-check --no-input "${MESON_VENV_PKGS[@]}"
  say "installed: $("$MESON_VENV/bin/meson" --version | sed 's/^/meson /')"
fi

# actionlint, which a tier-full test runs over the generated .github/workflows/catalog.yml: built
# from source through the Go module proxy, pinned, into /usr/local/bin, when a Go toolchain is
# there (`go` on PATH or /usr/local/go/bin/go; the pipeline's `shared` job installs one). Without
# Go it says so: `cargo xtask test --tier full` then fails naming the missing actionlint.
ACTIONLINT_VERSION=v1.7.12
# (sed reads all of the output: with pipefail, an early-exiting reader could SIGPIPE actionlint.)
if [ "$(actionlint -version 2>/dev/null | sed -n 1p || true)" = "$ACTIONLINT_VERSION" ]; then
  say "actionlint $ACTIONLINT_VERSION already installed"
else
  GO=$(command -v go || true)
  [ -z "$GO" ] && [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go
  if [ -n "$GO" ]; then
    say "installing actionlint $ACTIONLINT_VERSION into /usr/local/bin ($GO install, through the Go module proxy)"
    GOBIN=/usr/local/bin GOFLAGS=-buildvcs=false "$GO" install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
  else
    say "no Go toolchain: not installing actionlint (only the tier-full workflow test needs it)"
  fi
fi
