// SPDX-License-Identifier: GPL-2.0-only
/*
 * pinhost: the real-kernel side of `pinlab host-check`.
 *
 * Each workload does one user-space operation that may pin pages (O_DIRECT,
 * io_uring buffer registration, process_vm_readv/writev, vmsplice) and reports
 * what user space can observe (spec section 14, R121-R134):
 *   - the return value (bytes, 0, or -errno),
 *   - the deltas of nr_foll_pin_acquired / nr_foll_pin_released in /proc/vmstat
 *     ("ΔA"/"ΔR"), read after `1 > /proc/sys/vm/stat_refresh` (R73) and polled
 *     until stable after the operation (iomap completion order, R96),
 *   - facts about the buffer's pages from /proc/PID/pagemap, /proc/kpageflags
 *     and /proc/PID/smaps (present, zero page, exclusively mapped, dirty, THP).
 *
 * Every workload is set up afresh and run --reps times; the reported phases are
 * the most common outcome (R133: other processes may pin concurrently), and the
 * observations are those of the last rep with that outcome.
 *
 * Usage: pinhost CASE [--pages N] [--reps R] [--dir DIR]
 *        pinhost --list | --probe [--dir DIR]
 * Output: one JSON object on stdout. On error: {"error": ...} and exit 1.
 * Needs root (stat_refresh, PFNs in pagemap, /proc/kpageflags).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "host-common.h"

#define MAX_REPS 50
#define MAX_PHASES 4
#define MAX_OBS 40

/* /proc/kpageflags bits (include/uapi/linux/kernel-page-flags.h) */
#define KPF_DIRTY 4
#define KPF_ANON 12
#define KPF_THP 22
#define KPF_ZERO_PAGE 24

/* ---- output helpers ----------------------------------------------------------------------- */

static char tmpdir_path[4096];
/* --blkdev: a block device the blkdev cases may read with O_DIRECT (null: none). */
static const char *blkdev_path;
static int tmpdir_owned;

static void cleanup_tmpdir(void)
{
	if (tmpdir_owned && tmpdir_path[0]) {
		(void)rmdir(tmpdir_path); /* our files are unlinked as we go */
		tmpdir_owned = 0;
	}
}

/* ---- counters ----------------------------------------------------------------------------- */

struct counters {
	int64_t acq, rel;
};

static void stat_refresh(void)
{
	static int warned;
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);

	if (fd < 0 || write(fd, "1", 1) != 1) {
		/*
		 * Only an SMP kernel has stat_refresh (mm/vmstat.c vmstat_refresh() is under
		 * CONFIG_SMP), and only there are there per-CPU deltas to fold: on a one-CPU
		 * kernel without it (User-Mode Linux) the counters are exact.
		 */
		if (fd < 0 && errno == ENOENT && sysconf(_SC_NPROCESSORS_CONF) == 1)
			warned = 1;
		if (!warned)
			note("stat_refresh write failed (%s): counters may lag by per-cpu deltas", strerror(errno));
		warned = 1;
	}
	if (fd >= 0)
		close(fd);
}

