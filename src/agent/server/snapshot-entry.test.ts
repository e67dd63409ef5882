// Unit specs for how the agent starts with and without a startup snapshot being built.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SNAPSHOT_PROBE_ENV, SNAPSHOT_PROBE_LINE, type SnapshotApi, startAgent } from "./snapshot-entry.js";

function fakeApi(building: boolean): SnapshotApi & { registered: (() => void) | undefined } {
  return {
    registered: undefined,
    isBuildingSnapshot: () => building,
    setDeserializeMainFunction(fn) {
      this.registered = fn;
    },
  };
}

test("without a snapshot build the agent's main runs at once", () => {
  const api = fakeApi(false);
  const ran: boolean[] = [];
  assert.equal(
    startAgent((fromSnapshot) => ran.push(fromSnapshot), api),
    "now",
  );
  assert.deepEqual(ran, [false]);
  assert.equal(api.registered, undefined);
});

test("while a snapshot is built, main only runs when the snapshot is deserialized", () => {
  const api = fakeApi(true);
  const ran: boolean[] = [];
  const env: NodeJS.ProcessEnv = {};
  assert.equal(
    startAgent(
      (fromSnapshot) => ran.push(fromSnapshot),
      api,
      () => env,
      () => assert.fail("no exit"),
    ),
    "deferred",
  );
  assert.deepEqual(ran, [], "main ran while building");
  api.registered?.();
  assert.deepEqual(ran, [true]);
});

test("the image build's probe of a fresh blob prints the probe line and exits 0 without starting the agent", () => {
  const api = fakeApi(true);
  // The environment is read at deserialization, not when the snapshot is built.
  const env: NodeJS.ProcessEnv = {};
  const exits: number[] = [];
  const said: string[] = [];
  startAgent(
    () => assert.fail("the agent started in a probe"),
    api,
    () => env,
    (code) => exits.push(code),
    (line) => said.push(line),
  );
  env[SNAPSHOT_PROBE_ENV] = "1";
  api.registered?.();
  assert.deepEqual(exits, [0]);
  assert.deepEqual(said, [`${SNAPSHOT_PROBE_LINE}\n`]);
});
