#!/bin/bash
# Build the qemu target's guest from Debian's arm64 packages, into a cache dir:
#   CACHE/Image              Debian's arm64 kernel (an uncompressed Image)
#   CACHE/initramfs.cpio.gz  busybox, dropbear + libs, virtio modules, the agent, /init
#   CACHE/id_ed25519{,.pub}  the ssh key the guest authorizes (made once per cache)
#   CACHE/kernel-package     the kernel package apt-cache named, with the key of the lists it came from
# Usage: scripts/build-guest.sh CACHE AGENT_ARM64_BINARY
# Packages are fetched with `apt-get download` and unpacked with dpkg-deb -x:
# nothing is installed. Idempotent: an unchanged input set rebuilds nothing.
# Prints one line on failure (exit 2) naming what to run.
set -euo pipefail

CACHE=${1:?usage: build-guest.sh CACHE AGENT}
AGENT=${2:?usage: build-guest.sh CACHE AGENT}
SCRIPT_VERSION=3 # bump when the initramfs layout or /init changes

fail() { echo "build-guest: $*" >&2; exit 2; }

for c in apt-get dpkg-deb cpio gzip ssh-keygen sha256sum; do
  command -v "$c" >/dev/null || fail "$c not found: run scripts/install-deps.sh"
done
dpkg --print-foreign-architectures | grep -qx arm64 || fail "arm64 packages not enabled: run scripts/install-deps.sh"
[ -f "$AGENT" ] || fail "no arm64 agent at $AGENT"
AGENT=$(cd "$(dirname "$AGENT")" && pwd)/$(basename "$AGENT")
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

mkdir -p "$CACHE/debs"
CACHE=$(cd "$CACHE" && pwd)
# Two runs sharing a cache (a test and ./run.sh) take turns.
exec 9>"$CACHE/.lock"
flock 9

