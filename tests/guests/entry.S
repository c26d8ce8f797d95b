/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The 64-bit entry (load address + 0x200, see guest.ld): kvmio leaves long
 * mode, flat segments, RSI = boot_params and no stack.
 */
	.section .text.entry, "ax"
	.code64
	.globl _start
_start:
	cli
	lea	boot_stack_top(%rip), %rsp
	xor	%ebp, %ebp
	mov	%rsi, %rdi
	call	guest_entry
1:	cli
	hlt
	jmp	1b

	.bss
	.align 16
boot_stack:
	.skip 16384
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
