/**
 * PipelineControl on AWS Lambda: the extractor's SQS event source mapping and the
 * functions' reserved concurrency.
 *
 * Pause, in this order:
 *   1. disable the event source mapping, and wait (bounded) until it is Disabled. Order
 *      matters: an enabled mapping feeding a function with concurrency 0 keeps receiving
 *      messages whose invocations are throttled; each receive counts toward the queue's
 *      maxReceiveCount, so messages would drift into the DLQ instead of waiting.
 *   2. per function: tag it (paused-at, paused-reason, previous-concurrency) BEFORE
 *      setting reserved concurrency to 0. A function that carries paused-at is never
 *      re-tagged, so a duplicate alert, a retry after a half-done pause or two concurrent
 *      invocations can never replace the remembered concurrency with the 0 we set.
 * Resume, the reverse: restore each function's concurrency (PutFunctionConcurrency with
 * the remembered value, or DeleteFunctionConcurrency when none was reserved), remove the
 * tags, then enable the mapping. Every step first reads the current state and skips what
 * is already done, so both directions are idempotent and safe to re-run after a failure.
 *
 * IAM: lambda:GetFunction, lambda:ListTags (GetFunction returns tags only with it),
 * lambda:TagResource, lambda:UntagResource, lambda:PutFunctionConcurrency,
 * lambda:DeleteFunctionConcurrency on the functions; lambda:GetEventSourceMapping,
 * lambda:UpdateEventSourceMapping on the mapping.
 */
import {
  DeleteFunctionConcurrencyCommand,
  type EventSourceMappingConfiguration,
  GetEventSourceMappingCommand,
  GetFunctionCommand,
  type LambdaClient,
  PutFunctionConcurrencyCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateEventSourceMappingCommand,
} from "@aws-sdk/client-lambda";
import {
  overallState,
  type PartStatus,
  type PauseResult,
  type PipelineControl,
  PipelineControlError,
  type PipelineStatus,
  type ResumeResult,
} from "../../lib/pipeline-control";
import { sleep as defaultSleep } from "../../lib/sleep";
import { describeError, isTransient } from "../extractor/errors";

/** Tags the kill switch puts on each paused function. */
export const PAUSE_TAGS = {
  pausedAt: "media-pipeline:paused-at",
  reason: "media-pipeline:paused-reason",
  /** Reserved concurrency before the pause; absent means the function had none (unreserved). */
  previousConcurrency: "media-pipeline:previous-concurrency",
} as const;

const ALL_PAUSE_TAGS = Object.values(PAUSE_TAGS);

export interface LambdaPipelineControlOptions {
  lambda: LambdaClient;
  /** Function names or ARNs (unqualified), paused in this order: the consumer first. */
  functions: string[];
  /** UUID of the event source mapping that feeds the consumer from the queue. */
  eventSourceMappingUuid: string;
  /** How long pause() waits for the mapping to reach Disabled before throttling the functions. */
  mappingSettleMs?: number;
  pollIntervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

interface FunctionState {
  name: string;
  arn: string;
  /** Reserved concurrency; undefined when the function has none. */
  reserved?: number;
  tags: Record<string, string>;
}

const PAUSED_MAPPING_STATES = new Set(["Disabled", "Disabling"]);
const RUNNING_MAPPING_STATES = new Set(["Enabled", "Enabling"]);

/** Lambda errors a later retry can get past (throttling, a mapping mid-transition, 5xx). */
const TRANSIENT_LAMBDA_ERRORS = new Set([
  "TooManyRequestsException",
  "ResourceConflictException",
  "ResourceInUseException",
  "ServiceException",
  "EC2ThrottledException",
]);

/** Lambda tag values allow letters, digits, spaces and _ . : / = + - @, up to 256 characters. */
export function toTagValue(text: string): string {
  return text
    .replace(/%/g, " pct")
    .replace(/[^\p{L}\p{N}\s_.:/=+\-@]/gu, " ")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 256);
}

