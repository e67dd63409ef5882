// The one error type of hako. Every failure whose cause is known carries a code; the ttrpc layer maps codes to
// gRPC status codes in exactly one place (statusFromError in src/ttrpc/status.ts).

/** gRPC status codes, as carried in ttrpc responses (google.rpc.Status.code). */
export enum Code {
  Ok = 0,
  Cancelled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
}

export interface HakoErrorOptions {
  cause?: unknown;
  /** Structured context for logs (sandbox, container, path, …). */
  fields?: Record<string, unknown>;
}

export class HakoError extends Error {
  override readonly name = "HakoError";
  readonly code: Code;
  readonly fields: Record<string, unknown>;

  constructor(code: Code, message: string, options: HakoErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.fields = options.fields ?? {};
  }

  /** Wraps any thrown value: a HakoError passes through, anything else becomes `code` with its message kept. */
  static from(err: unknown, code: Code = Code.Unknown, context?: string): HakoError {
    if (err instanceof HakoError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new HakoError(code, context ? `${context}: ${message}` : message, { cause: err });
  }
}

export function codeName(code: Code): string {
  return Code[code] ?? `Code(${code})`;
}

export const notFound = (message: string, fields?: Record<string, unknown>) =>
  new HakoError(Code.NotFound, message, fields ? { fields } : {});
export const invalidArgument = (message: string, fields?: Record<string, unknown>) =>
  new HakoError(Code.InvalidArgument, message, fields ? { fields } : {});
export const failedPrecondition = (message: string, fields?: Record<string, unknown>) =>
  new HakoError(Code.FailedPrecondition, message, fields ? { fields } : {});
export const alreadyExists = (message: string, fields?: Record<string, unknown>) =>
  new HakoError(Code.AlreadyExists, message, fields ? { fields } : {});
export const unimplemented = (what: string) => new HakoError(Code.Unimplemented, `${what} is not implemented`);
export const internal = (message: string, cause?: unknown) =>
  new HakoError(Code.Internal, message, cause === undefined ? {} : { cause });

/** Errors from Node's system calls (ENOENT, …) keep their errno code here. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "code" in err && typeof err.code === "string") return err.code;
  return undefined;
}
