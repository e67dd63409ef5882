// The pod this shim serves: its sandbox, booted by the first Create (a pod's sandbox container, or a plain `ctr run`
// container); a CRI `container` Create only ever joins it. Concurrent first Creates share one boot.
import { failedPrecondition, notFound } from "../common/errors.js";
import { CRI_CONTAINER_TYPE } from "../oci/cri-annotations.js";
import type { OciSpec } from "../oci/spec.js";
import type { Sandbox, SandboxEvents } from "../runtime/sandbox.js";

/** Boots the sandbox for the first container of the pod. */
export type SandboxFactory = (req: {
  sandboxId: string;
  spec: OciSpec;
  configPath: string | undefined;
  events: SandboxEvents;
}) => Promise<Sandbox>;

export class Pod {
  private sandbox: Sandbox | undefined;
  private creating: Promise<Sandbox> | undefined;

  constructor(
    /** The pod's id: the sandbox container's id, shared by every container of the pod. */
    readonly id: string,
    private readonly createSandbox: SandboxFactory,
    private readonly events: SandboxEvents,
  ) {}

  /** The sandbox, once booted. */
  get current(): Sandbox | undefined {
    return this.sandbox;
  }

  /** The sandbox; NotFound before the first Create booted it. */
  require(): Sandbox {
    if (!this.sandbox) throw notFound(`sandbox ${this.id} has no containers`);
    return this.sandbox;
  }

  /** The sandbox for container id's Create, booting it first if this is the pod's first container. */
  async sandboxFor(id: string, spec: OciSpec, configPath: string | undefined): Promise<Sandbox> {
    if (this.sandbox) return this.sandbox;
    const type = spec.annotations?.[CRI_CONTAINER_TYPE];
    if (type === "container") {
      throw failedPrecondition(`container ${id} joins pod ${this.id}, whose sandbox does not exist`);
    }
    this.creating ??= this.createSandbox({ sandboxId: this.id, spec, configPath, events: this.events });
    try {
      this.sandbox = await this.creating;
    } finally {
      this.creating = undefined;
    }
    return this.sandbox;
  }
}
