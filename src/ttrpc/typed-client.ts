// A typed client for one protobuf service over a TtrpcClient: `await client.createContainer(req, opts)`.
import {
  create,
  type DescMessage,
  type DescService,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { Code, HakoError } from "../common/errors.js";
import type { CallOptions, TtrpcClient } from "./client.js";

type MethodOf<S extends DescService, K extends keyof S["method"]> = S["method"][K];

export type TypedClient<S extends DescService> = {
  [K in keyof S["method"]]: (
    request: MessageInitShape<MethodOf<S, K>["input"]>,
    options?: CallOptions,
  ) => Promise<MessageShape<MethodOf<S, K>["output"]>>;
};

export function createClient<S extends DescService>(desc: S, client: TtrpcClient): TypedClient<S> {
  const out: Record<string, unknown> = {};
  for (const method of desc.methods) {
    if (method.methodKind !== "unary") continue;
    const { input, output, name } = method;
    out[method.localName] = async (request: MessageInitShape<DescMessage>, options?: CallOptions) => {
      const payload = toBinary(input, create(input, request));
      const answer = await client.call(desc.typeName, name, payload, options);
      try {
        return fromBinary(output, answer);
      } catch (err) {
        throw HakoError.from(err, Code.Internal, `ttrpc call ${desc.typeName}/${name}: undecodable response`);
      }
    };
  }
  return out as TypedClient<S>;
}
