// The one place that maps between HakoError and a ttrpc status (google.rpc.Status: code + message).
import { create } from "@bufbuild/protobuf";
import { Code, HakoError } from "../common/errors.js";
import { type Status, StatusSchema } from "../proto/gen/ttrpc/ttrpc_pb.js";

/** What a server answers for a failed call: a HakoError keeps its code, anything else is Unknown. */
export function statusFromError(err: unknown): Status {
  if (err instanceof HakoError) return create(StatusSchema, { code: err.code, message: err.message });
  const message = err instanceof Error ? err.message : String(err);
  return create(StatusSchema, { code: Code.Unknown, message });
}

/** What a client raises for a response status; undefined when the call succeeded. */
export function errorFromStatus(status: Status | undefined, call: string): HakoError | undefined {
  if (status === undefined || status.code === Code.Ok) return undefined;
  const code = status.code in Code ? (status.code as Code) : Code.Unknown;
  // The remote message is kept as is: callers (and containerd's errdefs) match on it.
  return new HakoError(code, status.message, { fields: { call, remoteCode: status.code } });
}
