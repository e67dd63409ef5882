// What the shim keeps for each process beside the runtime's own record: containerd's fifo paths, the stdio relay and
// the "exit reported" promise Wait answers from. Keyed by the runtime's ContainerProcess object, so the runtime's
// container/exec registry stays the only one: the shim finds a process there (Sandbox.process) and its extras here,
// and a process the runtime forgot cannot linger here under a stale id.
import type { Logger } from "../common/log.js";
import { type Deferred, deferred } from "../runtime/deferred.js";
import type { ContainerProcess, ExitInfo } from "../runtime/process.js";
import { type ProcessIo, type StdioPaths, StdioRelay } from "./stdio.js";

export interface Tracked {
  stdio: StdioPaths;
  relay: StdioRelay;
  /** Settled once Start has published the start event: an exit is never reported before it. */
  started: Deferred<void>;
  /** Settled once the exit has been published (after output drained): Wait answers from it. */
  reported: Deferred<ExitInfo>;
}

export class ProcessTracker {
  private readonly tracked = new WeakMap<ContainerProcess, Tracked>();

  constructor(private readonly log: Logger) {}

  /** Opens the process's fifos (its relay starts with start()) and records them. */
  track(p: ContainerProcess, stdio: StdioPaths, io: ProcessIo): Tracked {
    const log = this.log.child({ container: p.containerId, exec: p.execId });
    const t: Tracked = {
      stdio,
      relay: new StdioRelay(p, stdio, io, log),
      started: deferred<void>(),
      reported: deferred<ExitInfo>(),
    };
    this.tracked.set(p, t);
    return t;
  }

  get(p: ContainerProcess): Tracked | undefined {
    return this.tracked.get(p);
  }

  /** Stops the process's relay and forgets it (the process was deleted). */
  release(p: ContainerProcess): void {
    this.tracked.get(p)?.relay.close();
    this.tracked.delete(p);
  }
}
