// Unit specs for TtrpcServer: typed and raw calls, error codes, metadata, deadlines, connection handling.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { afterEach, beforeEach, describe, it } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, HakoError } from "../common/errors.js";
import { createLogger, memorySink } from "../common/log.js";
import { RequestSchema, ResponseSchema } from "../proto/gen/ttrpc/ttrpc_pb.js";
import { TtrpcClient } from "./client.js";
import { encodeFrame, type Frame, FrameDecoder, FrameFlag, FrameType } from "./frame.js";
import { TtrpcServer } from "./server.js";
import { EchoService, echoImpl } from "./testing/echo-service.js";
import { tempSocketPath } from "./testing/socket-pair.js";
import { createClient, type TypedClient } from "./typed-client.js";

const isCode = (code: Code, message?: RegExp) => (err: unknown) =>
  err instanceof HakoError && err.code === code && (message === undefined || message.test(err.message));

async function dial(path: string): Promise<Socket> {
  const socket = connect(path);
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  return socket;
}

/**
 * Sends raw bytes on a fresh connection and collects the answer: `frames` answer frames (then disconnects), or
 * everything until the server closes the connection (after our end of input when `end` is set).
 */
async function rawExchange(
  path: string,
  bytes: Buffer,
  options: { end?: boolean; frames?: number } = {},
): Promise<Frame[]> {
  const socket = await dial(path);
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  const done = new Promise<void>((resolve) => {
    socket.once("close", () => resolve());
    socket.on("data", (chunk) => {
      frames.push(...decoder.push(chunk));
      if (options.frames !== undefined && frames.length >= options.frames) socket.destroy();
    });
  });
  socket.on("error", () => {});
  socket.write(bytes);
  if (options.end) socket.end();
  await done;
  return frames;
}

const requestFrame = (streamId: number, method: string, flags = 0, payload: Uint8Array = new Uint8Array()) =>
  encodeFrame({
    streamId,
    type: FrameType.Request,
    flags,
    payload: toBinary(RequestSchema, create(RequestSchema, { service: "hako.test.Echo", method, payload })),
  });