static void read_counters(struct counters *c)
{
	int r;

	stat_refresh();
	r = read_vmstat_pins(&c->acq, &c->rel);
	if (r == -ENOENT)
		fail("vmstat", 0, "nr_foll_pin_acquired/nr_foll_pin_released missing from /proc/vmstat");
	if (r < 0)
		fail("vmstat", -r, "cannot open /proc/vmstat");
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * After the operation returned: an iomap read can return before its last
 * bio's unpins ran (R96), and ring teardown is asynchronous. Poll until two
 * consecutive refreshed readings agree (at most ~200 ms).
 */
static void read_settled(struct counters *c)
{
	struct counters prev;
	int i;

	sleep_us(2000);
	read_counters(&prev);
	for (i = 0; i < 100; i++) {
		sleep_us(2000);
		read_counters(c);
		if (c->acq == prev.acq && c->rel == prev.rel)
			return;
		prev = *c;
	}
	note("pin counters did not settle within 200 ms (concurrent pinning?)");
}

/* ---- one rep: phases and observations ----------------------------------------------------- */

struct phase {
	const char *name;
	long long ret;
	int64_t da, dr;
};

struct obs {
	const char *key;
	long long val;
};

struct rep {
	struct phase ph[MAX_PHASES];
	int nph;
	struct obs ob[MAX_OBS];
	int nob;
	struct counters c0; /* at measure_begin */
};

static struct rep reps_out[MAX_REPS];
static struct rep *cur;

/* Start from a quiet moment: two consecutive refreshed readings that agree (at most ~100 ms). */
static void measure_begin(void)
{
	struct counters prev;
	int i;

	read_counters(&prev);
	for (i = 0; i < 50; i++) {
		sleep_us(2000);
		read_counters(&cur->c0);
		if (cur->c0.acq == prev.acq && cur->c0.rel == prev.rel)
			return;
		prev = cur->c0;
	}
	note("pin counters were moving before the operation (concurrent pinning?)");
}

/* ret: bytes / 0 on success, -errno on failure (the caller converts). */
static void measure_end(const char *phase, long long ret)
{
	struct counters c1;
	struct phase *p;

	read_settled(&c1);
	if (cur->nph >= MAX_PHASES)
		fail("internal", 0, "too many phases");
	p = &cur->ph[cur->nph++];
	p->name = phase;
	p->ret = ret;
	p->da = c1.acq - cur->c0.acq;
	p->dr = c1.rel - cur->c0.rel;
}

static void observe(const char *key, long long val)
{
	int i;

	for (i = 0; i < cur->nob; i++)
		if (!strcmp(cur->ob[i].key, key)) {
			cur->ob[i].val = val;
			return;
		}
	if (cur->nob >= MAX_OBS)
		fail("internal", 0, "too many observations");
	cur->ob[cur->nob].key = key;
	cur->ob[cur->nob].val = val;
	cur->nob++;
}

static long long sysret(long r)
{
	return r < 0 ? -(long long)errno : (long long)r;
}

/* ---- page observations -------------------------------------------------------------------- */

struct pageinfo {
	long present, zero, exclusive, dirty, thp, anon;
	/* kpageflags was read for every present page (dirty, thp, anon are known); zero is known */
	int kpf_ok, zero_ok;
};

/* pagemap bits (Documentation/admin-guide/mm/pagemap.rst) */
#define PM_PRESENT (1ULL << 63)
#define PM_EXCLUSIVE (1ULL << 56)
#define PM_PFN_MASK ((1ULL << 55) - 1)

static int read_pagemap(pid_t pid, unsigned long addr, unsigned long n, uint64_t *out)
{
	char path[64];
	int fd;
	ssize_t r;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	r = pread(fd, out, n * 8, (off_t)(addr / PAGE_SZ * 8));
	close(fd);
	return r == (ssize_t)(n * 8) ? 0 : -1;
}

/*
 * The zero page's PFN, found without /proc/kpageflags: read-fault two private anonymous pages;
 * if both map the same PFN, that is the shared zero page (do_anonymous_page() maps it on a read
 * fault). 0 when they map different pages (no zero page on read faults), -1 when the PFNs are
 * hidden. User-Mode Linux before 6.12 has an empty /proc/kpageflags (max_pfn is 0 there), so
 * this is how pinhost tells zero-page PTEs apart on it.
 */
static int64_t zero_pfn(void)
{
	static int64_t cached = -2;
	uint64_t e[2];
	char *p;

	if (cached != -2)
		return cached;
	cached = -1;
	p = mmap(NULL, 2 * PAGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return cached;
	(void)madvise(p, 2 * PAGE_SZ, MADV_NOHUGEPAGE);
	(void)*(volatile char *)p;
	(void)*(volatile char *)(p + PAGE_SZ);
	if (!read_pagemap(getpid(), (unsigned long)p, 2, e) && (e[0] & PM_PRESENT) && (e[1] & PM_PRESENT) &&
	    (e[0] & PM_PFN_MASK) && (e[1] & PM_PFN_MASK))
		cached = (e[0] & PM_PFN_MASK) == (e[1] & PM_PFN_MASK) ? (int64_t)(e[0] & PM_PFN_MASK) : 0;
	munmap(p, 2 * PAGE_SZ);
	return cached;
}

static void page_info(pid_t pid, const void *buf, unsigned long n, struct pageinfo *pi)
{
	uint64_t *pm = calloc(n, 8);
	int kfd = open("/proc/kpageflags", O_RDONLY);
	unsigned long i;

	memset(pi, 0, sizeof(*pi));
	if (!pm || read_pagemap(pid, (unsigned long)buf, n, pm)) {
		note("cannot read /proc/%d/pagemap", (int)pid);
		free(pm);
		if (kfd >= 0)
			close(kfd);
		return;
	}
	if (kfd < 0)
		note("cannot open /proc/kpageflags (%s)", strerror(errno));
	pi->kpf_ok = pi->zero_ok = 1;
	for (i = 0; i < n; i++) {
		uint64_t e = pm[i], pfn = e & PM_PFN_MASK, fl = 0;

		if (!(e & PM_PRESENT))
			continue;
		pi->present++;
		if (e & PM_EXCLUSIVE)
			pi->exclusive++;
		if (kfd >= 0 && pfn && pread(kfd, &fl, 8, (off_t)(pfn * 8)) == 8) {
			pi->zero += (fl >> KPF_ZERO_PAGE) & 1;
			pi->dirty += (fl >> KPF_DIRTY) & 1;
			pi->thp += (fl >> KPF_THP) & 1;
			pi->anon += (fl >> KPF_ANON) & 1;
		} else {
			/* no page flags: the zero page by its PFN, the rest unknown */
			pi->kpf_ok = 0;
			if (pfn && zero_pfn() >= 0)
				pi->zero += (int64_t)pfn == zero_pfn();
			else
				pi->zero_ok = 0;
		}
	}
	free(pm);
	if (kfd >= 0)
		close(kfd);
}

/* Pages of [a, a+n) in pid1 and [a, a+n) in pid2 that map the same PFN. */
static long same_pfns(pid_t p1, pid_t p2, const void *a, unsigned long n)
{
	uint64_t *m1 = calloc(n, 8), *m2 = calloc(n, 8);
	long same = 0;
	unsigned long i;

	if (m1 && m2 && !read_pagemap(p1, (unsigned long)a, n, m1) &&
	    !read_pagemap(p2, (unsigned long)a, n, m2)) {
		for (i = 0; i < n; i++)
			if ((m1[i] & PM_PRESENT) && (m2[i] & PM_PRESENT) &&
			    (m1[i] & PM_PFN_MASK) && (m1[i] & PM_PFN_MASK) == (m2[i] & PM_PFN_MASK))
				same++;
	} else {
		note("cannot compare pagemaps of %d and %d", (int)p1, (int)p2);
		same = -1;
	}
	free(m1);
	free(m2);
	return same;
}

/* A field (kB) of the smaps entry of the VMA containing addr in pid; -1 if absent. */
static long long smaps_kb(pid_t pid, const void *addr, const char *field)
{
	char path[64], line[512];
	FILE *f;
	int in = 0;
	size_t fl = strlen(field);
	long long kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;

		if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && strchr(line, ' ') > strchr(line, '-')) {
			if (in)
				break;
			in = ((unsigned long)addr >= s && (unsigned long)addr < e);
			continue;
		}
		if (in && !strncmp(line, field, fl) && line[fl] == ':') {
			kb = strtoll(line + fl + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

/* Observations of a buffer under a prefix, e.g. "buf_" -> buf_present, buf_zero, ... */
static void observe_pages(const char *prefix, pid_t pid, const void *buf, unsigned long n)
{
	static char keys[MAX_OBS * 2][48];
	static int nkeys;
	struct pageinfo pi;
	const char *names[] = { "present", "zero", "exclusive", "dirty", "thp", "anon", "rss_kb" };
	long long vals[7];
	int i;

	page_info(pid, buf, n, &pi);
	vals[0] = pi.present;
	vals[1] = pi.zero;
	vals[2] = pi.exclusive;
	vals[3] = pi.dirty;
	vals[4] = pi.thp;
	vals[5] = pi.anon;
	vals[6] = smaps_kb(pid, buf, "Rss");
	for (i = 0; i < 7; i++) {
		char k[48];
		int j;

		/* what could not be read is left out (the fact is then not compared), not reported as 0 */
		if ((i == 1 && !pi.zero_ok) || ((i == 3 || i == 4 || i == 5) && !pi.kpf_ok))
			continue;

		snprintf(k, sizeof(k), "%s%s", prefix, names[i]);
		for (j = 0; j < nkeys; j++)
			if (!strcmp(keys[j], k))
				break;
		if (j == nkeys) {
			if (nkeys >= MAX_OBS * 2)
				fail("internal", 0, "too many observation keys");
			strcpy(keys[nkeys++], k);
		}
		observe(keys[j], vals[i]);
	}
}

/* ---- environment -------------------------------------------------------------------------- */

struct ctx {
	unsigned long n;   /* pages */
	char dir[4096];
	char datapath[4200];
	unsigned long datapages;
	int seq;
};

static void read_str_file(const char *path, char *out, size_t sz)
{
	FILE *f = fopen(path, "r");

	out[0] = '\0';
	if (f) {
		if (!fgets(out, (int)sz, f))
			out[0] = '\0';
		fclose(f);
	}
	out[strcspn(out, "\n")] = '\0';
}

/* The bracketed choice of a sysfs selector: "always [madvise] never" -> "madvise". */
static void bracketed(const char *path, char *out, size_t sz)
{
	char raw[256], *a, *b;

	read_str_file(path, raw, sizeof(raw));
	a = strchr(raw, '[');
	b = a ? strchr(a, ']') : NULL;
	if (a && b) {
		*b = '\0';
		snprintf(out, sz, "%s", a + 1);
	} else {
		snprintf(out, sz, "%s", raw[0] ? raw : "unknown");
	}
}

/*
 * transparent_hugepage/enabled, or "absent" on a kernel built without
 * CONFIG_TRANSPARENT_HUGEPAGE (no /sys/kernel/mm/transparent_hugepage: User-Mode Linux).
 */
static void thp_mode(char *out, size_t sz)
{
	if (access("/sys/kernel/mm/transparent_hugepage", F_OK))
		snprintf(out, sz, "absent");
	else
		bracketed("/sys/kernel/mm/transparent_hugepage/enabled", out, sz);
}

static const char *fs_name(long type)
{
	switch ((unsigned long)type) {
	case 0xEF53: return "ext4";
	case 0x58465342: return "xfs";
	case 0x9123683E: return "btrfs";
	case 0x01021994: return "tmpfs";
	case 0x4d44: return "vfat";
	case 0x2011BAB0: return "exfat";
	case 0x794c7630: return "overlayfs";
	default: return "other";
	}
}

static void print_env(struct ctx *c)
{
	struct utsname u;
	struct statfs sf;
	char thp[256], zp[64], ksm[16];

	if (uname(&u))
		strcpy(u.release, "unknown");
	thp_mode(thp, sizeof(thp));
	read_str_file("/sys/kernel/mm/transparent_hugepage/use_zero_page", zp, sizeof(zp));
	read_str_file("/sys/kernel/mm/ksm/run", ksm, sizeof(ksm));
	printf("\"env\": {\"kernel\": ");
	json_str(u.release);
	printf(", \"machine\": ");
	json_str(u.machine);
	printf(", \"thp_enabled\": ");
	json_str(thp);
	printf(", \"thp_use_zero_page\": ");
	json_str(zp[0] ? zp : "unknown");
	printf(", \"ksm_run\": ");
	json_str(ksm[0] ? ksm : "unknown");
	printf(", \"fs\": ");
	if (statfs(c->dir, &sf) == 0) {
		char hex[32];

		json_str(fs_name((long)sf.f_type));
		snprintf(hex, sizeof(hex), "0x%lx", (unsigned long)sf.f_type);
		printf(", \"fs_magic\": ");
		json_str(hex);
	} else {
		json_str("unknown");
	}
	printf(", \"ncpus\": %ld}", sysconf(_SC_NPROCESSORS_ONLN));
}

/* ---- files and buffers -------------------------------------------------------------------- */

/* A file of `pages` pages of written, allocated, fsynced extents (not holes, not unwritten). */
static void make_file(const char *path, unsigned long pages, int fill)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
	char *blk;
	unsigned long i;

	if (fd < 0)
		fail("create", errno, "cannot create %s", path);
	blk = malloc(PAGE_SZ);
	if (!blk)
		fail("alloc", ENOMEM, "malloc");
	for (i = 0; i < pages; i++) {
		memset(blk, fill + (int)(i & 0x3f), PAGE_SZ);
		if (pwrite(fd, blk, PAGE_SZ, (off_t)(i * PAGE_SZ)) != (ssize_t)PAGE_SZ)
			fail("create", errno, "write to %s", path);
	}
	free(blk);
	if (fsync(fd))
		fail("create", errno, "fsync %s", path);
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
}

static void tmp_name(struct ctx *c, char *out, size_t sz, const char *what)
{
	snprintf(out, sz, "%s/pinhost-%d-%s-%d", c->dir, (int)getpid(), what, c->seq++);
}

static int open_direct(struct ctx *c)
{
	int fd = open(c->datapath, O_RDWR | O_DIRECT);

	if (fd < 0)
		fail("open", errno, "open(%s, O_RDWR|O_DIRECT)", c->datapath);
	return fd;
}

/*
 * A private anonymous buffer in a VMA of its own: a PROT_NONE guard page on
 * each side keeps it from merging with neighbouring buffers, so its smaps
 * entry describes this buffer only. Free it with unmap_anon().
 */
static char *map_anon(unsigned long bytes, int prot, int advice)
{
	char *g = mmap(NULL, bytes + 2 * PAGE_SZ, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *p = g + PAGE_SZ;

	if (g == MAP_FAILED)
		fail("mmap", errno, "mmap %lu anonymous bytes", bytes);
	if (mmap(p, bytes, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		fail("mmap", errno, "mmap %lu anonymous bytes", bytes);
	/* without CONFIG_TRANSPARENT_HUGEPAGE (User-Mode Linux) MADV_NOHUGEPAGE is -EINVAL: nothing to prevent */
	if (advice >= 0 && madvise(p, bytes, advice) && !(advice == MADV_NOHUGEPAGE && errno == EINVAL))
		fail("madvise", errno, "madvise(%d)", advice);
	return p;
}

static void unmap_anon(char *p, unsigned long bytes)
{
	munmap(p - PAGE_SZ, bytes + 2 * PAGE_SZ);
}

/* A PMD-aligned private anonymous range of exactly `bytes` (a multiple of 2 MiB). */
static char *map_anon_pmd_aligned(unsigned long bytes, unsigned long pmd)
{
	unsigned long len = bytes + pmd;
	char *raw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *p;

	if (raw == MAP_FAILED)
		fail("mmap", errno, "mmap %lu anonymous bytes", len);
	p = (char *)(((uintptr_t)raw + pmd - 1) & ~(uintptr_t)(pmd - 1));
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	if (raw + len > p + bytes)
		munmap(p + bytes, (size_t)(raw + len - (p + bytes)));
	return p;
}

static void touch_write(char *p, unsigned long bytes, int v)
{
	unsigned long o;

	for (o = 0; o < bytes; o += PAGE_SZ)
		((volatile char *)p)[o] = (char)v;
}

static void touch_read(const char *p, unsigned long bytes)
{
	unsigned long o;
	volatile char sink = 0;

	for (o = 0; o < bytes; o += PAGE_SZ)
		sink += ((const volatile char *)p)[o];
	(void)sink;
}

/* ---- io_uring ----------------------------------------------------------------------------- */

static int ring_setup(void)
{
	struct io_uring_params p;
	int fd;

	memset(&p, 0, sizeof(p));
	fd = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (fd < 0)
		fail("io_uring_setup", errno, "io_uring_setup failed");
	return fd;
}

static long ring_register(int ring, unsigned op, const void *arg, unsigned nr)
{
	return syscall(__NR_io_uring_register, ring, op, arg, nr);
}

/*
 * Register buf as one fixed buffer (phase "register"), then unregister
 * ("unregister"; only when the registration succeeded).
 */
static void iouring_register_unregister(char *buf, unsigned long bytes)
{
	struct iovec iov = { buf, bytes };
	int ring = ring_setup();
	long long r;

	measure_begin();
	r = sysret(ring_register(ring, IORING_REGISTER_BUFFERS, &iov, 1));
	measure_end("register", r);
	if (r == -ENOMEM)
		note("IORING_REGISTER_BUFFERS: ENOMEM (RLIMIT_MEMLOCK without CAP_IPC_LOCK?)");
	if (r == 0) {
		measure_begin();
		measure_end("unregister", sysret(ring_register(ring, IORING_UNREGISTER_BUFFERS, NULL, 0)));
	}
	close(ring);
}

/* ---- the workloads ------------------------------------------------------------------------ */

typedef void (*case_fn)(struct ctx *c);

/* 1. R121: O_DIRECT read of N pages into touched private anonymous memory: +N/+N. */
static void c_dio_read_anon(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);
	int fd = open_direct(c);

	touch_write(buf, len, 1);
	measure_begin();
	measure_end("pread", sysret(pread(fd, buf, len, 0)));
	observe_pages("buf_", getpid(), buf, c->n);
	close(fd);
	unmap_anon(buf, len);
}

/* 2. R121: the same into never-touched memory: FOLL_WRITE faults real pages, +N/+N. */
static void c_dio_read_untouched(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);
	int fd = open_direct(c);

	measure_begin();
	measure_end("pread", sysret(pread(fd, buf, len, 0)));
	observe_pages("buf_", getpid(), buf, c->n);
	close(fd);
	unmap_anon(buf, len);
}

/* 3. R122: O_DIRECT write from never-touched memory: every page is the zero page, 0/0. */
static void c_dio_write_zero(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);
	int fd = open_direct(c);

	measure_begin();
	measure_end("pwrite", sysret(pwrite(fd, buf, len, 0)));
	observe_pages("buf_", getpid(), buf, c->n);
	close(fd);
	unmap_anon(buf, len);
}

/* 4. R122: the buffer of case 3 (zero-page PTEs) after writing each page: +N/+N. */
static void c_dio_write_touched(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);
	int fd = open_direct(c);

	if (pwrite(fd, buf, len, 0) != (ssize_t)len)
		fail("setup", errno, "O_DIRECT write from the untouched buffer");
	touch_write(buf, len, 7);
	measure_begin();
	measure_end("pwrite", sysret(pwrite(fd, buf, len, 0)));
	observe_pages("buf_", getpid(), buf, c->n);
	close(fd);
	unmap_anon(buf, len);
}

/* 5. R66/R122, Q-3: 2 MiB O_DIRECT write from a never-touched PMD-aligned MADV_HUGEPAGE buffer. */
static void c_dio_write_huge_zero(struct ctx *c)
{
	unsigned long pmd = 2UL << 20, n = pmd / PAGE_SZ;
	char *buf = map_anon_pmd_aligned(pmd, pmd);
	int fd = open_direct(c);

	if (madvise(buf, pmd, MADV_HUGEPAGE))
		fail("madvise", errno, "MADV_HUGEPAGE");
	measure_begin();
	measure_end("pwrite", sysret(pwrite(fd, buf, pmd, 0)));
	observe_pages("buf_", getpid(), buf, n);
	observe("buf_anon_huge_kb", smaps_kb(getpid(), buf, "AnonHugePages"));
	close(fd);
	munmap(buf, pmd);
}

/* 6. R131: O_DIRECT read into a MAP_SHARED mapping of another ext4 file: allowed, pages end dirty. */
static void c_dio_read_shared_file(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ;
	char path[4300];
	int fd = open_direct(c), tfd;
	char *buf;

	tmp_name(c, path, sizeof(path), "target");
	make_file(path, c->n, 'a');
	tfd = open(path, O_RDWR);
	if (tfd < 0)
		fail("open", errno, "open %s", path);
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, tfd, 0);
	if (buf == MAP_FAILED)
		fail("mmap", errno, "MAP_SHARED mapping of %s", path);
	touch_read(buf, len); /* clean page-cache pages, mapped read-only (dirty tracking) */
	observe_pages("before_", getpid(), buf, c->n);
	measure_begin();
	measure_end("pread", sysret(pread(fd, buf, len, 0)));
	observe_pages("buf_", getpid(), buf, c->n);
	munmap(buf, len);
	close(tfd);
	unlink(path);
	close(fd);
}

/*
 * 7. R94: O_DIRECT read of N-1 pages at buf+1, so the buffer spans exactly N
 * pages: -EINVAL. On 6.18 the bio is filled (pages pinned) before the
 * alignment is found wrong, then released: +N/+N for N <= 256. Only the first
 * bio is built, so with more pages the count depends on how many pages fit in
 * its 256 bvecs (physically contiguous pages merge): 256 or a little more.
 */
static void c_dio_read_misaligned(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);
	int fd = open_direct(c);

	touch_write(buf, len, 1);
	measure_begin();
	measure_end("pread", sysret(pread(fd, buf + 1, len - PAGE_SZ, 0)));
	close(fd);
	unmap_anon(buf, len);
}

