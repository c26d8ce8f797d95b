/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A guest that crashes at its very first instruction, before any lidt: the
 * IDT is still the one kvmio entered with. kvmio must report a crash (status
 * 1, register dump), not mistake it for a deliberate reboot, which Linux
 * signals with the all-zero IDT. Linked with header.o only, no library.
 */
	.section .text.entry, "ax"
	.code64
	.globl _start
_start:
	ud2

	.section .note.GNU-stack, "", @progbits
