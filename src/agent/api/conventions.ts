// hako's conventions on top of Kata's agent protocol, shared by the agent client and hako-agent: things the Kata
// messages have no field for travel this way.

/** ttrpc metadata that makes a SignalProcess for the init process reach every process of the container. */
export const SIGNAL_ALL_METADATA = "hako-signal-all";
/** ListProcesses formats: every pid of the container as a JSON array, or the pid of the process named by args[0]. */
export const PIDS_FORMAT = "json";
export const PROCESS_PID_FORMAT = "pid";
/** The guest kernel release rides in GetMetrics as this gauge's label (GuestDetailsResponse has no field). */
export const GUEST_INFO_METRIC = "hako_guest_info";
