#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs what kvmio's build, tests, demo and rig need, from Debian's packages (Debian 12).
# As root it runs apt-get itself; as another user through sudo. The README's commands and
# .ci/run start with it.
#
#   sh tools/install-deps.sh
#
# What each package is for:
#   build-essential (cc, make), liburing-dev     build kvmio
#   libmicrohttpd-dev, libjansson-dev            the control socket's HTTP server and JSON
#   libcurl4-openssl-dev                         `kvmio remote`, its client
#   libseccomp-dev, libcap-ng-dev                the seccomp filters (--seccomp), --user
#   libcmocka-dev, acpica-tools (iasl)           unit tests; the ACPI tables through iasl
#   clang, libclang-rt-14-dev                    the fuzz targets (libFuzzer, ASan, UBSan) and
#                                                their corpus replay, make fuzz-regress
#   tmux                                         terminal tests (Ctrl-A x, raw mode)
#   qemu-system-x86, linux-image-amd64,          the rig: QEMU TCG with nested SVM runs a Linux
#   busybox-static, kmod, cpio                   (L1) with kvm_amd; guests run there when this
#                                                host's /dev/kvm cannot run them
#   nvme-cli                                     the rig's vfio-sriov: virt-mgmt and attach-ns
#                                                on L1's SR-IOV NVMe (copied into L1's image)
set -eu

PACKAGES="build-essential libcmocka-dev liburing-dev libmicrohttpd-dev libjansson-dev
libcurl4-openssl-dev libseccomp-dev libcap-ng-dev acpica-tools clang libclang-rt-14-dev tmux
qemu-system-x86 linux-image-amd64 busybox-static kmod cpio nvme-cli"

if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps: no apt-get: this script is for Debian 12; install these by hand:" >&2
	echo "  $(echo $PACKAGES)" >&2
	exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
	as_root=
elif command -v sudo >/dev/null 2>&1; then
	as_root=sudo
else
	echo "install-deps: not root, and no sudo: run it as root (su -c 'sh tools/install-deps.sh')" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
echo "install-deps: done ($(echo $PACKAGES | wc -w) packages)"
