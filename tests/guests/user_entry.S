/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uint64_t enter_user(void (*fn)(void), uint64_t user_rsp)
 *
 * Runs fn at CPL3 (CS 0x2B, SS 0x23, IOPL 3, IF 0) on user_rsp until it
 * executes int3 with a result in RAX (user_exit()); user_exit_entry, the
 * DPL-3 gate for vector 3, drops the CPL3 frame and returns that result to
 * enter_user's caller. Selectors: user.c's GDT.
 */
	.text
	.code64
	.globl enter_user, user_exit_entry
enter_user:
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, kernel_rsp(%rip)
	pushq	$0x23			/* SS: user data, RPL 3 */
	pushq	%rsi			/* RSP */
	pushq	$0x3002			/* RFLAGS: IOPL 3, IF 0 */
	pushq	$0x2B			/* CS: user code, RPL 3 */
	pushq	%rdi			/* RIP */
	iretq

user_exit_entry:
	mov	kernel_rsp(%rip), %rsp
	mov	$0x18, %ecx
	mov	%ecx, %ds
	mov	%ecx, %es
	mov	%ecx, %ss
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	ret

	.bss
	.align 8
kernel_rsp:
	.quad	0

	.section .note.GNU-stack, "", @progbits
