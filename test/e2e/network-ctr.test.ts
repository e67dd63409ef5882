// Pod networking end to end through containerd 1.6 and ctr: containers in hako VMs wired to network namespaces that
// Debian's CNI plugins (bridge + host-local) set up. Network safety: the CNI bridge, the pods and containerd itself
// live in namespaces this file creates (cni-network.ts); nothing is sent to any address outside them, and they are
// deleted at the end. Three VM boots in all: pod A serves HTTP, pod B is the client whose shim is SIGKILLed, pod C
// runs with internetworking_model = macvtap.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { runDir } from "../../src/runtime/layout.js";
import { CniNetwork, type Pod } from "../helpers/cni-network.js";
import {
  type Containerd,
  HAKO_RUNTIME,
  startContainerdWithBusybox,
  stopAndAssertClean,
} from "../helpers/containerd.js";
import { hostProcesses } from "../helpers/processes.js";

const MiB = 1024 * 1024;
const ourProcesses = (address: string) =>
  new RegExp(`qemu-system-x86_64 .*-name sandbox-net-|virtiofsd.*shared/net-|containerd-shim-hako-v2 .*${address}`);

/** What CNI left in a pod netns, to compare with after hako is gone: link names, qdiscs, filters, nat rules. */
function netnsShape(net: CniNetwork, pod: Pod) {
  const links = (JSON.parse(net.inPod(pod, ["ip", "-json", "link", "show"])) as { ifname: string }[]).map(
    (l) => l.ifname,
  );
  const qdiscs = (JSON.parse(net.inPod(pod, ["tc", "-json", "qdisc", "show"])) as { kind: string; dev: string }[]).map(
    (q) => `${q.dev}:${q.kind}`,
  );
  const filters = net.inPod(pod, ["tc", "filter", "show", "dev", "eth0", "ingress"]).trim();
  const nat = net.inPod(pod, ["iptables", "-w", "-t", "nat", "-S", "OUTPUT"]).trim();
  return { links: links.sort(), qdiscs: qdiscs.sort(), filters, nat };
}

async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(200);
  }
  return false;
}

