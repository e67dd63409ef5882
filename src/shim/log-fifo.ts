// containerd's per-bundle `log` fifo: the shim's structured log lines go there, and containerd copies them into its
// own log. Shared by `start` (which hands the fifo to the long-lived shim) and `serve`.
import { constants, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { LogSink } from "../common/log.js";

/**
 * Log lines to containerd's `log` fifo. While containerd is down (restarting) nobody reads it: a full fifo (EAGAIN)
 * or a closed one (EPIPE) drops the line instead of failing the caller; a restarted containerd opens the same fifo.
 */
export function fifoSink(fd: number): LogSink {
  return {
    write: (line) => {
      try {
        writeSync(fd, line);
      } catch {
        // dropped: no reader
      }
    },
  };
}

/** containerd's per-bundle `log` fifo; containerd holds its read end while the shim runs. */
export function openLogFifo(bundle: string): number | undefined {
  try {
    return openSync(join(bundle, "log"), constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
}