/* Extra, R121 caveat: a buffer misaligned by 512 (logical block) spans N+1 pages: +(N+1)/+(N+1). */
static void c_dio_read_offset512(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ;
	char *buf = map_anon(len + PAGE_SZ, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);
	int fd = open_direct(c);

	touch_write(buf, len + PAGE_SZ, 1);
	measure_begin();
	measure_end("pread", sysret(pread(fd, buf + 512, len, 0)));
	close(fd);
	unmap_anon(buf, len + PAGE_SZ);
}

/*
 * O_DIRECT write from a MAP_SHARED, read-faulted mapping of another ext4 file: a R/O pin (v6.5+)
 * or reference (before) of its page-cache pages.
 */
static void c_dio_write_shared_file(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ;
	char path[4300];
	int fd = open_direct(c), sfd;
	char *buf;

	tmp_name(c, path, sizeof(path), "source");
	make_file(path, c->n, 's');
	sfd = open(path, O_RDWR);
	if (sfd < 0)
		fail("open", errno, "open %s", path);
	buf = mmap(NULL, len, PROT_READ, MAP_SHARED, sfd, 0);
	if (buf == MAP_FAILED)
		fail("mmap", errno, "MAP_SHARED mapping of %s", path);
	touch_read(buf, len);
	measure_begin();
	measure_end("pwrite", sysret(pwrite(fd, buf, len, 0)));
	munmap(buf, len);
	close(sfd);
	unlink(path);
	close(fd);
}

