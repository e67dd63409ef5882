// A Kubernetes node as the CRI tests and the pod benchmark see it, without kubelet: a network namespace made for the
// run, a private containerd with its CRI plugin inside it (handlers `hako` and `runc`), the pause and busybox images
// imported into `k8s.io`, and a CRI client. stop() tears pods down through CRI (so CNI releases their addresses and
// namespaces), stops containerd and deletes the namespace, and reports whatever it had to sweep up.
import { existsSync, readdirSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";
import { BUSYBOX_IMAGE_REF, buildBusyboxImage, buildPauseImage, PAUSE_IMAGE_REF } from "./busybox-image.js";
import { CniNetwork } from "./cni-network.js";
import { Containerd, CRI_NAMESPACE, type CtrResult, runCommand } from "./containerd.js";
import { CriClient, type PodSandboxConfig } from "./cri-client.js";

export interface CriNodeOptions {
  /** hako handlers and their configuration files (see CriOptions.hakoHandlers); default: `hako` alone. */
  hakoHandlers?: Record<string, string | undefined>;
  /** Pod subnet inside the test namespace. */
  subnet?: string;
}

/** CniNetwork's tag: the node namespace is hako-cri-host, the bridge hkcri (one CRI node at a time: the VM lock). */
const NODE_TAG = "cri";

export class CriNode {
  /** Pods started through runPod(), with their network namespace path (for the leak check). */
  private readonly pods = new Map<string, string | undefined>();

  private constructor(
    /** The node namespace (CniNetwork's host namespace: no pods of its own, containerd's CNI adds them). */
    readonly net: CniNetwork,
    readonly containerd: Containerd,
    readonly cri: CriClient,
  ) {}

  /** Where pod log directories go (PodSandboxConfig.log_directory). */
  get logRoot(): string {
    return join(this.containerd.dir, "pods");
  }

  static async start(options: CriNodeOptions = {}): Promise<CriNode> {
    const subnet = options.subnet ?? "10.88.7.0/24";
    const net = new CniNetwork(NODE_TAG, subnet).create();
    let containerd: Containerd | undefined;
    try {
      const [pause, busybox] = await Promise.all([buildPauseImage(), buildBusyboxImage()]);
      containerd = await Containerd.start({
        namespace: CRI_NAMESPACE,
        netns: net.hostPath,
        cri: {
          bridge: net.bridge,
          sandboxImage: PAUSE_IMAGE_REF,
          subnet,
          ...(options.hakoHandlers === undefined ? {} : { hakoHandlers: options.hakoHandlers }),
        },
      });
      await containerd.importImage(pause.path, PAUSE_IMAGE_REF);
      await containerd.importImage(busybox.path, BUSYBOX_IMAGE_REF);
      return new CriNode(net, containerd, new CriClient(containerd.address));
    } catch (err) {
      await containerd?.stop();
      net.destroy();
      throw err;
    }
  }

  /** A pod config with a fresh uid, its log directory created, `extra` merged over it. */
  async podConfig(name: string, extra: Partial<PodSandboxConfig> = {}): Promise<PodSandboxConfig> {
    const uid = `${name}-${process.pid}-${this.pods.size}`;
    const logDirectory = join(this.logRoot, uid);
    await mkdir(logDirectory, { recursive: true });
    return { metadata: { name, uid, namespace: "hako-test" }, hostname: name, logDirectory, ...extra };
  }

  /** RunPodSandbox, remembering the pod (and its network namespace) for stop(). */
  async runPod(config: PodSandboxConfig, handler: string): Promise<string> {
    const id = await this.cri.runPodSandbox(config, handler);
    this.pods.set(id, undefined);
    this.containerd.track(id);
    this.pods.set(id, await this.podNetnsPath(id).catch(() => undefined));
    return id;
  }

  /** The sandbox's OCI spec as containerd keeps it (PodSandboxStatus verbose info). */
  async sandboxSpec(id: string): Promise<SandboxSpec> {
    const { info } = await this.cri.podSandboxStatus(id, true);
    const parsed = JSON.parse(info.info ?? "{}") as { runtimeSpec?: SandboxSpec };
    if (!parsed.runtimeSpec) throw new Error(`PodSandboxStatus of ${id} has no runtimeSpec in its info`);
    return parsed.runtimeSpec;
  }

  /** Runs a command in the node namespace to completion (never throws for a non-zero exit). */
  inNode(cmd: string, args: string[], timeoutMs = 30_000): Promise<CtrResult> {
    return runCommand("nsenter", [`--net=${this.net.hostPath}`, "--", cmd, ...args], { timeoutMs });
  }

  /** The pod's network namespace path (`/var/run/netns/cni-…`) from the sandbox spec. */
  async podNetnsPath(id: string): Promise<string | undefined> {
    return (await this.sandboxSpec(id)).linux?.namespaces?.find((n) => n.type === "network")?.path;
  }

  /** Stop + RemovePodSandbox, as kubelet does when a pod is deleted. */
  async removePod(id: string): Promise<void> {
    await this.cri.stopPodSandbox(id);
    await this.cri.removePodSandbox(id);
  }

  /**
   * Removes every pod through CRI, stops containerd, deletes the test namespace. Returns the leaks found: pods CRI
   * could not remove, VMs or state swept by force, pod network namespaces left behind.
   */
  async stop(): Promise<{ leaked: string[] }> {
    const leaked: string[] = [];
    try {
      for (const pod of await this.cri.listPodSandbox().catch(() => [])) {
        await this.removePod(pod.id).catch((err: unknown) => leaked.push(`pod ${pod.id}: ${String(err)}`));
      }
    } finally {
      this.cri.close();
      leaked.push(...(await this.containerd.stop()).leaked);
      for (const [id, path] of this.pods) {
        if (path && existsSync(path)) leaked.push(`network namespace ${path} of pod ${id}`);
      }
      this.net.destroy();
    }
    return { leaked };
  }
}

/** The parts of a sandbox's OCI spec the tests read. */
export interface SandboxSpec {
  hostname?: string;
  annotations?: Record<string, string>;
  linux?: { cgroupsPath?: string; namespaces?: { type: string; path?: string }[] };
}

/** Container log files under a pod's log directory (CRI writes `<name>/<attempt>.log` there). */
export function podLogFiles(logDirectory: string): string[] {
  if (!existsSync(logDirectory)) return [];
  return readdirSync(logDirectory, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".log"));
}

/**
 * Writes a hako configuration for one CRI handler: the file $HAKO_CONFIG names (a private guest image, say) with
 * `overrides` merged in table by table, or `overrides` alone. Returns its path.
 */
export async function writeHakoConfig(
  path: string,
  overrides: Record<string, Record<string, unknown>>,
): Promise<string> {
  const base = process.env.HAKO_CONFIG
    ? (parseToml(await readFile(process.env.HAKO_CONFIG, "utf8")) as Record<string, Record<string, unknown>>)
    : {};
  for (const [table, values] of Object.entries(overrides)) base[table] = { ...(base[table] ?? {}), ...values };
  await writeFile(path, stringifyToml(base));
  return path;
}
