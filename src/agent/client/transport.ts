// The byte streams to a guest agent, one per kind of AgentAddress: the runtime asks for a Duplex and never learns
// which. Serial: QEMU's chardev socket behind the virtio-serial port. Hybrid vsock: a unix socket that takes
// "CONNECT <port>\n" and answers "OK <host port>\n" (Cloud Hypervisor, Firecracker). Vsock: AF_VSOCK, which
// Node's net module cannot open, so it goes through koffi.
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { Code, HakoError } from "../../common/errors.js";
import type { AgentAddress } from "../../hypervisor/hypervisor.js";
import { errnoName } from "../../sys/errno.js";
import { closeFd, fdPoller } from "../../sys/fd.js";
import { FdStream } from "../../sys/fd-stream.js";
import { startVsockConnect } from "../../sys/vsock.js";

export interface ConnectOptions {
  /** Gives up connecting after this long (the socket may not exist yet while the VMM starts). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export function connectAgent(address: AgentAddress, opts: ConnectOptions = {}): Promise<Duplex> {
  switch (address.kind) {
    case "serial":
      return connectUnix(address.path, opts);
    case "hybrid-vsock":
      return connectUnix(address.path, opts).then((s) => hybridHandshake(s, address.port, opts));
    case "vsock":
      return connectVsock(address.cid, address.port, opts);
  }
}

/** AF_VSOCK through koffi (Node's net cannot open it): a non-blocking connect, then an fd-backed Duplex. */
function connectVsock(cid: number, port: number, opts: ConnectOptions): Promise<Duplex> {
  let attempt: ReturnType<typeof startVsockConnect>;
  try {
    attempt = startVsockConnect(cid, port);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return Promise.reject(new HakoError(Code.Unavailable, `cannot reach the agent over vsock: ${why}`, { cause: err }));
  }
  const { fd } = attempt;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (err?: HakoError) => {
      if (settled) return;
      settled = true;
      poller.close();
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      if (err) {
        closeFd(fd);
        reject(err);
      } else {
        resolve(new FdStream(fd));
      }
    };
    const poller = fdPoller(fd, () => {
      const errno = attempt.finish();
      if (errno === 0) settle();
      else
        settle(new HakoError(Code.Unavailable, `cannot connect to vsock cid ${cid} port ${port}: ${errnoName(errno)}`));
    });
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => settle(new HakoError(Code.DeadlineExceeded, `connecting to vsock cid ${cid} port ${port} timed out`)),
            opts.timeoutMs,
          );
    const onAbort = () =>
      settle(new HakoError(Code.Cancelled, `connecting to vsock cid ${cid} port ${port} cancelled`));
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    poller.want(false, true);
  });
}

function connectUnix(path: string, opts: ConnectOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => fail(new HakoError(Code.DeadlineExceeded, `connecting to agent socket ${path} timed out`)),
            opts.timeoutMs,
          );
    const onAbort = () => fail(new HakoError(Code.Cancelled, `connecting to agent socket ${path} cancelled`));
    const done = () => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      socket.off("error", onError);
      socket.off("connect", onConnect);
    };
    const fail = (err: HakoError) => {
      done();
      socket.destroy();
      reject(err);
    };
    const onError = (err: NodeJS.ErrnoException) =>
      fail(
        new HakoError(
          err.code === "ENOENT" || err.code === "ECONNREFUSED" ? Code.Unavailable : Code.Internal,
          `cannot connect to agent socket ${path}: ${err.code ?? err.message}`,
          { cause: err },
        ),
      );
    const onConnect = () => {
      done();
      resolve(socket);
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("error", onError);
    socket.once("connect", onConnect);
  });
}

/**
 * The hybrid-vsock handshake; bytes after the OK line belong to the agent's stream and are put back. It reads with
 * 'readable' rather than 'data' so that the stream is left unpaused for whoever attaches a 'data' listener next.
 */
export function hybridHandshake(socket: Duplex, port: number, opts: ConnectOptions = {}): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => fail(`no answer to CONNECT ${port}`), opts.timeoutMs ?? 5000);
    const cleanup = () => {
      clearTimeout(timer);
      socket.off("readable", onReadable);
      socket.off("error", onError);
      socket.off("end", onEnd);
    };
    const fail = (why: string) => {
      cleanup();
      socket.destroy();
      reject(new HakoError(Code.Unavailable, `hybrid vsock handshake failed: ${why}`));
    };
    const onError = (err: Error) => fail(err.message);
    const onEnd = () => fail("connection closed");
    const onReadable = () => {
      for (;;) {
        const chunk = socket.read() as Buffer | null;
        if (chunk === null) return;
        got = Buffer.concat([got, chunk]);
        const nl = got.indexOf(0x0a);
        if (nl < 0) {
          if (got.length > 256) fail("answer line too long");
          continue;
        }
        const line = got.subarray(0, nl).toString("utf8").trim();
        if (!line.startsWith("OK")) return fail(`answer "${line}"`);
        cleanup();
        const rest = got.subarray(nl + 1);
        if (rest.length > 0) socket.unshift(rest);
        resolve(socket);
        return;
      }
    };
    socket.on("readable", onReadable);
    socket.once("error", onError);
    socket.once("end", onEnd);
    socket.write(`CONNECT ${port}\n`);
  });
}
