// containerd-shim-hako-v2: `start` launches (or finds) the pod's shim and prints its address; `delete` cleans up
// after a dead shim; `serve` (internal) is the long-lived shim serving containerd's Task service.
import { spawn } from "node:child_process";
import { closeSync, constants, createWriteStream, openSync, writeSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, HakoError } from "../common/errors.js";
import { createLogger, type Logger, type LogSink, stderrSink } from "../common/log.js";
import { DeleteResponseSchema, Task } from "../proto/gen/containerd/task/v2/shim_pb.js";
import { cleanupSandbox, isAlive } from "../runtime/cleanup.js";
import { unmountAll } from "../runtime/host-mounts.js";
import { sandboxPaths } from "../runtime/layout.js";
import { readSandboxState } from "../runtime/sandbox-state.js";
import { socketAnswers, TtrpcServer } from "../ttrpc/index.js";
import { podIdOf, shimSocketPath } from "./address.js";
import { parseShimArgs, type ShimArgs } from "./args.js";
import { EventPublisher } from "./events.js";
import { shimServes } from "./liveness.js";
import { configuredSandboxFactory } from "./sandbox-factory.js";
import { TaskService } from "./task-service.js";

const READY_FD = 3;
/** Bound on `serve` saying it listens, in ms. */
const SERVE_READY_TIMEOUT_MS = 30_000;
declare const HAKO_VERSION: string | undefined;
const VERSION = typeof HAKO_VERSION === "string" ? HAKO_VERSION : "dev";

const USAGE = `usage: containerd-shim-hako-v2 -namespace NS -address ADDR -publish-binary BIN -id ID [-debug] start|delete

containerd's shim v2 for hako: containerd runs it (runtime type io.containerd.hako.v2) with the bundle as its
working directory. \`start\` boots nothing yet: it starts (or finds) the pod's shim and prints its address; the pod's
VM boots on the first Create. \`delete\` cleans up after a shim that died and prints a DeleteResponse.`;

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
 * Log lines to containerd's `log` fifo. While containerd is down (restarting) nobody reads it: a full fifo (EAGAIN)
 * or a closed one (EPIPE) drops the line instead of failing the caller; a restarted containerd opens the same fifo.
 */