/*
 * O_DIRECT read from a raw block device (--blkdev) into touched anonymous memory: block/fops.c,
 * not iomap. GETs before v6.5, pins from v6.5 ("block: Use page pinning"; seed 003).
 */
static void c_blkdev_read(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);
	int fd;

	if (!blkdev_path)
		fail("blkdev", ENODEV, "no block device (--blkdev PATH)");
	fd = open(blkdev_path, O_RDONLY | O_DIRECT);
	if (fd < 0)
		fail("open", errno, "open(%s, O_RDONLY|O_DIRECT)", blkdev_path);
	touch_write(buf, len, 1);
	measure_begin();
	measure_end("pread", sysret(pread(fd, buf, len, 0)));
	close(fd);
	unmap_anon(buf, len);
}

/*
 * O_DIRECT read into a buffer whose second half is PROT_NONE: GUP pins the first half, then
 * fails; what the read returns (short count or -EFAULT) and how many pages were pinned and
 * released on the way is the kernel's direct I/O error path.
 */
static void c_dio_read_partial(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ, half = (c->n / 2) * PAGE_SZ;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);
	int fd = open_direct(c);

	touch_write(buf, len, 1);
	if (mprotect(buf + half, len - half, PROT_NONE))
		fail("mprotect", errno, "PROT_NONE");
	measure_begin();
	measure_end("pread", sysret(pread(fd, buf, len, 0)));
	close(fd);
	unmap_anon(buf, len);
}

/*
 * io_uring registration of a buffer with an unmapped hole in its middle: the pages before the
 * hole are pinned, then GUP fails: -EFAULT and the partial pins are dropped.
 */
static void c_iouring_hole(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ, half = (c->n / 2) * PAGE_SZ;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);

	touch_write(buf, len, 1);
	if (munmap(buf + half, PAGE_SZ))
		fail("munmap", errno, "hole");
	iouring_register_unregister(buf, len);
	unmap_anon(buf, len);
}

/* 8. R131: O_DIRECT read into a PROT_READ mapping: -EFAULT. */
static void c_dio_read_readonly(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);
	int fd = open_direct(c);

	touch_write(buf, len, 1);
	if (mprotect(buf, len, PROT_READ))
		fail("mprotect", errno, "PROT_READ");
	measure_begin();
	measure_end("pread", sysret(pread(fd, buf, len, 0)));
	close(fd);
	unmap_anon(buf, len);
}

/* Extra, R131: O_DIRECT write from a PROT_NONE mapping: -EFAULT. */
static void c_dio_write_protnone(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ;
	char *buf = map_anon(len, PROT_NONE, MADV_NOHUGEPAGE);
	int fd = open_direct(c);

	measure_begin();
	measure_end("pwrite", sysret(pwrite(fd, buf, len, 0)));
	close(fd);
	unmap_anon(buf, len);
}

/* Extra, R94: O_DIRECT read of a hole: iov_iter_zero() by the CPU, no bio, no pins (0/0). */
static void c_dio_read_hole(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ;
	char path[4300];
	char *buf = map_anon(len, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);
	int fd;

	tmp_name(c, path, sizeof(path), "sparse");
	fd = open(path, O_CREAT | O_TRUNC | O_RDWR | O_DIRECT, 0600);
	if (fd < 0)
		fail("open", errno, "open %s O_DIRECT", path);
	if (ftruncate(fd, (off_t)len))
		fail("ftruncate", errno, "ftruncate %s", path);
	touch_write(buf, len, 1);
	measure_begin();
	measure_end("pread", sysret(pread(fd, buf, len, 0)));
	close(fd);
	unlink(path);
	unmap_anon(buf, len);
}

/* Extra, R126: O_DIRECT read of 512 pages into one PMD-mapped THP: +512/+512. */
static void c_dio_read_thp(struct ctx *c)
{
	unsigned long pmd = 2UL << 20, n = pmd / PAGE_SZ;
	char *buf = map_anon_pmd_aligned(pmd, pmd);
	int fd = open_direct(c);

	if (madvise(buf, pmd, MADV_HUGEPAGE))
		fail("madvise", errno, "MADV_HUGEPAGE");
	touch_write(buf, pmd, 1);
	observe("thp_before_kb", smaps_kb(getpid(), buf, "AnonHugePages"));
	measure_begin();
	measure_end("pread", sysret(pread(fd, buf, pmd, 0)));
	observe("thp_after_kb", smaps_kb(getpid(), buf, "AnonHugePages"));
	observe_pages("buf_", getpid(), buf, n);
	close(fd);
	munmap(buf, pmd);
}

/* 9a. R123: io_uring registration of touched anonymous memory: +N/0, unregister 0/+N. */
static void c_iouring_anon(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);

	touch_write(buf, len, 1);
	iouring_register_unregister(buf, len);
	observe_pages("buf_", getpid(), buf, c->n);
	unmap_anon(buf, len);
}

/* 9b. A MAP_PRIVATE mapping of an ext4 file (read-faulted): FOLL_WRITE COWs anonymous copies. */
static void c_iouring_private_file(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ;
	int fd = open(c->datapath, O_RDWR);
	char *buf;

	if (fd < 0)
		fail("open", errno, "open %s", c->datapath);
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (buf == MAP_FAILED)
		fail("mmap", errno, "MAP_PRIVATE file mapping");
	touch_read(buf, len);
	observe_pages("before_", getpid(), buf, c->n);
	iouring_register_unregister(buf, len);
	observe_pages("buf_", getpid(), buf, c->n);
	munmap(buf, len);
	close(fd);
}

/*
 * 9c. R123/R131: a MAP_SHARED ext4 file mapping: refused. Written first (writable,
 * dirty PTEs), GUP-fast grabs the first page before gup_fast_folio_allowed()
 * refuses it and undoes the pin (R74.3); never touched, nothing is grabbed.
 */
static void iouring_shared_ext4(struct ctx *c, int touch)
{
	unsigned long len = c->n * PAGE_SZ;
	char path[4300];
	int fd;
	char *buf;

	tmp_name(c, path, sizeof(path), "shared");
	make_file(path, c->n, 'b');
	fd = open(path, O_RDWR);
	if (fd < 0)
		fail("open", errno, "open %s", path);
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (buf == MAP_FAILED)
		fail("mmap", errno, "MAP_SHARED file mapping");
	if (touch)
		touch_write(buf, len, 1);
	iouring_register_unregister(buf, len);
	munmap(buf, len);
	close(fd);
	unlink(path);
}

