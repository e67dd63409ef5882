// The sandbox's network phase against fakes (VM, agent, host mounts, network model): the netns is wired before the
// VM starts and handed to it, the guest is configured after CreateSandbox, the record of what was wired goes at stop
// or when a later boot step fails or in the clean-up after a dead owner, and a host-network spec is refused before
// anything starts.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { FakeAgent } from "../agent/client/fake-agent.js";
import { Code, HakoError } from "../common/errors.js";
import { createLogger, memorySink } from "../common/log.js";
import { FakeNetworkModel } from "../network/fake-network-model.js";
import type { OciSpec } from "../oci/spec.js";
import type { PortForwardRequest, PortForwardStarter } from "../port-forward/pod-port-forward.js";
import { cleanupSandbox } from "./cleanup.js";
import { fakeBackend } from "./fake-backend.js";
import { FakeHostMounts } from "./fake-host-mounts.js";
import { Sandbox } from "./sandbox.js";

const root = mkdtempSync(join(tmpdir(), "hako-sandbox-net-"));
const runRoot = join(root, "run");
after(() => rmSync(root, { recursive: true, force: true }));

const events = { exited: () => {}, oom: () => {}, vmDied: () => {} };
const podSpec = (namespaces: { type: string; path?: string }[]): OciSpec => ({
  ociVersion: "1.0.2",
  linux: { namespaces },
});

/** A port-forward starter that records what it was asked for and when it was stopped. */
function fakePortForward() {
  const started: PortForwardRequest[] = [];
  let stops = 0;
  const start: PortForwardStarter = async (req) => {
    started.push(req);
    return { port: 40123, stop: async () => void stops++ };
  };
  return { start, started, stops: () => stops };
}

function boot(
  id: string,
  model: FakeNetworkModel,
  spec: OciSpec,
  over: Parameters<typeof fakeBackend>[1] = {},
  portForward: PortForwardStarter = fakePortForward().start,
) {
  const { backend, made } = fakeBackend(runRoot, over);
  const created = Sandbox.create({
    id,
    namespace: "spec",
    backend,
    logger: createLogger({ level: "error", sink: memorySink() }),
    events,
    vcpus: 1,
    memoryMiB: 256,
    runRoot,
    mounts: new FakeHostMounts(),
    network: { model, spec, portForward },
  });
  return { created, made };
}

describe("sandbox network phase", () => {
  test("wires the pod netns, gives the VM its NICs, configures the guest, unwires at stop", async () => {
    const model = new FakeNetworkModel();
    const { created, made } = boot("net1", model, podSpec([{ type: "network", path: "/var/run/netns/pod-a" }]));
    const sandbox = await created;
    assert.deepEqual(made.requests[0]?.network, {
      netns: "/var/run/netns/pod-a",
      nics: model.endpoints.map((e) => ({ tap: e.tap, mac: e.mac, mtu: e.mtu })),
    });
    const agent = made.agents[0] as FakeAgent;
    const sequence = agent.calls.filter((c) => ["createSandbox", "updateInterface", "updateRoutes"].includes(c));
    assert.deepEqual(sequence, ["createSandbox", "updateInterface", "updateRoutes"]);
    assert.deepEqual(agent.interfaces.get("eth0")?.addresses, [{ family: 4, address: "10.88.0.5", prefixLength: 16 }]);
    assert.ok(existsSync(sandbox.paths.networkRecord));
    assert.ok((sandbox.phases["network-ready"] ?? -1) >= (sandbox.phases["network-wired"] ?? Infinity));
    await sandbox.stop();
    assert.deepEqual(model.calls, ["add /var/run/netns/pod-a", "del /var/run/netns/pod-a"]);
    assert.ok(!existsSync(sandbox.paths.networkRecord));
  });

  test("a pod with a netns gets port forwarding for it, with the agent as the guest side, stopped at stop", async () => {
    const pf = fakePortForward();
    const spec = podSpec([{ type: "network", path: "/var/run/netns/pod-pf" }]);
    const { created, made } = boot("net6", new FakeNetworkModel(), spec, {}, pf.start);
    const sandbox = await created;
    assert.equal(pf.started.length, 1);
    assert.equal(pf.started[0]?.netns, "/var/run/netns/pod-pf");
    assert.equal(pf.started[0]?.guest, made.agents[0]);
    assert.equal(pf.started[0]?.recordPath, sandbox.paths.portForwardRecord);
    assert.ok((sandbox.phases["port-forward-ready"] ?? -1) >= (sandbox.phases["network-wired"] ?? Infinity));
    await sandbox.stop();
    assert.equal(pf.stops(), 1);
  });

  test("a boot step failing after the wiring unwires", async () => {
    const model = new FakeNetworkModel();
    const { created } = boot("net2", model, podSpec([{ type: "network", path: "/var/run/netns/pod-b" }]), {
      dialAgent: async () => {
        throw new Error("agent never answered");
      },
    });
    await assert.rejects(created, /agent never answered/);
    assert.deepEqual(model.calls, ["add /var/run/netns/pod-b", "del /var/run/netns/pod-b"]);
    assert.ok(!existsSync(join(runRoot, "network", "net2.json")));
  });

  test("an empty netns gives a VM without NICs and touches no model", async () => {
    const model = new FakeNetworkModel();
    const pf = fakePortForward();
    const { created, made } = boot("net3", model, podSpec([{ type: "network" }]), {}, pf.start);
    const sandbox = await created;
    assert.deepEqual(pf.started, [], "no netns: no port forwarding");
    assert.equal(made.requests[0]?.network, undefined);
    assert.ok(!(made.agents[0] as FakeAgent).calls.includes("updateInterface"));
    await sandbox.stop();
    assert.deepEqual(model.calls, []);
  });

  test("the host network is refused before a VM starts, naming the config key", async () => {
    const model = new FakeNetworkModel();
    const { created, made } = boot("net4", model, podSpec([{ type: "pid" }]));
    await assert.rejects(created, (err: unknown) => {
      return (
        err instanceof HakoError &&
        err.code === Code.InvalidArgument &&
        /runtime\.internetworking_model/.test(err.message)
      );
    });
    assert.deepEqual(made.vms, []);
    assert.deepEqual(model.calls, []);
  });

  test("the clean-up of a dead owner's sandbox unwires and drops port forwarding from the records", async () => {
    const record = join(runRoot, "network", "net5.json");
    mkdirSync(join(runRoot, "network"), { recursive: true });
    // The namespace is gone already (CNI deleted it): unwiring is then just dropping the record.
    const endpoints = [{ link: "eth0", tap: "tap0_hako", kind: "tap", mac: "02:00:00:00:00:05", mtu: 1500 }];
    writeFileSync(record, JSON.stringify({ model: "tcfilter", netns: "/var/run/netns/hako-gone-net5", endpoints }));
    const pfRecord = join(runRoot, "port-forward", "net5.json");
    mkdirSync(join(runRoot, "port-forward"), { recursive: true });
    writeFileSync(pfRecord, JSON.stringify({ netns: "/var/run/netns/hako-gone-net5", port: 40123 }));
    await cleanupSandbox("net5", createLogger({ level: "error", sink: memorySink() }), runRoot, new FakeHostMounts());
    assert.ok(!existsSync(record));
    assert.ok(!existsSync(pfRecord), "the port-forward record goes too (its rule went with the netns)");
  });
});
