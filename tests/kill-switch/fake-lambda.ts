/**
 * A small stateful Lambda behind aws-sdk-client-mock: functions with reserved concurrency
 * and tags, one event source mapping whose Disabling/Enabling states settle after a read.
 * State carries over between calls, so a second delivery sees what the first one did;
 * failNext() makes the next call of an operation fail, as a throttled API would.
 */
import {
  DeleteFunctionConcurrencyCommand,
  GetEventSourceMappingCommand,
  GetFunctionCommand,
  LambdaClient,
  PutFunctionConcurrencyCommand,
  ResourceNotFoundException,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateEventSourceMappingCommand,
} from "@aws-sdk/client-lambda";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";

export const REGION_ACCOUNT = "us-east-1:210987654321";
export const EXTRACTOR = "mp-prod-extractor-3f9a1c2";
export const API = "mp-prod-api-8b27d40";
export const MAPPING_UUID = "a1b2c3d4-5678-90ab-cdef-11112222aaaa";
export const arnOf = (name: string) => `arn:aws:lambda:${REGION_ACCOUNT}:function:${name}`;

export interface FakeFunction {
  reserved?: number;
  tags: Record<string, string>;
}

export interface FakeLambda {
  mock: AwsClientStub<LambdaClient>;
  client: LambdaClient;
  functions: Map<string, FakeFunction>;
  mapping: { state: string };
  failNext(operation: string, error: Error): void;
  /** Every command sent, in order, as [name, input]. */
  sent(): [string, Record<string, unknown>][];
  /** The commands that change something (everything but Get*). */
  writes(): [string, Record<string, unknown>][];
}

export function fakeLambda(init: {
  functions?: Record<string, FakeFunction>;
  mappingState?: string;
  /** Reads that still return Disabling/Enabling before the state settles. */
  settleAfterReads?: number;
}): FakeLambda {
  const mock = mockClient(LambdaClient);
  const functions = new Map(
    Object.entries(init.functions ?? { [EXTRACTOR]: { reserved: 5, tags: {} }, [API]: { tags: {} } }),
  );
  const mapping = { state: init.mappingState ?? "Enabled", readsUntilSettled: 0 };
  const failures = new Map<string, Error[]>();

  const fn = (nameOrArn: string): [string, FakeFunction] => {
    const name = nameOrArn.split(":function:").pop()?.split(":")[0] ?? nameOrArn;
    const f = functions.get(name);
    if (!f) throw new ResourceNotFoundException({ message: `Function not found: ${arnOf(name)}`, $metadata: {} });
    return [name, f];
  };
  const maybeFail = (operation: string) => {
    const error = failures.get(operation)?.shift();
    if (error) throw error;
  };
  const transition = (to: "Disabling" | "Enabling") => {
    mapping.state = to;
    mapping.readsUntilSettled = init.settleAfterReads ?? 1;
  };

  mock.on(GetFunctionCommand).callsFake(async (input) => {
    maybeFail("GetFunction");
    const [name, f] = fn(input.FunctionName);
    return {
      Configuration: { FunctionName: name, FunctionArn: arnOf(name) },
      Tags: { ...f.tags },
      ...(f.reserved === undefined ? {} : { Concurrency: { ReservedConcurrentExecutions: f.reserved } }),
    };
  });
  mock.on(PutFunctionConcurrencyCommand).callsFake(async (input) => {
    maybeFail("PutFunctionConcurrency");
    fn(input.FunctionName)[1].reserved = input.ReservedConcurrentExecutions;
    return { ReservedConcurrentExecutions: input.ReservedConcurrentExecutions };
  });
  mock.on(DeleteFunctionConcurrencyCommand).callsFake(async (input) => {
    maybeFail("DeleteFunctionConcurrency");
    fn(input.FunctionName)[1].reserved = undefined;
    return {};
  });
  mock.on(TagResourceCommand).callsFake(async (input) => {
    maybeFail("TagResource");
    Object.assign(fn(input.Resource)[1].tags, input.Tags);
    return {};
  });
  mock.on(UntagResourceCommand).callsFake(async (input) => {
    maybeFail("UntagResource");
    const f = fn(input.Resource)[1];
    for (const key of input.TagKeys) delete f.tags[key];
    return {};
  });
  mock.on(GetEventSourceMappingCommand).callsFake(async (input) => {
    maybeFail("GetEventSourceMapping");
    if (input.UUID !== MAPPING_UUID) {
      throw new ResourceNotFoundException({ message: `The resource you requested does not exist.`, $metadata: {} });
    }
    const state = mapping.state;
    if (mapping.readsUntilSettled > 0 && --mapping.readsUntilSettled === 0) {
      mapping.state = state === "Disabling" ? "Disabled" : state === "Enabling" ? "Enabled" : state;
    }
    return { UUID: MAPPING_UUID, State: state, FunctionArn: arnOf(EXTRACTOR) };
  });
  mock.on(UpdateEventSourceMappingCommand).callsFake(async (input) => {
    maybeFail("UpdateEventSourceMapping");
    if (input.Enabled === false) transition("Disabling");
    if (input.Enabled === true) transition("Enabling");
    return { UUID: MAPPING_UUID, State: mapping.state };
  });

  const sent = () =>
    mock.calls().map((c) => {
      const command = c.args[0] as unknown as { constructor: { name: string }; input: Record<string, unknown> };
      return [command.constructor.name.replace(/Command$/, ""), command.input] as [string, Record<string, unknown>];
    });
  return {
    mock,
    client: new LambdaClient({ region: "us-east-1" }),
    functions,
    mapping,
    failNext(operation, error) {
      failures.set(operation, [...(failures.get(operation) ?? []), error]);
    },
    sent,
    writes: () => sent().filter(([name]) => !name.startsWith("Get")),
  };
}
