/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bzImage setup sectors: a boot sector and one setup sector (setup_sects
 * = 1) holding the Linux setup header (Documentation/arch/x86/boot.rst,
 * protocol 2.15). kvmio never runs real-mode code; it reads this header,
 * loads the rest of the file at 0x100000 and enters it at 0x100200 in long
 * mode. Each field sits behind an .org at its documented offset, so a
 * mis-sized field fails to assemble instead of shifting the rest.
 * guest_syssize and guest_init_size come from guest.ld.
 *
 * A BIOS loader (QEMU's -kernel through SeaBIOS's linuxboot option ROM, or
 * any 16-bit boot protocol loader) instead copies these sectors below 1 MiB
 * and jumps to the real-mode entry at offset 0x200. rm_entry below does what
 * Linux's setup does last: it switches to 32-bit protected mode with flat
 * segments and jumps to code32_start (0x100000) with ESI = the setup sectors,
 * which are the boot_params (32-bit boot protocol). boot32.S takes it from
 * there into long mode and to the same 64-bit entry kvmio uses.
 */
	.section .setup, "a"

	.org 0x1F1
	.byte	1			/* setup_sects */
	.org 0x1F2
	.word	0			/* root_flags */
	.org 0x1F4
	.long	guest_syssize		/* syssize, 16-byte units */
	.org 0x1F8
	.word	0			/* ram_size */
	.org 0x1FA
	.word	0xFFFF			/* vid_mode: normal */
	.org 0x1FC
	.word	0			/* root_dev */
	.org 0x1FE
	.word	0xAA55			/* boot_flag */
	.org 0x200
	.byte	0xEB, rm_entry - 1f	/* jump over the header, as Linux does */
1:
	.org 0x202
	.ascii	"HdrS"
	.org 0x206
	.word	0x020F			/* version 2.15 */
	.org 0x208
	.long	0			/* realmode_swtch */
	.org 0x20C
	.word	0x1000			/* start_sys_seg (obsolete) */
	.org 0x20E
	.word	0			/* kernel_version */
	.org 0x210
	.byte	0			/* type_of_loader */
	.org 0x211
	.byte	0x01			/* loadflags: LOADED_HIGH */
	.org 0x212
	.word	0			/* setup_move_size */
	.org 0x214
	.long	0x100000		/* code32_start */
	.org 0x218
	.long	0			/* ramdisk_image */
	.org 0x21C
	.long	0			/* ramdisk_size */
	.org 0x220
	.long	0			/* bootsect_kludge */
	.org 0x224
	.word	0			/* heap_end_ptr */
	.org 0x226
	.byte	0			/* ext_loader_ver */
	.org 0x227
	.byte	0			/* ext_loader_type */
	.org 0x228
	.long	0			/* cmd_line_ptr */
	.org 0x22C
	.long	0x7FFFFFFF		/* initrd_addr_max */
	.org 0x230
	.long	0x100000		/* kernel_alignment */
	.org 0x234
	.byte	0			/* relocatable_kernel: no, load at 0x100000 */
	.org 0x235
	.byte	20			/* min_alignment (log2) */
	.org 0x236
	.word	0x0001			/* xloadflags: XLF_KERNEL_64 */
	.org 0x238
	.long	2047			/* cmdline_size */
	.org 0x23C
	.long	0			/* hardware_subarch: PC */
	.org 0x240
	.quad	0			/* hardware_subarch_data */
	.org 0x248
	.long	0			/* payload_offset */
	.org 0x24C
	.long	0			/* payload_length */
	.org 0x250
	.quad	0			/* setup_data */
	.org 0x258
	.quad	0x100000		/* pref_address */
	.org 0x260
	.long	guest_init_size		/* init_size */
	.org 0x264
	.long	0			/* handover_offset */
	.org 0x268
	.long	0			/* kernel_info_offset */

/*
 * The 16-bit entry (from offset 0x200). CS:IP may be seg:0x200 or
 * (seg + 0x20):0, so the setup's linear address is computed from where this
 * code runs. It is 16-byte aligned (a real-mode segment base).
 */
	.org 0x270
	.code16
rm_entry:
	cli
	cld
	xorl	%ebx, %ebx
	movw	%cs, %bx
	shll	$4, %ebx
	call	2f
2:	popw	%ax			/* IP of 2: */
	movzwl	%ax, %eax
	addl	%eax, %ebx
	subl	$2b, %ebx		/* EBX = linear address of the setup = boot_params */
	movl	%ebx, %eax
	shrl	$4, %eax
	movw	%ax, %ds		/* DS:offset = the setup's own offsets */
	addr32 leal rm_gdt(%ebx), %eax
	movl	%eax, rm_gdt_desc + 2	/* the GDT's linear address */
	movl	0x214, %eax		/* code32_start, as the loader left it */
	movl	%eax, rm_pm_jump
	lgdtl	rm_gdt_desc
	movl	%ebx, %esi		/* 32-bit protocol: ESI = boot_params, EBX/EBP/EDI = 0 */
	xorl	%ebx, %ebx
	xorl	%ebp, %ebp
	xorl	%edi, %edi
	movl	%cr0, %eax
	orl	$1, %eax		/* PE */
	movl	%eax, %cr0
	ljmpl	*rm_pm_jump		/* to CS 0x10, flat 32-bit; DS still real-mode-cached */

	.balign 8
rm_gdt:
	.quad	0
	.quad	0
	.quad	0x00CF9A000000FFFF	/* 0x10: __BOOT_CS, flat 32-bit code */
	.quad	0x00CF92000000FFFF	/* 0x18: __BOOT_DS, flat data */
rm_gdt_end:
rm_gdt_desc:
	.word	rm_gdt_end - rm_gdt - 1
	.long	0			/* linear base, filled in above */
rm_pm_jump:
	.long	0			/* code32_start */
	.word	0x10

	.org 0x400			/* end of setup sector 1 */

	.section .note.GNU-stack, "", @progbits
