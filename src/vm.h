/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_VM_H
#define KVMIO_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bus.h"
#include "dev.h"
#include "loop.h"
#include "mem.h"
#include "outbuf.h"

struct vcpu;
struct uart8250;
struct rtc;
struct i8042;
struct pm;
struct ports;
struct pcihp;
struct pci_host;
struct irq_routes;
struct virtio_pci;
struct virtio_dev;

/* Why the VM stopped; decides kvmio's exit status (see README "Exit status"). */
enum vm_stop_reason {
	VM_RUNNING = 0,
	VM_STOP_POWEROFF,	/* ACPI S5: exit 0 */
	VM_STOP_REBOOT,		/* i8042/ACPI reset, deliberate triple fault: exit 0 */
	VM_STOP_QUIT,		/* Ctrl-A x on the console: exit 0 */
	VM_STOP_SIGNAL,		/* SIGINT/SIGTERM/SIGHUP: exit 128 + signal */
	VM_STOP_API,		/* vm.shutdown on the control socket: exit 0 */
	VM_STOP_ERROR,		/* KVM internal error, failed entry, unexpected shutdown: exit 1 */
};

enum serial_mode { SERIAL_STDIO, SERIAL_FILE, SERIAL_NONE };

/* --disk PATH[,readonly=on][,serial=STR] */
struct disk_opts {
	const char *path;
	bool readonly;
	const char *serial;	/* GET_ID string, at most 20 bytes; NULL: derived from the path */
	const char *id;		/* device id (dev.h); NULL: generated */
};

/* --net tap=IFNAME[,mac=MAC] */
struct net_opts {
	const char *tap;
	uint8_t mac[6];
	bool mac_given;		/* else generated from the tap name, stable across runs */
	unsigned int tx_usecs;	/* TX tick, us (0: none) or VIRTIO_NET_TX_USECS_AUTO */
	const char *id;		/* device id (dev.h); NULL: generated */
};

/* --device vfio=BDF[,id=ID][,request-timeout=S][,vf-token=UUID][,rom=PATH][,vga=on] */
struct vfio_opts {
	char bdf[13];		/* canonical "dddd:bb:dd.f" (VFIO_BDF_LEN) */
	const char *id;		/* device id (dev.h); NULL: generated */
	unsigned int req_timeout_s;	/* the guest's time to eject a device the host wants back */
	char vf_token[37];	/* the PF driver's VF token (a UUID), "" for none */
	const char *rom;	/* the expansion ROM from a file instead of the device; NULL: the device's */
	bool vga;		/* forward legacy VGA memory and ports to the device */
};
/* The default time a guest has to eject a device the host asks back (request-timeout=). */
#define VFIO_REQ_TIMEOUT_S	10

/* --console stdio|file=PATH|none: the virtio console (hvc0) */
enum vcon_mode { VCON_NONE, VCON_STDIO, VCON_FILE };

#define VM_MAX_DISKS	8
#define VM_MAX_NETS	4
#define VM_MAX_VFIO	8
#define VM_MAX_LANDLOCK	16

struct vm_config {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	unsigned int ncpus;
	uint64_t mem_size;
	enum serial_mode serial;
	const char *serial_path;
	struct disk_opts disks[VM_MAX_DISKS];
	unsigned int ndisks;
	struct net_opts nets[VM_MAX_NETS];
	unsigned int nnets;
	struct vfio_opts vfio[VM_MAX_VFIO];
	unsigned int nvfio;
	bool rng;
	unsigned int poll_us;	/* --poll: device workers poll up to this long (loop.h), 0: never */
	bool iommu;		/* --iommu: the emulated VT-d (src/iommu/) */
	bool iommu_no_cm;	/* --iommu=caching-mode=off */
	enum vcon_mode console;
	const char *console_path;
	const char *api_socket;	/* --api-socket PATH (src/api/), or NULL */
	int seccomp;		/* --seccomp: enum sandbox_mode */
	bool drop_user;		/* --user: run as uid:gid once set up */
	bool landlock;		/* --landlock (src/landlock.c) */
	struct { const char *path; bool rw; } landlock_rules[VM_MAX_LANDLOCK];	/* --landlock-rules */
	unsigned int nlandlock;
	uid_t uid;
	gid_t gid;
};

/*
 * Fixed guest-physical and I/O addresses. The ACPI tables describe these, the
 * devices register at them; both read them from here.
 */
