// Connecting to a unix socket before any ttrpc is spoken: whether something listens there, and a connect bounded in
// time. Apart from the server so that callers that only probe (the shim's `start`) do not load the protobuf runtime.
import { connect, type Socket } from "node:net";
import { Code, HakoError } from "../common/errors.js";

/** Whether something accepts connections on the socket file at path. */
export function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
}

/**
 * A socket connected to `path` within timeoutMs. Rejects with DeadlineExceeded when the connect takes longer, or with
 * the connect's own error (ENOENT, ECONNREFUSED…); the socket is destroyed either way.
 */
export function connectWithin(path: string, timeoutMs: number): Promise<Socket> {
  const socket = connect(path);
  return new Promise<Socket>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new HakoError(Code.DeadlineExceeded, `connect to ${path} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once("error", (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}
