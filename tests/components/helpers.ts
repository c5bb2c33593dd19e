/**
 * Shared helpers for the component and IAM tests: one mock runtime per process (mocha runs
 * every file in one process), reset before each test; lookups over the recorded resources
 * (with parents and dependencies, which Pulumi's `newResource` mock never sees); small code
 * archives and a fake layer zip so tests need neither the handlers nor the 79 MB binary.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { buildFfprobeLayerZip } from "../../build/ffprobe-layer";
import type { MediaPipelineArgs } from "../../components/media-pipeline";
import { AWS_TYPES } from "../../lib/aws-types";
import { CONFIG_DEFAULTS } from "../../lib/config-schema";
import type { LambdaArchitecture } from "../../lib/ffprobe-pin";
import { LIST_SHARDS } from "../../lib/list-index";
import { PROJECT_NAME } from "../../lib/naming";
import { type MockRuntime, useMockRuntime } from "../../tools/plan/mock-runtime";
import type { MockEnvironment } from "../../tools/plan/mocks";
import type { PlannedResource } from "../../tools/plan/types";

export const TEST_STACK = "test";

/** Type tokens: the AWS ones from lib/aws-types.ts, then the project's components. */
export const T = {
  ...AWS_TYPES,
  mediaBucket: "media-pipeline:storage:MediaBucket",
  metadataTable: "media-pipeline:storage:MetadataTable",
  ffprobeLayer: "media-pipeline:lambda:FfprobeLayer",
  extractor: "media-pipeline:extractor:MetadataExtractor",
  api: "media-pipeline:api:MetadataApi",
  dashboard: "media-pipeline:web:DashboardSite",
  pipeline: "media-pipeline:index:MediaPipeline",
  costGuard: "media-pipeline:cost:CostGuard",
  healthCanary: "media-pipeline:synthetics:HealthCanary",
  backfill: "media-pipeline:backfill:Backfill",
  observability: "media-pipeline:observability:PipelineObservability",
  alarmTopic: "media-pipeline:alarms:AlarmTopic",
  lambdaAlarms: "media-pipeline:alarms:LambdaAlarms",
  logAlarms: "media-pipeline:alarms:LogAlarms",
} as const;

let runtime: MockRuntime | undefined;

/** The process's mock runtime for the test stack, with nothing recorded yet (call in beforeEach). */
export async function startMocks(): Promise<MockRuntime> {
  runtime = await useMockRuntime({ project: PROJECT_NAME, stack: TEST_STACK });
  return runtime;
}

/** Like startMocks, with the mocks inventing ARNs in another region or account. */
export async function startMocksIn(environment: Partial<MockEnvironment>): Promise<MockRuntime> {
  runtime = await useMockRuntime({ project: PROJECT_NAME, stack: TEST_STACK, environment });
  return runtime;
}

/** Everything registered since startMocks(), once every registration has completed. */
export async function settled(): Promise<Resources> {
  if (!runtime) throw new Error("call startMocks() (in beforeEach) before creating resources");
  return new Resources(await runtime.settle());
}

/** Recorded resources with lookups that fail with the list of what is there. */
export class Resources {
  constructor(readonly all: PlannedResource[]) {}

  ofType(type: string): PlannedResource[] {
    return this.all.filter((r) => r.type === type);
  }

  /** The one resource of this type (whose name ends with `nameSuffix`, when given). */
  one(type: string, nameSuffix?: string): PlannedResource {
    const found = this.ofType(type).filter((r) => nameSuffix === undefined || r.name.endsWith(nameSuffix));
    if (found.length !== 1) {
      const names = this.ofType(type).map((r) => r.name);
      throw new Error(
        `expected one ${type}${nameSuffix ? ` named *${nameSuffix}` : ""}, found ${found.length} among [${names.join(", ")}]`,
      );
    }
    return found[0] as PlannedResource;
  }

  byUrn(urn: string | undefined): PlannedResource | undefined {
    return this.all.find((r) => r.urn === urn);
  }

  childrenOf(parent: PlannedResource): PlannedResource[] {
    return this.all.filter((r) => r.parent === parent.urn);
  }

  /** Parent chain, nearest first. */
  ancestorsOf(resource: PlannedResource): PlannedResource[] {
    const chain: PlannedResource[] = [];
    for (let p = this.byUrn(resource.parent); p; p = this.byUrn(p.parent)) chain.push(p);
    return chain;
  }

