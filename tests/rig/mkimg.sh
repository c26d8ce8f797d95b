#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Builds the rig's cacheable initramfs parts from Debian packages (qemu-system-x86,
# linux-image-amd64, busybox-static, kmod). Called by rig.sh; the cache key of each image
# includes this file, so editing it rebuilds them.
#
#   mkimg.sh base KVER OUT.cpio   L1 base: busybox, L1 modules, QEMU (+ libs, firmware),
#                                 nvme-cli (+ libs) when installed, and the L2 kernel at
#                                 /rig/vmlinuz. Uncompressed newc.
#   mkimg.sh l2   KVER OUT.cpio   L2 initramfs: busybox, tests/rig/l2/*, L2 modules.
#   mkimg.sh vmlinux KVER OUT.cpio
#                                 /rig/vmlinux: the L2 kernel uncompressed, for the scenarios
#                                 that boot it as an ELF ("# rig-needs: vmlinux" in rig.sh).
#   mkimg.sh libs ROOT BINARY...  copy binaries' ldd-listed libraries (and the ELF
#                                 interpreter) into ROOT at the paths ldd prints.
set -euo pipefail
# modprobe (kmod) is in /usr/sbin, which a user's PATH on Debian lacks.
export PATH=$PATH:/usr/sbin:/sbin

here=$(cd "$(dirname "$0")" && pwd)

die() { echo "mkimg: $*" >&2; exit 1; }

# Modules needed in L1 (rig.md): KVM, VFIO with the type1 IOMMU backend, tun; nvme, which the
# VFIO scenarios load to fill and check the NVMe with L1's own driver (its dependencies come along).
L1_MODULES="kvm_amd vfio-pci vfio_iommu_type1 tun nvme"

# Firmware QEMU (in L1) may load for q35/microvm/pc with -kernel.
QEMU_FW="/usr/share/seabios/bios-256k.bin /usr/share/seabios/bios.bin
/usr/share/qemu/kvmvapic.bin /usr/share/qemu/linuxboot.bin /usr/share/qemu/linuxboot_dma.bin
/usr/share/qemu/qboot.rom /usr/share/qemu/bios-microvm.bin /usr/share/qemu/pvh.bin
/usr/share/qemu/multiboot.bin /usr/share/qemu/multiboot_dma.bin"

# Libraries kvmio loads only when a job needs them (src/dl.h); `libs` copies them too.
KVMIO_DLOPEN="libmicrohttpd.so.12 libcurl.so.4"

copy_libs() { # ROOT BINARY...
	local root=$1 bin lib; shift
	for bin in "$@"; do
		# "libx.so => /path (0x..)", "/lib64/ld-linux-x86-64.so.2 (0x..)"; skip vdso.
		for lib in $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib"
		done
	done
}

