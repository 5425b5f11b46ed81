#!/usr/bin/env bash
# Set up a fresh Debian (bookworm) machine for this workspace, as root.
#
# What it does, and says so as it goes:
#   - adds the arm64 dpkg architecture (package lists only; nothing arm64 runs on the host),
#   - runs `apt-get update` once,
#   - installs the Debian packages the builds and tests need, only those that are missing.
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
  autoconf automake libtool autopoint gettext meson ninja-build cmake bison flex bc
  skopeo umoci docker-registry
  kmod dwarves libelf-dev qemu-user-static openssl
  # The keyring talos-ext-debian checks the Debian archive's indexes with (apt brings it).
  debian-archive-keyring
  # Graphviz `dot`: `cargo xtask graph` renders docs/deps.svg with it.
  graphviz
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
fi
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${#missing[@]} missing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  say "installed"
else
  say "all ${#PKGS[@]} Debian packages already installed"
fi

# actionlint, which a tier-full test runs over the generated .github/workflows/catalog.yml: built
# from source through the Go module proxy, pinned, into /usr/local/bin, when a Go toolchain is
# there (`go` on PATH or /usr/local/go/bin/go; the pipeline's `shared` job installs one). Without
# Go it says so: `cargo xtask test --tier full` then fails naming the missing actionlint.
ACTIONLINT_VERSION=v1.7.12
if actionlint -version 2>/dev/null | head -1 | grep -qx "$ACTIONLINT_VERSION"; then
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
