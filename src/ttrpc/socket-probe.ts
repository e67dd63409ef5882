// Whether a unix socket has a live listener: a bare connect, no ttrpc spoken. Apart from the server so that callers
// that only probe (the shim's `start`) do not load the protobuf runtime the server needs.
import { connect } from "node:net";

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