function fifoSink(fd: number): LogSink {
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
function openLogFifo(bundle: string): number | undefined {
  try {
    return openSync(join(bundle, "log"), constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
}

async function start(args: ShimArgs, argv: string[]): Promise<void> {
  const podId = await podIdOf(args.bundle, args.id);
  const socket = shimSocketPath(args.address, args.namespace, podId);
  if (await socketAnswers(socket)) {
    await writeAddressFile(args.bundle, `unix://${socket}`);
    process.stdout.write(`unix://${socket}`);
    return;
  }
  await mkdir(dirname(socket), { recursive: true });
  await rm(socket, { force: true });
  const logFd = openLogFifo(args.bundle);
  const script = process.argv[1] as string;
  const child = spawn(process.execPath, [script, ...argv.filter((a) => a !== "start"), "serve"], {
    cwd: args.bundle,
    detached: true,
    stdio: ["ignore", "ignore", logFd ?? "ignore", "pipe"],
    env: { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? "16" },
  });
  const ready = child.stdio[READY_FD];
  if (!ready) throw new HakoError(Code.Internal, "internal: no readiness pipe to the shim");
  let stuck: NodeJS.Timeout | undefined;
  let timedOut = false;
  const answer = await new Promise<string>((resolve) => {
    let text = "";
    ready.on("data", (d: Buffer) => {
      text += d.toString();
    });
    ready.on("close", () => resolve(text));
    child.once("exit", (code, signal) => resolve(text || `error: shim exited during start (${code ?? signal})`));
    // serve only reads the bundle's spec and listens before it answers: one that has not answered is stuck.
    stuck = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
      resolve(`error: the shim did not answer within ${SERVE_READY_TIMEOUT_MS} ms`);
    }, SERVE_READY_TIMEOUT_MS);
  });
  clearTimeout(stuck);
  if (logFd !== undefined) closeSync(logFd);
  if (!answer.startsWith("ready")) {
    // serve's reason comes back as text only; its code stays in serve's own log.
    const code = timedOut ? Code.DeadlineExceeded : Code.Internal;
    throw new HakoError(code, answer.replace(/^error: /, "").trim() || "shim failed to start");
  }
  child.unref();
  await writeAddressFile(args.bundle, `unix://${socket}`);
  process.stdout.write(`unix://${socket}`);
}

async function serve(args: ShimArgs): Promise<void> {
  const logFd = openLogFifo(args.bundle);
  const sink: LogSink = logFd === undefined ? stderrSink : fifoSink(logFd);
  const podId = await podIdOf(args.bundle, args.id);
  const log = createLogger({ level: args.debug ? "debug" : "info", sink, fields: { sandbox: podId } });
  const readyOut = createWriteStream("", { fd: READY_FD });
  try {
    const socket = shimSocketPath(args.address, args.namespace, podId);
    const server = new TtrpcServer({ logger: log });
    const events = new EventPublisher(process.env.TTRPC_ADDRESS ?? `${args.address}.ttrpc`, args.namespace, log);
    const exit = async (code: number) => {
      // Calls still in flight (a Wait whose caller is gone) must not keep a finished shim alive.
      const closed = server.close().catch(() => {});
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000).unref())]);
      events.close();
      await rm(socket, { force: true });
      process.exit(code);
    };
    const service = new TaskService(
      podId,
      events,
      configuredSandboxFactory(args.namespace, log),
      log,
      () => void exit(0),
    );
    server.addService(Task, service.impl);
    await server.listen(socket);
    for (const sig of ["SIGTERM", "SIGINT"] as const) {
      process.on(sig, () => {
        log.info("signal received, stopping the sandbox", { signal: sig });
        void (service.currentSandbox?.stop() ?? Promise.resolve()).finally(() => exit(0));
      });
    }
    process.on("SIGPIPE", () => {});
    readyOut.end("ready\n");
    log.info("shim serving", { socket, pid: process.pid });
  } catch (err) {
    log.error("shim failed to start", { err });
    readyOut.end(`error: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}

async function deleteAction(args: ShimArgs, log: Logger): Promise<void> {
  // Clean-up must go on without the bundle's spec: the container is then taken for its own pod.
  const podId = await podIdOf(args.bundle, args.id).catch((err) => {
    log.warn("delete: the bundle's spec is unreadable; cleaning up as the container's own pod", { id: args.id, err });
    return args.id;
  });
  const paths = sandboxPaths(podId);
  const socket = shimSocketPath(args.address, args.namespace, podId);
  if (await shimServes(socket, args.id)) {
    // containerd runs delete when it believes the shim dead (no address file, a lost connection). A shim that
    // answers is not: its pod keeps running, and its own Delete/Shutdown clean up when containerd asks them to.
    log.warn("delete: the pod's shim is alive and answers; its sandbox is left running", { id: args.id, socket });
  } else if (podId === args.id) {
    const state = await readSandboxState(paths.stateFile).catch(() => undefined);
    if (state && state.ownerPid !== process.pid && isAlive(state.ownerPid)) {
      log.warn("asking the live shim to stop before cleaning up", { pid: state.ownerPid });
      process.kill(state.ownerPid, "SIGTERM");
      for (let i = 0; i < 50 && isAlive(state.ownerPid); i++) await new Promise((r) => setTimeout(r, 100));
    }
    await cleanupSandbox(podId, log);
    await rm(socket, { force: true });
  } else {
    await unmountAll(join(paths.sharedDir, args.id));
  }
  const response = create(DeleteResponseSchema, {
    pid: 0,
    exitStatus: 128 + 9,
    exitedAt: timestampFromDate(new Date()),
  });
  process.stdout.write(toBinary(DeleteResponseSchema, response));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes("-v") || argv.includes("-version") || argv.includes("--version")) {
    // As Go shims answer -v: the binary, the runtime type it serves, its version.
    process.stdout.write(`containerd-shim-hako-v2:\n  Runtime: io.containerd.hako.v2\n  Version: ${VERSION}\n`);
    return;
  }
  if (argv.includes("-h") || argv.includes("-help") || argv.includes("--help")) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const log = createLogger({ level: "info" });
  let args: ShimArgs;
  try {
    args = parseShimArgs(argv, process.cwd());
  } catch (err) {
    process.stderr.write(`containerd-shim-hako-v2: ${(err as Error).message}\n`);
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  try {
    if (args.action === "start") await start(args, argv);
    else if (args.action === "delete") await deleteAction(args, log);
    else await serve(args);
  } catch (err) {
    const e = HakoError.from(err);
    log.error(`${args.action} failed`, { err: e, id: args.id });
    process.stderr.write(`containerd-shim-hako-v2 ${args.action}: ${e.message}\n`);
    process.exit(1);
  }
}

void main();
