// Publishes task events to containerd ($TTRPC_ADDRESS, Events/Forward), strictly in the order they were raised:
// containerd expects create → start → exit → delete per task. While containerd is unreachable (restarting, or
// upgraded) events wait in a bounded queue and are retried with back-off, so an exit that happened meanwhile is
// reported once containerd is back.
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Logger } from "../common/log.js";
import { Events } from "../proto/gen/containerd/events/ttrpc_pb.js";
import { createClient, TtrpcClient, type TypedClient } from "../ttrpc/index.js";
import { encodeTaskEvent, type TaskEvent, type Topic } from "./task-events.js";

export interface EventSink {
  /** Queues the event; it is sent after every event published before it. */
  publish(event: TaskEvent): void;
  /** Resolves when everything published so far has been sent, or after timeoutMs (ms) if one is given. */
  flush(timeoutMs?: number): Promise<void>;
}

type Envelope = MessageInitShape<typeof Events.method.forward.input>["envelope"];

export interface EventPublisherOptions {
  /** Events kept while containerd is unreachable; beyond it the oldest is dropped (logged). */
  maxQueued?: number;
  /** Back-off between tries, in ms: the first, doubled up to the last. */
  retryMs?: { first: number; max: number };
  /** Bound on one Forward call, in ms. */
  callTimeoutMs?: number;
}

export class EventPublisher implements EventSink {
  private readonly queue: { topic: Topic; envelope: Envelope }[] = [];
  private sending: Promise<void> | undefined;
  private client: TypedClient<typeof Events> | undefined;
  private raw: TtrpcClient | undefined;
  private closed = false;
  private readonly maxQueued: number;
  private readonly retry: { first: number; max: number };
  private readonly callTimeoutMs: number;

  constructor(
    private readonly address: string,
    private readonly namespace: string,
    private readonly log: Logger,
    options: EventPublisherOptions = {},
  ) {
    this.maxQueued = options.maxQueued ?? 4096;
    this.retry = options.retryMs ?? { first: 100, max: 2000 };
    this.callTimeoutMs = options.callTimeoutMs ?? 5000;
  }

  publish(event: TaskEvent): void {
    const { topic, typeName, value } = encodeTaskEvent(event);
    const timestamp = timestampFromDate(new Date());
    // containerd 1.6 resolves the Any by the bare message name, not type.googleapis.com/…
    const envelope = { timestamp, namespace: this.namespace, topic, event: { typeUrl: typeName, value } };
    if (this.queue.length >= this.maxQueued) {
      const dropped = this.queue.shift();
      this.log.error("event queue full while containerd is unreachable; oldest event dropped", {
        topic: dropped?.topic,
      });
    }
    this.queue.push({ topic, envelope });
    this.sending ??= this.drain().finally(() => {
      this.sending = undefined;
    });
  }

  async flush(timeoutMs?: number): Promise<void> {
    const done = this.sending ?? Promise.resolve();
    if (timeoutMs === undefined) return done;
    const ac = new AbortController();
    await Promise.race([done, sleep(timeoutMs, undefined, { signal: ac.signal }).catch(() => {})]);
    ac.abort();
  }

  /** Sends the queue head first, retrying each event until containerd takes it (or close()). */
  private async drain(): Promise<void> {
    let wait = this.retry.first;
    let failing = false;
    while (!this.closed) {
      const head = this.queue[0];
      if (!head) return;
      try {
        const client = await this.connection();
        await client.forward({ envelope: head.envelope }, { timeoutMs: this.callTimeoutMs });
        // By identity: a full queue may have dropped this very event while it was on its way.
        const at = this.queue.indexOf(head);
        if (at >= 0) this.queue.splice(at, 1);
        this.log.debug("event published", { topic: head.topic });
        if (failing) this.log.info("containerd reachable again; queued events sent in order");
        failing = false;
        wait = this.retry.first;
      } catch (err) {
        this.raw?.close();
        this.client = undefined;
        if (!failing) {
          this.log.warn("cannot publish event; queued and retried until containerd answers", {
            topic: head.topic,
            queued: this.queue.length,
            err,
          });
        }
        failing = true;
        await sleep(wait);
        wait = Math.min(wait * 2, this.retry.max);
      }
    }
  }

  private async connection(): Promise<TypedClient<typeof Events>> {
    if (this.client) return this.client;
    const path = this.address.replace(/^unix:\/\//, "");
    const socket = connect(path);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    this.raw = new TtrpcClient(socket, { logger: this.log });
    this.client = createClient(Events, this.raw);
    return this.client;
  }

  /** Stops sending; events still queued are lost (logged). */
  close(): void {
    this.closed = true;
    if (this.queue.length > 0) {
      this.log.error("shim exiting with events containerd never took", { topics: this.queue.map((q) => q.topic) });
    }
    this.raw?.close();
  }
}
