// A fuzz program: a sequence of system calls by a parent task and (after FORK) a child task, on
// memory "slots" both sides place at the same addresses (an mmap hint at BASE + slot * STRIDE),
// so a program means the same thing in the model and in host/pinfuzz.c, and can be written as a
// scenario. This module is the one description of the calls: the generator, the encoder, the
// model runner, the scenario writer and docs/fuzz.md's coverage table all read CALLS.

export const PAGE = 4096;
/** Slot S starts at BASE + S * STRIDE (host/pinfuzz.c): 2 MiB aligned, far apart, inside UML's TASK_SIZE. */
export const BASE = 0x2_0000_0000;
export const STRIDE = 0x400_0000;
/** An address nothing maps (below BASE, above a static binary's brk): slot -1. */
export const BAD_ADDR = 0x1000_0000;
export const MAX_SLOTS = 8;
/** f0: an ext4 file of FILE_PAGES written pages holding FILE_TOKEN (fsynced); m0: a memfd of the same size, zeros. */
export const FILE_PAGES = 16;
export const FILE_TOKEN = 0x1f0;
/** The model's pipe drain buffer (pinfuzz reads into a static buffer of the same size). */
export const SINK_ADDR = 0x3_0000_0000;
export const SINK_PAGES = 64;

export type Task = 0 | 1;
export const TASK_NAMES = ['parent', 'child'] as const;

/** What a file operand names: f0 (ext4, O_DIRECT), the raw block device, the memfd, the io_uring ring. */
export const FILES = ['f0', 'blkdev', 'memfd', 'ring'] as const;

/** Memory kinds an mmap makes (host/pinfuzz.c do_mmap()). */
export const MEM_KINDS = ['anon-private', 'anon-shared', 'ext4-private', 'ext4-shared', 'memfd-shared', 'memfd-private'] as const;
export type MemKind = (typeof MEM_KINDS)[number];

/** One call: its op letter, the task that makes it, and its integer arguments (meaning per op in CALLS). */
export interface Call {
  readonly op: string;
  readonly task: Task;
  readonly a: readonly number[];
}

export interface Program {
  readonly id: number;
  readonly calls: readonly Call[];
}

export interface CallDef {
  readonly op: string;
  readonly name: string;
  /** The system call(s) the kernel side makes. */
  readonly syscall: string;
  readonly args: readonly string[];
  /** The error paths the generator aims at (invalid arguments it produces), for the coverage table. */
  readonly errors: readonly string[];
}

export const CALLS: readonly CallDef[] = [
  { op: 'M', name: 'mmap', syscall: 'mmap + madvise(MADV_[NO]HUGEPAGE)', args: ['slot', 'kind', 'pages', 'prot', 'advice'],
    errors: ['length 0 (EINVAL)', 'PROT_NONE / read-only', 'file mapping past EOF (SIGBUS on touch)', 'MADV_HUGEPAGE without THP'] },
  { op: 'U', name: 'munmap', syscall: 'munmap', args: ['slot', 'page', 'pages'], errors: ['sub-range, past the end, unmapped range'] },
  { op: 'P', name: 'mprotect', syscall: 'mprotect', args: ['slot', 'page', 'pages', 'prot'], errors: ['unmapped range (ENOMEM)', 'bad prot bits (EINVAL)'] },
  { op: 'A', name: 'madvise', syscall: 'madvise', args: ['slot', 'page', 'pages', 'advice'],
    errors: ['unmapped range (ENOMEM)', 'unknown advice (EINVAL)', 'WIPEONFORK on shared memory (EINVAL)'] },
  { op: 'T', name: 'touch', syscall: 'CPU loads/stores (page faults)', args: ['slot', 'page', 'pages', 'write', 'value'],
    errors: ['unmapped / PROT_NONE / read-only (SIGSEGV: EFAULT)', 'file page past EOF (SIGBUS: EFAULT)'] },
  { op: 'R', name: 'pread', syscall: 'pread64 on an O_DIRECT fd', args: ['file', 'slot', 'offset', 'length', 'file offset'],
    errors: ['misaligned buffer or length (EINVAL)', 'bad address (EFAULT)', 'read-only buffer (EFAULT)', 'offset past EOF'] },
  { op: 'W', name: 'pwrite', syscall: 'pwrite64 on an O_DIRECT fd', args: ['file', 'slot', 'offset', 'length', 'file offset'],
    errors: ['misaligned buffer or length (EINVAL)', 'bad address (EFAULT)', 'PROT_NONE buffer (EFAULT)', 'untouched buffer (zero page)'] },
  { op: 'V', name: 'preadv', syscall: 'preadv on an O_DIRECT fd', args: ['file', 'file offset', 'iovecs', '(slot, offset, length)...'],
    errors: ['a misaligned iovec after aligned ones (EINVAL)', 'a bad iovec (EFAULT)'] },
  { op: 'I', name: 'io_uring_register', syscall: 'io_uring_register(IORING_REGISTER_BUFFERS)', args: ['slot', 'offset', 'length', 'buffers'],
    errors: ['already registered (EBUSY)', 'file-backed / shared ext4 memory (EOPNOTSUPP / EFAULT)', 'bad address (EFAULT)', 'misaligned buffer'] },
  { op: 'J', name: 'io_uring_unregister', syscall: 'io_uring_register(IORING_UNREGISTER_BUFFERS)', args: [], errors: ['nothing registered (ENXIO)'] },
  { op: 'K', name: 'io_uring_rw_fixed', syscall: 'io_uring_enter(IORING_OP_READ_FIXED / IORING_OP_WRITE_FIXED) on an O_DIRECT fd',
    args: ['write', 'file', 'buffer index', 'slot', 'offset', 'length', 'file offset'],
    errors: ['outside the registered buffer / bad index / nothing registered (EFAULT)', 'misaligned (EINVAL)', 'ring closed (EBADF)'] },
  { op: 'Q', name: 'process_vm_rw', syscall: 'process_vm_readv / process_vm_writev', args: ['write', 'slot', 'offset', 'length', 'remote slot', 'remote offset'],
    errors: ['remote range unmapped (EFAULT / short)', 'local range bad (EFAULT)'] },
  { op: 'S', name: 'vmsplice', syscall: 'vmsplice (SPLICE_F_NONBLOCK) + read', args: ['slot', 'offset', 'length'], errors: ['bad address (EFAULT)', 'more than the pipe holds (short)'] },
  { op: 'Z', name: 'ftruncate', syscall: 'ftruncate', args: ['file', 'pages'], errors: ['shrink under a mapping, grow'] },
  { op: 'Y', name: 'fsync', syscall: 'fsync', args: ['file'], errors: [] },
  { op: 'C', name: 'close', syscall: 'close (the io_uring ring)', args: ['file'], errors: ['closed already (EBADF)'] },
  { op: 'F', name: 'fork', syscall: 'fork', args: [], errors: [] },
  { op: 'X', name: 'exit', syscall: 'exit (of the child)', args: [], errors: [] },
];