describe("pod networking through containerd and CNI", () => {
  const net = new CniNetwork("nete2", "10.99.41.0/24");
  let containerd: Containerd;
  let image: string;
  let hostServer: ChildProcess | undefined;
  const hostDir = join("/run/hako-test", "net-e2e-www");
  let podA: Pod;
  let podB: Pod;
  let cniShapeA: ReturnType<typeof netnsShape>;
  let cniShapeB: ReturnType<typeof netnsShape>;

  before(async () => {
    net.create();
    ({ containerd, image } = await startContainerdWithBusybox({ netns: net.hostPath }));
    podA = net.addPod("a");
    podB = net.addPod("b");
    // A server in the test's host namespace, on the bridge address (there once CNI made the bridge).
    mkdirSync(hostDir, { recursive: true });
    writeFileSync(join(hostDir, "hello"), "hello-from-test-host\n");
    hostServer = net.spawnInHost(["busybox", "httpd", "-f", "-p", `${net.gateway}:8080`, "-h", hostDir]);
    cniShapeA = netnsShape(net, podA);
    cniShapeB = netnsShape(net, podB);
  });

  after(async () => {
    hostServer?.kill("SIGKILL");
    try {
      await stopAndAssertClean(containerd, ourProcesses(containerd.address), "/net-");
    } finally {
      net.destroy();
      rmSync(hostDir, { recursive: true, force: true });
    }
  });

  let execSeq = 0;
  const exec = (id: string, execId: string, cmd: string) =>
    containerd.ctr(["task", "exec", "--exec-id", `${execId}-${++execSeq}`, id, "sh", "-c", cmd], { timeoutMs: 60_000 });
  // busybox 1.35's wget crashes with -T: time limits come from timeout(1) instead.
  const hostGet = (url: string) => net.inHost(["timeout", "20", "busybox", "wget", "-q", "-O", "-", url]);

  test("a pod shows CNI's address, MAC, default route and its DNS files; HTTP both ways, pod to pod, 32 MiB intact", async () => {
    // httpd first (it forks into the background), then the random payload, which takes a while under TCG.
    const serve =
      "mkdir -p /www && echo hello-from-pod-a > /www/index.html && httpd -p 80 -h /www && " +
      `head -c ${32 * MiB} /dev/urandom > /www/big.tmp && sha256sum /www/big.tmp | cut -d' ' -f1 > /www/big.sha && ` +
      "mv /www/big.tmp /www/big && exec sleep 100000";
    // DNS and hosts as CRI gives them: files the spec bind-mounts over /etc/resolv.conf and /etc/hosts.
    writeFileSync(join(hostDir, "resolv.conf"), `nameserver ${net.gateway}\nsearch pods.test\n`);
    writeFileSync(join(hostDir, "hosts"), `127.0.0.1 localhost\n${podA.ip} pod-a\n`);
    const etc = (f: string) => ["--mount", `type=bind,src=${join(hostDir, f)},dst=/etc/${f},options=rbind:ro`];
    const started = await containerd.runDetached(HAKO_RUNTIME, image, "net-a", ["sh", "-c", serve], {
      extra: ["--with-ns", `network:${podA.path}`, ...etc("resolv.conf"), ...etc("hosts")],
      timeoutMs: 120_000,
    });
    assert.equal(started.code, 0, started.stderr);

    const addr = await exec("net-a", "addr", "ip -o addr show eth0; ip -o link show eth0; ip route");
    assert.equal(addr.code, 0, addr.stderr);
    assert.match(addr.stdout, new RegExp(`inet ${podA.ip.replaceAll(".", "\\.")}/24 `));
    assert.match(addr.stdout, new RegExp(`link/ether ${podA.mac}`));
    assert.match(addr.stdout, new RegExp(`default via ${net.gateway.replaceAll(".", "\\.")} dev eth0`));
    assert.match((await exec("net-a", "lo", "ip -o link show lo")).stdout, /[<,]UP[,>]/);
    const etcFiles = await exec("net-a", "etc", "cat /etc/resolv.conf /etc/hosts");
    assert.equal(
      etcFiles.stdout,
      `nameserver ${net.gateway}\nsearch pods.test\n127.0.0.1 localhost\n${podA.ip} pod-a\n`,
    );

    // From the test's host namespace to the container's httpd (the guest may still be writing /www/big).
    const hello = await until(() => {
      try {
        return hostGet(`http://${podA.ip}/index.html`).toString() === "hello-from-pod-a\n";
      } catch {
        return false;
      }
    }, 60_000);
    assert.ok(hello, "the pod's httpd never answered from the host namespace");
    let last = "";
    const payloadReady = async () => {
      const r = await exec("net-a", "sha", "ls -l /www");
      last = `${r.code} ${r.stdout}${r.stderr}`;
      return r.code === 0 && / big$/m.test(r.stdout);
    };
    assert.ok(await until(payloadReady, 180_000), `the payload was not written: ${last}`);
    const guestSha = (await exec("net-a", "sha2", "cat /www/big.sha")).stdout.trim();
    const big = hostGet(`http://${podA.ip}/big`);
    assert.equal(big.length, 32 * MiB);
    assert.equal(createHash("sha256").update(big).digest("hex"), guestSha, "32 MiB arrived changed");

    // The container reaches a server in the host namespace.
    const out = await exec("net-a", "out", `timeout 20 wget -q -O - http://${net.gateway}:8080/hello`);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, "hello-from-test-host\n");

    // A second pod on the same bridge reaches the first.
    const b = await containerd.runDetached(HAKO_RUNTIME, image, "net-b", ["sleep", "1000"], {
      extra: ["--with-ns", `network:${podB.path}`],
      timeoutMs: 120_000,
    });
    assert.equal(b.code, 0, b.stderr);
    const peer = await exec("net-b", "peer", `timeout 20 wget -q -O - http://${podA.ip}/index.html`);
    assert.equal(peer.code, 0, peer.stderr);
    assert.equal(peer.stdout, "hello-from-pod-a\n");
    // While running, pod A's netns carries hako's tap and redirects, and the port-forward rule (docs/kubernetes.md).
    assert.match(net.inPod(podA, ["tc", "filter", "show", "dev", "eth0", "ingress"]), /mirred.*tap0_hako/);
    assert.match(net.inPod(podA, ["iptables", "-w", "-t", "nat", "-S", "OUTPUT"]), /hako port-forward/);
  });

  test("after task delete the pod netns holds only what CNI made", async () => {
    assert.equal((await containerd.ctr(["task", "kill", "-s", "SIGKILL", "net-a"])).code, 0);
    await until(
      async () =>
        /STOPPED/.test(
          (await containerd.ctr(["task", "ls"])).stdout.split("\n").find((l) => l.startsWith("net-a ")) ?? "",
        ),
      15_000,
    );
    const del = await containerd.ctr(["task", "delete", "net-a"], { timeoutMs: 60_000 });
    assert.equal(del.code, 0, del.stderr);
    assert.deepEqual(netnsShape(net, podA), cniShapeA);
    assert.deepEqual(cniShapeA.links, ["eth0", "lo"]);
    assert.equal(cniShapeA.filters, "");
    assert.ok(!existsSync(join(runDir(), "network", "net-a.json")), "the network record is left");
    assert.doesNotMatch(cniShapeA.nat, /hako/);
    assert.ok(!existsSync(join(runDir(), "port-forward", "net-a.json")), "the port-forward record is left");
    assert.equal((await containerd.ctr(["container", "rm", "net-a"])).code, 0);
  });

  test("after the shim is SIGKILLed, containerd's clean-up (shim delete) unwires the pod netns", async () => {
    const shim = hostProcesses().find((p) => p.cmd.includes("containerd-shim-hako-v2") && p.argv.includes("net-b"));
    assert.ok(shim, "no shim for net-b");
    process.kill(shim.pid, "SIGKILL");
    // containerd sees the shim gone and runs `containerd-shim-hako-v2 delete`; the task is then gone or stopped.
    await until(async () => !/net-b\s+\d+\s+RUNNING/.test((await containerd.ctr(["task", "ls"])).stdout), 30_000);
    await containerd.ctr(["task", "delete", "-f", "net-b"], { timeoutMs: 60_000 });
    const record = join(runDir(), "network", "net-b.json");
    const forwardRecord = join(runDir(), "port-forward", "net-b.json");
    // The records go right after the devices and the port-forward rule: wait for all.
    const clean = () =>
      JSON.stringify(netnsShape(net, podB)) === JSON.stringify(cniShapeB) &&
      !existsSync(record) &&
      !existsSync(forwardRecord);
    assert.ok(
      await until(clean, 30_000),
      `pod B's netns or record not cleaned: ${JSON.stringify(netnsShape(net, podB))}`,
    );
    assert.equal((await containerd.ctr(["container", "rm", "net-b"])).code, 0);
  });

  test("internetworking_model = macvtap: the pod reaches the host namespace, and nothing is left after", async () => {
    const podC = net.addPod("c");
    const shape = netnsShape(net, podC);
    // The configuration in use (HAKO_CONFIG, for a private guest image) plus the model.
    const base = process.env.HAKO_CONFIG ? readFileSync(process.env.HAKO_CONFIG, "utf8") : "";
    const config = join(hostDir, "macvtap.toml");
    writeFileSync(config, `${base}\n[runtime]\ninternetworking_model = "macvtap"\n`);
    const r = await containerd.run(
      HAKO_RUNTIME,
      image,
      "net-c",
      ["sh", "-c", `ip -o link show eth0; timeout 20 wget -q -O - http://${net.gateway}:8080/hello`],
      { extra: ["--with-ns", `network:${podC.path}`, "--runtime-config-path", config], timeoutMs: 120_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`link/ether ${podC.mac}`));
    assert.match(r.stdout, /hello-from-test-host/);
    assert.deepEqual(netnsShape(net, podC), shape);
    assert.deepEqual(
      readdirSync("/run/hako/netdev").filter((f) => f.includes(podC.name)),
      [],
    );
  });

  test("--net-host is refused with the reason and the config key", async () => {
    const r = await containerd.run(HAKO_RUNTIME, image, "net-host", ["true"], {
      extra: ["--net-host"],
      timeoutMs: 60_000,
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /host's network namespace/);
    assert.match(r.stderr, /runtime\.internetworking_model = "none"/);
  });
});
