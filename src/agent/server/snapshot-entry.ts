// How the agent's entry point starts, with or without a V8 startup snapshot. The image build runs the bundle once in
// a guest under `node --build-snapshot`: every module body (protobuf descriptors, the node built-ins the agent
// imports) has then run, and V8 serializes the heap. Nothing that belongs to one boot may run then (koffi's dlopen,
// /proc, fds, timers, the pid): the agent's main is only registered, and `node --snapshot-blob` calls it at start.
import { writeSync } from "node:fs";
import { startupSnapshot } from "node:v8";

/** Set by the image build's check of a fresh blob: the deserialized agent says so and exits instead of starting. */
export const SNAPSHOT_PROBE_ENV = "HAKO_SNAPSHOT_PROBE";
/** The line the probe prints on stdout; the guest's build step checks for it. */
export const SNAPSHOT_PROBE_LINE = "hako-agent: startup snapshot loaded";

/** The part of node:v8's startupSnapshot used here (tests pass their own). */
export interface SnapshotApi {
  isBuildingSnapshot(): boolean;
  setDeserializeMainFunction(fn: () => void): void;
}

/**
 * Runs `main(false)` now, or, while a snapshot is being built, `main(true)` when the snapshot is deserialized. Returns how it was
 * started: "now", "deferred" (building), or "probe" (a deserialized blob checked by the image build: nothing runs).
 */
export function startAgent(
  main: (fromSnapshot: boolean) => void,
  api: SnapshotApi = startupSnapshot,
  env: () => NodeJS.ProcessEnv = () => process.env,
  exit: (code: number) => void = (code) => process.exit(code),
  say: (line: string) => void = (line) => writeSync(1, line),
): "now" | "deferred" {
  if (!api.isBuildingSnapshot()) {
    main(false);
    return "now";
  }
  api.setDeserializeMainFunction(() => {
    // Read at deserialization: the environment of the build is not the one the agent starts with.
    if (env()[SNAPSHOT_PROBE_ENV] === "1") {
      say(`${SNAPSHOT_PROBE_LINE}\n`);
      exit(0);
      return;
    }
    main(true);
  });
  return "deferred";
}
