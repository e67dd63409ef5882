// The host cgroup a pod's sandbox spec names (`linux.cgroupsPath`), as a path relative to a cgroup hierarchy's root.
// containerd's CRI passes kubelet's choice through: cgroupfs form ("/kubepods/burstable/pod<uid>/<id>") or systemd
// form ("<parent>.slice:<prefix>:<name>", e.g. "kubepods-burstable-pod1.slice:cri-containerd:<id>"), expanded the
// way runc and Kata do (the parent slice nested by its dashes, the unit named "<prefix>-<name>.scope").
import { invalidArgument } from "../common/errors.js";

/** "a-b-c.slice" → ["a.slice", "a-b.slice", "a-b-c.slice"]; "-.slice" (the root slice) → []. */
function expandSlice(slice: string): string[] {
  if (!slice.endsWith(".slice") || slice.includes("/")) throw invalidArgument(`cgroupsPath: bad slice "${slice}"`);
  const name = slice.slice(0, -".slice".length);
  if (name === "-") return [];
  const parts = name.split("-");
  if (parts.some((p) => p === "")) throw invalidArgument(`cgroupsPath: bad slice "${slice}"`);
  return parts.map((_, i) => `${parts.slice(0, i + 1).join("-")}.slice`);
}

/**
 * The relative path ("kubepods/besteffort/pod1/abc", or "kubepods.slice/…/cri-containerd-abc.scope"). Throws
 * InvalidArgument for an empty path, "..", or a malformed systemd triple.
 */
export function cgroupRelPath(cgroupsPath: string): string {
  const systemd = /^([^/:]*):([^/:]*):([^/:]+)$/.exec(cgroupsPath);
  let parts: string[];
  if (systemd) {
    const [, parent = "", prefix = "", name = ""] = systemd;
    const unit = name.endsWith(".slice") ? name : `${prefix ? `${prefix}-` : ""}${name}.scope`;
    parts = [...expandSlice(parent || "system.slice"), unit];
  } else {
    parts = cgroupsPath.split("/").filter((p) => p !== "" && p !== ".");
  }
  if (parts.length === 0 || parts.includes("..")) throw invalidArgument(`cgroupsPath "${cgroupsPath}" names no cgroup`);
  return parts.join("/");
}