  /** The one resource of this type below `ancestor` (whose name ends with `nameSuffix`, when given). */
  oneUnder(ancestor: PlannedResource, type: string, nameSuffix?: string): PlannedResource {
    const found = this.under(ancestor, type).filter((r) => nameSuffix === undefined || r.name.endsWith(nameSuffix));
    if (found.length !== 1) {
      throw new Error(
        `expected one ${type}${nameSuffix ? ` named *${nameSuffix}` : ""} under ${ancestor.name}, found ${found.length}`,
      );
    }
    return found[0] as PlannedResource;
  }

  /** Resources of a type anywhere below `ancestor`. */
  under(ancestor: PlannedResource, type?: string): PlannedResource[] {
    return this.all.filter(
      (r) => (type === undefined || r.type === type) && this.ancestorsOf(r).some((a) => a.urn === ancestor.urn),
    );
  }
}

export interface PolicyStatementJson {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Principal?: unknown;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}
export interface PolicyJson {
  Version: string;
  Statement: PolicyStatementJson[];
}

/** The `policy` input of a role/bucket/queue policy resource, parsed. */
export function policyOf(resource: PlannedResource): PolicyJson {
  const policy = resource.inputs.policy;
  if (typeof policy !== "string") throw new Error(`${resource.name} has no policy string input`);
  return JSON.parse(policy) as PolicyJson;
}

export function statement(policy: PolicyJson, sid: string): PolicyStatementJson {
  const found = policy.Statement.find((s) => s.Sid === sid);
  if (!found) throw new Error(`no statement ${sid} among ${policy.Statement.map((s) => s.Sid).join(", ")}`);
  return found;
}

/** Resolves an Output (in tests only; outputs are known under the mocks). */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => resolve(v)));
}

/** A tiny Lambda archive, so tests depend on neither the handlers nor esbuild. */
export function testCode(label = "test"): pulumi.asset.Archive {
  return new pulumi.asset.AssetArchive({
    "index.js": new pulumi.asset.StringAsset(`exports.handler = async () => (${JSON.stringify(label)});`),
  });
}

/** Writes a small fake "ffprobe" and returns its path and digest. */
export function fakeBinary(content = "#!/bin/sh\necho fake ffprobe\n"): { path: string; sha256: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-fake-ffprobe-"));
  const file = path.join(dir, "ffprobe");
  fs.writeFileSync(file, content);
  return { path: file, sha256: createHash("sha256").update(content).digest("hex") };
}

const fakeZips = new Map<LambdaArchitecture, string>();
/** A layer zip with the real layout around a fake binary (built once per process and architecture). */
export function fakeLayerZip(architecture: LambdaArchitecture = "x86_64"): string {
  const cached = fakeZips.get(architecture);
  if (cached) return cached;
  const bin = fakeBinary(`#!/bin/sh\necho fake ffprobe ${architecture}\n`);
  const built = buildFfprobeLayerZip({
    architecture,
    binaryPath: bin.path,
    pin: { npmPackage: "fake-ffprobe", version: "0.0.0", sha256: bin.sha256 },
    cacheDir: path.dirname(bin.path),
  });
  fakeZips.set(architecture, built.zipPath);
  return built.zipPath;
}

/** A folder with a minimal dashboard build. */
export function fakeDashboardDir(files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-dashboard-"));
  const all = { "index.html": "<!doctype html><title>t</title>", "assets/app-ABC123.js": "void 0", ...files };
  for (const [rel, content] of Object.entries(all)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

/**
 * MediaPipeline args of a lab stack, with test code and a fake layer: the stack configuration's
 * defaults (lib/config-schema.ts) under the lab's values.
 */
export function testPipelineArgs(overrides: Partial<MediaPipelineArgs> = {}): MediaPipelineArgs {
  return {
    ...CONFIG_DEFAULTS,
    stack: TEST_STACK,
    lab: true,
    labObjectExpirationDays: 3,
    architecture: "x86_64",
    extractorMemoryMb: 1024,
    extractorTimeoutSeconds: 60,
    extractorMaxConcurrency: 4,
    apiReservedConcurrency: -1,
    // A lab destroys to nothing: nothing protected or retained.
    protectState: false,
    logRetentionDays: 7,
    deletionProtection: false,
    pointInTimeRecovery: false,
    ingestVersioning: false,
    allowedOrigins: ["http://localhost:5173"],
    apiThrottleBurst: 20,
    apiThrottleRate: 10,
    dashboardDir: fakeDashboardDir(),
    extractorCode: testCode("extractor"),
    apiCode: testCode("api"),
    layerZipPath: fakeLayerZip(),
    budgetLimitUsd: 10,
    syntheticsCanary: false,
    killSwitchCode: testCode("kill-switch"),
    backfillCode: testCode("backfill"),
    // The unsharded list index (what the lab runs), which these tests were written against.
    listShards: LIST_SHARDS.default,
    ...overrides,
  };
}
