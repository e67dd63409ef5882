// A Kubernetes node as the CRI tests and the pod benchmark see it, without kubelet: a network namespace made for the
// run, a private containerd with its CRI plugin inside it (handlers `hako` and `runc`), the pause and busybox images
// imported into `k8s.io`, and a CRI client. stop() tears pods down through CRI (so CNI releases their addresses and
// namespaces), stops containerd and deletes the namespace, and reports whatever it had to sweep up.
import { existsSync, readdirSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { BUSYBOX_IMAGE_REF, buildBusyboxImage, buildPauseImage, PAUSE_IMAGE_REF } from "./busybox-image.js";
import { Containerd, CRI_NAMESPACE } from "./containerd.js";
import { CriClient, type PodSandboxConfig } from "./cri-client.js";
import { netnsNames, TestNetns } from "./netns.js";

export interface CriNodeOptions {
  /** hako configuration for the `hako` handler (runtime option config_path); the shim's default otherwise. */
  hakoConfigPath?: string;
  /** Pod subnet inside the test namespace. */
  subnet?: string;
}

const NETNS_PREFIX = "hako-cri-";

export class CriNode {
  /** Pods started through runPod(), with their network namespace path (for the leak check). */
  private readonly pods = new Map<string, string | undefined>();

  private constructor(
    readonly netns: TestNetns,
    readonly containerd: Containerd,
    readonly cri: CriClient,
  ) {}

  /** Where pod log directories go (PodSandboxConfig.log_directory). */
  get logRoot(): string {
    return join(this.containerd.dir, "pods");
  }

  static async start(options: CriNodeOptions = {}): Promise<CriNode> {
    await removeStaleNetns();
    const netns = await TestNetns.create(`${NETNS_PREFIX}${process.pid}`);
    let containerd: Containerd | undefined;
    try {
      const [pause, busybox] = await Promise.all([buildPauseImage(), buildBusyboxImage()]);
      containerd = await Containerd.start({
        namespace: CRI_NAMESPACE,
        netns: netns.path,
        cri: {
          sandboxImage: PAUSE_IMAGE_REF,
          subnet: options.subnet ?? "10.88.7.0/24",
          ...(options.hakoConfigPath === undefined ? {} : { hakoConfigPath: options.hakoConfigPath }),
        },
      });
      await containerd.importImage(pause.path, PAUSE_IMAGE_REF);
      await containerd.importImage(busybox.path, BUSYBOX_IMAGE_REF);
      return new CriNode(netns, containerd, new CriClient(containerd.address));
    } catch (err) {
      await containerd?.stop();
      await netns.delete();
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
      const names = new Set(netnsNames());
      for (const [id, path] of this.pods) {
        if (path && names.has(path.split("/").pop() ?? "")) leaked.push(`network namespace ${path} of pod ${id}`);
      }
      await this.netns.delete();
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

/** Namespaces a killed earlier run left (its pid gone). */
async function removeStaleNetns(): Promise<void> {
  for (const name of netnsNames().filter((n) => n.startsWith(NETNS_PREFIX))) {
    const pid = Number(name.slice(NETNS_PREFIX.length));
    if (Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`)) continue;
    await TestNetns.existing(name).delete();
  }
}

/** Container log files under a pod's log directory (CRI writes `<name>/<attempt>.log` there). */
export function podLogFiles(logDirectory: string): string[] {
  if (!existsSync(logDirectory)) return [];
  return readdirSync(logDirectory, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".log"));
}
