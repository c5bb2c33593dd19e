/**
 * The Pulumi type tokens of the AWS resources the project creates, judges or prints, written once.
 * The policy pack (policies/), the offline plan (tools/plan) and the tests import them from here.
 *
 * A token is `<package>:<module>/<file>:<Class>`, the `__pulumiType` of the resource class in
 * @pulumi/aws (e.g. node_modules/@pulumi/aws/s3/bucket.js); tests/unit/aws-types.test.ts checks
 * that the installed @pulumi/aws defines every one.
 */
export const AWS_TYPES = {
  /** The AWS provider resource (explicit, or the default one the engine creates). */
  provider: "pulumi:providers:aws",

  // S3
  bucket: "aws:s3/bucket:Bucket",
  bucketV2: "aws:s3/bucketV2:BucketV2",
  publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  encryptionV2: "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  versioningV2: "aws:s3/bucketVersioningV2:BucketVersioningV2",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  lifecycleV2: "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  cors: "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration",
  corsV2: "aws:s3/bucketCorsConfigurationV2:BucketCorsConfigurationV2",
  notification: "aws:s3/bucketNotification:BucketNotification",
  object: "aws:s3/bucketObjectv2:BucketObjectv2",
  objectV1: "aws:s3/bucketObject:BucketObject",
  objectLock: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
  objectLockV2: "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
  bucketLogging: "aws:s3/bucketLogging:BucketLogging",
  bucketLoggingV2: "aws:s3/bucketLoggingV2:BucketLoggingV2",
  replication: "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
  inventory: "aws:s3/inventory:Inventory",
  analytics: "aws:s3/analyticsConfiguration:AnalyticsConfiguration",

  // SQS, DynamoDB, SSM
  queue: "aws:sqs/queue:Queue",
  queuePolicy: "aws:sqs/queuePolicy:QueuePolicy",
  table: "aws:dynamodb/table:Table",
  ssmParameter: "aws:ssm/parameter:Parameter",

  // Lambda
  layer: "aws:lambda/layerVersion:LayerVersion",
  function: "aws:lambda/function:Function",
  eventSourceMapping: "aws:lambda/eventSourceMapping:EventSourceMapping",
  permission: "aws:lambda/permission:Permission",
  functionUrl: "aws:lambda/functionUrl:FunctionUrl",
  invocation: "aws:lambda/invocation:Invocation",

  // CloudWatch, EventBridge, Synthetics
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  metricAlarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  metricFilter: "aws:cloudwatch/logMetricFilter:LogMetricFilter",
  cloudwatchDashboard: "aws:cloudwatch/dashboard:Dashboard",
  eventRule: "aws:cloudwatch/eventRule:EventRule",
  logDeliveryDestination: "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination",
  canary: "aws:synthetics/canary:Canary",

  // IAM
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  iamPolicy: "aws:iam/policy:Policy",
  userPolicy: "aws:iam/userPolicy:UserPolicy",
  groupPolicy: "aws:iam/groupPolicy:GroupPolicy",

  // API Gateway (HTTP/WebSocket v2, REST v1)
  httpApi: "aws:apigatewayv2/api:Api",
  stage: "aws:apigatewayv2/stage:Stage",
  route: "aws:apigatewayv2/route:Route",
  authorizer: "aws:apigatewayv2/authorizer:Authorizer",
  integration: "aws:apigatewayv2/integration:Integration",
  restApi: "aws:apigateway/restApi:RestApi",
  restApiPut: "aws:apigateway/restApiPut:RestApiPut",
  restMethod: "aws:apigateway/method:Method",
  restResource: "aws:apigateway/resource:Resource",
  restIntegration: "aws:apigateway/integration:Integration",

  // Cognito
  userPool: "aws:cognito/userPool:UserPool",
  userPoolClient: "aws:cognito/userPoolClient:UserPoolClient",
  userPoolDomain: "aws:cognito/userPoolDomain:UserPoolDomain",
  resourceServer: "aws:cognito/resourceServer:ResourceServer",

  // CloudFront
  distribution: "aws:cloudfront/distribution:Distribution",
  originAccessControl: "aws:cloudfront/originAccessControl:OriginAccessControl",
  responseHeadersPolicy: "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",

  // Budgets, SNS, Step Functions
  budget: "aws:budgets/budget:Budget",
  topic: "aws:sns/topic:Topic",
  topicPolicy: "aws:sns/topicPolicy:TopicPolicy",
  topicSubscription: "aws:sns/topicSubscription:TopicSubscription",
  stateMachine: "aws:sfn/stateMachine:StateMachine",

  // Services that deliver objects into a bucket (s3-secure's writers)
  trail: "aws:cloudtrail/trail:Trail",
  loadBalancer: "aws:lb/loadBalancer:LoadBalancer",
  firehose: "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream",

  // Templates and generic resources (no-escape-hatches)
  cloudFormationStack: "aws:cloudformation/stack:Stack",
  cloudFormationStackSet: "aws:cloudformation/stackSet:StackSet",
  cloudFormationStackSetInstance: "aws:cloudformation/stackSetInstance:StackSetInstance",
  cloudFormationStackInstances: "aws:cloudformation/stackInstances:StackInstances",
  cloudFormationType: "aws:cloudformation/cloudFormationType:CloudFormationType",
  serverlessRepoStack: "aws:serverlessrepository/cloudFormationStack:CloudFormationStack",
  provisionedProduct: "aws:servicecatalog/provisionedProduct:ProvisionedProduct",
  cloudControlResource: "aws:cloudcontrol/resource:Resource",
} as const;

export type AwsType = (typeof AWS_TYPES)[keyof typeof AWS_TYPES];

/** S3 buckets, current and the v6 BucketV2 (still in @pulumi/aws 7, deprecated). */
export const S3_BUCKET_TYPES = [AWS_TYPES.bucket, AWS_TYPES.bucketV2] as const;

/** Objects a stack deploys into a bucket (e.g. the dashboard's files). */
export const S3_OBJECT_TYPES = [AWS_TYPES.object, AWS_TYPES.objectV1] as const;
