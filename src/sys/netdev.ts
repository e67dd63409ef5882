// Network device flags through ioctl(SIOCGIFFLAGS/SIOCSIFFLAGS) on a datagram socket: what `ip link set dev X up`
// does, without spawning `ip` (a fork + exec costs the guest's one vCPU tens of milliseconds, more in a VM just
// restored from a template, whose translated code is gone). Layout of struct ifreq from <linux/if.h>.
import { invalidArgument } from "../common/errors.js";
import { fail, load } from "./libc.js";

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 0x1;
/** struct ifreq: char ifr_name[IFNAMSIZ = 16], then a union whose ifr_flags is a short; 40 bytes on x86-64. */
const IFREQ_SIZE = 40;
const FLAGS_OFFSET = 16;

function ifreq(name: string): Buffer {
  const req = Buffer.alloc(IFREQ_SIZE);
  const n = Buffer.from(name);
  if (n.length === 0 || n.length > 15) throw invalidArgument(`not an interface name: "${name}"`);
  n.copy(req, 0);
  return req;
}

/**
 * Sets IFF_UP on interface `name` in the caller's network namespace (a no-op when it is up already). Returns whether
 * it was down. Throws a HakoError coded from errno (NotFound for a missing device, PermissionDenied without
 * CAP_NET_ADMIN).
 */
export function setLinkUp(name: string): boolean {
  return withFlags(name, (flags, set) => {
    if (flags & IFF_UP) return false;
    set(flags | IFF_UP);
    return true;
  });
}

/** Whether interface `name` is up (IFF_UP) in the caller's network namespace. Throws as setLinkUp does. */
export function linkIsUp(name: string): boolean {
  return withFlags(name, (flags) => (flags & IFF_UP) !== 0);
}

/** Reads `name`'s flags (SIOCGIFFLAGS) and hands them to `fn` with a setter (SIOCSIFFLAGS), on one socket. */
function withFlags<T>(name: string, fn: (flags: number, set: (flags: number) => void) => T): T {
  const l = load();
  const req = ifreq(name);
  const fd = l.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0) as number;
  if (fd < 0) throw fail("socket", `AF_INET datagram socket for ${name}`);
  try {
    if ((l.ioctl(fd, SIOCGIFFLAGS, "void *", req) as number) !== 0) throw fail("ioctl SIOCGIFFLAGS", name);
    return fn(req.readUInt16LE(FLAGS_OFFSET), (flags) => {
      req.writeUInt16LE(flags, FLAGS_OFFSET);
      if ((l.ioctl(fd, SIOCSIFFLAGS, "void *", req) as number) !== 0) throw fail("ioctl SIOCSIFFLAGS", name);
    });
  } finally {
    l.close(fd);
  }
}
