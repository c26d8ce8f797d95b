/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AP trampoline, copied by smp.c to TRAMP_BASE (0x1000) and entered through
 * SIPI vector 0x01 at CS:IP = 0x0100:0000 in real mode. It goes to 32-bit
 * protected mode, then long mode on the CR3 the BSP wrote into tramp_cr3,
 * records its LAPIC ID in tramp_mask, counts itself in tramp_count and
 * halts for good. No stack: nothing here calls or takes interrupts.
 */
#define TRAMP_BASE	0x1000
#define ABS(x)		(TRAMP_BASE + ((x) - tramp_start))

	.section .rodata, "a"
	.globl tramp_start, tramp_end, tramp_cr3, tramp_count, tramp_mask
	.align 16
	.code16
tramp_start:
	cli
	cld
	mov	%cs, %ax
	mov	%ax, %ds
	lgdtl	(tr_gdtr - tramp_start)
	mov	%cr0, %eax
	or	$1, %eax			/* PE */
	mov	%eax, %cr0
	ljmpl	$0x18, $ABS(tr32)

	.code32
tr32:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	%cr4, %eax
	or	$0x20, %eax			/* PAE */
	mov	%eax, %cr4
	mov	ABS(tramp_cr3), %eax
	mov	%eax, %cr3
	mov	$0xC0000080, %ecx		/* EFER.LME */
	rdmsr
	or	$0x100, %eax
	wrmsr
	mov	%cr0, %eax
	or	$0x80000000, %eax		/* PG: long mode, compatibility */
	mov	%eax, %cr0
	ljmp	$0x08, $ABS(tr64)

	.code64
tr64:
	mov	$0xFEE00020, %eax		/* LAPIC ID register */
	mov	(%rax), %eax
	shr	$24, %eax
	lock btsl %eax, ABS(tramp_mask)
	lock incl ABS(tramp_count)
1:	cli
	hlt
	jmp	1b

	.align 8
tr_gdt:
	.quad	0
	.quad	0x00AF9A000000FFFF		/* 0x08: 64-bit code */
	.quad	0x00CF92000000FFFF		/* 0x10: flat data */
	.quad	0x00CF9A000000FFFF		/* 0x18: flat 32-bit code */
tr_gdtr:
	.word	4 * 8 - 1
	.long	ABS(tr_gdt)
	.align 4
tramp_cr3:	.long 0
tramp_count:	.long 0
tramp_mask:	.long 0
tramp_end:

	.section .note.GNU-stack, "", @progbits
