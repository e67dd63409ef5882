// hako's ttrpc against Go's containerd/ttrpc (Debian's package, GOPATH mode), in both directions: a Go client calling
// a hako server, and a hako client calling a Go server. Payloads are google.protobuf.StringValue on both sides.
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Code, HakoError } from "../../src/common/errors.js";
import { TtrpcClient } from "../../src/ttrpc/client.js";
import { TtrpcServer } from "../../src/ttrpc/server.js";
import { EchoService, echoImpl } from "../../src/ttrpc/testing/echo-service.js";
import { tempSocketPath } from "../../src/ttrpc/testing/socket-pair.js";
import { createClient, type TypedClient } from "../../src/ttrpc/typed-client.js";
import { buildGoProgram, goMissingReason } from "../helpers/go.js";

const peerSource = fileURLToPath(new URL("../fixtures/go-ttrpc/peer", import.meta.url));
const skip = goMissingReason();
const isCode = (code: Code, message?: RegExp) => (err: unknown) =>
  err instanceof HakoError && err.code === code && (message === undefined || message.test(err.message));

async function dial(path: string): Promise<Socket> {
  const socket = connect(path);
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  return socket;
}

/** Runs the Go peer to completion and returns its stdout, failing with its stderr if it fails. */
function runPeer(binary: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`go peer ${args.join(" ")} exited ${code ?? signal}: ${stderr}`));
    });
  });
}

describe("ttrpc interop with Go's containerd/ttrpc", { skip: skip ?? false }, () => {
  let binary: string;
  before(() => {
    binary = buildGoProgram(peerSource);
  });

  describe("a Go client calling a hako server", () => {
    let report: Record<string, unknown>;
    let server: TtrpcServer;
    let socket: ReturnType<typeof tempSocketPath>;
    before(async () => {
      socket = tempSocketPath();
      server = new TtrpcServer();
      server.addService(EchoService, echoImpl());
      await server.listen(socket.path);
      report = JSON.parse(await runPeer(binary, ["call", socket.path])) as Record<string, unknown>;
    });
    after(async () => {
      await server?.close();
      socket?.cleanup();
    });

    it("makes a unary call", () => {
      assert.equal(report.unaryError, null);
      assert.equal(report.unary, "HELLO FROM GO");
    });
    it("makes 50 concurrent calls on one connection", () => {
      assert.equal(report.concurrentCorrect, 50);
    });
    it("receives an error status with its code and message", () => {
      assert.deepEqual(report.fail, { code: Code.NotFound, message: "container abc not found" });
    });
    it("receives Unimplemented for an unknown method and service", () => {
      assert.equal((report.unknownMethod as { code: number }).code, Code.Unimplemented);
      assert.equal((report.unknownService as { code: number }).code, Code.Unimplemented);
    });
    it("sends metadata the server sees", () => {
      assert.equal(report.metadataError, null);
      assert.deepEqual(JSON.parse(String(report.metadata)), {
        "containerd-namespace-ttrpc": ["k8s.io"],
        "x-multi": ["a", "b"],
      });
    });
    it("sends a deadline that the server enforces on its handler", () => {
      // Either side may notice first: the Go client's own timer, or hako's handler answering DeadlineExceeded.
      assert.match(String(report.deadlineError), /^(context deadline exceeded|rpc error: code = DeadlineExceeded .*)$/);
      assert.ok(Number(report.deadlineElapsedMs) >= 290 && Number(report.deadlineElapsedMs) < 5000);
      assert.equal(report.lastSleepError, null);
      assert.equal(report.lastSleep, "aborted DeadlineExceeded deadline=true");
    });
  });

  describe("a hako client calling a Go server", () => {
    let peer: ChildProcessWithoutNullStreams;
    let socket: ReturnType<typeof tempSocketPath>;
    let ttrpc: TtrpcClient;
    let echo: TypedClient<typeof EchoService>;
    before(async () => {
      socket = tempSocketPath();
      peer = spawn(binary, ["serve", socket.path]);
      peer.stderr.on("data", () => {});
      await new Promise<void>((resolve, reject) => {
        peer.stdout.once("data", (c: Buffer) =>
          c.toString().startsWith("ready") ? resolve() : reject(new Error(`go peer said ${c}`)),
        );
        peer.once("exit", (code) => reject(new Error(`go peer exited ${code} before listening`)));
      });
      ttrpc = new TtrpcClient(await dial(socket.path));
      echo = createClient(EchoService, ttrpc);
    });
    after(() => {
      ttrpc?.close();
      peer?.stdin.end();
      peer?.kill("SIGKILL");
      socket?.cleanup();
    });

    it("makes a unary call", async () => {
      assert.equal((await echo.upper({ value: "hello from hako" })).value, "HELLO FROM HAKO");
    });
    it("makes 50 concurrent calls on one connection", async () => {
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => echo.upper({ value: `call-${i}` })));
      assert.deepEqual(
        answers.map((a) => a.value),
        Array.from({ length: 50 }, (_, i) => `CALL-${i}`),
      );
    });
    it("receives an error status with its code and message", async () => {
      await assert.rejects(
        echo.fail({ value: "6:sandbox s1 already exists" }),
        isCode(Code.AlreadyExists, /^sandbox s1 already exists$/),
      );
      await assert.rejects(ttrpc.call("hako.test.Echo", "NoSuchMethod", new Uint8Array()), isCode(Code.Unimplemented));
      await assert.rejects(ttrpc.call("no.Such", "Service", new Uint8Array()), isCode(Code.Unimplemented));
    });
    it("sends metadata the server sees", async () => {
      const answer = await echo.metadata(
        {},
        { metadata: { "containerd-namespace-ttrpc": "k8s.io", "x-multi": ["a", "b"] } },
      );
      assert.deepEqual(JSON.parse(answer.value), { "containerd-namespace-ttrpc": ["k8s.io"], "x-multi": ["a", "b"] });
    });
    it("sends a deadline that the server enforces, and fails locally with DeadlineExceeded", async () => {
      const started = Date.now();
      await assert.rejects(echo.sleep({ value: "10000" }, { timeoutMs: 300 }), isCode(Code.DeadlineExceeded));
      assert.ok(Date.now() - started < 5000);
      const last = (await echo.lastSleep({})).value;
      assert.match(last, /^context deadline exceeded deadline=true budget_ms=(\d+)$/);
      const budget = Number(/budget_ms=(\d+)/.exec(last)?.[1]);
      assert.ok(budget > 200 && budget <= 300, `the server saw a ${budget} ms budget`);
    });
    it("fails calls in flight with Unavailable when the Go server goes away", async () => {
      const sleeping = assert.rejects(echo.sleep({ value: "10000" }), isCode(Code.Unavailable));
      await new Promise((resolve) => setTimeout(resolve, 50));
      peer.kill("SIGKILL");
      await sleeping;
      await ttrpc.closed;
    });
  });
});
