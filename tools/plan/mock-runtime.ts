/**
 * The process's Pulumi mock runtime, shared by the offline plan and the component tests.
 *
 * Pulumi keeps its runtime state per process, and mocha runs every test file in one
 * process: mocks are installed once and re-installed only when the project or stack
 * changes, or when something else (another test file) replaced them. The installed mock
 * monitor is wrapped so every registration is recorded with what `newResource` never
 * sees: the parent, the provider, the dependencies and the URN.
 */
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_MOCK_ENVIRONMENT, type MockEnvironment, realisticMocks } from "./mocks";
import type { PlannedResource } from "./types";

const rpc = pulumi.runtime;

interface Struct {
  toJavaScript(): Record<string, unknown>;
}
interface RegisterResourceRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getObject(): Struct | undefined;
  getProvider(): string;
  getDependenciesList(): string[];
  getProtect(): boolean | undefined;
  getRetainondelete(): boolean | undefined;
  getIgnorechangesList(): string[];
  getPropertydependenciesMap(): { forEach(cb: (v: { getUrnsList(): string[] }, k: string) => void): void };
  getAliasesList(): AliasMessage[];
}
/** An alias as the SDK sends it to a monitor that supports alias specs (proto/alias.proto). */
interface AliasMessage {
  getUrn(): string;
  getSpec():
    | {
        getName(): string;
        getType(): string;
        getStack(): string;
        getProject(): string;
        getParenturn(): string;
        getNoparent(): boolean;
      }
    | undefined;
}
interface RegisterResourceResponse {
  getUrn(): string;
  getId(): string;
  getObject(): Struct | undefined;
}
interface RegisterOutputsRequest {
  getUrn(): string;
  getOutputs(): Struct | undefined;
}
type Callback<T> = (err: unknown, response?: T) => void;
interface Monitor {
  registerResource(req: RegisterResourceRequest, callback: Callback<RegisterResourceResponse>): Promise<void>;
  registerResourceOutputs(req: RegisterOutputsRequest, callback: Callback<unknown>): void;
}

/** What a secret value reads as in a plan: a mocked secret is still not something to print. */
export const SECRET_PLACEHOLDER = "[secret]";

/** Turns the wire form of properties into plain JSON: assets and archives described, secrets masked, unknowns dropped. */
export function plainProperties(value: unknown): unknown {
  if (value === rpc.unknownValue) return undefined;
  if (Array.isArray(value)) return value.map(plainProperties);
  if (value === null || typeof value !== "object") return value;
  const obj = value as Record<string, unknown>;
  switch (obj[rpc.specialSigKey]) {
    case rpc.specialSecretSig:
      return SECRET_PLACEHOLDER;
    case rpc.specialAssetSig:
      return { asset: obj.path ? "file" : obj.text !== undefined ? "string" : "remote", ...withoutSig(obj) };
    case rpc.specialArchiveSig:
      return obj.assets
        ? { archive: "assets", assets: plainProperties(obj.assets) }
        : { archive: obj.path ? "file" : "remote", ...withoutSig(obj) };
    case rpc.specialResourceSig:
      return obj.urn;
    case rpc.specialOutputValueSig:
      return plainProperties(obj.value);
    default: {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(obj)) {
        const plain = plainProperties(v);
        if (plain !== undefined) out[k] = plain;
      }
      return out;
    }
  }
}

/** An asset's or archive's own fields, without the signature and the SDK's `__pulumi...` markers. */
function withoutSig(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => k !== rpc.specialSigKey && !k.startsWith("__pulumi")));
}

/** A URN as Pulumi's mock monitor builds it: the parent's own type only, not the whole chain. */
export function mockUrn(
  where: { stack: string; project: string },
  parentUrn: string | undefined,
  type: string,
  name: string,
): string {
  const qualified = parentUrn ? `${urnParts(parentUrn).type}$${type}` : type;
  return `urn:pulumi:${where.stack}::${where.project}::${qualified}::${name}`;
}

/** The last type of a URN's type chain, and its name. */
export function urnParts(urn: string): { type: string; name: string } {
  const parts = urn.split("::");
  return { type: (parts[2] ?? "").split("$").pop() as string, name: parts.slice(3).join("::") };
}

/**
 * A child named after its parent ("<parent>-role") is aliased under a renamed parent with the
 * parent's old name as its prefix, the convention the SDK's inheritedChildAlias follows.
 */
function renamedWithParent(childName: string, parentName: string, parentAliasName: string): string {
  return childName.startsWith(parentName) ? parentAliasName + childName.slice(parentName.length) : childName;
}

/** A provider reference is "<urn>::<id>"; URNs contain "::" themselves. */
function providerUrn(ref: string): string | undefined {
  if (!ref) return undefined;
  const at = ref.lastIndexOf("::");
  return at > 0 ? ref.slice(0, at) : ref;
}

export interface MockRuntimeOptions {
  project: string;
  stack: string;
  /** Region and account the mocks invent ARNs in. */
  environment?: Partial<MockEnvironment>;
}

export class MockRuntime {
  private records: PlannedResource[] = [];
  private failures: unknown[] = [];
  environment: MockEnvironment = { ...DEFAULT_MOCK_ENVIRONMENT };