describe("TtrpcServer", () => {
  let socket: ReturnType<typeof tempSocketPath>;
  let sink: ReturnType<typeof memorySink>;
  let server: TtrpcServer;
  let ttrpc: TtrpcClient;
  let echo: TypedClient<typeof EchoService>;

  beforeEach(async () => {
    socket = tempSocketPath();
    sink = memorySink();
    server = new TtrpcServer({ logger: createLogger({ level: "debug", sink, fields: { subsystem: "shim" } }) });
    server.addService(EchoService, echoImpl());
    server.register("hako.test.Raw", "Reverse", (payload) => Buffer.from(payload).reverse());
    server.register("hako.test.Raw", "Throw", () => {
      throw new Error("plain failure");
    });
    await server.listen(socket.path);
    ttrpc = new TtrpcClient(await dial(socket.path));
    echo = createClient(EchoService, ttrpc);
  });
  afterEach(async () => {
    ttrpc.close();
    await server.close();
    socket.cleanup();
  });

  it("answers typed and raw unary calls", async () => {
    assert.equal((await echo.upper({ value: "hello" })).value, "HELLO");
    assert.equal(Buffer.from(await ttrpc.call("hako.test.Raw", "Reverse", Buffer.from("abc"))).toString(), "cba");
  });

  it("runs 50 concurrent calls on one connection", async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => echo.upper({ value: `call-${i}` })));
    assert.deepEqual(
      answers.map((a) => a.value),
      Array.from({ length: 50 }, (_, i) => `CALL-${i}`),
    );
  });

  it("keeps a HakoError's code and turns anything else into Unknown", async () => {
    await assert.rejects(
      echo.fail({ value: "9:sandbox s1 is not running" }),
      isCode(Code.FailedPrecondition, /^sandbox s1 is not running$/),
    );
    await assert.rejects(
      ttrpc.call("hako.test.Raw", "Throw", new Uint8Array()),
      isCode(Code.Unknown, /^plain failure$/),
    );
  });

  it("answers Unimplemented for a missing method, an unknown method and an unknown service", async () => {
    await assert.rejects(echo.missing({}), isCode(Code.Unimplemented, /hako\.test\.Echo\/Missing/));
    await assert.rejects(ttrpc.call("hako.test.Echo", "Nope", new Uint8Array()), isCode(Code.Unimplemented));
    await assert.rejects(ttrpc.call("no.Such", "Thing", new Uint8Array()), isCode(Code.Unimplemented, /no\.Such/));
  });

  it("answers InvalidArgument for a payload that is not the input message", async () => {
    await assert.rejects(
      ttrpc.call("hako.test.Echo", "Upper", Buffer.from([0xff, 0xff, 0xff])),
      isCode(Code.InvalidArgument),
    );
    assert.equal((await echo.upper({ value: "still fine" })).value, "STILL FINE");
  });

  it("passes metadata as a lower-case multimap", async () => {
    const answer = await echo.metadata(
      {},
      { metadata: { "X-Multi": ["a", "b"], "containerd-namespace-ttrpc": "default" } },
    );
    assert.deepEqual(JSON.parse(answer.value), { "containerd-namespace-ttrpc": ["default"], "x-multi": ["a", "b"] });
  });

  it("gives the handler the deadline and aborts its signal when it passes", async () => {
    await assert.rejects(echo.sleep({ value: "10000" }, { timeoutMs: 100 }), isCode(Code.DeadlineExceeded));
    assert.equal((await echo.lastSleep({})).value, "aborted DeadlineExceeded deadline=true");
  });

  it("treats a far deadline as a deadline, not as an instant timeout", async () => {
    const thirtyDays = 30 * 24 * 3600 * 1000;
    assert.equal((await echo.sleep({ value: "50" }, { timeoutMs: thirtyDays })).value, "slept");
  });

  it("treats a negative timeout as a deadline already passed, as Go's ttrpc does", async () => {
    const payload = toBinary(
      RequestSchema,
      create(RequestSchema, {
        service: "hako.test.Echo",
        method: "Sleep",
        payload: Buffer.from([0x0a, 0x05, 0x31, 0x30, 0x30, 0x30, 0x30]),
        timeoutNano: -5_000_000n,
      }),
    );
    const frames = await rawExchange(
      socket.path,
      encodeFrame({ streamId: 1, type: FrameType.Request, flags: 0, payload }),
      {
        frames: 1,
      },
    );
    assert.equal(
      fromBinary(ResponseSchema, frames[0]?.payload ?? new Uint8Array()).status?.code,
      Code.DeadlineExceeded,
    );
  });

  it("aborts handlers when their connection closes, and the client sees Unavailable", async () => {
    const sleeping = assert.rejects(echo.sleep({ value: "10000" }), isCode(Code.Unavailable));
    await new Promise((resolve) => setTimeout(resolve, 30));
    const other = createClient(EchoService, new TtrpcClient(await dial(socket.path)));
    ttrpc.close();
    await sleeping;
    assert.equal((await other.lastSleep({})).value, "aborted Cancelled deadline=false");
  });

  it("close() ends every connection and removes the socket file", async () => {
    const sleeping = assert.rejects(echo.sleep({ value: "10000" }), isCode(Code.Unavailable));
    await new Promise((resolve) => setTimeout(resolve, 30));
    await server.close();
    await sleeping;
    assert.equal(existsSync(socket.path), false);
    await assert.rejects(dial(socket.path));
  });

  it("answers a request frame written by hand", async () => {
    const [frame] = await rawExchange(socket.path, requestFrame(1, "Upper"), { frames: 1 });
    assert.ok(frame);
    assert.equal(frame.streamId, 1);
    assert.equal(frame.type, FrameType.Response);
    assert.equal(fromBinary(ResponseSchema, frame.payload).status?.code, Code.Ok);
  });

  it("cancels calls in flight when the peer stops sending, as Go's ttrpc does", async () => {
    const sleep = requestFrame(1, "Sleep", 0, Buffer.from([0x0a, 0x05, 0x31, 0x30, 0x30, 0x30, 0x30]));
    assert.deepEqual(await rawExchange(socket.path, sleep, { end: true }), []);
    assert.equal((await echo.lastSleep({})).value, "aborted Cancelled deadline=false");
    assert.equal(sink.entries().filter((e) => e.msg === "closing ttrpc connection").length, 0);
  });

  it("holds requests beyond the calls a connection may have in flight until a slot frees", async () => {
    const small = new TtrpcServer({ maxConcurrentCalls: 2 });
    small.addService(EchoService, echoImpl());
    const path = `${socket.path}.small`;
    await small.listen(path);
    const client = createClient(EchoService, new TtrpcClient(await dial(path)));
    try {
      const started = Date.now();
      const finished: number[] = [];
      const calls = [0, 1, 2].map((i) => client.sleep({ value: "200" }).then(() => finished.push(i)));
      await Promise.all(calls);
      assert.deepEqual(finished.slice(2), [2]);
      assert.ok(Date.now() - started >= 390, "the third call waited for a free slot");
    } finally {
      await small.close();
    }
  });

  it("refuses streaming requests with Unimplemented", async () => {
    const [frame] = await rawExchange(socket.path, requestFrame(1, "Upper", FrameFlag.RemoteOpen), { frames: 1 });
    assert.equal(fromBinary(ResponseSchema, frame?.payload ?? new Uint8Array()).status?.code, Code.Unimplemented);
  });

  const offenders: [string, Buffer, RegExp][] = [
    ["garbage", Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), /limit|unknown frame type/],
    ["an oversize length", Buffer.from([0x00, 0x40, 0x00, 0x01, 0, 0, 0, 1, 1, 0]), /over the 4194304-byte limit/],
    [
      "a bad protobuf",
      encodeFrame({ streamId: 1, type: 1, flags: 0, payload: Buffer.from([0x0a, 0x7f, 0x41]) }),
      /undecodable request/,
    ],
    ["an even stream id", requestFrame(2, "Upper"), /even stream id 2/],
    [
      "an unknown frame type",
      encodeFrame({ streamId: 1, type: 9, flags: 0, payload: new Uint8Array() }),
      /unknown frame type 9/,
    ],
    ["a truncated frame", requestFrame(1, "Upper").subarray(0, 14), /ended inside a frame/],
  ];
  for (const [what, bytes, reason] of offenders) {
    it(`closes a connection that sends ${what}, logs why, and serves the others`, async () => {
      const answer = await rawExchange(socket.path, bytes, { end: what === "a truncated frame" });
      assert.equal(answer.length, 0);
      const logged = sink.entries().find((e) => e.msg === "closing ttrpc connection");
      assert.ok(logged, "a log entry says why the connection was closed");
      assert.match(String(logged.reason), reason);
      assert.equal(logged.subsystem, "shim", "the injected logger is used as given");
      assert.equal((await echo.upper({ value: "ok" })).value, "OK");
    });
  }

  it("closes a connection that reuses a stream id still in flight", async () => {
    const sleep = requestFrame(1, "Sleep", 0, Buffer.from([0x0a, 0x04, 0x31, 0x30, 0x30, 0x30]));
    await rawExchange(socket.path, Buffer.concat([sleep, sleep]));
    assert.match(
      String(sink.entries().find((e) => e.msg === "closing ttrpc connection")?.reason),
      /reuses stream id 1/,
    );
  });

  it("replaces a stale socket file but not a regular file", async () => {
    const stale = tempSocketPath();
    // A process killed while listening leaves its socket file behind, with nobody listening.
    const crashed = `require("node:net").createServer().listen(${JSON.stringify(stale.path)}, () => process.kill(process.pid, "SIGKILL"))`;
    spawnSync(process.execPath, ["-e", crashed]);
    assert.equal(existsSync(stale.path), true);
    await assert.rejects(dial(stale.path), /ECONNREFUSED/);
    writeFileSync(`${stale.path}.txt`, "not a socket");
    const other = new TtrpcServer();
    other.addService(EchoService, echoImpl());
    try {
      await other.listen(stale.path);
      const client = new TtrpcClient(await dial(stale.path));
      assert.equal((await createClient(EchoService, client).upper({ value: "x" })).value, "X");
      client.close();
      await assert.rejects(other.listen(`${stale.path}.txt`), isCode(Code.AlreadyExists, /not a socket/));
      // A live socket is not stale: taking it over would cut another process off.
      await assert.rejects(
        new TtrpcServer().listen(stale.path),
        isCode(Code.AlreadyExists, /another process serves it/),
      );
    } finally {
      await other.close();
      stale.cleanup();
    }
  });
});
