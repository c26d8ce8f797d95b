/* SPDX-License-Identifier: Apache-2.0 */
/*
 * 256 interrupt stubs, 16 bytes apart (lib.c fills the IDT from isr_stubs).
 * Each pushes a zero error code where the CPU does not push one, then the
 * vector, and joins isr_common, which saves the GPRs as struct regs and calls
 * isr_dispatch(struct regs *).
 */
	.text
	.code64
	.align 16
	.globl isr_stubs
isr_stubs:
	vec = 0
	.rept 256
	.align 16
	.if !(vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30)
	pushq	$0
	.endif
	pushq	$vec
	jmp	isr_common
	vec = vec + 1
	.endr

isr_common:
	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, %rdi
	cld
	call	isr_dispatch
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rbp
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rbx
	pop	%rax
	add	$16, %rsp
	iretq

	.section .note.GNU-stack, "", @progbits