# ---- which kernel: the one Debian's linux-image-arm64 points at, unsigned ----
# `apt-cache depends` parses every package list (about 1.2 s: pkgcache.bin is
# often disabled), so its answer is cached, keyed by the arm64 package lists
# and apt preferences: an `apt-get update` that brings a new kernel ABI changes
# the lists and so the key.
KPKG=${KVM_CCA_KERNEL_PKG:-}
if [ -z "$KPKG" ]; then
  KEY=$( (stat -c '%n %s %Y' /var/lib/apt/lists/*binary-arm64_Packages* /etc/apt/preferences /etc/apt/preferences.d/* 2>/dev/null || true) | sha256sum | cut -c1-16)
  if ls /var/lib/apt/lists/*binary-arm64_Packages* >/dev/null 2>&1 && [ "$(sed -n 1p "$CACHE/kernel-package" 2>/dev/null)" = "$KEY" ]; then
    KPKG=$(sed -n 2p "$CACHE/kernel-package")
  else
    KPKG=$(apt-cache depends linux-image-arm64:arm64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*-arm64\)\(:arm64\)\?$/\1/p' | head -1)
    [ -n "$KPKG" ] || fail "no arm64 package lists (apt-cache knows no linux-image-arm64:arm64): run scripts/install-deps.sh"
    KPKG="$KPKG-unsigned"
    printf '%s\n%s\n' "$KEY" "$KPKG" > "$CACHE/kernel-package.tmp" && mv -f "$CACHE/kernel-package.tmp" "$CACHE/kernel-package"
  fi
fi
USERPKGS="busybox-static dropbear-bin libc6 libcrypt1 zlib1g libtomcrypt1 libtommath1 libgmp10"

# ---- fetch (only what is missing) ----
cd "$CACHE/debs"
for p in $KPKG $USERPKGS; do
  if ! ls "${p}"_*_arm64.deb >/dev/null 2>&1; then
    apt-get download -q "$p:arm64" >/dev/null 2>"$CACHE/apt.err" || fail "apt-get download $p:arm64 failed ($(tail -1 "$CACHE/apt.err")): run scripts/install-deps.sh"
  fi
done
KDEB=$(ls -t "${KPKG}"_*_arm64.deb | head -1)

# ---- kernel ----
KVER=${KPKG#linux-image-}; KVER=${KVER%-unsigned}
MODS="drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci net/core/failover drivers/net/net_failover drivers/net/virtio_net"
if [ ! -f "$CACHE/kernel/$KDEB.done" ]; then
  rm -rf "$CACHE/kernel" && mkdir -p "$CACHE/kernel"
  # Only the Image and the modules we load: the whole tree is ~300 MB.
  paths="./boot/vmlinuz-$KVER"
  for m in $MODS; do paths="$paths ./lib/modules/$KVER/kernel/$m.ko"; done
  # shellcheck disable=SC2086
  dpkg-deb --fsys-tarfile "$KDEB" | tar -x -C "$CACHE/kernel" $paths || fail "unpacking $KDEB failed"
  touch "$CACHE/kernel/$KDEB.done"
fi
# Debian's arm64 vmlinuz is already an uncompressed Image that qemu boots as is.
ln -sf "kernel/boot/vmlinuz-$KVER" "$CACHE/Image"

# ---- ssh key, per cache ----
[ -f "$CACHE/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C kvm-cca-guest -f "$CACHE/id_ed25519"

# ---- initramfs, rebuilt when any input changes ----
STAMP=$( (echo "$SCRIPT_VERSION $KDEB"; ls "$CACHE/debs"; sha256sum "$AGENT" "$CACHE/id_ed25519.pub"; sed -n '/^cat > "\$ROOT\/init"/,/^EOF/p' "$SELF") | sha256sum | cut -c1-16)
if [ -f "$CACHE/initramfs.cpio.gz" ] && [ "$(cat "$CACHE/initramfs.stamp" 2>/dev/null)" = "$STAMP" ]; then
  exit 0
fi

ROOT=$(mktemp -d "$CACHE/root.XXXXXX")
trap 'rm -rf "$ROOT" "$CACHE/pkgs.tmp"' EXIT
rm -rf "$CACHE/pkgs.tmp" && mkdir -p "$CACHE/pkgs.tmp"
for p in $USERPKGS; do dpkg-deb -x "$(ls -t "${p}"_*_arm64.deb | head -1)" "$CACHE/pkgs.tmp"; done
P="$CACHE/pkgs.tmp"

mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,etc/dropbear,proc,sys,dev,tmp,root/.ssh,lib/modules,lib/aarch64-linux-gnu,var/log}
cp "$P/bin/busybox" "$ROOT/bin/busybox"
ln -s busybox "$ROOT/bin/sh"
cp "$P/usr/sbin/dropbear" "$ROOT/usr/sbin/"
cp "$P/usr/bin/dropbearkey" "$ROOT/usr/bin/"
# glibc's loader and the libraries dropbear links (libgmp10 too: without it dropbear does not start).
cp -a "$P"/lib/ld-linux-aarch64.so.1 "$ROOT/lib/" 2>/dev/null || cp -a "$P"/usr/lib/ld-linux-aarch64.so.1 "$ROOT/lib/"
for d in "$P/lib/aarch64-linux-gnu" "$P/usr/lib/aarch64-linux-gnu"; do
  [ -d "$d" ] || continue
  find "$d" -maxdepth 1 \( -name 'lib*.so.*' -o -name 'ld-linux*' \) -exec cp -a {} "$ROOT/lib/aarch64-linux-gnu/" \;
done
# Only the virtio modules, in dependency order (the .deb ships no modules.dep).
: > "$ROOT/lib/modules/order"
for m in $MODS; do
  f="$CACHE/kernel/lib/modules/$KVER/kernel/$m.ko"
  [ -f "$f" ] || fail "module $m missing in $KDEB"
  cp "$f" "$ROOT/lib/modules/"
  echo "$(basename "$m").ko" >> "$ROOT/lib/modules/order"
done
cp "$AGENT" "$ROOT/tmp/kvm-cca-agent" && chmod 755 "$ROOT/tmp/kvm-cca-agent"
cp "$CACHE/id_ed25519.pub" "$ROOT/root/.ssh/authorized_keys"
chmod 700 "$ROOT/root" "$ROOT/root/.ssh"; chmod 600 "$ROOT/root/.ssh/authorized_keys"
echo 'root:x:0:0:root:/root:/bin/sh' > "$ROOT/etc/passwd"
echo 'root:x:0:' > "$ROOT/etc/group"
echo '/bin/sh' > "$ROOT/etc/shells"
touch "$ROOT/var/log/lastlog"

cat > "$ROOT/init" <<'EOF'
#!/bin/sh
# kvm-cca guest init: network, ssh, then wait. Lines starting KVM-CCA- are read by the harness.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m 2>/dev/null || echo "KVM-CCA-WARN insmod $m failed"; done
ip link set lo up
for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /sys/class/net/eth0 ] && break; sleep 0.1; done
ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up && ip route add default via 10.0.2.2 || echo "KVM-CCA-FAIL no eth0"
dropbearkey -t ed25519 -f /etc/dropbear/dropbear_ed25519_host_key >/dev/null 2>&1
/usr/sbin/dropbear -F -E -s -p 22 -r /etc/dropbear/dropbear_ed25519_host_key 2>/dev/console &
# Ready only once port 22 listens: qemu accepts forwarded connections before the guest does.
for i in $(seq 1 200); do grep -qs ' 0A ' /proc/net/tcp /proc/net/tcp6 && grep -qs ':0016 ' /proc/net/tcp /proc/net/tcp6 && break; sleep 0.05; done
[ -e /dev/kvm ] && kvm=yes || kvm=no
echo "KVM-CCA-GUEST-READY $(uname -r) kvm=$kvm"
while :; do sleep 3600; done
EOF
chmod 755 "$ROOT/init"

(cd "$ROOT" && find . | sort | cpio -o -H newc --quiet -R 0:0) | gzip -6 > "$CACHE/initramfs.cpio.gz.tmp"
mv -f "$CACHE/initramfs.cpio.gz.tmp" "$CACHE/initramfs.cpio.gz"
echo "$STAMP" > "$CACHE/initramfs.stamp"