static void c_iouring_shared_ext4(struct ctx *c) { iouring_shared_ext4(c, 1); }
static void c_iouring_shared_ext4_untouched(struct ctx *c) { iouring_shared_ext4(c, 0); }

/*
 * io_uring registration of one buffer over two VMAs: the first half written private anonymous
 * memory, the second half a read-faulted MAP_PRIVATE mapping of the data file (MAP_FIXED right
 * after it). Refused with -EOPNOTSUPP where file-backed VMAs are, -EINVAL where the pages must come
 * from one source (v6.3; 6.1.16, 5.10.173), accepted once GUP does the checking (v6.5).
 */
static void c_iouring_mixed_vmas(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ, half = (c->n / 2) * PAGE_SZ;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);
	int fd = open(c->datapath, O_RDWR);

	if (fd < 0)
		fail("open", errno, "open %s", c->datapath);
	if (mmap(buf + half, len - half, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED)
		fail("mmap", errno, "MAP_PRIVATE|MAP_FIXED file mapping");
	touch_write(buf, half, 1);
	touch_read(buf + half, len - half);
	iouring_register_unregister(buf, len);
	unmap_anon(buf, len);
	close(fd);
}

/* 9d. R123: a memfd (shmem) MAP_SHARED mapping, written: accepted, +N/0 then 0/+N. */
static void c_iouring_memfd(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ;
	int fd = memfd_create("pinhost", 0);
	char *buf;

	if (fd < 0)
		fail("memfd_create", errno, "memfd_create");
	if (ftruncate(fd, (off_t)len))
		fail("ftruncate", errno, "memfd ftruncate");
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (buf == MAP_FAILED)
		fail("mmap", errno, "memfd mapping");
	touch_write(buf, len, 1);
	iouring_register_unregister(buf, len);
	munmap(buf, len);
	close(fd);
}

/* ---- process_vm_readv / writev on a forked child ------------------------------------------ */

enum remote_state { R_WRITTEN_BY_CHILD, R_UNTOUCHED, R_COW_SHARED, R_HALF_UNMAPPED };

struct child {
	pid_t pid;
	int cmd_w;
};

/*
 * R is mapped (MADV_NOHUGEPAGE) before fork. R_WRITTEN_BY_CHILD: the child
 * writes every page after fork (its own exclusive anon pages). R_UNTOUCHED:
 * nobody touches R. R_COW_SHARED: the parent wrote R before fork and nobody
 * writes it after: parent and child share every page (COW).
 */
static struct child fork_child(char *r, unsigned long len, enum remote_state st)
{
	int ready[2], cmd[2];
	struct child ch;
	char b;

	if (st == R_COW_SHARED)
		touch_write(r, len, 3);
	if (pipe(ready) || pipe(cmd))
		fail("pipe", errno, "pipe");
	fflush(stdout);
	ch.pid = fork();
	if (ch.pid < 0)
		fail("fork", errno, "fork");
	if (ch.pid == 0) {
		close(ready[0]);
		close(cmd[1]);
		if (st == R_WRITTEN_BY_CHILD)
			touch_write(r, len, 5);
		if (st == R_HALF_UNMAPPED) { /* the child writes the first half and unmaps the second */
			unsigned long half = len / PAGE_SZ / 2 * PAGE_SZ;

			touch_write(r, half, 5);
			if (munmap(r + half, len - half))
				_exit(3);
		}
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		(void)!read(cmd[0], &b, 1); /* until the parent is done (or dies) */
		_exit(0);
	}
	close(ready[1]);
	close(cmd[0]);
	if (read(ready[0], &b, 1) != 1)
		fail("fork", EIO, "child did not get ready");
	close(ready[0]);
	ch.cmd_w = cmd[1];
	return ch;
}

static void reap_child(struct child *ch)
{
	int status;

	close(ch->cmd_w);
	while (waitpid(ch->pid, &status, 0) < 0 && errno == EINTR)
		;
}

static void pvm_case(struct ctx *c, enum remote_state st, int do_write)
{
	unsigned long len = c->n * PAGE_SZ;
	char *r = map_anon(len, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);
	char *l = map_anon(len, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);
	struct iovec liov = { l, len }, riov = { r, len };
	struct child ch;
	long long ret;

	touch_write(l, len, 9);
	ch = fork_child(r, len, st);
	observe_pages("remote_before_", ch.pid, r, c->n);
	observe("remote_before_private_kb", smaps_kb(ch.pid, r, "Private_Clean") + smaps_kb(ch.pid, r, "Private_Dirty"));
	observe("remote_before_shared_kb", smaps_kb(ch.pid, r, "Shared_Clean") + smaps_kb(ch.pid, r, "Shared_Dirty"));
	observe("same_pfn_before", same_pfns(getpid(), ch.pid, r, c->n));
	measure_begin();
	if (do_write)
		ret = sysret(process_vm_writev(ch.pid, &liov, 1, &riov, 1, 0));
	else
		ret = sysret(process_vm_readv(ch.pid, &liov, 1, &riov, 1, 0));
	measure_end(do_write ? "process_vm_writev" : "process_vm_readv", ret);
	observe_pages("remote_", ch.pid, r, c->n);
	observe("remote_private_kb", smaps_kb(ch.pid, r, "Private_Clean") + smaps_kb(ch.pid, r, "Private_Dirty"));
	observe("remote_shared_kb", smaps_kb(ch.pid, r, "Shared_Clean") + smaps_kb(ch.pid, r, "Shared_Dirty"));
	observe("same_pfn_after", same_pfns(getpid(), ch.pid, r, c->n));
	reap_child(&ch);
	unmap_anon(r, len);
	unmap_anon(l, len);
}

/*
 * O_DIRECT write from N pages COW-shared with a child (the parent wrote them before fork; the
 * child is alive and touches nothing). A FOLL_GET (direct I/O before v6.5) takes references on
 * the shared pages; a R/O FOLL_PIN (v6.5+) must not pin a possibly shared anonymous page, so GUP
 * unshares first (v5.19+): the parent ends with private copies.
 */
static void c_dio_write_cow(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);
	int fd = open_direct(c);
	struct child ch = fork_child(buf, len, R_COW_SHARED);

	observe("same_pfn_before", same_pfns(getpid(), ch.pid, buf, c->n));
	measure_begin();
	measure_end("pwrite", sysret(pwrite(fd, buf, len, 0)));
	observe("same_pfn_after", same_pfns(getpid(), ch.pid, buf, c->n));
	reap_child(&ch);
	close(fd);
	unmap_anon(buf, len);
}

/*
 * io_uring registration of N written anonymous pages, then fork (phase "fork": the child copies
 * the maybe-pinned pages, v5.9+, and fork itself pins nothing), then the child exits and the
 * buffer is unregistered. Observed: pages the child shares with the parent after fork.
 */
static void c_iouring_fork(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);
	struct iovec iov = { buf, len };
	struct child ch;
	int ring;
	long long r;

	touch_write(buf, len, 1);
	ring = ring_setup();
	measure_begin();
	r = sysret(ring_register(ring, IORING_REGISTER_BUFFERS, &iov, 1));
	measure_end("register", r);
	if (r)
		fail("io_uring_register", (int)-r, "IORING_REGISTER_BUFFERS of %lu bytes", len);
	measure_begin();
	ch = fork_child(buf, len, R_UNTOUCHED);
	measure_end("fork", 0);
	observe("same_pfn_after", same_pfns(getpid(), ch.pid, buf, c->n));
	reap_child(&ch);
	measure_begin();
	measure_end("unregister", sysret(ring_register(ring, IORING_UNREGISTER_BUFFERS, NULL, 0)));
	close(ring);
	unmap_anon(buf, len);
}

/*
 * io_uring registration of a written memfd mapping, then ftruncate(memfd, 0) while the pages are
 * pinned (phase "ftruncate": the page cache lets go of them, the pins stay), then unregister
 * (the last references: 0/+N).
 */
