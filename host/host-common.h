/* Shared by the host helpers: the io_uring uapi subset and syscall numbers they need when the
 * machine's headers lack them (include/uapi/linux/io_uring.h, arch/x86 syscall table). */
#ifndef PINLAB_HOST_COMMON_H
#define PINLAB_HOST_COMMON_H

#include <stdint.h>

#if defined(__has_include)
#if __has_include(<linux/io_uring.h>)
#include <linux/io_uring.h>
#define HAVE_LINUX_IO_URING_H 1
#endif
#endif

#ifndef HAVE_LINUX_IO_URING_H
struct io_sqring_offsets {
	uint32_t head, tail, ring_mask, ring_entries, flags, dropped, array, resv1;
	uint64_t user_addr;
};
struct io_cqring_offsets {
	uint32_t head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1;
	uint64_t user_addr;
};
struct io_uring_params {
	uint32_t sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle,
		features, wq_fd, resv[3];
	struct io_sqring_offsets sq_off;
	struct io_cqring_offsets cq_off;
};
#define IORING_REGISTER_BUFFERS 0
#define IORING_UNREGISTER_BUFFERS 1
#endif

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_io_uring_enter
#define __NR_io_uring_enter 426
#endif
#ifndef __NR_io_uring_register
#define __NR_io_uring_register 427
#endif
#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE 14
#endif
#ifndef MADV_NOHUGEPAGE
#define MADV_NOHUGEPAGE 15
#endif

/* The SQE/CQE layout and constants of include/uapi/linux/io_uring.h (stable ABI), under our own names. */
struct pf_sqe {
	uint8_t opcode, flags;
	uint16_t ioprio;
	int32_t fd;
	uint64_t off, addr;
	uint32_t len, rw_flags;
	uint64_t user_data;
	uint16_t buf_index, personality;
	int32_t splice_fd_in;
	uint64_t pad[2];
};
struct pf_cqe {
	uint64_t user_data;
	int32_t res;
	uint32_t flags;
};
#define PF_OP_READ_FIXED 4
#define PF_OP_WRITE_FIXED 5
#define PF_ENTER_GETEVENTS 1U
#define PF_OFF_SQ_RING 0ULL
#define PF_OFF_CQ_RING 0x8000000ULL
#define PF_OFF_SQES 0x10000000ULL

#define PAGE_SZ 4096UL

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * nr_foll_pin_acquired / nr_foll_pin_released from /proc/vmstat (mm/vmstat.c vmstat_text[]).
 * Returns 0, -errno when /proc/vmstat cannot be opened, or -ENOENT when a counter is missing.
 */
static inline int read_vmstat_pins(int64_t *acq, int64_t *rel)
{
	static char buf[1 << 16];
	size_t len = 0;
	ssize_t n;
	char *p;
	int fd = open("/proc/vmstat", O_RDONLY);

	if (fd < 0)
		return -errno;
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	*acq = *rel = -1;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, "nr_foll_pin_acquired ", 21))
			*acq = strtoll(p + 21, NULL, 10);
		else if (!strncmp(p, "nr_foll_pin_released ", 21))
			*rel = strtoll(p + 21, NULL, 10);
	}
	return (*acq < 0 || *rel < 0) ? -ENOENT : 0;
}

/* ---- JSON output shared by the helpers ------------------------------------------------------ */

#define MAX_NOTES 32

/* Notes for the "notes" array of the result; the same note from every rep is kept once. */
static char *notes[MAX_NOTES];
static int nnotes;

static void note(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int i;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		return;
	for (i = 0; i < nnotes; i++)
		if (!strcmp(notes[i], s)) {
			free(s);
			return;
		}
	if (nnotes < MAX_NOTES)
		notes[nnotes++] = s;
	else
		free(s);
}

/* A JSON string on stdout. */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* Run by fail() before it exits (a helper's own clean-up), if set. */
static void (*fail_cleanup)(void);

/* Print {"error", "stage", "errno", "strerror"} and exit 1. */
static void __attribute__((noreturn)) fail(const char *stage, int err, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	printf("{\"error\": ");
	json_str(msg ? msg : "unknown error");
	printf(", \"stage\": ");
	json_str(stage);
	printf(", \"errno\": %d, \"strerror\": ", err);
	json_str(err ? strerror(err) : "");
	printf("}\n");
	fflush(stdout);
	if (fail_cleanup)
		fail_cleanup();
	_exit(1);
}

#endif
