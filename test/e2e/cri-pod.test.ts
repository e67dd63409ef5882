// End to end as kubelet drives hako: containerd 1.6's CRI plugin, a runtime handler `hako`, CNI (bridge +
// host-local) inside a network namespace this test made. One pod = one VM, so the checks share few pods: pod A
// (static sizing, two containers and a third added and removed later, exec/attach/port-forward streams), pod B (static sizing off: the VM grows for
// the sum of its containers).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DEFAULT_MEMORY_MIB } from "../../src/config/defaults.js";
import { mountPointsUnder } from "../../src/runtime/host-mounts.js";
import { runDir, sandboxPaths } from "../../src/runtime/layout.js";
import { BUSYBOX_IMAGE_REF } from "../helpers/busybox-image.js";
import { processesMatching } from "../helpers/containerd.js";
import type { ContainerConfig, CriClient, PodSandboxConfig } from "../helpers/cri-client.js";
import { CriNode, podLogFiles, writeHakoConfig } from "../helpers/cri-node.js";
import { CriStream, PORT_DATA, PORT_ERROR, STATUS, STDIN, STDOUT } from "../helpers/cri-stream.js";
import { hostProcesses } from "../helpers/processes.js";
import { within } from "../helpers/waiting.js";

const hostKernel = execFileSync("uname", ["-r"]).toString().trim();
const MiB = 1024 * 1024;
/** The configuration's default_vcpus (default_memory: the built-in default) the sizing checks add to. */
const DEFAULT_VCPUS = 1;

/** QEMU processes of one sandbox (`-name sandbox-<id>`). */
const vmPids = (id: string) =>
  hostProcesses()
    .filter((p) => p.cmd.includes("qemu-system") && p.argv.some((a) => a.startsWith(`sandbox-${id}`)))
    .map((p) => p.pid);

/** The guest's MemTotal in KiB, as a container of the pod reads /proc/meminfo. */
async function memTotalKiB(cri: CriClient, container: string): Promise<number> {
  const r = await cri.execSync(container, ["sh", "-c", "grep MemTotal /proc/meminfo"]);
  const kib = Number(/MemTotal:\s+(\d+)/.exec(r.stdout.toString())?.[1]);
  assert.ok(kib > 0, `MemTotal from: ${r.stdout.toString()} ${r.stderr.toString()}`);
  return kib;
}

/** The cgroup (v1 controller, or the v2 "" line) a process or thread is in, from /proc/<path>/cgroup. */
function cgroupOf(procPath: string, controller: string): string | undefined {
  for (const line of readFileSync(`/proc/${procPath}/cgroup`, "utf8").split("\n")) {
    const [, controllers = "", path] = line.split(":");
    if (controllers.split(",").includes(controller)) return path;
  }
  return undefined;
}

/** The threads of a process that are in the given v1 cpu cgroup. */
const threadsIn = (pid: number, cgroup: string) =>
  readdirSync(`/proc/${pid}/task`).filter((t) => cgroupOf(`${pid}/task/${t}`, "cpu") === cgroup);

/** Host cgroup directories of a path in the v1 hierarchies hako uses, that still exist. */
const cgroupDirsLeft = (path: string) =>
  ["cpu", "memory", "pids"].map((c) => join("/sys/fs/cgroup", c, path)).filter((d) => existsSync(d));

async function execText(cri: CriClient, container: string, script: string): Promise<string> {
  const r = await cri.execSync(container, ["sh", "-c", script]);
  assert.equal(r.exitCode, 0, `${script}: ${r.stderr.toString()}`);
  return r.stdout.toString().trim();
}

