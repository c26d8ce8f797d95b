/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KVMIO_VIRTIO_CONSOLE_H
#define KVMIO_VIRTIO_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"
#include "vm.h"

struct virtio_dev;

/*
 * virtio-console (virtio 1.2 section 5.3), one port, no MULTIPORT: queue 0
 * is receiveq0 (host to guest), queue 1 transmitq0 (guest to host). The
 * guest sees it as /dev/hvc0.
 *
 * Bounds (hostile-guest.md case 18): one worker wakeup writes at most
 * VIRTIO_CONSOLE_TX_WAKEUP_MAX bytes of guest output over at most
 * VIRTIO_CONSOLE_TX_WAKEUP_CHAINS chains, then re-queues itself with
 * virtio_kick_self; a chain longer than that is written across wakeups.
 */
#define VIRTIO_CONSOLE_TX_WAKEUP_MAX	(64 * KiB)
#define VIRTIO_CONSOLE_TX_WAKEUP_CHAINS	128
#define VIRTIO_CONSOLE_QUEUE_MAX	256
#define VIRTIO_CONSOLE_RXQ		0
#define VIRTIO_CONSOLE_TXQ		1

/*
 * virtio_console_create - add a virtio-console PCI function to @vm.
 *   @mode  VCON_STDIO: output through vm_console_write (never blocks; the
 *          ring drops what the reader cannot keep up with), input from
 *          virtio_console_input. VIRTIO_CONSOLE_F_SIZE is offered when
 *          stdout is a terminal. VCON_FILE: output to @path, opened here
 *          O_WRONLY|O_CREAT|O_TRUNC and then made non-blocking, so a slow
 *          FIFO or terminal back-pressures the guest instead of stalling
 *          the worker; no input. VCON_NONE: nothing is created.
 *   @out   where to store the device (NULL: not wanted). Set to NULL on
 *          failure and for VCON_NONE. The transport owns the device: the
 *          pointer is valid until virtio_pci_destroy_all.
 * Returns 0, or a negative errno after printing one line. Setup only.
 */
int virtio_console_create(struct vm *vm, enum vcon_mode mode, const char *path,
			  struct virtio_dev **out);

/*
 * virtio_console_input - host input (stdin) for the guest. Copies as much of
 * @p[0..@n) as the receive buffers the guest has posted can take now and
 * returns that count; each buffer used goes back to the guest at once,
 * however little it holds. It is 0 before DRIVER_OK, after a reset and
 * when the guest has posted nothing. When it returns less than @n,
 * vm->serial_rx_fd gets an eventfd_write(1) later, once the guest posts
 * receive buffers (or the driver starts with some posted): the caller keeps
 * the rest and retries then, as with the UART. Works in any mode; vm.c
 * decides where stdin goes.
 *
 * Locking: takes the device's receive lock, which serialises receiveq0
 * against the worker (notify) and against start/stop; calls no transport
 * function while holding it, so any thread may call this, until
 * virtio_pci_destroy_all.
 */
size_t virtio_console_input(struct virtio_dev *vdev, const uint8_t *p, size_t n);

/*
 * virtio_console_resize - the host terminal may have changed size (SIGWINCH):
 * with VIRTIO_CONSOLE_F_SIZE negotiated, re-read it and, if it changed, tell
 * the driver with a config interrupt (5.3.4; sent from the worker). A no-op
 * otherwise. Any thread.
 */
void virtio_console_resize(struct virtio_dev *vdev);

#endif
