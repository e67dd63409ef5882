// Serializes the start of one pod's daemon between hako-runtime processes: two `create`s of the same pod at once (an
// engine creating containers in parallel, two callers sharing a root) must not both find no daemon and both start
// one. The lock is flock(2) on a file beside the daemon's socket: the kernel drops it when its holder exits or dies,
// so a killed `create` never leaves a stale lock behind.
import { type FileHandle, open, rm, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, HakoError } from "../common/errors.js";
import { EAGAIN } from "../sys/errno.js";
import { fail, lastErrno, load } from "../sys/libc.js";

/** flock(2) operations (<sys/file.h>). */
const LOCK_EX = 2;
const LOCK_NB = 4;
const POLL_MS = 50;

/** The start lock of the pod whose daemon listens on `socket`: `<socket>.lock`. */
export function startLockPath(socket: string): string {
  return `${socket}.lock`;
}

/** True when `fh` is still the file at `path` (delete may have removed it, or a new one replaced it, meanwhile). */
async function stillAt(fh: FileHandle, path: string): Promise<boolean> {
  const held = await fh.stat();
  const now = await stat(path).catch(() => undefined);
  return now !== undefined && now.ino === held.ino && now.dev === held.dev;
}

/**
 * Runs `fn` holding the exclusive lock at `path` (created if missing), waiting at most `timeoutMs` (ms) for another
 * holder. Errors: DeadlineExceeded when the lock stays held that long; a flock(2) failure as its errno's code.
 */
export async function withStartLock<T>(path: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const fh = await open(path, "a");
    try {
      while (load().flock(fh.fd, LOCK_EX | LOCK_NB) !== 0) {
        if (lastErrno() !== EAGAIN) throw fail("flock", path);
        if (Date.now() > until) {
          throw new HakoError(
            Code.DeadlineExceeded,
            `the pod's daemon is still being started by another process after ${timeoutMs} ms (lock ${path})`,
          );
        }
        await sleep(POLL_MS);
      }
      // Locked, but the path may name another file by now: then that one is the lock, start over.
      if (await stillAt(fh, path)) return await fn();
    } finally {
      await fh.close();
    }
  }
}

/**
 * Removes the start lock of the daemon on `socket` once the pod's daemon is gone, holding it while it unlinks it: a
 * `create` waiting on the removed file sees that it is no longer the lock and starts over on a new one.
 */
export async function removeStartLock(socket: string, timeoutMs: number): Promise<void> {
  const path = startLockPath(socket);
  await withStartLock(path, timeoutMs, () => rm(path, { force: true }));
}
