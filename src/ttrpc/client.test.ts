// Unit specs for TtrpcClient over an in-process socket pair: stream ids, timeouts, cancellation, dropped connections.
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { afterEach, beforeEach, describe, it } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, HakoError } from "../common/errors.js";
import { type Request, RequestSchema, ResponseSchema } from "../proto/gen/ttrpc/ttrpc_pb.js";
import { TtrpcClient } from "./client.js";
import { encodeFrame, type Frame, FrameDecoder, FrameType } from "./frame.js";
import { socketPair } from "./testing/socket-pair.js";

/** A hand-driven peer: collects the client's requests and answers only when told to. */
class ScriptedServer {
  readonly requests: { streamId: number; request: Request }[] = [];
  private waiters: (() => void)[] = [];
  constructor(readonly socket: Socket) {
    const decoder = new FrameDecoder();
    socket.on("data", (chunk) => {
      for (const frame of decoder.push(chunk)) this.onFrame(frame);
    });
  }
  private onFrame(frame: Frame) {
    this.requests.push({ streamId: frame.streamId, request: fromBinary(RequestSchema, frame.payload) });
    for (const w of this.waiters.splice(0)) w();
  }
  async waitFor(count: number) {
    while (this.requests.length < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.requests;
  }
  answer(streamId: number, payload: string, code = 0, message = "") {
    const response = create(ResponseSchema, { status: { code, message }, payload: Buffer.from(payload) });
    this.socket.write(
      encodeFrame({ streamId, type: FrameType.Response, flags: 0, payload: toBinary(ResponseSchema, response) }),
    );
  }
}

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString();
const isCode = (code: Code) => (err: unknown) => err instanceof HakoError && err.code === code;

describe("TtrpcClient", () => {
  let pair: Awaited<ReturnType<typeof socketPair>>;
  let server: ScriptedServer;
  let client: TtrpcClient;
  beforeEach(async () => {
    pair = await socketPair();
    server = new ScriptedServer(pair.server);
    client = new TtrpcClient(pair.client);
  });
  afterEach(() => {
    client.close();
    pair.cleanup();
  });

  it("multiplexes calls on odd, increasing stream ids and matches answers out of order", async () => {
    const calls = [0, 1, 2, 3].map((i) => client.call("svc", `M${i}`, Buffer.from(`p${i}`)));
    const requests = await server.waitFor(4);
    assert.deepEqual(
      requests.map((r) => r.streamId),
      [1, 3, 5, 7],
    );
    assert.deepEqual(
      requests.map((r) => [r.request.service, r.request.method, text(r.request.payload)]),
      [0, 1, 2, 3].map((i) => ["svc", `M${i}`, `p${i}`]),
    );
    for (const { streamId, request } of [...requests].reverse()) server.answer(streamId, `re:${request.method}`);
    assert.deepEqual((await Promise.all(calls)).map(text), ["re:M0", "re:M1", "re:M2", "re:M3"]);
  });

  it("sends timeout and metadata, and turns a status into a HakoError with its code", async () => {
    const call = client.call("svc", "M", new Uint8Array(), {
      timeoutMs: 1500,
      metadata: { "Containerd-Namespace-Ttrpc": "k8s.io", multi: ["a", "b"] },
    });
    const [{ streamId, request } = assert.fail()] = await server.waitFor(1);
    assert.equal(request.timeoutNano, 1_500_000_000n);
    assert.deepEqual(
      request.metadata.map((kv) => [kv.key, kv.value]),
      [
        ["containerd-namespace-ttrpc", "k8s.io"],
        ["multi", "a"],
        ["multi", "b"],
      ],
    );
    server.answer(streamId, "", Code.NotFound, "container abc not found");
    await assert.rejects(
      call,
      (err) => isCode(Code.NotFound)(err) && (err as Error).message === "container abc not found",
    );
  });

  it("sends a far or infinite timeout without firing it early", async () => {
    const far = client.call("svc", "Far", new Uint8Array(), { timeoutMs: 30 * 24 * 3600 * 1000 });
    const none = client.call("svc", "None", new Uint8Array(), { timeoutMs: Number.POSITIVE_INFINITY });
    const requests = await server.waitFor(2);
    assert.equal(requests[0]?.request.timeoutNano, 2_592_000_000_000_000n);
    assert.equal(requests[1]?.request.timeoutNano, 0n);
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (const { streamId } of requests) server.answer(streamId, "in time");
    assert.deepEqual((await Promise.all([far, none])).map(text), ["in time", "in time"]);
  });

  it("times out locally and ignores the late answer", async () => {
    const started = Date.now();
    await assert.rejects(
      client.call("svc", "Slow", new Uint8Array(), { timeoutMs: 50 }),
      isCode(Code.DeadlineExceeded),
    );
    assert.ok(Date.now() - started >= 45);
    server.answer(1, "too late");
    server.answer(99, "never asked");
    const next = client.call("svc", "Fast", new Uint8Array());
    const requests = await server.waitFor(2);
    server.answer(requests[1]?.streamId ?? 0, "fine");
    assert.equal(text(await next), "fine");
  });

  it("cancels through an AbortSignal, before or during the call", async () => {
    const controller = new AbortController();
    const call = client.call("svc", "M", new Uint8Array(), { signal: controller.signal });
    await server.waitFor(1);
    controller.abort();
    await assert.rejects(call, isCode(Code.Cancelled));
    await assert.rejects(
      client.call("svc", "M", new Uint8Array(), { signal: controller.signal }),
      isCode(Code.Cancelled),
    );
    server.answer(1, "late");
  });

  it("fails every call in flight with Unavailable when the connection drops, and later calls too", async () => {
    const calls = [1, 2, 3].map(() => client.call("svc", "M", new Uint8Array()));
    await server.waitFor(3);
    pair.server.destroy();
    for (const call of calls) await assert.rejects(call, isCode(Code.Unavailable));
    await client.closed;
    await assert.rejects(client.call("svc", "M", new Uint8Array()), isCode(Code.Unavailable));
  });

  it("closes the connection when the server announces an oversize frame", async () => {
    const call = client.call("svc", "M", new Uint8Array());
    await server.waitFor(1);
    const header = Buffer.alloc(10);
    header.writeUInt32BE(0x7fffffff, 0);
    header.writeUInt32BE(1, 4);
    header.writeUInt8(2, 8);
    pair.server.write(header);
    await assert.rejects(call, (err) => isCode(Code.Unavailable)(err) && /limit/.test((err as Error).message));
    await client.closed;
  });
});
