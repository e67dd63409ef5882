// hako's ttrpc: frame codec, client, server and status mapping. Knows nothing about containers.
export type { CallOptions, TtrpcClientOptions } from "./client.js";
export { TtrpcClient } from "./client.js";
export type { Frame } from "./frame.js";
export { encodeFrame, FrameDecoder, FrameFlag, FrameType, HEADER_LENGTH, MAX_PAYLOAD_LENGTH } from "./frame.js";
export type { Metadata } from "./metadata.js";
export type { CallContext, RawHandler, ServiceImpl, TtrpcServerOptions } from "./server.js";
export { TtrpcServer } from "./server.js";
export { answers as socketAnswers, connectWithin } from "./socket-probe.js";
export { errorFromStatus, statusFromError } from "./status.js";
export type { TypedClient } from "./typed-client.js";
export { createClient } from "./typed-client.js";