static void c_iouring_memfd_truncate(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ;
	int fd = memfd_create("pinhost", 0), ring;
	struct iovec iov;
	char *buf;
	long long r;

	if (fd < 0)
		fail("memfd_create", errno, "memfd_create");
	if (ftruncate(fd, (off_t)len))
		fail("ftruncate", errno, "memfd ftruncate");
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (buf == MAP_FAILED)
		fail("mmap", errno, "memfd mapping");
	touch_write(buf, len, 1);
	iov.iov_base = buf;
	iov.iov_len = len;
	ring = ring_setup();
	measure_begin();
	r = sysret(ring_register(ring, IORING_REGISTER_BUFFERS, &iov, 1));
	measure_end("register", r);
	if (r == 0) {
		measure_begin();
		measure_end("ftruncate", sysret(ftruncate(fd, 0)));
		measure_begin();
		measure_end("unregister", sysret(ring_register(ring, IORING_UNREGISTER_BUFFERS, NULL, 0)));
	}
	close(ring);
	munmap(buf, len);
	close(fd);
}

/*
 * io_uring registration of N written anonymous pages, then MADV_DONTNEED of the whole buffer
 * (phase "dontneed": the PTEs go, the pins keep the pages), then unregister (0/+N). Observed: what
 * the buffer maps afterwards (nothing: a later touch would fault in fresh zero pages).
 */
static void c_iouring_dontneed(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);
	struct iovec iov = { buf, len };
	int ring;
	long long r;

	touch_write(buf, len, 1);
	ring = ring_setup();
	measure_begin();
	r = sysret(ring_register(ring, IORING_REGISTER_BUFFERS, &iov, 1));
	measure_end("register", r);
	if (r)
		fail("io_uring_register", (int)-r, "IORING_REGISTER_BUFFERS of %lu bytes", len);
	measure_begin();
	measure_end("dontneed", sysret(madvise(buf, len, MADV_DONTNEED)));
	observe_pages("buf_", getpid(), buf, c->n);
	measure_begin();
	measure_end("unregister", sysret(ring_register(ring, IORING_UNREGISTER_BUFFERS, NULL, 0)));
	close(ring);
	unmap_anon(buf, len);
}

/*
 * O_DIRECT read into N pages COW-shared with a live child (the parent wrote them before fork):
 * FOLL_WRITE breaks COW in the parent first (fresh copies), so afterwards no page is shared.
 */
static void c_dio_read_cow(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);
	int fd = open_direct(c);
	struct child ch = fork_child(buf, len, R_COW_SHARED);

	measure_begin();
	measure_end("pread", sysret(pread(fd, buf, len, 0)));
	observe("same_pfn_after", same_pfns(getpid(), ch.pid, buf, c->n));
	reap_child(&ch);
	close(fd);
	unmap_anon(buf, len);
}

/* 10. R124 */
static void c_pvm_readv_written(struct ctx *c) { pvm_case(c, R_WRITTEN_BY_CHILD, 0); }
static void c_pvm_readv_untouched(struct ctx *c) { pvm_case(c, R_UNTOUCHED, 0); }
static void c_pvm_readv_cow(struct ctx *c) { pvm_case(c, R_COW_SHARED, 0); }
static void c_pvm_writev_written(struct ctx *c) { pvm_case(c, R_WRITTEN_BY_CHILD, 1); }
static void c_pvm_writev_cow(struct ctx *c) { pvm_case(c, R_COW_SHARED, 1); }
static void c_pvm_writev_untouched(struct ctx *c) { pvm_case(c, R_UNTOUCHED, 1); }
static void c_pvm_readv_partial(struct ctx *c) { pvm_case(c, R_HALF_UNMAPPED, 0); }

/* io_uring registration of a written PROT_READ buffer: FOLL_WRITE GUP refuses it, -EFAULT 0/0. */
static void c_iouring_readonly(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);

	touch_write(buf, len, 1);
	if (mprotect(buf, len, PROT_READ))
		fail("mprotect", errno, "PROT_READ");
	iouring_register_unregister(buf, len);
	unmap_anon(buf, len);
}

/*
 * 11. R127: vmsplice of N touched pages into a pipe: GETs, 0/0. A default
 * pipe holds 16 buffers, so the pages go through in rounds: vmsplice what
 * fits (non-blocking), read it out, repeat; then close the pipe. The phase
 * covers the pages' whole stay in the pipe; ret is the total spliced.
 */
static void c_vmsplice(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ, done = 0;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);
	char *sink = map_anon(len, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);
	long long r = 0, calls = 0;
	int p[2];

	touch_write(buf, len, 1);
	touch_write(sink, len, 2);
	if (pipe(p))
		fail("pipe", errno, "pipe");
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	measure_begin();
	while (done < len) {
		struct iovec iov = { buf + done, len - done };
		unsigned long got = 0;

		r = sysret(vmsplice(p[1], &iov, 1, 0));
		calls++;
		if (r <= 0)
			break;
		while (got < (unsigned long)r) {
			ssize_t k = read(p[0], sink, (size_t)r - got);

			if (k <= 0)
				fail("read", errno, "reading the pipe");
			got += (unsigned long)k;
		}
		done += (unsigned long)r;
	}
	close(p[0]);
	close(p[1]);
	measure_end("vmsplice", done ? (long long)done : r);
	observe("vmsplice_calls", calls);
	unmap_anon(sink, len);
	unmap_anon(buf, len);
}

/* ---- the probe: what this kernel does where kernels legitimately differ ------------------- */

/*
 * What a present page is, from /proc/kpageflags (fs/proc/page.c stable_page_flags()):
 * the huge zero folio has KPF_ZERO_PAGE and KPF_THP, the zero page KPF_ZERO_PAGE only, any
 * THP (PMD or mTHP) KPF_THP only. "unknown" when the PFN is hidden (not root) or
 * kpageflags is unreadable.
 */
static const char *classify_page(const void *addr)
{
	uint64_t e = 0, fl = 0;
	int kfd;

	if (read_pagemap(getpid(), (unsigned long)addr, 1, &e))
		return "unknown";
	if (!(e & PM_PRESENT))
		return "absent";
	if (!(e & PM_PFN_MASK))
		return "unknown";
	kfd = open("/proc/kpageflags", O_RDONLY);
	if (kfd < 0 || pread(kfd, &fl, 8, (off_t)((e & PM_PFN_MASK) * 8)) != 8) {
		if (kfd >= 0)
			close(kfd);
		/* no page flags (User-Mode Linux before 6.12): without THP a page is the zero page or not */
		if (access("/sys/kernel/mm/transparent_hugepage", F_OK) && zero_pfn() >= 0)
			return (int64_t)(e & PM_PFN_MASK) == zero_pfn() ? "zero" : "page";
		return "unknown";
	}
	close(kfd);
	if ((fl >> KPF_ZERO_PAGE) & 1)
		return ((fl >> KPF_THP) & 1) ? "huge_zero" : "zero";
	if ((fl >> KPF_THP) & 1)
		return "thp";
	return "page";
}

static unsigned long pmd_size(void)
{
	char s[64];

	read_str_file("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", s, sizeof(s));
	return s[0] ? strtoul(s, NULL, 10) : 2UL << 20;
}

/*
 * A read fault on a never-touched private anonymous page: do_anonymous_page() maps the
 * shared zero page unless mm_forbids_zeropage() (mm/memory.c), or the kernel was built or
 * booted to map fresh pages instead.
 */
static const char *probe_anon_read(void)
{
	char *p = map_anon(PAGE_SZ, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);
	const char *r;

	touch_read(p, PAGE_SZ);
	r = classify_page(p);
	unmap_anon(p, PAGE_SZ);
	return r;
}

/*
 * A read fault at the start of a PMD-aligned MADV_HUGEPAGE region: do_huge_pmd_anonymous_page()
 * (mm/huge_memory.c) maps the huge zero folio when use_zero_page allows it and the mm does not
 * forbid the zero page, else allocates a THP; with THP off it is an ordinary PTE fault.
 */
static const char *probe_huge_read(void)
{
	unsigned long pmd = pmd_size();
	char *p = map_anon_pmd_aligned(pmd, pmd);
	const char *r;

	if (madvise(p, pmd, MADV_HUGEPAGE) && !(errno == EINVAL && access("/sys/kernel/mm/transparent_hugepage", F_OK))) {
		munmap(p, pmd);
		return "unknown";
	}
	touch_read(p, PAGE_SZ);
	r = classify_page(p);
	munmap(p, pmd);
	return r;
}

