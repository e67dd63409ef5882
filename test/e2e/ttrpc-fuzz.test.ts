// Robustness of the ttrpc server against hostile peers: thousands of random, truncated, oversize and garbage frames
// over many unix-socket connections, while one well-behaved client keeps calling. Seeded, bounded in count and time.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { createLogger, memorySink } from "../../src/common/log.js";
import { RequestSchema } from "../../src/proto/gen/ttrpc/ttrpc_pb.js";
import { TtrpcClient } from "../../src/ttrpc/client.js";
import { encodeFrame, FrameType, HEADER_LENGTH, MAX_PAYLOAD_LENGTH } from "../../src/ttrpc/frame.js";
import { TtrpcServer } from "../../src/ttrpc/server.js";
import { EchoService } from "../../src/ttrpc/testing/echo-service.js";
import { tempSocketPath } from "../../src/ttrpc/testing/socket-pair.js";
import { createClient } from "../../src/ttrpc/typed-client.js";

const seed = Number(process.env.HAKO_FUZZ_SEED ?? Date.now() % 1_000_000);
const CONNECTIONS = 1000;
const PARALLEL = 16;
const FRAMES_PER_CONNECTION = 20;

/** mulberry32: small, seedable, good enough to pick bytes. */
function prng(state: number) {
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(seed);
const int = (n: number) => Math.floor(random() * n);
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));

function request(streamId: number, method: string, payload: Uint8Array): Buffer {
  const body = toBinary(RequestSchema, create(RequestSchema, { service: "fuzz.Svc", method, payload }));
  return encodeFrame({ streamId, type: FrameType.Request, flags: 0, payload: body });
}

function header(length: number, streamId: number, type: number, flags: number): Buffer {
  const h = Buffer.alloc(HEADER_LENGTH);
  h.writeUInt32BE(length >>> 0, 0);
  h.writeUInt32BE(streamId >>> 0, 4);
  h.writeUInt8(type & 0xff, 8);
  h.writeUInt8(flags & 0xff, 9);
  return h;
}

/** One piece of a hostile conversation; most are bad, some are fine so that bad ones come after good ones. */
function piece(streamId: number): Buffer {
  switch (int(8)) {
    case 0:
      return bytes(1 + int(200));
    case 1: {
      const payload = bytes(int(64));
      return Buffer.concat([header(payload.length, int(2 ** 32), int(5), int(256)), payload]);
    }
    case 2:
      return header(MAX_PAYLOAD_LENGTH + 1 + int(2 ** 31), streamId, FrameType.Request, 0);
    case 3: {
      const whole = request(streamId, "Echo", bytes(int(100)));
      return whole.subarray(0, int(whole.length));
    }
    case 4: {
      const mutated = Buffer.from(request(streamId, "Echo", bytes(int(32))));
      for (let i = 0; i < 1 + int(4); i++) {
        const at = HEADER_LENGTH + int(mutated.length - HEADER_LENGTH);
        mutated[at] = int(256);
      }
      return mutated;
    }
    case 5: {
      const payload = bytes(int(64));
      return Buffer.concat([header(payload.length, streamId, FrameType.Request, 0), payload]);
    }
    case 6:
      return request(streamId, int(2) === 0 ? "Echo" : "Nope", bytes(int(50)));
    default:
      return request(streamId, "Echo", bytes(int(20)));
  }
}

let answeredBytes = 0;

async function hostileConnection(path: string): Promise<void> {
  const socket = connect(path);
  socket.on("error", () => {});
  socket.on("data", (chunk: Buffer) => {
    answeredBytes += chunk.length;
  });
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  let data = Buffer.concat(Array.from({ length: FRAMES_PER_CONNECTION }, (_, i) => piece(2 * i + 1)));
  // Cut the conversation into random chunks so frames straddle writes.
  while (data.length > 0) {
    const n = 1 + int(Math.min(data.length, 300));
    socket.write(data.subarray(0, n));
    data = data.subarray(n);
  }
  if (int(10) === 0) socket.destroy();
  else socket.end();
  const hang = setTimeout(() => socket.destroy(new Error("hung")), 10_000);
  await closed;
  clearTimeout(hang);
  assert.ok(socket.errored?.message !== "hung", `seed ${seed}: the server left a connection hanging`);
}

describe(`ttrpc server under hostile peers (seed ${seed})`, () => {
  let socket: ReturnType<typeof tempSocketPath>;
  let server: TtrpcServer;
  const sink = memorySink();

  before(async () => {
    socket = tempSocketPath();
    server = new TtrpcServer({ logger: createLogger({ level: "warning", sink }) });
    server.register("fuzz.Svc", "Echo", (payload) => payload);
    server.addService(EchoService, { upper: (req) => ({ value: req.value.toUpperCase() }) });
    await server.listen(socket.path);
  });
  after(async () => {
    await server.close();
    socket.cleanup();
  });

  it("survives, closes offenders with a logged reason, and keeps serving a good client throughout", async (t) => {
    const goodSocket = connect(socket.path);
    const good = createClient(EchoService, new TtrpcClient(goodSocket));
    let stop = false;
    let goodCalls = 0;
    const goodTimes: number[] = [];
    const goodLoop = (async () => {
      while (!stop) {
        const value = `good-${goodCalls}`;
        const answer = await good.upper({ value }, { timeoutMs: 5000 });
        assert.equal(answer.value, value.toUpperCase());
        goodCalls++;
        goodTimes.push(Date.now());
      }
    })();

    const started = Date.now();
    let next = 0;
    const workers = Array.from({ length: PARALLEL }, async () => {
      while (next < CONNECTIONS) {
        next++;
        await hostileConnection(socket.path);
      }
    });
    await Promise.all(workers);
    stop = true;
    await goodLoop;
    const elapsed = Date.now() - started;
    const quarters = [0, 1, 2, 3].map(
      (q) =>
        goodTimes.filter((at) => at - started >= (q * elapsed) / 4 && at - started < ((q + 1) * elapsed) / 4).length,
    );
    t.diagnostic(`good calls per quarter: ${quarters.join(" ")}`);
    assert.ok(
      quarters.every((n) => n > 0),
      `seed ${seed}: the good client stalled (${quarters.join(" ")})`,
    );

    t.diagnostic(
      `${CONNECTIONS * FRAMES_PER_CONNECTION} hostile frames on ${CONNECTIONS} connections in ${elapsed} ms; ` +
        `${answeredBytes} bytes answered to them; ${goodCalls} good calls meanwhile`,
    );
    const closings = sink.entries().filter((e) => e.msg === "closing ttrpc connection");
    assert.ok(closings.length > CONNECTIONS / 4, `seed ${seed}: only ${closings.length} offenders were closed`);
    for (const entry of closings) assert.ok(typeof entry.reason === "string" && entry.reason.length > 0);
    // Valid calls that came before the bad bytes were answered: the server treats each frame on its merits.
    assert.ok(answeredBytes > 0);
    assert.ok(goodCalls > 10, `seed ${seed}: the good client made only ${goodCalls} calls in ${elapsed} ms`);

    // Every hostile connection is gone on the server side too; only the good one remains.
    const deadline = Date.now() + 5000;
    while (server.connectionCount > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(server.connectionCount, 1, `seed ${seed}: connections leaked`);
    assert.equal((await good.upper({ value: "after" })).value, "AFTER");
    goodSocket.destroy();
  });
});
