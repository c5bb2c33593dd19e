/**
 * Smoke test of the pack as the Pulumi CLI runs it: the nodejs language host starts
 * `node <@pulumi/pulumi/cmd/run-policy-pack> <engine address> <pack dir>` in the pack's folder
 * (pulumi-language-nodejs RunPlugin, kind=analyzer), with PULUMI_NODEJS_STACK / _PROJECT /
 * _DRY_RUN / PULUMI_CONFIG in the environment, and reads the analyzer's port from the first line
 * of stdout (@pulumi/policy server.js prints it once the gRPC server is bound). The engine then
 * calls GetAnalyzerInfo, ConfigureStack, Configure, Analyze and AnalyzeStack; so does this test.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as pb from "@pulumi/pulumi/proto/analyzer_pb";
import { expect } from "chai";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { POLICIES } from "../../policies/pack";
import { configFileFor, readConfigFile, reconcileConfig } from "../../tools/plan/policy-engine/pack-config";

const PACK_DIR = path.resolve(__dirname, "..", "..", "policies");
const RUN_POLICY_PACK = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [PACK_DIR] });
const PROJECT = "media-pipeline";
const STACK = "dev";
const urn = (type: string, name: string) => `urn:pulumi:${STACK}::${PROJECT}::${type}::${name}`;

const LEVEL: Record<string, pb.EnforcementLevel> = {
  advisory: pb.EnforcementLevel.ADVISORY,
  mandatory: pb.EnforcementLevel.MANDATORY,
  disabled: pb.EnforcementLevel.DISABLED,
  remediate: pb.EnforcementLevel.REMEDIATE,
};

/** Starts the pack; resolves with its port once it printed it. */
function startPack(): Promise<{ child: ChildProcess; port: number; stderr: () => string }> {
  const child = spawn(process.execPath, [RUN_POLICY_PACK, "127.0.0.1:1", PACK_DIR], {
    cwd: PACK_DIR,
    env: {
      ...process.env,
      PULUMI_NODEJS_PROJECT: PROJECT,
      PULUMI_NODEJS_STACK: STACK,
      PULUMI_NODEJS_DRY_RUN: "true",
      // The stack's own configuration, as the CLI passes it to a policy pack (analyzer_plugin.go
      // constructEnv / pulumi-language-nodejs RunPlugin): the pack reads `lab` from it.
      PULUMI_CONFIG: JSON.stringify({ "aws:region": "us-east-1", "media-pipeline:lab": "true" }),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`the policy pack printed no port within 45 s; stderr:\n${err}`));
    }, 45_000);
    child.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n")[0] ?? "";
      if (out.includes("\n") && /^\d+$/.test(line.trim())) {
        clearTimeout(timer);
        resolve({ child, port: Number(line.trim()), stderr: () => err });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the policy pack exited (${code}) before printing its port; stdout: ${out}\nstderr:\n${err}`));
    });
  });
}

function rpc<Res>(invoke: (callback: (e: grpc.ServiceError | null, r: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => invoke((e, r) => (e ? reject(e) : resolve(r))));
}

function options(): pb.AnalyzerResourceOptions {
  const o = new pb.AnalyzerResourceOptions();
  o.setProtect(false);
  return o;
}

function analyzeRequest(type: string, name: string, props: Record<string, unknown>): pb.AnalyzeRequest {
  const req = new pb.AnalyzeRequest();
  req.setType(type);
  req.setName(name);
  req.setUrn(urn(type, name));
  req.setProperties(Struct.fromJavaScript(props as never));
  req.setOptions(options());
  return req;
}

function stackResource(type: string, name: string, props: Record<string, unknown>): pb.AnalyzerResource {
  const r = new pb.AnalyzerResource();
  r.setType(type);
  r.setName(name);
  r.setUrn(urn(type, name));
  r.setProperties(Struct.fromJavaScript(props as never));
  r.setOptions(options());
  return r;
}

const summary = (resp: pb.AnalyzeResponse) =>
  resp.getDiagnosticsList().map((d) => ({
    policy: d.getPolicyname(),
    level: d.getEnforcementlevel(),
    message: d.getMessage(),
    urn: d.getUrn(),
  }));

describe("policies: the pack over gRPC, started as the Pulumi CLI starts it", function () {
  this.timeout(60_000);
  let pack: Awaited<ReturnType<typeof startPack>>;
  let client: AnalyzerClient;

  before(async () => {
    pack = await startPack();
    client = new AnalyzerClient(`127.0.0.1:${pack.port}`, grpc.credentials.createInsecure());
  });

  after(async () => {
    client?.close();
    if (pack?.child.exitCode === null) {
      const exited = new Promise((resolve) => pack.child.once("exit", resolve));
      pack.child.kill("SIGTERM");
      await exited;
    }
  });

  it("GetAnalyzerInfo: the pack's name, version and every policy with its level and config schema", async () => {
    const info = await rpc<pb.AnalyzerInfo>((cb) => client.getAnalyzerInfo(new Empty(), cb));
    expect(info.getName()).to.equal("media-pipeline-policies");
    expect(info.getVersion()).to.equal(require("../../policies/package.json").version);
    expect(info.getSupportsconfig()).to.equal(true);
    const policies = info.getPoliciesList();
    expect(policies.map((p) => p.getName())).to.deep.equal(POLICIES.map((p) => p.name));
    const byName = new Map(policies.map((p) => [p.getName(), p]));
    expect(byName.get("s3-secure")?.getEnforcementlevel()).to.equal(pb.EnforcementLevel.MANDATORY);
    expect(byName.get("budget-required")?.getPolicyType()).to.equal(pb.PolicyType.POLICY_TYPE_STACK);
    expect(byName.get("api-authorized")?.getPolicyType()).to.equal(pb.PolicyType.POLICY_TYPE_STACK);
    // A resource policy with named exceptions also has a validateStack (unused entries): still a resource policy.
    expect(byName.get("required-tags")?.getPolicyType()).to.equal(pb.PolicyType.POLICY_TYPE_RESOURCE);
    const schema = byName.get("api-authorized")?.getConfigschema()?.getProperties()?.toJavaScript() as Record<
      string,
      { default?: unknown }
    >;
    expect(schema.publicRoutes?.default).to.deep.equal(["GET /health"]);
  });

  it("Configure with the dev stack's policy config file, as `--policy-pack-config policies/config/dev.json` does", async () => {
    const stackReq = new pb.AnalyzerStackConfigureRequest();
    stackReq.setStack(STACK);
    stackReq.setProject(PROJECT);
    stackReq.setDryRun(true);
    await rpc((cb) => client.configureStack(stackReq, cb));

    const config = reconcileConfig(POLICIES, "advisory", readConfigFile(configFileFor(STACK)));
    const req = new pb.ConfigureAnalyzerRequest();
    for (const [name, entry] of Object.entries(config)) {
      const pc = new pb.PolicyConfig();
      pc.setEnforcementlevel(LEVEL[entry.enforcementLevel ?? "advisory"] ?? pb.EnforcementLevel.ADVISORY);
      pc.setProperties(Struct.fromJavaScript((entry.properties ?? {}) as never));
      req.getPolicyconfigMap().set(name, pc);
    }
    await rpc((cb) => client.configure(req, cb));
  });

  it("Analyze: reports an untagged bucket, and lab-destroyable from the stack's own lab config (PULUMI_CONFIG)", async () => {
    const bucket = summary(
      await rpc<pb.AnalyzeResponse>((cb) => client.analyze(analyzeRequest("aws:s3/bucket:Bucket", "media", {}), cb)),
    );
    expect(bucket.map((d) => [d.policy, d.level])).to.deep.equal([
      ["required-tags", pb.EnforcementLevel.MANDATORY],
      // dev.json no longer says lab: the pack read media-pipeline:lab=true from PULUMI_CONFIG.
      ["lab-destroyable", pb.EnforcementLevel.MANDATORY],
    ]);
    expect(bucket[0]?.message).to.contain(
      "media (aws:s3/bucket:Bucket): missing required tags: Project, Environment, Owner, CostCenter",
    );
    expect(bucket[1]?.message).to.contain("does not set forceDestroy: true");
    const cfn = summary(
      await rpc<pb.AnalyzeResponse>((cb) =>
        client.analyze(analyzeRequest("aws:cloudformation/stack:Stack", "sneaky", { templateBody: "{}" }), cb),
      ),
    );
    expect(cfn.map((d) => d.policy)).to.include("no-escape-hatches");
  });

  it("AnalyzeStack: reports a bare bucket (lifecycle, security) and the missing budget (mandatory)", async () => {
    const req = new pb.AnalyzeStackRequest();
    req.setResourcesList([
      stackResource("aws:s3/bucket:Bucket", "media", { id: "media-1", bucket: "media-1" }),
      stackResource("aws:apigatewayv2/route:Route", "upload", { apiId: "a1", routeKey: "POST /uploads" }),
    ]);
    const diags = summary(await rpc<pb.AnalyzeResponse>((cb) => client.analyzeStack(req, cb)));
    expect(diags.map((d) => d.policy)).to.deep.equal([
      "s3-lifecycle",
      "s3-secure",
      "s3-secure",
      "s3-secure",
      "budget-required",
      "api-authorized",
    ]);
    expect(diags[5]?.message).to.match(/\nroute "POST \/uploads" \(upload\) has no authorizer/);
    expect(diags[0]?.urn).to.equal(urn("aws:s3/bucket:Bucket", "media"));
    expect(diags[4]?.level).to.equal(pb.EnforcementLevel.MANDATORY);
    expect(diags[4]?.urn).to.equal("");
    expect(pack.stderr()).to.equal("");
  });
});
