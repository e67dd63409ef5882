// The libc functions hako calls that Node lacks, bound once with koffi, and how a failed call becomes a HakoError.
// Used by the guest's PID 1 and by the host (AF_VSOCK). Loaded lazily so that code importing the sys/ files still
// runs on hosts without koffi (unit tests of pure parts).
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { HakoError } from "../common/errors.js";
import { codeForErrno, errnoName } from "./errno.js";

type KoffiModule = typeof import("koffi");
type Fn = (...args: unknown[]) => unknown;

export interface Libc {
  koffi: KoffiModule;
  mount: Fn;
  umount2: Fn;
  reboot: Fn;
  sync: Fn;
  waitpid: Fn;
  sethostname: Fn;
  ioctl: Fn;
  socket: Fn;
  bind: Fn;
  listen: Fn;
  accept4: Fn;
  recvmsg: Fn;
  sendmsg: Fn;
  close: Fn;
  dup: Fn;
  pipe2: Fn;
  read: Fn;
  write: Fn;
  shutdown: Fn;
  socketpair: Fn;
  connect: Fn;
  getsockopt: Fn;
  /** getsockopt with a byte buffer for the value (struct results: SO_ORIGINAL_DST's sockaddr_in). */
  getsockoptBytes: Fn;
  getsockname: Fn;
  setns: Fn;
  fcntl: Fn;
  prctl: Fn;
  clockSettime: Fn;
  flock: Fn;
}

let libc: Libc | undefined;

/**
 * Where the guest image puts koffi's native addon (image/koffi.ts stages it there, the path koffi's own loader
 * searches last). Absolute, in the guest's root.
 */
export const GUEST_KOFFI_ADDON = "/usr/lib/hako/node_modules/koffi/build/koffi/linux_x64/koffi.node";

/**
 * koffi itself. In the guest its native addon is opened directly: koffi's JS entry resolves its package, probes the
 * platform and loads node:util for the wrappers of deprecated calls hako does not make, which took ~0.17 s of a TCG
 * boot's critical path (the addon's own dlopen: ~35 ms). The addon exports the same API (koffi 3's `wrapNative`
 * only adds deprecation wrappers). Elsewhere koffi is required as usual.
 */
function loadKoffi(): KoffiModule {
  if (existsSync(GUEST_KOFFI_ADDON)) {
    const addon = { exports: {} };
    process.dlopen(addon, GUEST_KOFFI_ADDON);
    return addon.exports as KoffiModule;
  }
  // The guest keeps koffi outside the bundle (a native addon); createRequire finds it from either place.
  return createRequire(import.meta.url)("koffi") as KoffiModule;
}

/** The bound functions; the first call loads koffi and libc.so.6 (throws if koffi is missing). */
export function load(): Libc {
  if (libc) return libc;
  const koffi = loadKoffi();
  const lib = koffi.load("libc.so.6");
  libc = {
    koffi,
    mount: lib.func(
      "int mount(const char *src, const char *target, const char *fstype, unsigned long flags, const char *data)",
    ),
    umount2: lib.func("int umount2(const char *target, int flags)"),
    reboot: lib.func("int reboot(int cmd)"),
    sync: lib.func("void sync(void)"),
    waitpid: lib.func("int waitpid(int pid, _Out_ int *status, int options)"),
    sethostname: lib.func("int sethostname(const char *name, size_t len)"),
    ioctl: lib.func("int ioctl(int fd, unsigned long request, ...)"),
    socket: lib.func("int socket(int domain, int type, int protocol)"),
    bind: lib.func("int bind(int fd, void *addr, uint32_t len)"),
    listen: lib.func("int listen(int fd, int backlog)"),
    accept4: lib.func("int accept4(int fd, void *addr, void *len, int flags)"),
    recvmsg: lib.func("intptr_t recvmsg(int fd, void *msg, int flags)"),
    sendmsg: lib.func("intptr_t sendmsg(int fd, void *msg, int flags)"),
    close: lib.func("int close(int fd)"),
    dup: lib.func("int dup(int fd)"),
    pipe2: lib.func("int pipe2(_Out_ int *fds, int flags)"),
    read: lib.func("intptr_t read(int fd, void *buf, size_t len)"),
    write: lib.func("intptr_t write(int fd, void *buf, size_t len)"),
    shutdown: lib.func("int shutdown(int fd, int how)"),
    socketpair: lib.func("int socketpair(int domain, int type, int protocol, _Out_ int *fds)"),
    connect: lib.func("int connect(int fd, void *addr, uint32_t len)"),
    getsockopt: lib.func("int getsockopt(int fd, int level, int name, _Out_ int *value, _Inout_ uint32_t *len)"),
    getsockoptBytes: lib.func("getsockopt", "int", ["int", "int", "int", "void *", "void *"]),
    getsockname: lib.func("int getsockname(int fd, void *addr, void *len)"),
    setns: lib.func("int setns(int fd, int nstype)"),
    fcntl: lib.func("int fcntl(int fd, int cmd, ...)"),
    prctl: lib.func("int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)"),
    clockSettime: lib.func("int clock_settime(int clk, void *ts)"),
    flock: lib.func("int flock(int fd, int operation)"),
  };
  return libc;
}

/** errno of the calling thread, as koffi saved it after the last bound call. */
export function lastErrno(): number {
  return load().koffi.errno();
}

/**
 * A failed system call as a HakoError: the code comes from the errno (errno.ts), the message reads
 * "`call` `what`: ENAME", and fields carry `errno` (the name) for logs.
 */
export function fail(call: string, what: string): HakoError {
  const errno = lastErrno();
  const name = errnoName(errno);
  return new HakoError(codeForErrno(errno), `${call} ${what}: ${name}`, { fields: { errno: name } });
}
