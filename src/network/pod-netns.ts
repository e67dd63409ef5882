// Which network namespace a pod's VM is wired to, read from the sandbox container's OCI spec
// (linux.namespaces[type=network]): a path means a namespace CNI (or the caller) prepared; an entry without a path
// asks for a new, empty one (plain `ctr run`), where runc's container sees only lo, so the VM gets no NIC; no entry
// at all means the host's own namespace, which a VM cannot share.
import { Code, HakoError } from "../common/errors.js";
import type { InternetworkingModel } from "../config/types.js";
import type { OciSpec } from "../oci/spec.js";

export type PodNetns =
  /** Wire the links of this namespace to the VM. */
  | { kind: "path"; path: string }
  /** The VM gets no NIC: an empty namespace, or internetworking_model = "none". */
  | { kind: "empty" };

/** The config key a user changes to run a host-network pod anyway (without a NIC). */
export const HOST_NETWORK_KEY = "runtime.internetworking_model";

/**
 * @throws HakoError InvalidArgument when the spec joins the host's network namespace and the model is not "none".
 */
export function podNetns(spec: OciSpec, model: InternetworkingModel, sandboxId: string): PodNetns {
  const entry = spec.linux?.namespaces?.find((n) => n.type === "network");
  if (model === "none") return { kind: "empty" };
  if (!entry) {
    throw new HakoError(
      Code.InvalidArgument,
      `sandbox ${sandboxId}: the spec shares the host's network namespace (no linux.namespaces entry of type ` +
        `"network", as with --net-host); a VM cannot join the host network. Give the pod its own network ` +
        `namespace (CNI), or set ${HOST_NETWORK_KEY} = "none" to run it without a network device`,
      { fields: { sandbox: sandboxId, key: HOST_NETWORK_KEY } },
    );
  }
  if (!entry.path) return { kind: "empty" };
  return { kind: "path", path: entry.path };
}