/* Every anonymous "hugepages-NkB/enabled" as "N": "mode" pairs, sizes in ascending order. */
static void print_thp_sizes(void)
{
	const char *dir = "/sys/kernel/mm/transparent_hugepage";
	unsigned long sizes[32];
	int n = 0, i, j;
	DIR *d = opendir(dir);
	struct dirent *de;

	printf("{");
	if (!d) {
		printf("}");
		return;
	}
	while ((de = readdir(d)) && n < 32) {
		unsigned long kb;

		if (sscanf(de->d_name, "hugepages-%lukB", &kb) == 1)
			sizes[n++] = kb;
	}
	closedir(d);
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && sizes[j - 1] > sizes[j]; j--) {
			unsigned long t = sizes[j];

			sizes[j] = sizes[j - 1];
			sizes[j - 1] = t;
		}
	for (i = 0, j = 0; i < n; i++) {
		char path[160], mode[64], key[32];

		/* order-1 sizes exist for shmem only: no "enabled" for anonymous memory */
		snprintf(path, sizeof(path), "%s/hugepages-%lukB/enabled", dir, sizes[i]);
		if (access(path, R_OK))
			continue;
		bracketed(path, mode, sizeof(mode));
		snprintf(key, sizeof(key), "%lu", sizes[i]);
		printf("%s", j++ ? ", " : "");
		json_str(key);
		printf(": ");
		json_str(mode);
	}
	printf("}");
}

/* hugetlb pools: "N": {"nr": .., "free": ..} per hstate (/sys/kernel/mm/hugepages). */
static void print_hugetlb(void)
{
	const char *dir = "/sys/kernel/mm/hugepages";
	DIR *d = opendir(dir);
	struct dirent *de;
	int first = 1;

	printf("{");
	while (d && (de = readdir(d))) {
		unsigned long kb;
		char path[300], nr[32], fr[32], key[32];

		if (sscanf(de->d_name, "hugepages-%lukB", &kb) != 1)
			continue;
		snprintf(path, sizeof(path), "%s/%s/nr_hugepages", dir, de->d_name);
		read_str_file(path, nr, sizeof(nr));
		snprintf(path, sizeof(path), "%s/%s/free_hugepages", dir, de->d_name);
		read_str_file(path, fr, sizeof(fr));
		snprintf(key, sizeof(key), "%lu", kb);
		printf("%s", first ? "" : ", ");
		json_str(key);
		printf(": {\"nr\": %ld, \"free\": %ld}", strtol(nr, NULL, 10), strtol(fr, NULL, 10));
		first = 0;
	}
	if (d)
		closedir(d);
	printf("}");
}

/*
 * `pinhost --probe`: the facts that change what the workloads show, measured rather than
 * assumed (src/host/probe.ts maps them onto the model's machine).
 */
static void print_probe(struct ctx *c)
{
	int64_t acq = 0, rel = 0;
	int counters = read_vmstat_pins(&acq, &rel) == 0;
	char path[4300], thp[64], zp[64], uring_disabled[16];
	const char *anon_read, *huge_read;
	int fd, odirect_errno = 0, ring_errno = 0;
	struct io_uring_params p;

	tmp_name(c, path, sizeof(path), "probe");
	fd = open(path, O_CREAT | O_RDWR | O_DIRECT, 0600);
	if (fd < 0)
		odirect_errno = errno;
	else
		close(fd);
	unlink(path);
	memset(&p, 0, sizeof(p));
	fd = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (fd < 0)
		ring_errno = errno;
	else
		close(fd);
	anon_read = probe_anon_read();
	huge_read = probe_huge_read();
	thp_mode(thp, sizeof(thp));
	read_str_file("/sys/kernel/mm/transparent_hugepage/use_zero_page", zp, sizeof(zp));
	read_str_file("/proc/sys/kernel/io_uring_disabled", uring_disabled, sizeof(uring_disabled));

	printf("{\"ok\": true, \"probe\": {\"page_size\": %ld, \"uid\": %d, \"pin_counters\": %s",
	       sysconf(_SC_PAGESIZE), (int)getuid(), counters ? "true" : "false");
	printf(", \"anon_read\": ");
	json_str(anon_read);
	printf(", \"huge_read\": ");
	json_str(huge_read);
	printf(", \"pmd_size\": %lu, \"thp_enabled\": ", pmd_size());
	json_str(thp);
	printf(", \"thp_use_zero_page\": ");
	json_str(zp[0] ? zp : "unknown");
	printf(", \"thp_sizes\": ");
	print_thp_sizes();
	printf(", \"hugetlb\": ");
	print_hugetlb();
	printf(", \"io_uring\": %s", ring_errno ? "false" : "true");
	if (ring_errno) {
		printf(", \"io_uring_error\": ");
		json_str(strerror(ring_errno));
	}
	printf(", \"io_uring_disabled\": ");
	json_str(uring_disabled[0] ? uring_disabled : "absent");
	if (blkdev_path) {
		int bfd = open(blkdev_path, O_RDONLY | O_DIRECT);
		struct stat st;

		printf(", \"blkdev\": ");
		json_str(blkdev_path);
		if (bfd < 0 || fstat(bfd, &st) || !S_ISBLK(st.st_mode)) {
			printf(", \"blkdev_error\": ");
			json_str(bfd < 0 ? strerror(errno) : "not a block device");
		}
		if (bfd >= 0)
			close(bfd);
	}
	printf(", \"o_direct\": %s", odirect_errno ? "false" : "true");
	if (odirect_errno) {
		printf(", \"o_direct_error\": ");
		json_str(strerror(odirect_errno));
	}
	printf("}, ");
	print_env(c);
	printf(", \"notes\": [");
	for (int i = 0; i < nnotes; i++) {
		printf("%s", i ? ", " : "");
		json_str(notes[i]);
	}
	printf("]}\n");
}

/*
 * iouring-close: register N written anonymous pages on a ring (not measured), then close the
 * ring fd (phase "close"). The last fput() runs io_uring_release(), which queues
 * io_ring_exit_work(); io_ring_ctx_free() unregisters the buffers from a kworker. So before the
 * settle reading, wait (up to 1 s) for the N releases to show up: a slow kworker must not pass
 * for "nothing released".
 */
static void c_iouring_close(struct ctx *c)
{
	unsigned long len = c->n * PAGE_SZ;
	char *buf = map_anon(len, PROT_READ | PROT_WRITE, MADV_NOHUGEPAGE);
	struct iovec iov = { buf, len };
	struct counters now;
	int ring, i;
	long long r;

	touch_write(buf, len, 1);
	ring = ring_setup();
	r = sysret(ring_register(ring, IORING_REGISTER_BUFFERS, &iov, 1));
	if (r)
		fail("io_uring_register", (int)-r, "IORING_REGISTER_BUFFERS of %lu bytes", len);
	measure_begin();
	r = sysret(close(ring));
	for (i = 0; i < 500; i++) {
		read_counters(&now);
		if (now.rel - cur->c0.rel >= (int64_t)c->n)
			break;
		sleep_us(2000);
	}
	measure_end("close", r);
	observe_pages("buf_", getpid(), buf, c->n);
	unmap_anon(buf, len);
}

struct casedef {
	const char *name;
	case_fn fn;
	int needs_uring;
};

