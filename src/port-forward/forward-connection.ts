// One forwarded connection: a TCP connection accepted in the pod netns (containerd's, for a CRI PortForward) joined
// to a connection to the same port inside the guest, through the agent's port-forward extension. Bytes go both
// ways with back-pressure (one WritePort in flight; the next ReadPort only once the host socket drained), half
// closes travel, and the guest connection is closed whatever happens. A port the guest refuses resets the host
// connection, so containerd reports an error for the request instead of an empty stream.
import { once } from "node:events";
import type { Socket } from "node:net";
import type { GuestPorts } from "../agent/api/agent-api.js";
import type { Logger } from "../common/log.js";

/** Bytes asked of the guest per ReadPort: large enough for throughput, far under a ttrpc frame (4 MiB). */
export const READ_BYTES = 256 * 1024;
/** Largest WritePort: one request must fit a ttrpc frame. */
export const WRITE_BYTES = 1024 * 1024;

/** Host socket → guest: every chunk written (in order), then the guest side's half close. */
async function toGuest(socket: Socket, guest: GuestPorts, id: number): Promise<void> {
  // Not destroyed at its end of input: the socket stays open for what the guest still sends.
  for await (const chunk of socket.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    for (let off = 0; off < chunk.length; off += WRITE_BYTES) {
      await guest.writePort(id, chunk.subarray(off, off + WRITE_BYTES));
    }
  }
  await guest.closeWritePort(id);
}

/** Guest → host socket: pulled until the guest side ends, then the host socket's half close. */
async function fromGuest(socket: Socket, guest: GuestPorts, id: number, signal: AbortSignal): Promise<void> {
  for (;;) {
    const data = await guest.readPort(id, READ_BYTES, { signal });
    if (data === null) {
      socket.end();
      return;
    }
    if (!socket.write(data)) await once(socket, "drain", { signal });
  }
}

/**
 * Forwards `socket` to `port` in the guest until both directions ended or either side failed. Never rejects: a
 * failure is logged and resets the host connection.
 */
export async function forwardConnection(socket: Socket, port: number, guest: GuestPorts, log: Logger): Promise<void> {
  socket.on("error", (err) => log.debug("port-forward host connection error", { port, err }));
  let id: number;
  try {
    id = await guest.openPort(port);
  } catch (err) {
    log.info("port-forward: the guest connection failed; resetting the host connection", { port, err });
    socket.resetAndDestroy();
    return;
  }
  const closed = new AbortController();
  socket.once("close", () => closed.abort());
  const results = await Promise.allSettled([toGuest(socket, guest, id), fromGuest(socket, guest, id, closed.signal)]);
  await guest.closePort(id).catch((err) => log.debug("port-forward: closing the guest connection", { port, err }));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed && !closed.signal.aborted) {
    log.info("port-forward connection failed; resetting the host connection", { port, err: failed.reason });
    socket.resetAndDestroy();
    return;
  }
  log.debug("port-forward connection done", { port, connection: id });
  socket.destroySoon();
}