export const CALL_BY_OP: ReadonlyMap<string, CallDef> = new Map(CALLS.map((c) => [c.op, c]));

export function slotAddr(slot: number, off: number): number {
  return (slot < 0 ? BAD_ADDR : BASE + slot * STRIDE) + off;
}

/** A readable one-line form of a call, for reports: "parent pread(f0, s1+512, 4096, @0)". */
export function describeCall(c: Call): string {
  const def = CALL_BY_OP.get(c.op);
  const addr = (s: number, off: number) => (s < 0 ? `bad+${off}` : `s${s}+${off}`);
  const a = c.a;
  let args: string;
  switch (c.op) {
    case 'M': args = `s${a[0]}, ${MEM_KINDS[a[1]!] ?? a[1]}, ${a[2]} pages, prot ${a[3]}${a[4] ? `, ${a[4] === 1 ? 'MADV_HUGEPAGE' : 'MADV_NOHUGEPAGE'}` : ''}`; break;
    case 'U': case 'P': case 'A': case 'T': args = `${addr(a[0]!, a[1]! * PAGE)}, ${a[2]} pages${a.length > 3 ? `, ${a.slice(3).join(', ')}` : ''}`; break;
    case 'R': case 'W': args = `${FILES[a[0]!]}, ${addr(a[1]!, a[2]!)}, ${a[3]}, @${a[4]}`; break;
    case 'V': {
      const iov: string[] = [];
      for (let i = 0; i < a[2]!; i++) iov.push(`${addr(a[3 + 3 * i]!, a[4 + 3 * i]!)}:${a[5 + 3 * i]}`);
      args = `${FILES[a[0]!]}, @${a[1]}, [${iov.join(' ')}]`;
      break;
    }
    case 'I': args = `${addr(a[0]!, a[1]!)}, ${a[2]} x ${a[3]}`; break;
    case 'K': args = `${a[0] ? 'WRITE_FIXED' : 'READ_FIXED'} ${FILES[a[1]!]}, buf ${a[2]}, ${addr(a[3]!, a[4]!)}, ${a[5]}, @${a[6]}`; break;
    case 'Q': args = `${a[0] ? 'writev' : 'readv'} ${addr(a[1]!, a[2]!)} <-> remote ${addr(a[4]!, a[5]!)}, ${a[3]}`; break;
    case 'S': args = `${addr(a[0]!, a[1]!)}, ${a[2]}`; break;
    case 'Z': args = `${FILES[a[0]!]}, ${a[1]} pages`; break;
    case 'Y': case 'C': args = `${FILES[a[0]!]}`; break;
    default: args = a.join(', ');
  }
  return `${TASK_NAMES[c.task]} ${def?.name ?? c.op}(${args})`;
}