#define IOAPIC_ADDR		0xFEC00000ULL
#define LAPIC_ADDR		0xFEE00000ULL
#define UART_COM1_PORT		0x3F8
#define UART_COM1_IRQ		4
#define RTC_PORT		0x70
#define RTC_IRQ			8
#define I8042_DATA_PORT		0x60
#define I8042_CMD_PORT		0x64
#define I8042_KBD_IRQ		1
#define I8042_AUX_IRQ		12
#define ACPI_PM_BASE		0x600	/* PM1a_EVT (4), PM1a_CNT (2), PM_TMR (4) */
#define ACPI_PM1A_EVT		(ACPI_PM_BASE + 0x0)
#define ACPI_PM1A_CNT		(ACPI_PM_BASE + 0x4)
#define ACPI_PM_TMR		(ACPI_PM_BASE + 0x8)
#define ACPI_GPE0_BLK		(ACPI_PM_BASE + 0x20)	/* 4 bytes: status, enable */
#define ACPI_GPE0_LEN		4
#define ACPI_RESET_PORT		(ACPI_PM_BASE + 0x10)	/* FADT RESET_REG */
#define ACPI_RESET_VALUE	0x01
#define ACPI_SCI_IRQ		9
#define ACPI_S5_TYP		5	/* SLP_TYP for \_S5 in our DSDT */

/*
 * PCI: one host bridge, bus 0. The ACPI tables (MCFG, \_SB.PCI0 _CRS and
 * _PRT) describe these; pci.c decodes them.
 *
 *   ECAM        PCI_ECAM_BASE, 1 MiB per bus (4 KiB per function), bus 0 only;
 *               also reserved in the e820 map, as Linux wants MCFG areas to be
 *   MMIO32      PCI_MMIO32_BASE.. +PCI_MMIO32_SIZE, in the 3-4 GiB hole
 *   MMIO64      from the first 1 GiB boundary above RAM and 4 GiB, for large
 *               and 64-bit BARs; its size is computed at run time (vm->pci_mmio64_*)
 *   I/O ports   PCI_IOPORT_BASE..0xFFFF
 *   INTx        slot S, pin P (1 = INTA .. 4 = INTD) -> IOAPIC pin
 *               PCI_INTX_GSI_BASE + (S + P - 1) % 4, level-triggered, active low
 */
#define PCI_ECAM_BASE		0xE0000000ULL
#define PCI_ECAM_BUS_END	0
#define PCI_ECAM_SIZE		((PCI_ECAM_BUS_END + 1) * 0x100000ULL)
#define PCI_MMIO32_BASE		0xC0000000ULL
#define PCI_MMIO32_SIZE		0x20000000ULL	/* 512 MiB, up to the ECAM */
#define PCI_IOPORT_BASE		0xC000
#define PCI_IOPORT_SIZE		0x4000
#define PCI_INTX_GSI_BASE	16
#define PCI_INTX_NR_GSI		4

struct vm {
	int kvm_fd;
	int vm_fd;
	int run_size;		/* KVM_GET_VCPU_MMAP_SIZE */
	bool pvm;		/* /dev/kvm is the kvm_pvm module */
	const struct vm_config *cfg;
	struct guest_mem mem;
	struct bus bus;
	bool bus_up;

	unsigned int ndevices;	/* built-in devices initialised, for teardown */
	unsigned int ncpus;
	struct vcpu **vcpus;
	struct kvm_cpuid2 *cpuid;	/* KVM_GET_SUPPORTED_CPUID, shared template */

	/* Console plumbing (see term.c): where the UART writes, what feeds it. */
	int serial_out_fd;	/* -1: output dropped (--serial none) */
	struct outbuf console_out;	/* guest console output on its way to stdout */
	struct outbuf serial_file_out;	/* COM1 output with --serial file=PATH */
	int serial_rx_fd;	/* eventfd: the UART's RX FIFO has room again */
	struct uart8250 *com1;

	/* Built-in devices, owned by their files under src/hw/. */
	struct rtc *rtc;
	struct i8042 *i8042;
	struct pm *pm;
	struct ports *ports;
	struct pcihp *pcihp;

	/* PCI, MSI routing and the virtio devices (src/pci/, src/virtio/). */
	struct pci_host *pci;
	struct irq_routes *irq_routes;
	uint64_t pci_mmio64_base, pci_mmio64_size;
	struct virtio_dev *vcon;	/* the virtio console, when on stdio */
	/* Assigned devices' containers (src/vfio/): one, or one per group with --iommu. */
	struct vfio_container *vfio_container;
	/* Every PCI function but the host bridge: virtio and assigned (dev.h). */
	struct dev_registry devs;
	struct iommu *iommu;		/* --iommu (src/iommu/iommu.c), or NULL */
	/* KVM memory slots past RAM's (BARs of assigned devices), in use. */
	uint64_t mmio_slots[4];
	bool vga_hole;		/* 0xA0000-0xBFFFF left out of RAM's slot: a vga=on device's */
	bool igd_opregion;	/* BOOT_OPREGION_ADDR holds an assigned IGD's OpRegion */

