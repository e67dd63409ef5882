// The shim's `start` verb: containerd runs it once per container (the binary, with `start` last), and it starts the
// pod's long-lived shim (`serve`, detached) or finds the one already serving the pod, then prints its address.
// Kept apart from the Task service so that its bundle (dist/containerd-shim-hako-v2-start.mjs) loads only this.
import { spawn } from "node:child_process";
import { closeSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Code, HakoError } from "../common/errors.js";
import { listenUnix } from "../sys/socket.js";
import { answers as socketAnswers } from "../ttrpc/socket-probe.js";
import { podIdOf, shimSocketPath } from "./address.js";
import type { ShimArgs } from "./args.js";
import { openLogFifo } from "./log-fifo.js";

/** The fd on which `serve` finds its listening socket, bound by the `start` that spawned it. */
export const LISTEN_FD = 3;
/** Connections containerd may open before the new shim accepts: each of its requests, and CRI's containers. */
const LISTEN_BACKLOG = 128;

/**
 * V8 flags of the long-lived `serve` process. `--lite-mode` (V8 11: jitless, feedback vectors allocated lazily,
 * optimize for size) trades speed the shim does not need for memory every pod pays: measured with 3 idle pods under
 * TCG, each shim's anonymous memory 14–15 → ~11 MiB and its share of node's code pages less (no optimizing compiler
 * paged in); `ctr run --rm … true` 2288 → 2272 ms (median of 6 interleaved) and the shim's CPU time for a start plus
 * 64 MiB of container stdout 490 → 420 ms (median of 3). jitless also turns WebAssembly off, which the shim does not
 * use; `--no-expose-wasm` says so, or V8 warns on stderr (containerd's log) at every start. `--max-semi-space-size=1`
 * and `--single-threaded` gained nothing measurable on top.
 */
export const SERVE_NODE_FLAGS: readonly string[] = ["--lite-mode", "--no-expose-wasm"];

/** node's arguments for the pod's `serve` process: its V8 flags, the launcher, the shim's own args less `start`. */
export function serveArgv(script: string, argv: readonly string[]): string[] {
  return [...SERVE_NODE_FLAGS, script, ...argv.filter((a) => a !== "start"), "serve"];
}

/**
 * Writes `address` in the bundle, as runc's and Kata's shims do: containerd 1.6 reads it when it restarts to
 * reconnect to a running shim (runtime/v2/shim.go loadShim); 1.7 and 2.x read the `bootstrap.json` they wrote
 * themselves from start's output and fall back to `address` (restoreBootstrapParams). Written whole (rename).
 */
async function writeAddressFile(bundle: string, address: string): Promise<void> {
  const tmp = join(bundle, ".address.tmp");
  await writeFile(tmp, address);
  await rename(tmp, join(bundle, "address"));
}

/**
 * Starts or finds the pod's shim; prints `unix://SOCKET` on stdout. Throws a HakoError when the socket cannot be
 * bound or the shim process not spawned; a shim that fails later logs why to containerd's log fifo and exits, and
 * containerd's first request on the socket fails.
 */
export async function start(args: ShimArgs, argv: string[]): Promise<void> {
  const podId = await podIdOf(args.bundle, args.id);
  const socket = shimSocketPath(args.address, args.namespace, podId);
  if (await socketAnswers(socket)) {
    await writeAddressFile(args.bundle, `unix://${socket}`);
    process.stdout.write(`unix://${socket}`);
    return;
  }
  await mkdir(dirname(socket), { recursive: true });
  await rm(socket, { force: true });
  // The socket is bound and listening before `start` answers, as runc's shim does it: containerd may connect and
  // send its first request at once; the request waits in the backlog while the new shim loads (~0.1 s) and is
  // answered when it accepts. So containerd's next steps overlap the shim's start instead of following it.
  const listener = listenUnix(socket, LISTEN_BACKLOG);
  const logFd = openLogFifo(args.bundle);
  try {
    const script = process.argv[1] as string;
    const child = spawn(process.execPath, serveArgv(script, argv), {
      cwd: args.bundle,
      detached: true,
      stdio: ["ignore", "ignore", logFd ?? "ignore", listener],
      env: { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? "16" },
    });
    if (child.pid === undefined) throw new HakoError(Code.Internal, `cannot run ${process.execPath} for the shim`);
    child.unref();
  } catch (err) {
    await rm(socket, { force: true });
    throw err;
  } finally {
    closeSync(listener);
    if (logFd !== undefined) closeSync(logFd);
  }
  await writeAddressFile(args.bundle, `unix://${socket}`);
  process.stdout.write(`unix://${socket}`);
}
