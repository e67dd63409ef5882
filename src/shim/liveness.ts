// Whether a pod's shim is alive and serving: a connect alone is not enough (the kernel accepts connections on a
// listening socket even while its process is stuck), so the Task service must answer a Connect call in time.
import { connect } from "node:net";
import { Code, HakoError } from "../common/errors.js";
import { Task } from "../proto/gen/containerd/task/v2/shim_pb.js";
import { createClient, TtrpcClient } from "../ttrpc/index.js";

/** Default bound on the whole probe (connect + Connect call), in ms. */
export const PROBE_TIMEOUT_MS = 2000;

/** True when the shim on `socket` answers containerd's Task/Connect for `id` within timeoutMs; never throws. */
export async function shimServes(socket: string, id: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  const conn = connect(socket);
  const client = new TtrpcClient(conn, { defaultTimeoutMs: timeoutMs });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new HakoError(Code.DeadlineExceeded, `connect to ${socket} timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
      conn.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
      conn.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    await createClient(Task, client).connect({ id }, { timeoutMs });
    return true;
  } catch {
    return false;
  } finally {
    client.close();
    conn.destroy();
  }
}
