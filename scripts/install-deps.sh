#!/bin/sh
# Host packages for the C agent and the qemu target (Debian 12 x86_64).
# Idempotent and quiet: does nothing when everything is already there.
#   scripts/install-deps.sh          host tools (qemu, cross gcc, cpio, ssh)
#   scripts/install-deps.sh --tests  also what the project's own tests use (.ci/run)
# The arm64 guest packages (kernel, busybox, dropbear) are not installed: the
# qemu target fetches them with `apt-get download` into its cache dir, which
# only needs the arm64 architecture added to dpkg (done here).
set -eu

PKGS="qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross cpio openssh-client make gcc libc6-dev"
# The tests also use: xmllint (libxml2-utils) to validate the JUnit against Jenkins'
# schema (test/reports.test.ts), and the kernel's own KTAP parser kunit.py, which
# test/ktap.test.ts unpacks from Debian's linux-source tarball and runs with python3;
# and a firmware that boots a kernel itself for the --bios tests
# (test/qemu-observe.test.ts: EDK2's AAVMF, an EFI system partition made with
# dosfstools and mtools).
if [ "${1:-}" = "--tests" ]; then PKGS="$PKGS libxml2-utils linux-source python3 qemu-efi-aarch64 dosfstools mtools"; fi

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done

need_update=0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $SUDO dpkg --add-architecture arm64
  need_update=1
fi
# The arm64 package lists must exist for `apt-get download` of the guest packages.
if ! ls /var/lib/apt/lists/*_binary-arm64_Packages* >/dev/null 2>&1; then need_update=1; fi
if [ -n "$missing" ]; then need_update=1; fi

export DEBIAN_FRONTEND=noninteractive
if [ "$need_update" = 1 ]; then
  $SUDO apt-get update -qq >/dev/null
fi
if [ -n "$missing" ]; then
  echo "install-deps: installing$missing"
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
