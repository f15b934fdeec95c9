// SPDX-License-Identifier: GPL-2.0-only
/*
 * umlshim: preloaded (LD_PRELOAD) into a User-Mode Linux kernel binary by src/host/uml.ts, so
 * Debian's UML kernels run on hosts whose XSAVE area is larger than the one they were built for.
 *
 * Why: UML saves and restores a guest process's FPU state with PTRACE_GETREGSET /
 * PTRACE_SETREGSET(NT_X86_XSTATE) and a buffer of a size fixed at build time
 * (arch/x86/um/os-Linux/registers.c restore_fp_registers()). The host's xstateregs_set()
 * (arch/x86/kernel/fpu/regset.c) only takes a buffer of exactly the host's whole XSAVE size, and
 * fails with EFAULT otherwise; on a CPU with AMX (11008 bytes) every guest process dies at its
 * first context switch ("userspace - ptrace set fp regs failed, errno = 14") and init's death
 * panics the guest. GETREGSET of a short buffer is fine (the host truncates).
 *
 * What: only when SETREGSET(NT_X86_XSTATE) fails with EFAULT, read the whole state of the traced
 * process, lay UML's shorter buffer over its start, and write the whole state back. The
 * components beyond UML's buffer keep the values the host process holds, as if UML did not know
 * them; each guest address space is its own host process and pinlab's guest programs have one
 * thread each, so no state crosses processes. Every other call goes to libc unchanged.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef long (*ptrace_fn)(enum __ptrace_request, pid_t, void *, void *);

long ptrace(enum __ptrace_request req, ...)
{
	static ptrace_fn real;
	static unsigned char whole[1 << 16];
	va_list ap;
	pid_t pid;
	void *addr, *data;
	struct iovec *in, io;
	long r;

	va_start(ap, req);
	pid = va_arg(ap, pid_t);
	addr = va_arg(ap, void *);
	data = va_arg(ap, void *);
	va_end(ap);
	if (!real)
		real = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
	r = real(req, pid, addr, data);
	if (r == 0 || errno != EFAULT || req != PTRACE_SETREGSET || (long)addr != NT_X86_XSTATE || !data)
		return r;
	in = data;
	io.iov_base = whole;
	io.iov_len = sizeof(whole);
	if (real(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &io) != 0 || io.iov_len <= in->iov_len) {
		errno = EFAULT;
		return -1;
	}
	memcpy(whole, in->iov_base, in->iov_len);
	return real(PTRACE_SETREGSET, pid, (void *)NT_X86_XSTATE, &io);
}
