// Publishes task events to containerd ($TTRPC_ADDRESS, Events/Forward), strictly in the order they were raised:
// containerd expects create → start → exit → delete per task. A failed publish is retried a few times, then logged.
import { connect } from "node:net";
import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Logger } from "../common/log.js";
import { Events } from "../proto/gen/containerd/events/ttrpc_pb.js";
import { createClient, TtrpcClient, type TypedClient } from "../ttrpc/index.js";

export type Topic =
  | "/tasks/create"
  | "/tasks/start"
  | "/tasks/exit"
  | "/tasks/delete"
  | "/tasks/exec-added"
  | "/tasks/exec-started"
  | "/tasks/paused"
  | "/tasks/resumed"
  | "/tasks/oom";

export interface EventSink {
  publish<D extends DescMessage>(topic: Topic, schema: D, event: MessageInitShape<D>): void;
  /** Resolves when everything published so far has been sent (or given up on). */
  flush(): Promise<void>;
}

export class EventPublisher implements EventSink {
  private queue: Promise<void> = Promise.resolve();
  private client: TypedClient<typeof Events> | undefined;
  private raw: TtrpcClient | undefined;

  constructor(
    private readonly address: string,
    private readonly namespace: string,
    private readonly log: Logger,
  ) {}

  publish<D extends DescMessage>(topic: Topic, schema: D, event: MessageInitShape<D>): void {
    const value = toBinary(schema, create(schema, event));
    const timestamp = timestampFromDate(new Date());
    // containerd 1.6 resolves the Any by the bare message name, not type.googleapis.com/…
    const envelope = { timestamp, namespace: this.namespace, topic, event: { typeUrl: schema.typeName, value } };
    this.queue = this.queue.then(() => this.send(topic, envelope));
  }

  flush(): Promise<void> {
    return this.queue;
  }

  private async send(topic: Topic, envelope: MessageInitShape<typeof Events.method.forward.input>["envelope"]) {
    for (let attempt = 1; attempt <= 5; attempt++) {
      try {
        const client = await this.connection();
        await client.forward({ envelope }, { timeoutMs: 5000 });
        this.log.debug("event published", { topic });
        return;
      } catch (err) {
        this.raw?.close();
        this.client = undefined;
        if (attempt === 5) this.log.error("event could not be published", { topic, err });
        else await new Promise((r) => setTimeout(r, 100 * attempt));
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

  close(): void {
    this.raw?.close();
  }
}
