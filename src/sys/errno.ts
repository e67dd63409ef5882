// Linux errno numbers: their names, and the one map from an errno to hako's error code. Numbers are the generic
// asm-generic/errno-base.h and errno.h values, shared by x86_64 and aarch64 (the architectures hako runs on).
import { Code } from "../common/errors.js";

export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const ECHILD = 10;
export const EAGAIN = 11;
export const EACCES = 13;
export const EBUSY = 16;
export const EEXIST = 17;
export const EINVAL = 22;
export const ENOSYS = 38;
export const EINPROGRESS = 115;

const names: Record<number, string> = {
  [EPERM]: "EPERM",
  [ENOENT]: "ENOENT",
  3: "ESRCH",
  [EINTR]: "EINTR",
  5: "EIO",
  6: "ENXIO",
  7: "E2BIG",
  8: "ENOEXEC",
  9: "EBADF",
  [ECHILD]: "ECHILD",
  [EAGAIN]: "EAGAIN",
  12: "ENOMEM",
  [EACCES]: "EACCES",
  14: "EFAULT",
  15: "ENOTBLK",
  [EBUSY]: "EBUSY",
  [EEXIST]: "EEXIST",
  18: "EXDEV",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  [EINVAL]: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  25: "ENOTTY",
  26: "ETXTBSY",
  28: "ENOSPC",
  30: "EROFS",
  32: "EPIPE",
  36: "ENAMETOOLONG",
  [ENOSYS]: "ENOSYS",
  39: "ENOTEMPTY",
  40: "ELOOP",
  88: "ENOTSOCK",
  95: "EOPNOTSUPP",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  104: "ECONNRESET",
  107: "ENOTCONN",
  110: "ETIMEDOUT",
  111: "ECONNREFUSED",
  113: "EHOSTUNREACH",
  [EINPROGRESS]: "EINPROGRESS",
};

/** "ENOENT" for 2; "errno N" for a number this table does not name. */
export function errnoName(errno: number): string {
  return names[errno] ?? `errno ${errno}`;
}

const codes: Record<string, Code> = {
  ENOENT: Code.NotFound,
  ENODEV: Code.NotFound,
  EEXIST: Code.AlreadyExists,
  EADDRINUSE: Code.AlreadyExists,
  EPERM: Code.PermissionDenied,
  EACCES: Code.PermissionDenied,
  EROFS: Code.PermissionDenied,
  // Busy: the caller must change the state first (a mount still in use); a retry alone does not help.
  EBUSY: Code.FailedPrecondition,
  ENOTEMPTY: Code.FailedPrecondition,
  // Try again: transient by definition.
  EAGAIN: Code.Unavailable,
  EINTR: Code.Unavailable,
  ECONNREFUSED: Code.Unavailable,
  ECONNRESET: Code.Unavailable,
  EHOSTUNREACH: Code.Unavailable,
  ETIMEDOUT: Code.DeadlineExceeded,
  EINVAL: Code.InvalidArgument,
  ENAMETOOLONG: Code.InvalidArgument,
  ENOTDIR: Code.InvalidArgument,
  ENOSYS: Code.Unimplemented,
  EOPNOTSUPP: Code.Unimplemented,
  EAFNOSUPPORT: Code.Unimplemented,
  ENOMEM: Code.ResourceExhausted,
  ENOSPC: Code.ResourceExhausted,
  EMFILE: Code.ResourceExhausted,
  ENFILE: Code.ResourceExhausted,
};

/** The error code a failed system call with this errno reports; Internal for anything not listed. */
export function codeForErrno(errno: number): Code {
  return codes[errnoName(errno)] ?? Code.Internal;
}