export function createLambdaPipelineControl(options: LambdaPipelineControlOptions): PipelineControl {
  const { lambda, functions, eventSourceMappingUuid: uuid } = options;
  const settleMs = options.mappingSettleMs ?? 30_000;
  const pollMs = options.pollIntervalMs ?? 1_000;
  const sleep = options.sleep ?? defaultSleep;
  const mappingName = `event source mapping ${uuid}`;
  if (functions.length === 0) throw new Error("createLambdaPipelineControl: no functions given");

  /** Runs one API call; a failure names the operation, the resource and the cause. */
  async function call<T>(part: string, operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const name = (err as { name?: string }).name ?? "";
      throw new PipelineControlError(`${operation} on ${part} failed: ${describeError(err)}`, {
        part,
        transient: TRANSIENT_LAMBDA_ERRORS.has(name) || isTransient(err),
        cause: err,
      });
    }
  }

  async function readMapping(): Promise<EventSourceMappingConfiguration> {
    return call(mappingName, "GetEventSourceMapping", () =>
      lambda.send(new GetEventSourceMappingCommand({ UUID: uuid })),
    );
  }

  async function setMappingEnabled(enabled: boolean): Promise<EventSourceMappingConfiguration> {
    return call(mappingName, "UpdateEventSourceMapping", () =>
      lambda.send(new UpdateEventSourceMappingCommand({ UUID: uuid, Enabled: enabled })),
    );
  }

  /** Polls until the mapping is Disabled; returns the last state seen. */
  async function waitUntilDisabled(state: string | undefined): Promise<string | undefined> {
    const deadline = Date.now() + settleMs;
    let current = state;
    while (current !== "Disabled" && Date.now() < deadline) {
      await sleep(pollMs);
      current = (await readMapping()).State;
    }
    return current;
  }

  async function readFunction(name: string): Promise<FunctionState> {
    const out = await call(name, "GetFunction", () => lambda.send(new GetFunctionCommand({ FunctionName: name })));
    if (out.TagsError) {
      // Without tags we cannot know whether the function is paused or what to restore.
      throw new PipelineControlError(
        `GetFunction on ${name} returned no tags (${out.TagsError.ErrorCode}: ${out.TagsError.Message}); lambda:ListTags is required`,
        { part: name, transient: false },
      );
    }
    const arn = out.Configuration?.FunctionArn;
    if (!arn)
      throw new PipelineControlError(`GetFunction on ${name} returned no FunctionArn`, {
        part: name,
        transient: false,
      });
    return { name, arn, reserved: out.Concurrency?.ReservedConcurrentExecutions, tags: out.Tags ?? {} };
  }

  function previousConcurrency(f: FunctionState): number | undefined {
    const raw = f.tags[PAUSE_TAGS.previousConcurrency];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n)) {
      // Guessing would either leave the function throttled or lift a deliberate limit.
      throw new PipelineControlError(
        `${f.name}: tag ${PAUSE_TAGS.previousConcurrency} is "${raw}", not a concurrency; set the function's concurrency by hand and remove the media-pipeline:paused-* tags`,
        { part: f.name, transient: false },
      );
    }
    return n;
  }

  function functionPart(f: FunctionState): PartStatus {
    const marked = f.tags[PAUSE_TAGS.pausedAt] !== undefined;
    const current = f.reserved === undefined ? "unreserved" : `reserved concurrency ${f.reserved}`;
    if (!marked) return { name: f.name, paused: false, detail: current };
    const before = f.tags[PAUSE_TAGS.previousConcurrency] ?? "unreserved";
    return { name: f.name, paused: f.reserved === 0, detail: `${current}, paused (resume restores ${before})` };
  }

  function mappingPart(state: string | undefined): PartStatus {
    return { name: mappingName, paused: PAUSED_MAPPING_STATES.has(state ?? ""), detail: `state ${state ?? "unknown"}` };
  }

  function statusOf(mappingState: string | undefined, fns: FunctionState[]): PipelineStatus {
    const parts = [mappingPart(mappingState), ...fns.map(functionPart)];
    // The earliest pause mark wins: later duplicates never re-tag, but a manual tag might differ.
    const marks = fns
      .filter((f) => f.tags[PAUSE_TAGS.pausedAt] !== undefined)
      .map((f) => ({ at: new Date(f.tags[PAUSE_TAGS.pausedAt]), reason: f.tags[PAUSE_TAGS.reason] }))
      .filter((m) => !Number.isNaN(m.at.getTime()))
      .sort((a, b) => a.at.getTime() - b.at.getTime());
    return { state: overallState(parts), pausedAt: marks[0]?.at, reason: marks[0]?.reason, parts };
  }

  async function pauseFunction(f: FunctionState, reason: string, at: Date, changes: string[]): Promise<void> {
    if (f.tags[PAUSE_TAGS.pausedAt] === undefined) {
      const tags: Record<string, string> = {
        [PAUSE_TAGS.pausedAt]: at.toISOString(),
        [PAUSE_TAGS.reason]: toTagValue(reason),
      };
      if (f.reserved !== undefined) {
        tags[PAUSE_TAGS.previousConcurrency] = String(f.reserved);
      } else if (f.tags[PAUSE_TAGS.previousConcurrency] !== undefined) {
        // A stray tag would make resume impose a limit the function does not have now.
        await call(f.name, "UntagResource", () =>
          lambda.send(new UntagResourceCommand({ Resource: f.arn, TagKeys: [PAUSE_TAGS.previousConcurrency] })),
        );
        delete f.tags[PAUSE_TAGS.previousConcurrency];
      }
      await call(f.name, "TagResource", () => lambda.send(new TagResourceCommand({ Resource: f.arn, Tags: tags })));
      Object.assign(f.tags, tags);
      changes.push(
        `${f.name}: tagged paused-at ${tags[PAUSE_TAGS.pausedAt]}, remembered ${tags[PAUSE_TAGS.previousConcurrency] ?? "unreserved"}`,
      );
    }
    if (f.reserved !== 0) {
      await call(f.name, "PutFunctionConcurrency", () =>
        lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: f.name, ReservedConcurrentExecutions: 0 })),
      );
      changes.push(`${f.name}: reserved concurrency 0 (was ${f.reserved ?? "unreserved"})`);
      f.reserved = 0;
    }
  }

  async function resumeFunction(f: FunctionState, changes: string[]): Promise<void> {
    if (f.tags[PAUSE_TAGS.pausedAt] === undefined) return; // not paused by us: leave it alone
    const previous = previousConcurrency(f);
    if (previous !== undefined && f.reserved !== previous) {
      await call(f.name, "PutFunctionConcurrency", () =>
        lambda.send(
          new PutFunctionConcurrencyCommand({ FunctionName: f.name, ReservedConcurrentExecutions: previous }),
        ),
      );
      changes.push(`${f.name}: reserved concurrency ${previous} restored`);
      f.reserved = previous;
    } else if (previous === undefined && f.reserved !== undefined) {
      await call(f.name, "DeleteFunctionConcurrency", () =>
        lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: f.name })),
      );
      changes.push(`${f.name}: reserved concurrency removed (unreserved again)`);
      f.reserved = undefined;
    }
    // Tags go last: while they are there, a re-run still knows what to restore.
    await call(f.name, "UntagResource", () =>
      lambda.send(new UntagResourceCommand({ Resource: f.arn, TagKeys: [...ALL_PAUSE_TAGS] })),
    );
    for (const key of ALL_PAUSE_TAGS) delete f.tags[key];
    changes.push(`${f.name}: pause tags removed`);
  }

  return {
    async pause(reason: string, at: Date): Promise<PauseResult> {
      const changes: string[] = [];
      let mappingState = (await readMapping()).State;
      if (!PAUSED_MAPPING_STATES.has(mappingState ?? "")) {
        const updated = await setMappingEnabled(false);
        changes.push(`${mappingName}: disabled (was ${mappingState ?? "unknown"})`);
        mappingState = await waitUntilDisabled(updated.State);
        if (mappingState !== "Disabled") {
          changes.push(`${mappingName}: still ${mappingState ?? "unknown"} after ${settleMs} ms; throttling anyway`);
        }
      }
      const fns: FunctionState[] = [];
      for (const name of functions) {
        const f = await readFunction(name);
        await pauseFunction(f, reason, at, changes);
        fns.push(f);
      }
      return { changes, alreadyPaused: changes.length === 0, status: statusOf(mappingState, fns) };
    },

    async resume(): Promise<ResumeResult> {
      const changes: string[] = [];
      const fns: FunctionState[] = [];
      for (const name of functions) {
        const f = await readFunction(name);
        await resumeFunction(f, changes);
        fns.push(f);
      }
      // Functions first: messages must not reach a function that is still at concurrency 0.
      let mappingState = (await readMapping()).State;
      if (!RUNNING_MAPPING_STATES.has(mappingState ?? "")) {
        const updated = await setMappingEnabled(true);
        changes.push(`${mappingName}: enabled (was ${mappingState ?? "unknown"})`);
        mappingState = updated.State ?? "Enabling";
      }
      return { changes, wasRunning: changes.length === 0, status: statusOf(mappingState, fns) };
    },

    async status(): Promise<PipelineStatus> {
      const mapping = await readMapping();
      const fns: FunctionState[] = [];
      for (const name of functions) fns.push(await readFunction(name));
      return statusOf(mapping.State, fns);
    },
  };
}
