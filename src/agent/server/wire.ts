// The generated agent protocol types the server speaks, gathered in one place.
export {
  AgentService,
  HakoPortForwardService,
  StatsContainerResponseSchema,
  type Storage,
} from "../../proto/gen/agent/agent_pb.js";
export { Health } from "../../proto/gen/agent/health_pb.js";

/** Most stdio bytes one ReadStdout/ReadStderr answer carries (ttrpc frames stop at 4 MiB). */
export const MAX_READ_BYTES = 1024 * 1024;