	struct loop loop;	/* the main thread's (loop.h) */

	/* vm_pause: vCPUs park outside KVM_RUN while pause_req is set. */
	atomic_bool pause_req;
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;	/* nparked changed, or pause_req cleared */
	unsigned int nparked;		/* under pause_lock */

	/* Stop request: first writer wins; the main loop wakes on stop_fd. */
	_Atomic int stop_reason;
	int stop_signal;	/* for VM_STOP_SIGNAL */
	int stop_fd;		/* eventfd */
};

/*
 * vm_irq_line - drive interrupt line @gsi of the in-kernel PIC/IOAPIC to
 * @level (KVM_IRQ_LINE). Safe from any thread. Returns 0 or negative errno.
 */
int vm_irq_line(struct vm *vm, unsigned int gsi, int level);

/*
 * vm_console_write - queue guest console output for the serial destination.
 * Never blocks: when the reader falls behind by more than the ring, bytes
 * are dropped and counted. Safe from any thread.
 */
void vm_console_write(struct vm *vm, const uint8_t *p, size_t n);

/* vm_serial_write - COM1's output: to stdout or the serial file, per --serial. */
void vm_serial_write(struct vm *vm, const uint8_t *p, size_t n);

/*
 * vm_request_stop - ask the VM to stop for @reason. The first request wins;
 * later ones are ignored. Safe from any thread, including vCPU threads and
 * signal-free contexts; never blocks.
 */
void vm_request_stop(struct vm *vm, enum vm_stop_reason reason);

/*
 * A legacy device built into every VM. Each file under src/hw/ exports one of
 * these; vm.c lists them in one table and calls init in order, exit in
 * reverse. init registers the device's ranges on vm->bus and returns 0 or a
 * negative errno.
 */
struct vm_device_ops {
	const char *name;
	int (*init)(struct vm *vm);
	void (*exit)(struct vm *vm);
};

extern const struct vm_device_ops uart8250_dev_ops;
extern const struct vm_device_ops rtc_dev_ops;
extern const struct vm_device_ops i8042_dev_ops;
extern const struct vm_device_ops pm_dev_ops;
extern const struct vm_device_ops ports_dev_ops;
extern const struct vm_device_ops pcihp_dev_ops;

/*
 * vm_create - build the whole VM from @cfg (kept by pointer): KVM VM,
 * irqchip and PIT, RAM, built-in devices, ACPI tables, kernel and initrd,
 * vCPUs with the BSP at the kernel's entry. Prints one line on failure and
 * returns a negative errno, having undone everything.
 */
/*
 * vm_map_mmio - map @size bytes of host memory at @hva (a device's BAR,
 * page-aligned) at guest address @gpa as a KVM memory slot, so guest
 * accesses do not exit; @readonly: reads do not exit, writes do (as
 * MMIO, to the bus: a ROM). Returns the slot (>= 0) or negative errno.
 * vm_unmap_mmio removes slot @slot.
 */
int vm_map_mmio(struct vm *vm, uint64_t gpa, uint64_t size, void *hva, bool readonly);
void vm_unmap_mmio(struct vm *vm, int slot);

int vm_create(struct vm *vm, const struct vm_config *cfg);

/*
 * vm_run - start the vCPUs, serve the console and signals on the calling
 * thread until the VM stops, join the vCPUs. Returns kvmio's exit status
 * (0 poweroff/reboot/quit, 1 error, 128+N signal N). Call once, with
 * SIGPIPE ignored (main does it first thing).
 */
int vm_run(struct vm *vm);

/*
 * vm_pause - stop the vCPUs outside KVM_RUN and wait until all are; devices
 * keep serving what is in flight. vm_resume lets them run again. Main
 * thread, while vm_run runs. Both return 0, or -EALREADY when the VM already
 * is in that state; vm_pause -ESHUTDOWN when the VM stopped meanwhile.
 * vm_paused says which.
 */
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);
bool vm_paused(struct vm *vm);

/* vm_destroy - release everything vm_create built; safe after a failure. */
void vm_destroy(struct vm *vm);

#endif
