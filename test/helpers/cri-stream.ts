// The client side of containerd's CRI streaming server (what `kubectl exec -it` / `attach` / `port-forward` reach
// through kubelet): a WebSocket with the "v4.channel.k8s.io" subprotocol, each binary message prefixed by its channel
// (exec and attach: 0 stdin, 1 stdout, 2 stderr, 3 the final status as JSON, 4 terminal resize; port-forward, per
// requested port: 0 data both ways and 1 errors, each opened by the port as 2 bytes little-endian). The server
// listens on 127.0.0.1 inside the CRI node's network namespace, so the bytes go through `socat` run there (network
// safety: nothing leaves it).
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const STATUS = 3;
/** Port-forward channels of the first requested port. */
export const PORT_DATA = 0;
export const PORT_ERROR = 1;

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export class CriStream {
  /** Bytes received per channel so far. */
  readonly received = new Map<number, Buffer>();
  /** Resolves when the server closes the stream (the process ended, or the attach was cut). */
  readonly closed: Promise<void>;
  private buffer = Buffer.alloc(0);
  private upgraded = false;

  private constructor(
    private readonly relay: ChildProcessWithoutNullStreams,
    url: URL,
    onUpgrade: (err?: Error) => void,
  ) {
    const key = randomBytes(16).toString("base64");
    const accept = createHash("sha1").update(`${key}${GUID}`).digest("base64");
    this.closed = new Promise((resolve) => relay.once("close", () => resolve()));
    relay.on("close", () => onUpgrade(new Error(`stream to ${url} closed before the upgrade`)));
    relay.stdout.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      if (!this.upgraded) {
        const end = this.buffer.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = this.buffer.subarray(0, end).toString();
        this.buffer = this.buffer.subarray(end + 4);
        if (!head.startsWith("HTTP/1.1 101") || !head.includes(accept)) {
          onUpgrade(new Error(`no WebSocket upgrade from ${url}: ${head.split("\r\n")[0]}`));
          relay.kill();
          return;
        }
        this.upgraded = true;
        onUpgrade();
      }
      this.readFrames();
    });
    relay.stdin.write(
      [
        `GET ${url.pathname}${url.search} HTTP/1.1`,
        `Host: ${url.host}`,
        "Upgrade: websocket",
        "Connection: Upgrade",
        `Sec-WebSocket-Key: ${key}`,
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Protocol: v4.channel.k8s.io",
        "",
        "",
      ].join("\r\n"),
    );
  }

  /** Opens `url` (an Exec, Attach or PortForward answer) from inside the network namespace at `netnsPath`. */
  static open(netnsPath: string, url: string): Promise<CriStream> {
    const u = new URL(url);
    const relay = spawn("nsenter", [`--net=${netnsPath}`, "--", "socat", "-", `TCP:${u.hostname}:${u.port}`], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    return new Promise((resolve, reject) => {
      let settled = false;
      const stream = new CriStream(relay, u, (err) => {
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve(stream);
      });
    });
  }

  /** What a channel received so far, as text. */
  text(channel: number): string {
    return (this.received.get(channel) ?? Buffer.alloc(0)).toString();
  }

  /** What a port-forward channel received after its opening port number, as text. */
  portText(channel: number): string {
    return (this.received.get(channel) ?? Buffer.alloc(0)).subarray(2).toString();
  }

  /** Sends bytes on a channel (a masked binary frame, as a client must). */
  send(channel: number, data: string | Buffer): void {
    const payload = Buffer.concat([Buffer.from([channel]), Buffer.from(data)]);
    const mask = randomBytes(4);
    const len = payload.length;
    const head =
      len < 126 ? Buffer.from([0x82, 0x80 | len]) : Buffer.from([0x82, 0x80 | 126, (len >> 8) & 0xff, len & 0xff]);
    const masked = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] ?? 0)));
    this.relay.stdin.write(Buffer.concat([head, mask, masked]));
  }

  /** Resolves once `channel` holds text matching `pattern`; rejects after ms. */
  async waitFor(channel: number, pattern: RegExp, ms = 30_000): Promise<string> {
    const deadline = Date.now() + ms;
    while (!pattern.test(this.text(channel))) {
      if (Date.now() > deadline) throw new Error(`channel ${channel} never matched ${pattern}: ${this.text(channel)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.text(channel);
  }

  close(): void {
    this.relay.stdin.end();
    this.relay.kill();
  }

  /** Parses complete server frames (unmasked) out of the buffer; data frames go to their channel. */
  private readFrames(): void {
    for (;;) {
      if (this.buffer.length < 2) return;
      const opcode = (this.buffer[0] ?? 0) & 0x0f;
      let len = (this.buffer[1] ?? 0) & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (this.buffer.length < 4) return;
        len = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (len === 127) {
        if (this.buffer.length < 10) return;
        len = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.buffer.length < offset + len) return;
      const payload = this.buffer.subarray(offset, offset + len);
      this.buffer = this.buffer.subarray(offset + len);
      if (opcode === 0x8) {
        this.relay.stdin.end();
        return;
      }
      if ((opcode === 0x1 || opcode === 0x2) && payload.length > 0) {
        const channel = payload[0] ?? 0;
        const prev = this.received.get(channel) ?? Buffer.alloc(0);
        this.received.set(channel, Buffer.concat([prev, payload.subarray(1)]));
      }
    }
  }
}
