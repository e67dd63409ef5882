// The annotations containerd's CRI plugin puts on a pod's OCI specs: which pod a container belongs to, and the
// pod's total size (containerd: pkg/cri/annotations; Kata: kata_types::annotations::cri_containerd).

/** "sandbox" on the pod's own (pause) container, "container" on every other container of the pod. */
export const CRI_CONTAINER_TYPE = "io.kubernetes.cri.container-type";
/** The pod's sandbox id, on every container of the pod. */
export const CRI_SANDBOX_ID = "io.kubernetes.cri.sandbox-id";
/** The pod's summed CPU quota and period (CFS, microseconds), on the sandbox container. */
export const CRI_SANDBOX_CPU_QUOTA = "io.kubernetes.cri.sandbox-cpu-quota";
export const CRI_SANDBOX_CPU_PERIOD = "io.kubernetes.cri.sandbox-cpu-period";
/** The pod's summed memory limit in bytes, on the sandbox container. */
export const CRI_SANDBOX_MEMORY = "io.kubernetes.cri.sandbox-memory";

/** cri-o's equivalents (cri-o: pkg/annotations): "sandbox" or "container", and the pod's sandbox id. */
export const CRIO_CONTAINER_TYPE = "io.kubernetes.cri-o.ContainerType";
export const CRIO_SANDBOX_ID = "io.kubernetes.cri-o.SandboxID";
