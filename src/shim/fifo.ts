// Opens containerd's stdio fifos without ever blocking a thread. A plain open() of a fifo blocks until the other
// side opens it; done through libuv's thread pool that parks a pool thread, possibly forever (a client that never
// opens stdin), which then also stalls every other file operation and keeps the process from exiting. So, like
// containerd's own fifo package, every open here is non-blocking and completes when the peer appears, and a caller
// can cancel it (the process or the task went away).
//
// - The read end: open(O_RDONLY|O_NONBLOCK) always succeeds at once. Linux keeps such a reader from seeing end of
//   file until a writer has come and gone (fs/pipe.c suppresses EPOLLHUP until a writer was seen), so reading
//   simply waits, in epoll, for the writer's first bytes or its close.
// - The write end: open(O_WRONLY|O_NONBLOCK) fails with ENXIO while nobody reads; it is retried on a short timer
//   until a reader appears or the caller cancels. Each try is one non-blocking syscall on the main thread.
import { closeSync, constants, openSync } from "node:fs";
import { Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, HakoError } from "../common/errors.js";

/** First and longest wait between two tries of a write-end open, in ms. */
const FIRST_RETRY_MS = 5;
const MAX_RETRY_MS = 100;

export interface FifoOpenOptions {
  /** Cancels a pending open: the promise rejects with Code.Cancelled and nothing stays open. */
  signal?: AbortSignal;
}

function cancelled(path: string): HakoError {
  return new HakoError(Code.Cancelled, `opening fifo ${path} was cancelled`);
}

function openError(path: string, err: unknown): HakoError {
  const code = (err as NodeJS.ErrnoException).code === "ENOENT" ? Code.NotFound : Code.Internal;
  return HakoError.from(err, code, `cannot open fifo ${path}`);
}

/** Wraps an open fifo fd as a socket: libuv treats fifos as pipes (non-blocking, polled with epoll). */
function fifoSocket(fd: number, write: boolean): Socket {
  try {
    return new Socket({ fd, readable: !write, writable: write });
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/**
 * Opens the read end of a fifo (a process's stdin) at once. Data flows, and end of file is seen, only once a writer
 * has opened the fifo; until then reading waits without using a thread. Errors: NotFound (no such path), Internal.
 */
export async function openFifoReader(path: string, options: FifoOpenOptions = {}): Promise<Socket> {
  if (options.signal?.aborted) throw cancelled(path);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw openError(path, err);
  }
  return fifoSocket(fd, false);
}

/**
 * Opens the write end of a fifo (a process's stdout or stderr), resolving once a reader has it open. Errors:
 * Cancelled (the signal fired first), NotFound (no such path), Internal.
 */
export async function openFifoWriter(path: string, options: FifoOpenOptions = {}): Promise<Socket> {
  const { signal } = options;
  let wait = FIRST_RETRY_MS;
  for (;;) {
    if (signal?.aborted) throw cancelled(path);
    try {
      return fifoSocket(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK), true);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENXIO") throw openError(path, err);
    }
    try {
      await sleep(wait, undefined, signal ? { signal } : {});
    } catch {
      throw cancelled(path);
    }
    wait = Math.min(wait * 2, MAX_RETRY_MS);
  }
}

/**
 * Lets a reader of `path` see end of file once it has read what is buffered, even if no writer ever opened the
 * fifo (a client that closed stdin without writing; Linux shows end of file only after a writer came and went):
 * opens and closes a write end. Never blocks; does nothing when nobody reads the fifo any more.
 */
export function endOfWriters(path: string): void {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // ENXIO: no reader left; ENOENT: the fifo is gone. Either way no one waits for its end.
  }
}
