// A CRI client for the end-to-end tests and the pod benchmark, as kubelet drives a runtime: gRPC over containerd's
// socket with hako's own runtime.v1 subset (test/fixtures/cri/runtime-v1.proto), loaded at run time by proto-loader.
// Messages are plain objects with camelCase fields; int64s come back as numbers, enums as their names.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const protoPath = join(resolve(dirname(fileURLToPath(import.meta.url)), ".."), "fixtures/cri/runtime-v1.proto");

export type PodState = "SANDBOX_READY" | "SANDBOX_NOTREADY";
export type ContainerState = "CONTAINER_CREATED" | "CONTAINER_RUNNING" | "CONTAINER_EXITED" | "CONTAINER_UNKNOWN";
export type NamespaceMode = "POD" | "CONTAINER" | "NODE" | "TARGET";

/** LinuxContainerResources: CFS period and quota in µs, memory in bytes. */
export interface LinuxResources {
  cpuPeriod?: number;
  cpuQuota?: number;
  cpuShares?: number;
  memoryLimitInBytes?: number;
}

export interface PodSandboxConfig {
  metadata: { name: string; uid: string; namespace: string; attempt?: number };
  hostname?: string;
  logDirectory?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: {
    cgroupParent?: string;
    securityContext?: { namespaceOptions?: { network?: NamespaceMode; pid?: NamespaceMode; ipc?: NamespaceMode } };
    resources?: LinuxResources;
  };
}

export interface ContainerConfig {
  metadata: { name: string; attempt?: number };
  image: { image: string };
  command?: string[];
  args?: string[];
  workingDir?: string;
  envs?: { key: string; value: string }[];
  mounts?: { containerPath: string; hostPath: string; readonly?: boolean }[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  logPath?: string;
  stdin?: boolean;
  tty?: boolean;
  linux?: {
    resources?: LinuxResources;
    securityContext?: { namespaceOptions?: { network?: NamespaceMode; pid?: NamespaceMode; ipc?: NamespaceMode } };
  };
}

export interface PodSandboxStatus {
  id: string;
  state: PodState;
  network: { ip: string } | null;
  runtimeHandler: string;
}

export interface ContainerStatus {
  id: string;
  state: ContainerState;
  exitCode: number;
  reason: string;
  logPath: string;
  resources: { linux: LinuxResources | null } | null;
}

export interface ExecSyncResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

type Callback<T> = (err: grpc.ServiceError | null, res: T) => void;
type Method = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<unknown>) => void;
type ServiceClient = grpc.Client & Record<string, Method>;
type ServiceCtor = new (address: string, creds: grpc.ChannelCredentials) => ServiceClient;