add_busybox() { # ROOT
	local root=$1 a
	mkdir -p "$root/bin"
	cp /bin/busybox "$root/bin/busybox"
	# --list includes "busybox" itself: don't replace the binary with a link to itself.
	for a in $(/bin/busybox --list); do
		[ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
	done
	ln -s bin "$root/sbin"
	mkdir -p "$root/usr"
	ln -s ../bin "$root/usr/sbin"
}

add_modules() { # ROOT KVER MODULE...
	local root=$1 kver=$2 m ko; shift 2
	local src=/lib/modules/$kver
	[ -d "$src" ] || die "no $src (install linux-image-$kver)"
	mkdir -p "$root$src"
	for m in "$@"; do
		# One module per call; lines are "insmod PATH" (or "builtin NAME").
		modprobe -S "$kver" --show-depends "$m" >/dev/null || die "modprobe: no module $m for $kver"
		for ko in $(modprobe -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}'); do
			mkdir -p "$root$(dirname "$ko")"
			cp -n "$ko" "$root$ko"
		done
	done
	cp "$src"/modules.{dep,alias,builtin,order,softdep,symbols} "$root$src/" 2>/dev/null || true
	cp "$src"/modules.builtin.modinfo "$root$src/" 2>/dev/null || true
}

# extract_vmlinux BZIMAGE OUT: the ELF inside Debian's bzImage (CONFIG_KERNEL_XZ), as Linux's
# scripts/extract-vmlinux does: the first XZ stream's magic (FD 37 7A 58 5A 00) is where the
# payload starts; --single-stream stops at its end, before the decompressor code that follows.
# What comes out is vmlinux with its relocations appended, which an ELF loader ignores.
extract_vmlinux() {
	local bz=$1 out=$2 off
	command -v xz >/dev/null || die "xz not found (apt-get install xz-utils)"
	# sed, not head: both read to the end, so pipefail sees no SIGPIPE.
	off=$(LC_ALL=C grep -obUaP -m 1 '\xFD7zXZ\x00' "$bz" | LC_ALL=C sed -n '1s/:.*//p')
	[ -n "$off" ] || die "$bz has no XZ stream: not CONFIG_KERNEL_XZ (only XZ is extracted)"
	# xz stops reading at the stream's end: tail's SIGPIPE then is no failure.
	xz -dc --single-stream < <(tail -c +$((off + 1)) "$bz") >"$out" || die "decompressing $bz failed"
	[ "$(head -c 4 "$out" | tail -c 3)" = ELF ] || die "what $bz decompresses to is not an ELF"
}

pack() { # ROOT OUT
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$2.tmp.$$"
	mv "$2.tmp.$$" "$2"
}

mkroot() {
	local root
	root=$(mktemp -d "${TMPDIR:-/tmp}/kvmio-rig-root.XXXXXX")
	mkdir -p "$root"/{dev,proc,sys,tmp,run,etc,var/tmp,rig}
	echo "$root"
}

cmd=${1:-}
case "$cmd" in
base)
	kver=$2 out=$3
	root=$(mkroot); trap 'rm -rf "$root"' EXIT
	add_busybox "$root"
	add_modules "$root" "$kver" $L1_MODULES
	qemu=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
	mkdir -p "$root/usr/bin"
	cp -L "$qemu" "$root/usr/bin/qemu-system-x86_64"
	copy_libs "$root" "$qemu"
	for f in $QEMU_FW; do
		[ -e "$f" ] || continue
		mkdir -p "$root$(dirname "$f")"
		cp -L "$f" "$root$f"
	done
	# nvme-cli for vfio-sriov (virt-mgmt, attach-ns on the SR-IOV NVMe's physical function);
	# that scenario says so when it is missing.
	if nvme=$(command -v nvme); then
		cp -L "$nvme" "$root/usr/bin/nvme"
		copy_libs "$root" "$nvme"
	fi
	cp "/boot/vmlinuz-$kver" "$root/rig/vmlinuz"
	pack "$root" "$out"
	;;
l2)
	kver=$2 out=$3
	root=$(mkroot); trap 'rm -rf "$root"' EXIT
	add_busybox "$root"
	mods=$(sed 's/#.*//' "$here/l2/modules")
	# shellcheck disable=SC2086
	add_modules "$root" "$kver" $mods
	install -m 0755 "$here/l2/init" "$root/init"
	mkdir -p "$root/rig/l2"
	cp "$here"/l2/*.sh "$root/rig/l2/" 2>/dev/null || true
	pack "$root" "$out"
	;;
vmlinux)
	kver=$2 out=$3
	# Only /rig: the archive is appended after the base one, which has the rest of the tree.
	root=$(mktemp -d "${TMPDIR:-/tmp}/kvmio-rig-root.XXXXXX"); trap 'rm -rf "$root"' EXIT
	mkdir -p "$root/rig"
	extract_vmlinux "/boot/vmlinuz-$kver" "$root/rig/vmlinux"
	pack "$root" "$out"
	;;
libs)
	root=$2; shift 2
	copy_libs "$root" "$@"
	# What kvmio dlopens (src/dl.h: --api-socket, kvmio remote), which ldd does not list.
	for so in $KVMIO_DLOPEN; do
		# awk reads to the end: leaving early would kill ldconfig with SIGPIPE once its list
		# outgrows the pipe (64 KiB, on a machine with more libraries), and pipefail fails it.
		lib=$(ldconfig -p | awk -v so="$so" '!lib && $1 == so && /x86-64/ {lib = $NF} END {print lib}')
		[ -n "$lib" ] || die "$so not found (ldconfig -p); kvmio loads it for the API"
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
		copy_libs "$root" "$lib"
	done
	;;
*)
	die "usage: mkimg.sh base|l2|vmlinux KVER OUT | libs ROOT BINARY..."
	;;
esac
