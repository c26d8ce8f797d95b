#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# make demo: boot Debian's kernel under kvmio with an interactive busybox shell
# on the serial console. Directly when /dev/kvm is hardware KVM and runs a test
# guest (tests/guests/probe.sh); inside the rig (QEMU TCG with nested SVM,
# tests/rig) when /dev/kvm is missing, cannot run a guest, or is the nested PVM
# module, which emulates guest kernel code. The first line says which and why.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
kvmio=${KVMIO:-$top/build/kvmio}
probe_guest=${DEMO_PROBE_GUEST:-$top/build/guests/uart.bzImage}
cache=${DEMO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kvmio-demo}

die() { echo "demo: $*" >&2; exit 1; }

kver=${DEMO_KVER:-$(ls /boot/vmlinuz-* 2>/dev/null | sed 's|.*/vmlinuz-||' | sort -V | tail -1)}
[ -n "$kver" ] && [ -r "/boot/vmlinuz-$kver" ] ||
	die "no readable kernel in /boot (apt-get install linux-image-amd64)"
[ -x /bin/busybox ] || die "no /bin/busybox (apt-get install busybox-static)"
[ -x "$kvmio" ] || die "no $kvmio (run make first)"
[ -f "$probe_guest" ] || die "no $probe_guest (run make demo, which builds it)"
mkdir -p "$cache"
cmdline="console=ttyS0 quiet"

# The demo guest's initramfs: busybox and its /init, cached by content.
l2key=$(cat "$here/l2-init" /bin/busybox | sha256sum | cut -c1-16)
l2=$cache/l2-$l2key.cpio
if [ ! -e "$l2" ]; then
	root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
	mkdir -p "$root"/{bin,dev,proc,sys,tmp}
	cp /bin/busybox "$root/bin/"
	for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"; done
	ln -s bin "$root/sbin"
	install -m 0755 "$here/l2-init" "$root/init"
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$l2.tmp"
	mv "$l2.tmp" "$l2"
fi

# shellcheck source=tests/guests/probe.sh
. "$top/tests/guests/probe.sh"
kvm_probe "$kvmio" "$probe_guest" || true
case "$KVM_KIND" in
hardware)
	echo "demo: $KVM_WHY: booting Linux $kver directly under kvmio."
	exec "$kvmio" run --kernel "/boot/vmlinuz-$kver" --initrd "$l2" --cpus 2 --memory 512M \
		--cmdline "$cmdline"
	;;
pvm) echo "demo: /dev/kvm is the nested kvm_pvm module, which emulates guest kernel code (Linux would take minutes): booting inside the rig." ;;
*) echo "demo: $KVM_WHY: booting inside the rig." ;;
esac
echo "demo: QEMU TCG runs L1 Linux with kvm_amd; kvmio boots Linux $kver in it. Allow a minute."
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"

# L1: the rig's cached base image (busybox, kvm_amd, the kernel at /rig/vmlinuz)
# plus an overlay with kvmio, its libraries, the demo guest and the demo /init.
basekey=$(cat "$top/tests/rig/mkimg.sh" "/boot/vmlinuz-$kver" /bin/busybox | sha256sum | cut -c1-16)
base=$cache/base-$basekey.cpio
[ -e "$base" ] || "$top/tests/rig/mkimg.sh" base "$kver" "$base"
ov=$(mktemp -d); trap 'rm -rf "$ov" ${root:-}' EXIT
mkdir -p "$ov/bin" "$ov/demo"
install -m 0755 "$here/l1-init" "$ov/init"
cp "$kvmio" "$ov/bin/kvmio"
"$top/tests/rig/mkimg.sh" libs "$ov" "$kvmio"
cp "$l2" "$ov/demo/l2.cpio"
echo "$cmdline" >"$ov/demo/cmdline"
(cd "$ov" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$ov.cpio"
cat "$base" "$ov.cpio" >"$cache/l1-demo.cpio"
rm -f "$ov.cpio"

# The terminal goes straight to L1's ttyS0 (no QEMU mux), so Ctrl-A reaches
# kvmio. TCG's list of CPU features it cannot emulate is noise here.
exec 2> >(grep --line-buffered -v "TCG doesn't support requested feature" >&2)
exec qemu-system-x86_64 -accel tcg -machine q35 -cpu EPYC,+svm,+npt -m 2048 -smp 1 \
	-display none -monitor none -no-reboot -nodefaults \
	-chardev stdio,id=con,mux=off,signal=off -serial chardev:con \
	-kernel "/boot/vmlinuz-$kver" -initrd "$cache/l1-demo.cpio" \
	-append "console=ttyS0 quiet loglevel=1 panic=-1"
