/**
 * Least privilege of what the cost guard, the health canary and the alarms add, evaluated
 * offline by @cloud-copilot/iam-simulate on the policy documents the mocked MediaPipeline
 * registers: the kill switch's role (exactly the Lambda calls of
 * handlers/kill-switch/lambda-control.ts, on the two functions and the one mapping), the
 * canary's role, and the two topics' policies (only Budgets / CloudWatch of this account
 * may publish).
 */
import { expect } from "chai";
import { MediaPipeline } from "../../components/media-pipeline";
import {
  type PolicyJson,
  policyOf,
  type Resources,
  settled,
  startMocks,
  T,
  testPipelineArgs,
} from "../components/helpers";
import { ACCOUNT, decide } from "./simulate";

const REGION = "us-east-1";
const OTHER_ACCOUNT = "999999999999";

describe("IAM least privilege of the cost guard, canary and alarm topic (iam-simulate)", () => {
  let res: Resources;
  const arn: Record<string, string> = {};
  let killSwitch: PolicyJson;
  let canaryRole: PolicyJson;
  let canaryName: string;

  before(async () => {
    await startMocks();
    new MediaPipeline("mp-iam", testPipelineArgs({ syntheticsCanary: true }));
    res = await settled();
    const costGuard = res.one(T.costGuard);
    arn.extractor = res.oneUnder(res.one(T.extractor), T.function).state.arn as string;
    arn.api = res.oneUnder(res.one(T.api), T.function).state.arn as string;
    arn.backfill = res.oneUnder(res.one(T.backfill), T.function).state.arn as string;
    arn.budget = `arn:aws:budgets::${ACCOUNT}:budget/${res.oneUnder(costGuard, T.budget).state.name}`;
    arn.killSwitch = res.oneUnder(costGuard, T.function).state.arn as string;
    arn.mapping = res.one(T.eventSourceMapping, "-extractor-source").state.arn as string;
    arn.killSwitchLogs = res.oneUnder(costGuard, T.logGroup).state.arn as string;
    arn.extractorLogs = res.one(T.logGroup, "extractor-logs").state.arn as string;
    arn.artifacts = res.oneUnder(res.one(T.healthCanary), T.bucket).state.arn as string;
    arn.ingest = res.oneUnder(res.one(T.mediaBucket, "-ingest"), T.bucket).state.arn as string;
    arn.budgetTopic = res.oneUnder(costGuard, T.topic).state.arn as string;
    arn.alarmTopic = res.oneUnder(res.one(T.alarmTopic), T.topic).state.arn as string;
    killSwitch = policyOf(res.oneUnder(costGuard, T.rolePolicy));
    canaryRole = policyOf(res.oneUnder(res.one(T.healthCanary), T.rolePolicy));
    canaryName = res.one(T.canary).inputs.name as string;
  });

  const otherFunction = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:someone-elses`;
  const otherMapping = `arn:aws:lambda:${REGION}:${ACCOUNT}:event-source-mapping:00000000-0000-4000-a000-000000000000`;
  const stream = (logGroupArn: string) => `${logGroupArn}:log-stream:2026/01/01/[$LATEST]0123abcd`;

  describe("the kill switch", () => {
    // Every call handlers/kill-switch/lambda-control.ts makes (GetFunction needs ListTags to return tags).
    const functionCalls = [
      "lambda:GetFunction",
      "lambda:ListTags",
      "lambda:TagResource",
      "lambda:UntagResource",
      "lambda:PutFunctionConcurrency",
      "lambda:DeleteFunctionConcurrency",
    ];
    const mappingCalls = ["lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"];

    for (const action of functionCalls) {
      for (const target of ["extractor", "backfill", "api"]) {
        it(`may ${action} on the ${target} function`, async () => {
          expect(await decide({ identity: killSwitch, action, resource: arn[target] as string })).to.equal("Allowed");
        });
      }
      it(`may not ${action} on any other function (its own included)`, async () => {
        expect(await decide({ identity: killSwitch, action, resource: otherFunction })).to.equal("ImplicitlyDenied");
        expect(await decide({ identity: killSwitch, action, resource: arn.killSwitch as string })).to.equal(
          "ImplicitlyDenied",
        );
      });
    }
    for (const action of mappingCalls) {
      it(`may ${action} on the extractor's mapping only`, async () => {
        expect(await decide({ identity: killSwitch, action, resource: arn.mapping as string })).to.equal("Allowed");
        expect(await decide({ identity: killSwitch, action, resource: otherMapping })).to.equal("ImplicitlyDenied");
      });
    }

    const denied: [string, (a: Record<string, string>) => string, string][] = [
      ["lambda:InvokeFunction", (a) => a.extractor as string, "invoking the extractor"],
      ["lambda:InvokeFunction", (a) => a.api as string, "invoking the API"],
      ["lambda:DeleteFunction", (a) => a.extractor as string, "deleting a function"],
      ["lambda:UpdateFunctionCode", (a) => a.api as string, "changing code"],
      ["lambda:UpdateFunctionConfiguration", (a) => a.extractor as string, "changing configuration"],
      ["lambda:GetFunctionConfiguration", (a) => a.extractor as string, "a call it never makes"],
      ["lambda:GetFunctionConcurrency", (a) => a.extractor as string, "a call it never makes (GetFunction returns it)"],
      ["lambda:AddPermission", (a) => a.api as string, "opening a function to others"],
      ["lambda:DeleteEventSourceMapping", (a) => a.mapping as string, "deleting the mapping"],
      ["lambda:CreateEventSourceMapping", () => "*", "creating mappings"],
      ["logs:PutLogEvents", (a) => stream(a.extractorLogs as string), "the extractor's log group"],
      ["iam:PassRole", () => `arn:aws:iam::${ACCOUNT}:role/admin`, "passing roles"],
    ];
    for (const [action, resource, why] of denied) {
      it(`may not ${action}: ${why}`, async () => {
        expect(await decide({ identity: killSwitch, action, resource: resource(arn) })).to.equal("ImplicitlyDenied");
      });
    }

    it("may read its own budget (the scheduled check), and no other", async () => {
      expect(
        await decide({ identity: killSwitch, action: "budgets:ViewBudget", resource: arn.budget as string }),
      ).to.equal("Allowed");
      const other = `arn:aws:budgets::${ACCOUNT}:budget/someone-elses`;
      expect(await decide({ identity: killSwitch, action: "budgets:ViewBudget", resource: other })).to.equal(
        "ImplicitlyDenied",
      );
      expect(
        await decide({ identity: killSwitch, action: "budgets:ModifyBudget", resource: arn.budget as string }),
      ).to.equal("ImplicitlyDenied");
    });

    it("writes its own log group and traces", async () => {
      for (const action of ["logs:CreateLogStream", "logs:PutLogEvents"]) {
        expect(await decide({ identity: killSwitch, action, resource: stream(arn.killSwitchLogs as string) })).to.equal(
          "Allowed",
        );
      }
      expect(await decide({ identity: killSwitch, action: "xray:PutTraceSegments", resource: "*" })).to.equal(
        "Allowed",
      );
    });
  });

  describe("the topics' policies", () => {
    const publish = (topic: string, principal: string, context: Record<string, string>, action = "sns:Publish") =>
      decide({
        principal,
        action,
        resource: arn[topic] as string,
        resourcePolicy: policyOf(
          res.ofType(T.topicPolicy).find((p) => p.inputs.arn === arn[topic]) as Parameters<typeof policyOf>[0],
        ),
        context,
      });

    it("AWS Budgets of this account, and only Budgets, may publish to the budget topic", async () => {
      const budget = `arn:aws:budgets::${ACCOUNT}:budget/mp-iam-cost-guard-budget`;
      const ours = { "aws:SourceAccount": ACCOUNT, "aws:SourceArn": budget };
      expect(await publish("budgetTopic", "budgets.amazonaws.com", ours)).to.equal("Allowed");
      expect(
        await publish("budgetTopic", "budgets.amazonaws.com", {
          "aws:SourceAccount": OTHER_ACCOUNT,
          "aws:SourceArn": `arn:aws:budgets::${OTHER_ACCOUNT}:budget/theirs`,
        }),
      ).to.equal("ImplicitlyDenied");
      expect(await publish("budgetTopic", "budgets.amazonaws.com", ours, "sns:Subscribe")).to.equal("ImplicitlyDenied");
      expect(
        await publish("budgetTopic", "cloudwatch.amazonaws.com", {
          "aws:SourceAccount": ACCOUNT,
          "aws:SourceArn": `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:x`,
        }),
      ).to.equal("ImplicitlyDenied");
    });

    it("CloudWatch alarms of this account and region, and only those, may publish to the alarm topic", async () => {
      const alarm = (account: string, region = REGION) => ({
        "aws:SourceAccount": account,
        "aws:SourceArn": `arn:aws:cloudwatch:${region}:${account}:alarm:mp-iam-extractor-alarms-errors-1234567`,
      });
      expect(await publish("alarmTopic", "cloudwatch.amazonaws.com", alarm(ACCOUNT))).to.equal("Allowed");
      expect(await publish("alarmTopic", "cloudwatch.amazonaws.com", alarm(OTHER_ACCOUNT))).to.equal(
        "ImplicitlyDenied",
      );
      expect(await publish("alarmTopic", "cloudwatch.amazonaws.com", alarm(ACCOUNT, "eu-west-1"))).to.equal(
        "ImplicitlyDenied",
      );
      expect(
        await publish("alarmTopic", "budgets.amazonaws.com", {
          "aws:SourceAccount": ACCOUNT,
          "aws:SourceArn": `arn:aws:budgets::${ACCOUNT}:budget/x`,
        }),
      ).to.equal("ImplicitlyDenied");
    });
  });

  describe("the health canary", () => {
    const canaryLogs = () =>
      `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/cwsyn-${canaryName}-0123abcd-0000-4000-a000-000000000000`;

    it("may write its artifacts under canary/, its own logs and CloudWatchSynthetics metrics", async () => {
      const allowed: [string, string, Record<string, string>?][] = [
        ["s3:PutObject", `${arn.artifacts}/canary/us-east-1/${canaryName}/2026/01/01/00/00-00-000/report.json`],
        ["s3:GetObject", `${arn.artifacts}/canary/us-east-1/${canaryName}/x.json`],
        ["s3:GetBucketLocation", arn.artifacts as string],
        ["s3:ListAllMyBuckets", "*"],
        ["logs:CreateLogStream", stream(canaryLogs())],
        ["logs:PutLogEvents", stream(canaryLogs())],
        ["cloudwatch:PutMetricData", "*", { "cloudwatch:namespace": "CloudWatchSynthetics" }],
      ];
      for (const [action, resource, context] of allowed) {
        expect(await decide({ identity: canaryRole, action, resource, context }), `${action} ${resource}`).to.equal(
          "Allowed",
        );
      }
    });

    it("may not write elsewhere, create log groups, or publish other metrics", async () => {
      const denied: [string, string, Record<string, string>?][] = [
        ["s3:PutObject", `${arn.artifacts}/elsewhere/x.json`],
        ["s3:PutObject", `${arn.ingest}/uploads/x.mp4`],
        ["s3:DeleteObject", `${arn.artifacts}/canary/x.json`],
        ["s3:GetBucketLocation", arn.ingest as string],
        // Its log group is declared by the stack (with retention); the role cannot make another.
        ["logs:CreateLogGroup", canaryLogs()],
        [
          "logs:PutLogEvents",
          stream(`arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/cwsyn-other-canary-1234`),
        ],
        ["logs:PutLogEvents", stream(arn.extractorLogs as string)],
        ["cloudwatch:PutMetricData", "*", { "cloudwatch:namespace": "MediaPipeline" }],
        ["lambda:InvokeFunction", arn.api as string],
      ];
      for (const [action, resource, context] of denied) {
        expect(await decide({ identity: canaryRole, action, resource, context }), `${action} ${resource}`).to.equal(
          "ImplicitlyDenied",
        );
      }
    });
  });
});
