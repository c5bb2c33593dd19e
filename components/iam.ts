/**
 * IAM policy documents, built as JSON strings from typed statements. Role policies get a
 * string (not an object) so the mocked plan, the policy pack and the IAM simulator tests
 * all read exactly the document AWS would receive.
 */
import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export type PolicyStatement = aws.iam.PolicyStatement;

/** A policy document as a JSON string; Outputs inside statements are resolved first. */
export function policyDocument(statements: pulumi.Input<PolicyStatement>[]): pulumi.Output<string> {
  return pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements });
}

/** Trust policy letting one AWS service assume a role, e.g. "lambda.amazonaws.com". */
export function serviceTrustPolicy(service: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
  });
}

/** Denies every request to the given resources that does not arrive over TLS. */
export function denyInsecureTransport(resources: pulumi.Input<string>[], actions: string): PolicyStatement {
  return {
    Sid: "DenyInsecureTransport",
    Effect: "Deny",
    Principal: "*",
    Action: actions,
    Resource: resources,
    Condition: { Bool: { "aws:SecureTransport": "false" } },
  };
}

/**
 * The statement every Lambda role here carries: write its own log group (which the
 * component creates, so no logs:CreateLogGroup) and send X-Ray segments (these two X-Ray
 * actions have no resource-level permissions, hence "*").
 */
export function lambdaRuntimeStatements(logGroupArn: pulumi.Input<string>): PolicyStatement[] {
  return [
    {
      Sid: "WriteOwnLogGroup",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: pulumi.interpolate`${logGroupArn}:*`,
    },
    {
      Sid: "SendTraces",
      Effect: "Allow",
      Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
      Resource: "*",
    },
  ];
}

export interface ArnParts {
  partition: string;
  service: string;
  region: string;
  account: string;
  resource: string;
}

/** The fields of an ARN ("arn:aws:sns:us-east-1:123456789012:name"); throws on anything else. */
export function parseArn(arn: string): ArnParts {
  const m = /^arn:([^:]+):([^:]+):([^:]*):([^:]*):(.+)$/.exec(arn);
  if (!m) throw new Error(`not an ARN: ${arn}`);
  const [, partition, service, region, account, resource] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return { partition, service, region, account, resource };
}

/**
 * Resource-policy statement letting an AWS service publish to an SNS topic on behalf of this
 * account only (confused-deputy guard): aws:SourceAccount is the topic's account, and
 * aws:SourceArn matches `sourceArnPattern` (e.g. "arn:aws:cloudwatch:<region>:<account>:alarm:*").
 */
export function allowServicePublish(
  sid: string,
  service: string,
  topicArn: pulumi.Input<string>,
  sourceArnPattern: (topic: ArnParts) => string,
): pulumi.Output<PolicyStatement> {
  return pulumi.output(topicArn).apply((arn) => {
    const topic = parseArn(arn);
    return {
      Sid: sid,
      Effect: "Allow",
      Principal: { Service: service },
      Action: "sns:Publish",
      Resource: arn,
      Condition: {
        StringEquals: { "aws:SourceAccount": topic.account },
        ArnLike: { "aws:SourceArn": sourceArnPattern(topic) },
      },
    } satisfies PolicyStatement;
  });
}
