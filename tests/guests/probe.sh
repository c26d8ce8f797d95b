# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=sh
# Can this host's /dev/kvm run a guest? Sourced by tests/guests/check.sh (make check-guests) and
# tests/demo/demo.sh (make demo), which run guests directly when it can and inside the rig
# (tests/rig: QEMU TCG with nested SVM, kvm_amd in L1) when it cannot.
#
# kvm_probe KVMIO IMAGE: runs the tiny guest IMAGE (one that powers off by itself, such as
# uart.bzImage) under KVMIO and sets
#   KVM_KIND  hardware | pvm | missing | unusable
#   KVM_WHY   one phrase saying so, for a "where and why" line
# Status 0 when the guest ran (hardware or pvm). The guest is what decides "usable": a /dev/kvm
# that opens can still refuse to create a VM or to enter one.

kvm_probe() {
	if [ ! -e /dev/kvm ]; then
		KVM_KIND=missing KVM_WHY="this host has no /dev/kvm"
		return 1
	fi
	_kp_err=$(timeout 20 "$1" run --kernel "$2" --serial none --memory 32M 2>&1 </dev/null)
	_kp_rc=$?
	if [ "$_kp_rc" -ne 0 ]; then
		KVM_KIND=unusable
		if [ "$_kp_rc" -eq 124 ]; then
			KVM_WHY="this host's /dev/kvm did not finish a test guest in 20 s"
		else
			KVM_WHY="this host's /dev/kvm cannot run a test guest ($(printf '%s\n' "$_kp_err" |
				grep -m1 'error' || echo "kvmio exit status $_kp_rc"))"
		fi
		return 1
	fi
	if [ -d /sys/module/kvm_pvm ]; then
		KVM_KIND=pvm KVM_WHY="/dev/kvm is the nested kvm_pvm module (it runs tiny guests, and emulates guest kernel code)"
	else
		KVM_KIND=hardware KVM_WHY="/dev/kvm is hardware KVM"
		for _kp_m in kvm_intel kvm_amd; do
			[ -d "/sys/module/$_kp_m" ] && KVM_WHY="/dev/kvm is hardware KVM ($_kp_m)"
		done
	fi
	return 0
}
