// `hako check` rules for the rest of the host: the cgroup layout, containerd, the shim on PATH and a CRI runtime
// entry. Pure: host-facts.ts reads /proc/self/mounts, PATH and containerd's config.
import type { SharedFs } from "../../config/types.js";
import type { CgroupLayout, ContainerdFacts, KsmFacts } from "../host-facts.js";
import { type CheckItem, item } from "./item.js";

export function cgroupItem(layout: CgroupLayout): CheckItem {
  const detail = {
    v2: "cgroup v2 (unified)",
    hybrid:
      "cgroup v1 controllers with a v2 unified mount (hybrid); hako sizes the VM from the pod's limits either way",
    v1: "cgroup v1 only",
    none: "no cgroup filesystem mounted",
  }[layout];
  return layout === "none"
    ? item("cgroups", "cgroups", "fail", detail, "mount cgroup2 at /sys/fs/cgroup (systemd does this at boot)")
    : item("cgroups", "cgroups", "ok", detail);
}

/**
 * KSM scans only memory a process marked MADV_MERGEABLE, and merges only private anonymous pages there (the kernel's
 * admin-guide/mm/ksm). QEMU marks its guest RAM so (`-machine mem-merge=on`, its default) and nothing else: not its
 * heap, not the TCG translation cache. With virtio-fs the guest RAM is a shared memfd (virtiofsd maps it too), and a
 * VM template's clone maps its RAM from a shared file: both are shared mappings, which KSM leaves alone.
 */
export function ksmItem(ksm: KsmFacts, sharedFs: SharedFs): CheckItem {
  const title = "KSM (same-page merging)";
  if (!ksm.present) return item("ksm", title, "ok", "not built into the host kernel");
  const saving =
    sharedFs === "virtio-fs"
      ? "QEMU marks only guest RAM mergeable (mem-merge), and with virtio-fs guest RAM is a shared memfd, which KSM cannot merge: it saves nothing for sandboxes here"
      : `guest RAM is private anonymous memory without virtio-fs (shared_fs = ${sharedFs}) and QEMU marks it mergeable (mem-merge): KSM can merge identical guest pages (kernel, node) between booted pods, not those of VM template clones (a shared file)`;
  const state = ksm.running ? `on (${ksm.pagesSharing ?? "?"} pages shared now)` : "off";
  return item("ksm", title, "ok", `${state}; ${saving}`);
}

export function containerdItems(c: ContainerdFacts): CheckItem[] {
  const items: CheckItem[] = [];
  items.push(
    c.binary
      ? item("containerd", "containerd", "ok", `${c.binary}: ${c.version ?? "version unknown"}`)
      : item("containerd", "containerd", "fail", "containerd is not on PATH", "apt-get install containerd"),
  );
  items.push(
    c.shim
      ? item(
          "shim",
          "containerd-shim-hako-v2",
          "ok",
          `${c.shim} (containerd finds io.containerd.hako.v2 by name on PATH)`,
        )
      : item(
          "shim",
          "containerd-shim-hako-v2",
          "fail",
          "not on PATH: containerd cannot start io.containerd.hako.v2",
          "run `npm run setup` (links the shim into /usr/local/bin)",
        ),
  );
  items.push(
    c.criRuntimeConfigured
      ? item(
          "containerd-cri",
          "containerd CRI runtime",
          "ok",
          `${c.configPath} has a runtime with runtime_type = "io.containerd.hako.v2"`,
        )
      : item(
          "containerd-cri",
          "containerd CRI runtime",
          "warn",
          `${c.configFound ? c.configPath : "no containerd config"}: no CRI runtime uses io.containerd.hako.v2 (ctr --runtime works; Kubernetes needs one)`,
          `run \`hako install\` (adds the handler "hako" of deploy/containerd-runtime.toml to ${c.configPath} and restarts containerd; or apply deploy/hako-deploy.yaml), then \`kubectl apply -f deploy/runtimeclass.yaml\` (docs/kubernetes.md)`,
        ),
  );
  return items;
}
