// A private pod network for end-to-end tests and the benchmark, built only from network namespaces it creates: a
// "host" namespace holding a CNI bridge, and pod namespaces wired to it by Debian's CNI plugins (bridge + host-local,
// run inside the host namespace), so no address, bridge or veth ever lands in the machine's own namespace.
// destroy() deletes every namespace, which takes the bridge and the veths with it.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";

export const CNI_BIN = "/usr/lib/cni";

export interface Pod {
  name: string;
  /** /var/run/netns/<name>: what `ctr run --with-ns network:PATH` and the CNI plugin get. */
  path: string;
  /** The pod's address, without the prefix. */
  ip: string;
  /** MAC of the pod's eth0 (CNI's veth end in the pod namespace). */
  mac: string;
  gateway: string;
}

interface CniResult {
  interfaces?: { name: string; mac: string; sandbox?: string }[];
  ips?: { address: string; gateway?: string; interface?: number }[];
}

export class CniNetwork {
  readonly host: string;
  readonly hostPath: string;
  readonly bridge: string;
  readonly pods = new Map<string, Pod>();
  private readonly dataDir: string;

  /**
   * @param tag short (≤ 6 characters): it names the namespaces (hako-<tag>-…) and the bridge (hk<tag>)
   * @param subnet a /24 used only inside these namespaces, e.g. "10.99.1.0/24"
   */
  constructor(
    readonly tag: string,
    readonly subnet: string,
    baseDir = "/run/hako-test",
  ) {
    this.host = `hako-${tag}-host`;
    this.hostPath = `/var/run/netns/${this.host}`;
    this.bridge = `hk${tag}`;
    this.dataDir = join(baseDir, `cni-${tag}`);
  }

  /** The bridge's address in the host namespace (the pods' gateway): the subnet's .1. */
  get gateway(): string {
    return this.subnet.replace(/\.0\/24$/, ".1");
  }

  create(): this {
    this.destroy(); // leftovers of an interrupted run
    execFileSync("ip", ["netns", "add", this.host]);
    execFileSync("ip", ["-n", this.host, "link", "set", "lo", "up"]);
    mkdirSync(this.dataDir, { recursive: true });
    return this;
  }

  private conf(): string {
    return JSON.stringify({
      cniVersion: "1.0.0",
      name: `hako-${this.tag}`,
      type: "bridge",
      bridge: this.bridge,
      isGateway: true,
      ipMasq: false,
      ipam: {
        type: "host-local",
        ranges: [[{ subnet: this.subnet }]],
        routes: [{ dst: "0.0.0.0/0" }],
        dataDir: this.dataDir,
      },
    });
  }

  private cni(command: "ADD" | "DEL", pod: string): string {
    // `ip netns exec` gives the plugin the host namespace's own /sys, where it looks the bridge up.
    const r = spawnSync("ip", ["netns", "exec", this.host, join(CNI_BIN, "bridge")], {
      input: this.conf(),
      encoding: "utf8",
      env: {
        PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
        CNI_COMMAND: command,
        CNI_CONTAINERID: pod,
        CNI_NETNS: `/var/run/netns/${pod}`,
        CNI_IFNAME: "eth0",
        CNI_PATH: CNI_BIN,
      },
    });
    if (r.status !== 0) throw new Error(`CNI ${command} ${pod} failed (${r.status}): ${r.stdout}${r.stderr}`);
    return r.stdout;
  }

  /** A new pod namespace with eth0 on the bridge (CNI ADD). */
  addPod(suffix: string): Pod {
    const name = `hako-${this.tag}-${suffix}`;
    execFileSync("ip", ["netns", "add", name]);
    execFileSync("ip", ["-n", name, "link", "set", "lo", "up"]);
    const result = JSON.parse(this.cni("ADD", name)) as CniResult;
    const ipEntry = result.ips?.[0];
    const iface = result.interfaces?.[ipEntry?.interface ?? -1];
    if (!ipEntry || !iface) throw new Error(`CNI ADD ${name}: no address in ${JSON.stringify(result)}`);
    const pod: Pod = {
      name,
      path: `/var/run/netns/${name}`,
      ip: ipEntry.address.split("/")[0] ?? "",
      mac: iface.mac.toLowerCase(),
      gateway: ipEntry.gateway ?? this.gateway,
    };
    this.pods.set(name, pod);
    return pod;
  }

  /** CNI DEL, then the namespace. */
  delPod(pod: Pod): void {
    if (existsSync(pod.path)) {
      try {
        this.cni("DEL", pod.name);
      } finally {
        execFileSync("ip", ["netns", "del", pod.name]);
      }
    }
    this.pods.delete(pod.name);
  }

  /** Runs argv in the host namespace; returns stdout, throws on a non-zero exit. */
  inHost(argv: string[], input?: string | Buffer): Buffer {
    return execFileSync("ip", ["netns", "exec", this.host, ...argv], {
      input,
      maxBuffer: 256 * 1024 * 1024,
      stdio: ["pipe", "pipe", "pipe"], // stderr goes into the thrown error, not the test's output
    });
  }

  /** Starts a long-running process in the host namespace (a server); the caller kills it. */
  spawnInHost(argv: string[]) {
    return spawn("nsenter", [`--net=${this.hostPath}`, "--", ...argv], { stdio: ["ignore", "pipe", "pipe"] });
  }

  /** Runs argv in a pod namespace (its netns only), e.g. `ip -json link`. */
  inPod(pod: Pod, argv: string[]): string {
    return execFileSync("nsenter", [`--net=${pod.path}`, "--", ...argv], { encoding: "utf8" });
  }

  /** Deletes every namespace this network made (the bridge and veths go with the host namespace). Idempotent. */
  destroy(): void {
    const names = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout ?? "";
    for (const line of names.split("\n")) {
      const name = line.split(" ")[0] ?? "";
      if (name.startsWith(`hako-${this.tag}-`)) spawnSync("ip", ["netns", "del", name]);
    }
    this.pods.clear();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
