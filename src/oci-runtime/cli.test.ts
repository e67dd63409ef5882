// Specs for hako-runtime as a process, against a fake pod daemon (a Task service answering from the test): `state`
// from persisted state (and "stopped" once the daemon is gone, as after the VM died), runc's exit status for bad
// input, and the stand-in: stdio relayed both ways through the fifos, a signal forwarded, the guest status as its
// own exit status.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Task } from "../proto/gen/containerd/task/v2/shim_pb.js";
import { Status } from "../proto/gen/containerd/types/task_pb.js";
import { deferred } from "../runtime/deferred.js";
import { openFifoReader, openFifoWriter } from "../shim/fifo.js";
import { type ServiceImpl, TtrpcServer } from "../ttrpc/index.js";
import { type ContainerStateV1, stateFile, writeState } from "./state-store.js";

const main = join(dirname(fileURLToPath(import.meta.url)), "main.ts");
const dir = mkdtempSync(join(tmpdir(), "hako-runtime-cli-"));
const root = join(dir, "root");

/** Runs hako-runtime without blocking this process (the fake daemon answers from here). */
function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", main, "--root", root, ...args]);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.once("close", (status) => resolve({ status, stdout, stderr }));
  });
}

async function fakeDaemon(socket: string, impl: ServiceImpl<typeof Task>): Promise<TtrpcServer> {
  const server = new TtrpcServer();
  server.addService(Task, impl);
  await server.listen(socket);
  return server;
}

const state = (socket: string): ContainerStateV1 => ({
  version: 1,
  id: "c1",
  podId: "c1",
  bundle: "/b",
  rootfs: "/b/rootfs",
  created: "2026-01-01T00:00:00.000Z",
  annotations: { a: "1" },
  pid: 4242,
  daemonSocket: socket,
  daemonPid: 1,
});

describe("hako-runtime", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("state: runc's JSON from the saved state and the daemon's status; stopped with pid 0 once it is gone", async () => {
    const socket = join(dir, "d1.sock");
    await writeState(root, state(socket));
    const server = await fakeDaemon(socket, { state: async () => ({ status: Status.RUNNING }) });
    const r = await cli(["state", "c1"]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      ociVersion: "1.0.2",
      id: "c1",
      pid: 4242,
      status: "running",
      bundle: "/b",
      rootfs: "/b/rootfs",
      created: "2026-01-01T00:00:00.000Z",
      annotations: { a: "1" },
      owner: "",
    });
    await server.close();
    const gone = JSON.parse((await cli(["state", "c1"])).stdout) as { status: string; pid: number };
    assert.deepEqual([gone.status, gone.pid], ["stopped", 0]);
    rmSync(dirname(stateFile(root, "c1")), { recursive: true });
  });

  test("bad input: exit status 1 and a message naming it", async () => {
    const unknownFlag = await cli(["create", "--no-such-flag", "x"]);
    assert.equal(unknownFlag.status, 1);
    assert.match(unknownFlag.stderr, /flag provided but not defined: -no-such-flag/);
    const missing = await cli(["state", "nope"]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /container nope does not exist/);
    const verb = await cli(["frobnicate"]);
    assert.equal(verb.status, 1);
    assert.match(verb.stderr, /unknown command "frobnicate"/);
  });

  test("the stand-in relays stdio, forwards signals and exits with the guest status", async () => {
    const socket = join(dir, "d2.sock");
    const io = join(dir, "io");
    execFileSync("mkdir", ["-p", io]);
    execFileSync("mkfifo", [join(io, "0"), join(io, "1"), join(io, "2")]);
    const exit = deferred<number>();
    const signals: number[] = [];
    const server = await fakeDaemon(socket, {
      wait: async () => ({ exitStatus: await exit.promise }),
      kill: async (req) => {
        signals.push(req.signal);
        return {};
      },
    });
    const child = spawn(process.execPath, ["--import", "tsx", main, "stand-in", "--socket", socket, "--io", io, "c1"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    // The daemon's side: stdin arrives in fifo 0; output written to 1 and 2 comes out of the stand-in.
    const stdin = await openFifoReader(join(io, "0"));
    child.stdin.end("to the guest\n");
    let fromStand = "";
    stdin.on("data", (d: Buffer) => {
      fromStand += d.toString();
    });
    await new Promise((r) => stdin.once("end", r));
    assert.equal(fromStand, "to the guest\n");
    const [o, e] = await Promise.all([openFifoWriter(join(io, "1")), openFifoWriter(join(io, "2"))]);
    o.end("guest says hi\n");
    e.end("guest complains\n");
    // Let it install its handlers (it opened the fifos), then signal it.
    for (let i = 0; i < 100 && signals.length === 0; i++) {
      child.kill("SIGUSR1");
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(signals[0], 10, "SIGUSR1 is forwarded as Task/Kill");
    exit.resolve(137);
    assert.equal(await exited, 137);
    assert.equal(out, "guest says hi\n");
    assert.equal(err, "guest complains\n");
    await server.close();
  });
});
