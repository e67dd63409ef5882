// A tiny service for ttrpc tests, hako.test.Echo, whose every message is a google.protobuf.StringValue so that any
// peer (Go's ttrpc included) can speak it. The descriptor is built in code: no .proto file, nothing generated.
import { create, createFileRegistry } from "@bufbuild/protobuf";
import type { GenService } from "@bufbuild/protobuf/codegenv2";
import {
  FileDescriptorProtoSchema,
  file_google_protobuf_wrappers,
  type StringValueSchema,
} from "@bufbuild/protobuf/wkt";
import { Code, HakoError } from "../../common/errors.js";
import type { ServiceImpl } from "../server.js";

type Unary = { methodKind: "unary"; input: typeof StringValueSchema; output: typeof StringValueSchema };
export type EchoServiceDesc = GenService<{
  upper: Unary;
  metadata: Unary;
  fail: Unary;
  sleep: Unary;
  lastSleep: Unary;
  missing: Unary;
}>;

const methodNames = ["Upper", "Metadata", "Fail", "Sleep", "LastSleep", "Missing"];

const file = create(FileDescriptorProtoSchema, {
  name: "hako/test/echo.proto",
  package: "hako.test",
  syntax: "proto3",
  dependency: ["google/protobuf/wrappers.proto"],
  service: [
    {
      name: "Echo",
      method: methodNames.map((name) => ({
        name,
        inputType: ".google.protobuf.StringValue",
        outputType: ".google.protobuf.StringValue",
      })),
    },
  ],
});

const registry = createFileRegistry(file, (name) =>
  name === "google/protobuf/wrappers.proto" ? file_google_protobuf_wrappers : undefined,
);

export const EchoService = registry.getService("hako.test.Echo") as unknown as EchoServiceDesc;

/**
 * The reference behaviour, shared by the unit specs and the Go interop test (the Go peer implements the same):
 * Upper upper-cases; Metadata answers the request metadata as JSON; Fail answers "CODE:message" as that error;
 * Sleep waits the given ms or until its signal aborts; LastSleep waits for the last Sleep and says how it ended.
 * Missing is left out on purpose (Unimplemented).
 */
export function echoImpl(): ServiceImpl<EchoServiceDesc> {
  let lastSleep: Promise<string> = Promise.resolve("");
  return {
    upper: (req) => ({ value: req.value.toUpperCase() }),
    metadata: (_req, ctx) => ({ value: JSON.stringify(Object.fromEntries([...ctx.metadata].sort())) }),
    fail: (req) => {
      const [code, ...message] = req.value.split(":");
      throw new HakoError(Number(code) as Code, message.join(":"));
    },
    sleep: (req, ctx) => {
      const outcome = new Promise<string>((resolve) => {
        const timer = setTimeout(() => resolve("slept"), Number(req.value));
        ctx.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          const reason: unknown = ctx.signal.reason;
          const code = reason instanceof HakoError ? Code[reason.code] : "?";
          resolve(`aborted ${code} deadline=${ctx.deadline !== undefined}`);
        });
      });
      lastSleep = outcome;
      return outcome.then((value) => {
        if (value !== "slept") throw ctx.signal.reason;
        return { value };
      });
    },
    lastSleep: async () => ({ value: await lastSleep }),
  };
}
