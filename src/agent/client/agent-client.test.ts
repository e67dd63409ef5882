// The client and the agent's RPC layer against each other over a real ttrpc connection: what goes in on one side
// comes out in hako's types on the other. The GuestAgent underneath is a recording stub (no crun on the host).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Code, HakoError, notFound } from "../../common/errors.js";
import type { OciSpec } from "../../oci/spec.js";
import { TtrpcServer } from "../../ttrpc/server.js";
import type { GuestAgent } from "../server/agent.js";
import { agentService, healthService } from "../server/rpc.js";
import { AgentService, Health } from "../server/wire.js";
import type { AgentClient } from "./agent-client.js";
import { FakeAgent } from "./fake-agent.js";
import { waitForAgent } from "./wait-for-agent.js";

const calls: { method: string; args: unknown[] }[] = [];
// The guest's network side played by the fake agent, which keeps the same rules (unknown MAC: NotFound).
const network = new FakeAgent();
network.nics = new Set(["02:00:0a:58:00:05"]);
const outputs: (Buffer | null)[] = [];
const stub = {
  network,
  createContainer: async (req: unknown) => void calls.push({ method: "createContainer", args: [req] }),
  startContainer: async (id: string) => {
    if (id !== "c1") throw notFound(`container ${id} not found`);
    calls.push({ method: "startContainer", args: [id] });
    return { pid: 42 };
  },
  execProcess: async (...args: unknown[]) => {
    calls.push({ method: "execProcess", args });
    return { pid: 43 };
  },
  processPid: (id: string, execId: string) => {
    if (id !== "c1") throw notFound(`container ${id} not found`);
    return execId === "" ? 42 : 43;
  },
  listProcesses: () => [42, 43, 44],
  signalProcess: async (...args: unknown[]) => void calls.push({ method: "signalProcess", args }),
  waitProcess: async () => 137,
  readStdout: async () => outputs.shift() ?? null,
  readStderr: async () => null,
  writeStdin: async (_id: string, _e: string, data: Uint8Array) => data.length,
  statsContainer: () => ({
    cpuUsageNs: 5000n,
    cpuUserNs: 3000n,
    cpuSystemNs: 2000n,
    memoryUsage: 1n << 20n,
    memoryLimit: 1n << 30n,
    memoryMaxUsage: 2n << 20n,
    pidsCurrent: 3n,
    pidsLimit: 100n,
  }),
  getGuestDetails: () => ({ memBlockSizeBytes: 128n << 20n, agentVersion: "9.9.9", kernelVersion: "ignored" }),
  getMetrics: () => 'hako_guest_info{kernel="6.1.0-test"} 1\n',
  copyFile: (path: string, data: Uint8Array, mode: number, offset: number) =>
    void calls.push({ method: "copyFile", args: [path, data.length, mode, offset] }),
  createSandbox: async (req: unknown) => void calls.push({ method: "createSandbox", args: [req] }),
};

let dir = "";
let server: TtrpcServer;
let client: AgentClient;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "hako-agent-client-"));
  server = new TtrpcServer();
  server.addService(Health, healthService());
  server.addService(AgentService, agentService(stub as unknown as GuestAgent));
  await server.listen(join(dir, "agent.sock"));
  client = await waitForAgent({ kind: "serial", path: join(dir, "agent.sock") }, { timeoutMs: 5000 });
});