static const struct casedef CASES[] = {
	{ "dio-read-anon", c_dio_read_anon, 0 },
	{ "dio-read-untouched", c_dio_read_untouched, 0 },
	{ "dio-write-zero", c_dio_write_zero, 0 },
	{ "dio-write-touched", c_dio_write_touched, 0 },
	{ "dio-write-huge-zero", c_dio_write_huge_zero, 0 },
	{ "dio-read-shared-file", c_dio_read_shared_file, 0 },
	{ "dio-read-misaligned", c_dio_read_misaligned, 0 },
	{ "dio-read-readonly", c_dio_read_readonly, 0 },
	{ "dio-read-offset512", c_dio_read_offset512, 0 },
	{ "dio-write-protnone", c_dio_write_protnone, 0 },
	{ "dio-read-hole", c_dio_read_hole, 0 },
	{ "dio-read-thp", c_dio_read_thp, 0 },
	{ "iouring-anon", c_iouring_anon, 1 },
	{ "iouring-private-file", c_iouring_private_file, 1 },
	{ "iouring-shared-ext4", c_iouring_shared_ext4, 1 },
	{ "iouring-shared-ext4-untouched", c_iouring_shared_ext4_untouched, 1 },
	{ "iouring-memfd", c_iouring_memfd, 1 },
	{ "pvm-readv-written", c_pvm_readv_written, 0 },
	{ "pvm-readv-untouched", c_pvm_readv_untouched, 0 },
	{ "pvm-readv-cow", c_pvm_readv_cow, 0 },
	{ "pvm-writev-written", c_pvm_writev_written, 0 },
	{ "pvm-writev-untouched", c_pvm_writev_untouched, 0 },
	{ "pvm-writev-cow", c_pvm_writev_cow, 0 },
	{ "vmsplice", c_vmsplice, 0 },
	{ "iouring-close", c_iouring_close, 1 },
	{ "dio-write-cow", c_dio_write_cow, 0 },
	{ "dio-write-shared-file", c_dio_write_shared_file, 0 },
	{ "blkdev-read", c_blkdev_read, 0 },
	{ "iouring-fork", c_iouring_fork, 1 },
	{ "iouring-memfd-truncate", c_iouring_memfd_truncate, 1 },
	{ "iouring-mixed-vmas", c_iouring_mixed_vmas, 1 },
	{ "dio-read-partial", c_dio_read_partial, 0 },
	{ "iouring-hole", c_iouring_hole, 1 },
	{ "pvm-readv-partial", c_pvm_readv_partial, 0 },
	{ "iouring-readonly", c_iouring_readonly, 1 },
	{ "iouring-dontneed", c_iouring_dontneed, 1 },
	{ "dio-read-cow", c_dio_read_cow, 0 },
};
#define NCASES (sizeof(CASES) / sizeof(CASES[0]))

static int same_outcome(const struct rep *a, const struct rep *b)
{
	int i;

	if (a->nph != b->nph)
		return 0;
	for (i = 0; i < a->nph; i++)
		if (a->ph[i].ret != b->ph[i].ret || a->ph[i].da != b->ph[i].da || a->ph[i].dr != b->ph[i].dr)
			return 0;
	return 1;
}

static void print_phases(const struct rep *r)
{
	int i;

	putchar('[');
	for (i = 0; i < r->nph; i++) {
		printf("%s{\"name\": ", i ? ", " : "");
		json_str(r->ph[i].name);
		printf(", \"ret\": %lld", r->ph[i].ret);
		if (r->ph[i].ret < 0) {
			printf(", \"errno\": ");
			json_str(strerrorname_np((int)-r->ph[i].ret) ? strerrorname_np((int)-r->ph[i].ret) : "?");
		}
		printf(", \"dA\": %" PRId64 ", \"dR\": %" PRId64 "}", r->ph[i].da, r->ph[i].dr);
	}
	putchar(']');
}

static void setup_dir(struct ctx *c, const char *dir)
{
	if (dir) {
		snprintf(c->dir, sizeof(c->dir), "%s", dir);
	} else {
		const char *t = getenv("TMPDIR");

		snprintf(tmpdir_path, sizeof(tmpdir_path), "%s/pinhost-XXXXXX", t && *t ? t : "/tmp");
		if (!mkdtemp(tmpdir_path))
			fail("mkdtemp", errno, "mkdtemp %s", tmpdir_path);
		tmpdir_owned = 1;
		snprintf(c->dir, sizeof(c->dir), "%s", tmpdir_path);
	}
}

/*
 * Concurrent pinhost runs (parallel test processes, several users of one
 * machine) would see each other's pins in the global counters: serialize
 * them machine-wide with an flock on a fixed file. Give up waiting after
 * 120 s and measure anyway (the mode of the reps still filters noise).
 */
#define LOCK_PATH "/tmp/.pinlab-pinhost.lock"

static void on_alarm(int sig)
{
	(void)sig;
}

static void lock_machine(void)
{
	struct sigaction sa;
	int fd = open(LOCK_PATH, O_CREAT | O_RDWR | O_CLOEXEC, 0666);

	if (fd < 0) {
		note("cannot open %s (%s): not serialized with other pinhost runs", LOCK_PATH, strerror(errno));
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm; /* no SA_RESTART: flock returns EINTR */
	sigaction(SIGALRM, &sa, NULL);
	alarm(120);
	if (flock(fd, LOCK_EX))
		note("could not lock %s (%s): not serialized with other pinhost runs", LOCK_PATH, strerror(errno));
	alarm(0);
	/* fd stays open (and locked) until exit */
}

static void usage_fail(void)
{
	fail("args", EINVAL, "usage: pinhost CASE [--pages N] [--reps R] [--dir DIR] [--blkdev DEV] | --list | --probe [--dir DIR] [--blkdev DEV]");
}

int main(int argc, char **argv)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	const struct casedef *cd = NULL;
	const char *dir = NULL;
	struct ctx c;
	int i, reps = 5, probe = 0, list = 0, best = 0, votes = 0;
	unsigned long k;

	memset(&c, 0, sizeof(c));
	c.n = 256;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pages") && i + 1 < argc)
			c.n = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--blkdev") && i + 1 < argc)
			blkdev_path = argv[++i];
		else if (!strcmp(argv[i], "--probe"))
			probe = 1;
		else if (!strcmp(argv[i], "--list"))
			list = 1;
		else if (argv[i][0] != '-' && !cd) {
			for (k = 0; k < NCASES; k++)
				if (!strcmp(CASES[k].name, argv[i]))
					cd = &CASES[k];
			if (!cd)
				fail("args", EINVAL, "unknown case '%s' (pinhost --list)", argv[i]);
		} else {
			usage_fail();
		}
	}
	if (list) {
		printf("{\"cases\": [");
		for (k = 0; k < NCASES; k++) {
			printf("%s", k ? ", " : "");
			json_str(CASES[k].name);
		}
		printf("]}\n");
		return 0;
	}
	if (!probe && !cd)
		usage_fail();
	if (c.n < 1 || c.n > (1UL << 18))
		fail("args", EINVAL, "--pages must be 1..262144");
	if (reps < 1 || reps > MAX_REPS)
		fail("args", EINVAL, "--reps must be 1..%d", MAX_REPS);
	/* io_uring charges registered pages to RLIMIT_MEMLOCK unless CAP_IPC_LOCK (R123) */
	if (setrlimit(RLIMIT_MEMLOCK, &rl) && getrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_MEMLOCK, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	fail_cleanup = cleanup_tmpdir;
	setup_dir(&c, dir);

	if (probe) {
		print_probe(&c);
		cleanup_tmpdir();
		return 0;
	}

	lock_machine();
	c.datapages = c.n > 512 ? c.n : 512;
	snprintf(c.datapath, sizeof(c.datapath), "%s/pinhost-%d-data", c.dir, (int)getpid());
	make_file(c.datapath, c.datapages, 'A');

	for (i = 0; i < reps; i++) {
		cur = &reps_out[i];
		memset(cur, 0, sizeof(*cur));
		cd->fn(&c);
	}
	unlink(c.datapath);

	for (i = 0; i < reps; i++) {
		int v = 0, j;

		for (j = 0; j < reps; j++)
			v += same_outcome(&reps_out[i], &reps_out[j]);
		if (v >= votes) { /* ties: the later rep */
			votes = v;
			best = i;
		}
	}
	if (votes != reps)
		note("outcomes differed across reps (concurrent pinning?): reporting the mode (%d/%d reps)", votes, reps);

	printf("{\"case\": ");
	json_str(cd->name);
	printf(", \"pages\": %lu, \"reps\": %d, \"votes\": %d, \"phases\": ", c.n, reps, votes);
	print_phases(&reps_out[best]);
	printf(", \"samples\": [");
	for (i = 0; i < reps; i++) {
		printf("%s", i ? ", " : "");
		print_phases(&reps_out[i]);
	}
	printf("], \"obs\": {");
	for (i = 0; i < reps_out[best].nob; i++) {
		printf("%s", i ? ", " : "");
		json_str(reps_out[best].ob[i].key);
		printf(": %lld", reps_out[best].ob[i].val);
	}
	printf("}, ");
	print_env(&c);
	printf(", \"notes\": [");
	for (i = 0; i < nnotes; i++) {
		printf("%s", i ? ", " : "");
		json_str(notes[i]);
	}
	printf("]}\n");
	cleanup_tmpdir();
	return 0;
}