  constructor(
    readonly project: string,
    readonly stack: string,
    readonly monitor: Monitor,
  ) {
    const registerResource = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) =>
      registerResource(req, (err, res) => {
        if (err) this.failures.push(err);
        else if (res) this.record(req, res);
        callback(err, res);
      });
    const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (req, callback) => {
      const resource = this.records.find((r) => r.urn === req.getUrn());
      if (resource)
        resource.state = (plainProperties(req.getOutputs()?.toJavaScript() ?? {}) ?? {}) as Record<string, unknown>;
      registerOutputs(req, callback);
    };
  }

  private record(req: RegisterResourceRequest, res: RegisterResourceResponse): void {
    const custom = req.getCustom();
    this.records.push({
      urn: res.getUrn(),
      aliases: this.aliases(req, res.getUrn()),
      type: req.getType(),
      name: req.getName(),
      parent: req.getParent() || undefined,
      custom,
      inputs: (plainProperties(req.getObject()?.toJavaScript() ?? {}) ?? {}) as Record<string, unknown>,
      state: (plainProperties(res.getObject()?.toJavaScript() ?? {}) ?? {}) as Record<string, unknown>,
      id: custom ? res.getId() || undefined : undefined,
      provider: providerUrn(req.getProvider()),
      dependencies: [...new Set(req.getDependenciesList())],
      options: {
        protect: req.getProtect() === true,
        retainOnDelete: req.getRetainondelete() === true,
        ignoreChanges: [...req.getIgnorechangesList()],
      },
      ...this.propertyDependencies(req),
    });
  }

  /**
   * The URNs the resource's aliases name, resolved as the engine resolves them: its own
   * aliases (a spec's missing name, type, stack or project is the resource's own), then one
   * alias per alias of its parent (a child moves with its parent, the engine derives these),
   * and each own alias under each parent alias. The URNs are built by the mocks' rule (only
   * the immediate parent's type), so they compare with URNs recorded under the mocks.
   */
  private aliases(req: RegisterResourceRequest, urn: string): string[] {
    const name = req.getName();
    const type = req.getType();
    const parentUrn = req.getParent() || undefined;
    const own = req.getAliasesList().map((alias) => {
      const spec = alias.getSpec();
      if (!spec) return alias.getUrn();
      const parent = spec.getNoparent() ? undefined : spec.getParenturn() || parentUrn;
      return mockUrn(
        { stack: spec.getStack() || this.stack, project: spec.getProject() || this.project },
        parent,
        spec.getType() || type,
        spec.getName() || name,
      );
    });
    const parent = parentUrn ? this.records.find((r) => r.urn === parentUrn) : undefined;
    const inherited: string[] = [];
    for (const parentAlias of parent?.aliases ?? []) {
      for (const childUrn of [urn, ...own]) {
        const child = urnParts(childUrn);
        inherited.push(
          mockUrn(
            { stack: this.stack, project: this.project },
            parentAlias,
            child.type,
            renamedWithParent(child.name, urnParts(parentUrn as string).name, urnParts(parentAlias).name),
          ),
        );
      }
    }
    return [...new Set([...own, ...inherited])].filter((alias) => alias !== urn);
  }

  /** The resource options the engine passes on to a policy pack (protect, property dependencies), and retainOnDelete. */
  private propertyDependencies(req: RegisterResourceRequest): Partial<PlannedResource> {
    const out: Partial<PlannedResource> = {};
    const propertyDependencies: Record<string, string[]> = {};
    req.getPropertydependenciesMap().forEach((v, k) => {
      const urns = [...new Set(v.getUrnsList())];
      if (urns.length > 0) propertyDependencies[k] = urns;
    });
    if (Object.keys(propertyDependencies).length > 0) out.propertyDependencies = propertyDependencies;
    return out;
  }

  /** Forgets what was recorded (call before each test or plan). */
  reset(): void {
    this.records = [];
    this.failures = [];
  }

  /** Resources registered so far, in registration order. */
  get resources(): PlannedResource[] {
    return [...this.records];
  }

  /**
   * Waits until every registration the program started has completed, then throws if any
   * failed. Pulumi keeps a promise chain of outstanding RPCs; this is what `pulumi up`
   * waits on before it reports the stack done.
   */
  async settle(): Promise<PlannedResource[]> {
    const waitForRPCs = (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs;
    if (typeof waitForRPCs !== "function") {
      throw new Error(
        "@pulumi/pulumi no longer exports runtime.waitForRPCs; tools/plan/mock-runtime.ts needs updating",
      );
    }
    await waitForRPCs();
    if (this.failures.length > 0) {
      const messages = this.failures.map((f) => (f instanceof Error ? f.message : String(f)));
      throw new Error(
        `${this.failures.length} resource registration(s) failed under the mocks: ${messages.join("; ")}`,
        {
          cause: this.failures[0],
        },
      );
    }
    return this.resources;
  }
}

let current: MockRuntime | undefined;

/**
 * The process's mock runtime for this project and stack, installing Pulumi's mocks when
 * they are missing, belong to another stack, or were replaced. Recorded resources are reset.
 */
export async function useMockRuntime(options: MockRuntimeOptions): Promise<MockRuntime> {
  const reusable =
    current &&
    current.project === options.project &&
    current.stack === options.stack &&
    pulumi.runtime.getMonitor() === (current.monitor as unknown);
  if (!reusable) {
    let runtime: MockRuntime | undefined;
    const mocks = realisticMocks(() => runtime?.environment ?? DEFAULT_MOCK_ENVIRONMENT);
    await pulumi.runtime.setMocks(mocks, options.project, options.stack, false);
    const monitor = pulumi.runtime.getMonitor() as unknown as Monitor | undefined;
    if (!monitor) throw new Error("pulumi.runtime.setMocks installed no monitor");
    runtime = new MockRuntime(options.project, options.stack, monitor);
    current = runtime;
  }
  const runtime = current as MockRuntime;
  runtime.environment = { ...DEFAULT_MOCK_ENVIRONMENT, ...options.environment };
  runtime.reset();
  return runtime;
}