after(async () => {
  client?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("the OCI spec and storages cross the wire unchanged", async () => {
  const spec: OciSpec = {
    ociVersion: "1.0.2",
    process: { terminal: false, user: { uid: 1, gid: 2 }, args: ["sh", "-c", "echo hi"], env: ["A=b"], cwd: "/w" },
    root: { path: "/run/kata-containers/shared/containers/c1/rootfs", readonly: true },
    hostname: "c1",
    mounts: [{ destination: "/proc", type: "proc", source: "proc" }],
    linux: { namespaces: [{ type: "pid" }], resources: { pids: { limit: 10 } } },
  };
  const storage = { driver: "virtio-fs", source: "kataShared", fstype: "virtiofs", options: ["ro"], mountPoint: "/m" };
  await client.createContainer({ containerId: "c1", spec, storages: [storage] });
  const got = calls.find((c) => c.method === "createContainer")?.args[0] as { spec: OciSpec; storages: unknown[] };
  assert.deepEqual(got.spec, spec);
  assert.deepEqual(got.storages, [storage]);
});

test("start and exec answer the guest pid", async () => {
  assert.deepEqual(await client.startContainer("c1"), { pid: 42 });
  assert.deepEqual(await client.execProcess("c1", "e1", { user: { uid: 0, gid: 0 }, args: ["true"], cwd: "/" }), {
    pid: 43,
  });
  assert.deepEqual(await client.listProcesses("c1"), [42, 43, 44]);
});

test("signal-all travels as metadata; one process otherwise", async () => {
  calls.length = 0;
  await client.signalProcess("c1", "", 9, true);
  await client.signalProcess("c1", "", 15);
  await client.signalProcess("c1", "e1", 2);
  assert.deepEqual(
    calls.map((c) => c.args),
    [
      ["c1", "", 9, true],
      ["c1", "", 15, false],
      ["c1", "e1", 2, false],
    ],
  );
});

test("stdout: data, then null at end of stream; wait gives the status", async () => {
  outputs.push(Buffer.from("abc"));
  assert.equal(Buffer.from((await client.readStdout("c1", "", 10)) ?? []).toString(), "abc");
  assert.equal(await client.readStdout("c1", "", 10), null);
  assert.equal(await client.writeStdin("c1", "", Buffer.from("12345")), 5);
  assert.equal(await client.waitProcess("c1", ""), 137);
});

test("stats, guest details and chunked copies translate", async () => {
  assert.deepEqual(await client.statsContainer("c1"), stub.statsContainer());
  assert.deepEqual(await client.getGuestDetails(), {
    memBlockSizeBytes: 128n << 20n,
    agentVersion: "9.9.9",
    kernelVersion: "6.1.0-test",
  });
  calls.length = 0;
  await client.copyFile("/etc/x", new Uint8Array(2.5 * 1024 * 1024), 0o600);
  assert.deepEqual(
    calls.map((c) => c.args),
    [
      ["/etc/x", 1048576, 0o600, 0],
      ["/etc/x", 1048576, 0o600, 1048576],
      ["/etc/x", 524288, 0o600, 2097152],
    ],
  );
});

test("errors keep their codes and messages", async () => {
  await assert.rejects(client.startContainer("nope"), (err) => {
    assert.ok(err instanceof HakoError);
    assert.equal(err.code, Code.NotFound);
    assert.match(err.message, /container nope not found/);
    return true;
  });
  await client.check();
});

test("network configuration crosses the wire both ways", async () => {
  const iface = {
    name: "eth0",
    mac: "02:00:0a:58:00:05",
    mtu: 1450,
    addresses: [
      { family: 4 as const, address: "10.88.0.5", prefixLength: 16 },
      { family: 6 as const, address: "fd00::5", prefixLength: 64 },
    ],
  };
  assert.deepEqual(await client.updateInterface({ ...iface, mac: "02:00:0A:58:00:05" }), iface);
  const routes = [
    { family: 4 as const, destination: "", gateway: "10.88.0.1", device: "eth0", source: "", scope: 0 },
    { family: 6 as const, destination: "fd00::/64", gateway: "", device: "eth0", source: "", scope: 253 },
  ];
  assert.deepEqual(await client.updateRoutes(routes), routes);
  const neighbor = { address: "10.88.0.9", mac: "02:00:00:00:00:09", device: "eth0", state: 0x80 };
  await client.addArpNeighbors([neighbor]);
  assert.deepEqual(await client.listInterfaces(), [iface]);
  assert.deepEqual(await client.listRoutes(), routes);
  assert.deepEqual(network.neighbors, [neighbor]);
  // The agent's codes come back: an unknown MAC is NotFound.
  await assert.rejects(client.updateInterface({ ...iface, mac: "02:00:00:00:99:99" }), (err) => {
    return err instanceof HakoError && err.code === Code.NotFound && /02:00:00:00:99:99/.test(err.message);
  });
});
