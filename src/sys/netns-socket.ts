// TCP sockets made inside another network namespace (a pod's), for the port forwarder, and SO_ORIGINAL_DST, the
// address a connection was headed for before an iptables REDIRECT. setns(2) switches the calling thread only, so the
// main thread enters the namespace, makes the socket synchronously (no other JavaScript runs meanwhile) and comes
// back at once; a socket stays in the namespace it was made in. (netns-exec.ts uses nsenter instead: it runs tools.)
import { closeSync, openSync } from "node:fs";
import type { Socket } from "node:net";
import { Code, HakoError } from "../common/errors.js";
import { fail, load } from "./libc.js";
import { listenOn } from "./socket.js";

const CLONE_NEWNET = 0x4000_0000;
const AF_INET = 2;
const SOL_IP = 0;
/** linux/netfilter_ipv4.h */
const SO_ORIGINAL_DST = 80;

/** struct sockaddr_in for addr:port (port 0: the kernel picks one). */
export function sockaddrIn(addr: string, port: number): Buffer {
  const octets = addr.split(".").map(Number);
  const b = Buffer.alloc(16);
  b.writeUInt16LE(AF_INET, 0);
  b.writeUInt16BE(port, 2);
  for (const [i, o] of octets.entries()) b.writeUInt8(o, 4 + i);
  return b;
}

/** The port of a struct sockaddr_in (network byte order at offset 2). */
export function portOf(sockaddr: Buffer): number {
  return sockaddr.readUInt16BE(2);
}

/**
 * A listening, non-blocking TCP socket on `addr` (an IPv4 address, port picked by the kernel) inside the network
 * namespace at `netnsPath`. Resolves nothing asynchronously: the thread is back in its own namespace on return.
 * @returns the descriptor (for net.Server.listen({ fd })) and the port the kernel gave it
 * @throws HakoError NotFound when the namespace file is gone; the errno's code when a call fails; Internal when the
 * thread cannot return to its own namespace (the process must not go on then)
 */
export function listenTcpInNetns(netnsPath: string, addr: string, backlog = 128): { fd: number; port: number } {
  return inNetns(netnsPath, () => {
    const fd = listenOn(AF_INET, sockaddrIn(addr, 0), backlog, `${addr} in ${netnsPath}`);
    return { fd, port: boundPort(fd) };
  });
}

/**
 * Runs `fn` (synchronous) with the calling thread in the network namespace at `netnsPath`, then comes back; what
 * `fn` throws is rethrown once the thread is back.
 * @throws HakoError NotFound when the namespace file is gone; the errno's code when setns fails; Internal when the
 * thread cannot return to its own namespace (the process must not go on then)
 */
export function inNetns<T>(netnsPath: string, fn: () => T): T {
  const l = load();
  const own = openSync("/proc/thread-self/ns/net", "r");
  let target: number;
  try {
    target = openSync(netnsPath, "r");
  } catch (err) {
    closeSync(own);
    throw HakoError.from(err, Code.NotFound, `network namespace ${netnsPath}`);
  }
  try {
    if ((l.setns(target, CLONE_NEWNET) as number) !== 0) throw fail("setns", netnsPath);
    let result: { value: T } | undefined;
    let error: unknown;
    try {
      result = { value: fn() };
    } catch (err) {
      error = err;
    }
    if ((l.setns(own, CLONE_NEWNET) as number) !== 0) {
      const back = fail("setns", "back to the process's own network namespace");
      throw new HakoError(Code.Internal, back.message, { cause: back });
    }
    if (!result) throw error;
    return result.value;
  } finally {
    closeSync(target);
    closeSync(own);
  }
}

function boundPort(fd: number): number {
  const sa = Buffer.alloc(16);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(sa.length);
  if ((load().getsockname(fd, sa, len) as number) !== 0) {
    const err = fail("getsockname", `fd ${fd}`);
    load().close(fd);
    throw err;
  }
  return portOf(sa);
}

/**
 * The destination port a connection had before iptables redirected it (getsockopt SOL_IP SO_ORIGINAL_DST, read
 * from conntrack). NotFound (ENOENT) for a connection no NAT rule touched.
 */
export function originalDstPort(fd: number): number {
  const sa = Buffer.alloc(16);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(sa.length);
  if ((load().getsockoptBytes(fd, SOL_IP, SO_ORIGINAL_DST, sa, len) as number) !== 0) {
    throw fail("getsockopt SO_ORIGINAL_DST", `fd ${fd}`);
  }
  return portOf(sa);
}

/**
 * The descriptor under a connected net.Socket (Node keeps it on the socket's TCP handle; it is not public API).
 * @throws HakoError FailedPrecondition when the socket has none (closed already)
 */
export function socketFd(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (fd === undefined || fd < 0) throw new HakoError(Code.FailedPrecondition, "the socket has no descriptor");
  return fd;
}