function loadServices(): { runtime: ServiceCtor; image: ServiceCtor } {
  const definition = protoLoader.loadSync(protoPath, {
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    runtime: { v1: { RuntimeService: ServiceCtor; ImageService: ServiceCtor } };
  };
  return { runtime: pkg.runtime.v1.RuntimeService, image: pkg.runtime.v1.ImageService };
}

/** One connection to a CRI endpoint (`unix:///…/containerd.sock`). Close it when done. */
export class CriClient {
  private readonly runtime: ServiceClient;
  private readonly images: ServiceClient;

  constructor(socketPath: string) {
    const { runtime, image } = loadServices();
    const address = `unix://${socketPath}`;
    this.runtime = new runtime(address, grpc.credentials.createInsecure());
    this.images = new image(address, grpc.credentials.createInsecure());
  }

  close(): void {
    this.runtime.close();
    this.images.close();
  }

  private call<T>(client: ServiceClient, method: string, req: unknown, timeoutMs = 120_000): Promise<T> {
    const fn = client[method];
    if (!fn) throw new Error(`CRI method ${method} is not in the proto subset`);
    return new Promise((resolve, reject) => {
      fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) reject(new Error(`CRI ${method}: ${err.details || err.message}`, { cause: err }));
        else resolve(res as T);
      });
    });
  }

  version(): Promise<{ runtimeName: string; runtimeVersion: string; runtimeApiVersion: string }> {
    return this.call(this.runtime, "Version", { version: "v1" });
  }

  async runPodSandbox(config: PodSandboxConfig, runtimeHandler: string): Promise<string> {
    const r = await this.call<{ podSandboxId: string }>(this.runtime, "RunPodSandbox", { config, runtimeHandler });
    return r.podSandboxId;
  }

  async stopPodSandbox(podSandboxId: string): Promise<void> {
    await this.call(this.runtime, "StopPodSandbox", { podSandboxId });
  }

  async removePodSandbox(podSandboxId: string): Promise<void> {
    await this.call(this.runtime, "RemovePodSandbox", { podSandboxId });
  }

  /** The status, and with `verbose` containerd's info JSON (its `runtimeSpec` is the sandbox's OCI spec). */
  async podSandboxStatus(
    podSandboxId: string,
    verbose = false,
  ): Promise<{ status: PodSandboxStatus; info: Record<string, string> }> {
    return this.call(this.runtime, "PodSandboxStatus", { podSandboxId, verbose });
  }

  async listPodSandbox(): Promise<{ id: string; state: PodState; runtimeHandler: string }[]> {
    const r = await this.call<{ items: { id: string; state: PodState; runtimeHandler: string }[] }>(
      this.runtime,
      "ListPodSandbox",
      {},
    );
    return r.items;
  }

  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig) {
    const r = await this.call<{ containerId: string }>(this.runtime, "CreateContainer", {
      podSandboxId,
      config,
      sandboxConfig,
    });
    return r.containerId;
  }

  async startContainer(containerId: string): Promise<void> {
    await this.call(this.runtime, "StartContainer", { containerId });
  }

  /** timeout: seconds before SIGKILL. */
  async stopContainer(containerId: string, timeout = 0): Promise<void> {
    await this.call(this.runtime, "StopContainer", { containerId, timeout });
  }

  async removeContainer(containerId: string): Promise<void> {
    await this.call(this.runtime, "RemoveContainer", { containerId });
  }

  async listContainers(podSandboxId?: string): Promise<{ id: string; state: ContainerState }[]> {
    const filter = podSandboxId === undefined ? {} : { podSandboxId };
    const r = await this.call<{ containers: { id: string; state: ContainerState }[] }>(this.runtime, "ListContainers", {
      filter,
    });
    return r.containers;
  }

  async containerStatus(containerId: string): Promise<ContainerStatus> {
    const r = await this.call<{ status: ContainerStatus }>(this.runtime, "ContainerStatus", { containerId });
    return r.status;
  }

  async updateContainerResources(containerId: string, linux: LinuxResources): Promise<void> {
    await this.call(this.runtime, "UpdateContainerResources", { containerId, linux });
  }

  /** timeout: seconds (0: none). */
  execSync(containerId: string, cmd: string[], timeout = 60): Promise<ExecSyncResult> {
    return this.call(this.runtime, "ExecSync", { containerId, cmd, timeout }, (timeout + 30) * 1000);
  }

  async exec(req: {
    containerId: string;
    cmd: string[];
    tty?: boolean;
    stdin?: boolean;
    stdout?: boolean;
    stderr?: boolean;
  }): Promise<string> {
    return (await this.call<{ url: string }>(this.runtime, "Exec", req)).url;
  }

  async attach(req: {
    containerId: string;
    tty?: boolean;
    stdin?: boolean;
    stdout?: boolean;
    stderr?: boolean;
  }): Promise<string> {
    return (await this.call<{ url: string }>(this.runtime, "Attach", req)).url;
  }

  async portForward(podSandboxId: string, port: number[]): Promise<string> {
    return (await this.call<{ url: string }>(this.runtime, "PortForward", { podSandboxId, port })).url;
  }

  async listImages(): Promise<{ id: string; repoTags: string[]; size: number }[]> {
    return (
      await this.call<{ images: { id: string; repoTags: string[]; size: number }[] }>(this.images, "ListImages", {})
    ).images;
  }

  /** null when the image is not there (CRI answers an empty status, not an error). */
  async imageStatus(image: string): Promise<{ id: string; repoTags: string[] } | null> {
    const r = await this.call<{ image: { id: string; repoTags: string[] } | null }>(this.images, "ImageStatus", {
      image: { image },
    });
    return r.image && r.image.id !== "" ? r.image : null;
  }
}
