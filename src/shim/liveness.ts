// Whether a pod's shim is alive and serving: a connect alone is not enough (the kernel accepts connections on a
// listening socket even while its process is stuck), so the Task service must answer a Connect call in time.
import type { Socket } from "node:net";
import { Task } from "../proto/gen/containerd/task/v2/shim_pb.js";
import { connectWithin, createClient, TtrpcClient } from "../ttrpc/index.js";

/** Default bound on the whole probe (connect + Connect call), in ms. */
export const PROBE_TIMEOUT_MS = 2000;

/** True when the shim on `socket` answers containerd's Task/Connect for `id` within timeoutMs; never throws. */
export async function shimServes(socket: string, id: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  let conn: Socket;
  try {
    conn = await connectWithin(socket, timeoutMs);
  } catch {
    return false;
  }
  const client = new TtrpcClient(conn, { defaultTimeoutMs: timeoutMs });
  try {
    await createClient(Task, client).connect({ id }, { timeoutMs });
    return true;
  } catch {
    return false;
  } finally {
    client.close();
    conn.destroy();
  }
}
