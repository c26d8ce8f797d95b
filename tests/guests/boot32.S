/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The 32-bit entry at code32_start (0x100000; guest.ld puts .text.entry32
 * first), for loaders that do not enter in long mode: header.S's real-mode
 * entry under a BIOS loader (QEMU -kernel with SeaBIOS), or any loader using
 * the 32-bit boot protocol (flat CS 0x10 and DS 0x18, ESI = boot_params).
 * It does what kvmio does before its 64-bit entry: an identity map of 0-4 GiB
 * with 2 MiB pages, a GDT with the same selectors as kvmio's (code64 0x10,
 * data 0x18), long mode; then _start (0x100200) with RSI = boot_params.
 * kvmio itself never runs this.
 */
#define CR0_PE		0x00000001
#define CR0_PG		0x80000000
#define CR4_PAE		0x00000020
#define MSR_EFER	0xC0000080
#define EFER_LME	0x00000100
#define PTE_P_W		0x003
#define PTE_P_W_PS	0x083

	.section .text.entry32, "ax"
	.code32
	.globl startup_32
startup_32:
	cli
	cld
	movl	$0x18, %eax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs

	/* 2048 PD entries of 2 MiB each (4 GiB); the high dwords stay 0 (bss). */
	movl	$boot32_pd, %edi
	movl	$PTE_P_W_PS, %eax
	movl	$2048, %ecx
1:	movl	%eax, (%edi)
	addl	$0x200000, %eax
	addl	$8, %edi
	loop	1b
	/* Four PDPT entries, one per PD page; PML4[0] -> the PDPT. */
	movl	$boot32_pdpt, %edi
	movl	$boot32_pd + PTE_P_W, %eax
	movl	$4, %ecx
2:	movl	%eax, (%edi)
	addl	$4096, %eax
	addl	$8, %edi
	loop	2b
	movl	$boot32_pdpt + PTE_P_W, boot32_pml4

	lgdt	boot32_gdt_desc
	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$boot32_pml4, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$(CR0_PG | CR0_PE), %eax
	movl	%eax, %cr0
	ljmp	$0x10, $3f

	.code64
3:	movl	$0x18, %eax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movl	%esi, %esi		/* the upper halves are undefined after the switch */
	jmp	_start

	.section .rodata
	.balign 8
boot32_gdt:
	.quad	0
	.quad	0
	.quad	0x00AF9A000000FFFF	/* 0x10: 64-bit code, as kvmio's BOOT_CS */
	.quad	0x00CF92000000FFFF	/* 0x18: flat data, as kvmio's BOOT_DS */
boot32_gdt_end:
boot32_gdt_desc:
	.word	boot32_gdt_end - boot32_gdt - 1
	.long	boot32_gdt

	.section .bss.boot32, "aw", @nobits
	.balign 4096
boot32_pml4:
	.skip	4096
boot32_pdpt:
	.skip	4096
boot32_pd:
	.skip	4 * 4096

	.section .note.GNU-stack, "", @progbits