describe("pods through containerd's CRI plugin and the hako handler", () => {
  let node: CriNode;
  let configDir: string;

  before(async () => {
    configDir = mkdtempSync(join(tmpdir(), "hako-cri-"));
    node = await CriNode.start({
      hakoHandlers: {
        hako: await writeHakoConfig(join(configDir, "static.toml"), {
          runtime: { static_sandbox_resource_mgmt: true },
        }),
        "hako-dynamic": await writeHakoConfig(join(configDir, "dynamic.toml"), {
          runtime: { static_sandbox_resource_mgmt: false },
        }),
        "hako-cgroup-only": await writeHakoConfig(join(configDir, "cgroup-only.toml"), {
          runtime: { sandbox_cgroup_only: true },
        }),
      },
    });
  });

  after(async () => {
    const { leaked } = await node.stop();
    rmSync(configDir, { recursive: true, force: true });
    assert.deepEqual(leaked, [], "the pods left something behind");
    assert.deepEqual(processesMatching(new RegExp(`containerd-shim-hako-v2 .*${node.containerd.address}`)), []);
  });

  const container = (name: string, script: string, extra: Partial<ContainerConfig> = {}): ContainerConfig => ({
    metadata: { name },
    image: { image: BUSYBOX_IMAGE_REF },
    command: ["sh", "-c", script],
    logPath: `${name}/0.log`,
    ...extra,
  });

  const startContainer = async (pod: string, podConfig: PodSandboxConfig, config: ContainerConfig) => {
    const id = await node.cri.createContainer(pod, config, podConfig);
    await node.cri.startContainer(id);
    return id;
  };

  test("pod A: one VM, shared namespaces and shm, exec, HTTP from the node, logs, update, add and remove", async () => {
    const podConfig = await node.podConfig("pod-a", {
      linux: {
        // shareProcessNamespace: true
        securityContext: { namespaceOptions: { pid: "POD" } },
        resources: { cpuPeriod: 100_000, cpuQuota: 200_000, memoryLimitInBytes: 256 * MiB },
      },
    });
    const pod = await node.runPod(podConfig, "hako");
    const status = (await node.cri.podSandboxStatus(pod)).status;
    assert.equal(status.state, "SANDBOX_READY");
    assert.match(status.network?.ip ?? "", /^10\.88\.7\.\d+$/, "the pod has its CNI address");
    assert.equal(vmPids(pod).length, 1, "one VM for the pod");
    const spec = await node.sandboxSpec(pod);
    // Host cgroups (sandbox_cgroup_only = false): QEMU's vCPU threads (one per vCPU: default + 2) in the pod's
    // cgroup, its main thread and the rest in the overhead group.
    const cgroupsPath = spec.linux?.cgroupsPath ?? "";
    const [qemu = 0] = vmPids(pod);
    assert.equal(threadsIn(qemu, cgroupsPath).length, DEFAULT_VCPUS + 2, "QEMU's vCPU threads in the pod's cgroup");
    assert.equal(cgroupOf(String(qemu), "cpu"), `/hako_overhead/${pod}`);
    assert.equal(cgroupOf(String(qemu), "memory"), `/hako_overhead/${pod}`);

    const web = await startContainer(
      pod,
      podConfig,
      container(
        "web",
        "mkdir -p /www && echo pod-web-ok > /www/index.html && echo from-web > /dev/shm/web && " +
          "echo hello-from-web && echo oops-from-web >&2 && exec httpd -f -p 8080 -h /www",
      ),
    );
    const side = await startContainer(
      pod,
      podConfig,
      // An echo server on 9090 for port-forward (busybox nc: -ll keeps listening, -e runs cat per connection).
      container("side", "echo from-side > /dev/shm/side; nc -ll -p 9090 -e cat & exec sleep 100000"),
    );
    assert.equal(vmPids(pod).length, 1, "containers join the pod's VM");

    // Same guest kernel, not the host's; same hostname; each other's shm files; one network (127.0.0.1).
    const kernels = [await execText(node.cri, web, "uname -r"), await execText(node.cri, side, "uname -r")];
    assert.equal(kernels[0], kernels[1]);
    assert.notEqual(kernels[0], hostKernel);
    assert.equal(await execText(node.cri, web, "hostname"), "pod-a");
    assert.equal(await execText(node.cri, side, "hostname"), "pod-a");
    assert.equal(await execText(node.cri, web, "cat /dev/shm/side"), "from-side");
    assert.equal(await execText(node.cri, side, "cat /dev/shm/web"), "from-web");
    assert.equal(await execText(node.cri, side, "wget -qO- http://127.0.0.1:8080/"), "pod-web-ok");
    // The pod shares its process namespace: side sees the pause process and web's httpd.
    const ps = await execText(node.cri, side, "ps -o pid,args");
    assert.match(ps, /^\s*1 \/pause$/m);
    assert.match(ps, /httpd -f -p 8080/);

    // ExecSync: stdout, stderr and the exit code apart.
    const r = await node.cri.execSync(side, ["sh", "-c", "echo out; echo err >&2; exit 7"]);
    assert.deepEqual([r.stdout.toString(), r.stderr.toString(), r.exitCode], ["out\n", "err\n", 7]);

    // The pod address answers from the node's namespace (the test's), through CNI's bridge and the guest NIC.
    const curl = await node.inNode("curl", ["-sS", "-m", "10", `http://${status.network?.ip}:8080/`]);
    assert.equal(curl.stdout.trim(), "pod-web-ok", curl.stderr);

    // CRI PortForward (kubectl port-forward): containerd dials localhost:<port> in the pod netns, where hako's
    // forwarder takes the connection to that port in the guest. An HTTP request in, web's answer out; the server
    // closing its end closes the stream.
    const forward = (port: number) =>
      node.cri.portForward(pod, [port]).then((url) => CriStream.open(node.net.hostPath, url));
    const http = await forward(8080);
    http.send(PORT_DATA, "GET / HTTP/1.0\r\n\r\n");
    await within(60_000, "the port-forward stream to 8080 to close", http.closed);
    assert.match(http.portText(PORT_DATA), /^HTTP\/1\.[01] 200 [\s\S]*\r\n\r\npod-web-ok\n$/);
    assert.equal(http.portText(PORT_ERROR), "");
    // Both ways, in turns, on one connection: side's echo server answers each line while the stream stays open.
    const echo = await forward(9090);
    echo.send(PORT_DATA, "ping-1\n");
    await echo.waitFor(PORT_DATA, /ping-1\n$/);
    echo.send(PORT_DATA, "ping-2\n");
    await echo.waitFor(PORT_DATA, /ping-1\nping-2\n$/);
    echo.close();
    // Nothing listens on 8081 in the guest: the request ends with an error on its error channel, not a hang.
    const refused = await forward(8081);
    refused.send(PORT_DATA, "anyone?");
    await within(60_000, "the port-forward stream to 8081 to close", refused.closed);
    assert.match(refused.portText(PORT_ERROR), /error forwarding port 8081/);
    assert.equal(refused.portText(PORT_DATA), "");
    // The REDIRECT that made it work is hako's one rule in the pod netns (removed with the pod, below).
    const podNetns = spec.linux?.namespaces?.find((n) => n.type === "network")?.path ?? "";
    const nat = execFileSync("nsenter", [`--net=${podNetns}`, "iptables", "-w", "-t", "nat", "-S", "OUTPUT"]);
    assert.equal(nat.toString().match(/--comment "hako port-forward"/g)?.length, 1, nat.toString());

    // containerd writes the CRI log file from the container's stdout and stderr.
    const logDir = podConfig.logDirectory ?? "";
    assert.deepEqual(podLogFiles(logDir).sort(), ["side/0.log", "web/0.log"]);
    const log = readFileSync(join(logDir, "web/0.log"), "utf8");
    assert.match(log, / stdout F hello-from-web\n/);
    assert.match(log, / stderr F oops-from-web\n/);

    // UpdateContainerResources reaches the container's cgroup in the guest, which it sees at /sys/fs/cgroup (its own
    // cgroup namespace).
    await node.cri.updateContainerResources(side, { memoryLimitInBytes: 128 * MiB });
    assert.equal(await execText(node.cri, side, "cat /sys/fs/cgroup/memory.max"), String(128 * MiB));

    // Static sizing from the sandbox annotations: default + 2 vCPUs, default + 256 MiB.
    assert.equal(await execText(node.cri, side, "nproc"), String(DEFAULT_VCPUS + 2));
    const kib = await memTotalKiB(node.cri, side);
    assert.ok(kib > DEFAULT_MEMORY_MIB * 1024, `MemTotal ${kib} KiB holds the pod's 256 MiB on top of the default`);
    assert.ok(kib <= (DEFAULT_MEMORY_MIB + 256) * 1024, `MemTotal ${kib} KiB`);

    // A third container added while the pod runs, then removed; the rest keeps running.
    const third = await startContainer(pod, podConfig, container("third", "exec sleep 100000"));
    assert.equal(await execText(node.cri, third, "wget -qO- http://127.0.0.1:8080/"), "pod-web-ok");
    await node.cri.stopContainer(third, 0);
    await node.cri.removeContainer(third);
    assert.deepEqual((await node.cri.listContainers(pod)).map((c) => c.id).sort(), [side, web].sort());
    assert.equal(await execText(node.cri, side, "wget -qO- http://127.0.0.1:8080/"), "pod-web-ok");
    assert.equal(vmPids(pod).length, 1);

    // Streaming, as `kubectl exec -it` and `kubectl attach -it` reach it: a TTY in the guest, stdin in, output back.
    const tty = await startContainer(pod, podConfig, container("tty", "exec sh", { stdin: true, tty: true }));
    const exec = await CriStream.open(
      node.net.hostPath,
      await node.cri.exec({ containerId: tty, cmd: ["sh"], tty: true, stdin: true, stdout: true }),
    );
    exec.send(STDIN, "echo tty-$((6*7)); tty; exit 3\n");
    await within(60_000, "the exec stream to close", exec.closed);
    assert.match(exec.text(STDOUT), /\r\ntty-42\r\n\/dev\/pts\/\d+\r\n/);
    assert.match(exec.text(STATUS), /"reason":"NonZeroExitCode".*"message":"3"/);
    const attach = await CriStream.open(
      node.net.hostPath,
      await node.cri.attach({ containerId: tty, tty: true, stdin: true, stdout: true }),
    );
    attach.send(STDIN, "echo attached-$((2*21))\n");
    await attach.waitFor(STDOUT, /attached-42/);
    attach.close();

    // Stop and remove: no VM, share daemon, mount, state, pod network namespace or host cgroup is left.
    const netnsPath = spec.linux?.namespaces?.find((n) => n.type === "network")?.path ?? "";
    await node.removePod(pod);
    assert.deepEqual(vmPids(pod), []);
    assert.deepEqual(processesMatching(new RegExp(`virtiofsd.*shared/${pod}`)), []);
    assert.deepEqual(
      (await mountPointsUnder(runDir())).filter((m) => m.includes(pod)),
      [],
    );
    assert.equal(existsSync(sandboxPaths(pod).stateDir), false, "sandbox state dir");
    assert.equal(existsSync(netnsPath), false, `pod network namespace ${netnsPath}`);
    const links = await node.inNode("ip", ["-o", "link"]);
    assert.doesNotMatch(links.stdout, /tap/, "no tap left in the node namespace");
    assert.deepEqual([...cgroupDirsLeft(cgroupsPath), ...cgroupDirsLeft(`hako_overhead/${pod}`)], []);
  });

  test("pod B, static sizing off: two containers of 256 MiB grow the VM by 512 MiB; own pid namespaces", async () => {
    // kubelet's default: each container its own process namespace (NamespaceMode CONTAINER).
    const ownPid = { securityContext: { namespaceOptions: { pid: "CONTAINER" as const } } };
    const podConfig = await node.podConfig("pod-b", { linux: ownPid });
    const pod = await node.runPod(podConfig, "hako-dynamic");
    const limited = (name: string) =>
      container(name, "exec sleep 100000", { linux: { ...ownPid, resources: { memoryLimitInBytes: 256 * MiB } } });
    const first = await startContainer(pod, podConfig, container("probe", "exec sleep 100000", { linux: ownPid }));
    const before = await memTotalKiB(node.cri, first);
    await startContainer(pod, podConfig, limited("m1"));
    await startContainer(pod, podConfig, limited("m2"));
    const grown = await memTotalKiB(node.cri, first);
    assert.equal(grown - before, 512 * 1024, `MemTotal ${before} KiB -> ${grown} KiB`);
    const ps = await execText(node.cri, first, "ps -o pid,args");
    assert.equal(ps.split("\n").filter((l) => / sleep 100000$/.test(l)).length, 1, `probe sees only its own: ${ps}`);
    assert.doesNotMatch(ps, /\/pause/);
    await node.removePod(pod);
    assert.deepEqual(vmPids(pod), []);
  });

  test("pod C, sandbox_cgroup_only: QEMU, virtiofsd and the shim run in the pod's host cgroup", async () => {
    const podConfig = await node.podConfig("pod-c", { linux: { cgroupParent: "/hako-test-pods" } });
    const pod = await node.runPod(podConfig, "hako-cgroup-only");
    const cgroupsPath = (await node.sandboxSpec(pod)).linux?.cgroupsPath ?? "";
    assert.equal(cgroupsPath, `/hako-test-pods/${pod}`);
    const [qemu = 0] = vmPids(pod);
    const virtiofsd = hostProcesses().find((p) => p.cmd.includes("virtiofsd") && p.cmd.includes(`shared/${pod}`));
    const shim = hostProcesses().find((p) => p.cmd.includes("containerd-shim-hako-v2") && p.argv.includes(pod));
    for (const [what, pid] of [
      ["qemu", qemu],
      ["virtiofsd", virtiofsd?.pid],
      ["shim", shim?.pid],
    ] as const) {
      assert.ok(pid, `${what} found`);
      for (const controller of ["cpu", "memory", "pids"]) {
        assert.equal(cgroupOf(String(pid), controller), cgroupsPath, `${what} ${controller}`);
      }
    }
    assert.deepEqual(cgroupDirsLeft(`hako_overhead/${pod}`), [], "no overhead group under sandbox_cgroup_only");
    await node.removePod(pod);
    assert.deepEqual(vmPids(pod), []);
    assert.deepEqual(cgroupDirsLeft(cgroupsPath), [], "the pod's host cgroup is removed");
  });
});
