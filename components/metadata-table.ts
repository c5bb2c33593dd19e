/**
 * MetadataTable: the DynamoDB table of metadata documents, shaped by lib/schema.ts
 * (partition key, the sparse newest-first index, the TTL attribute are named there only).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { checkListShards, LIST_SHARDS } from "../lib/list-index";
import { METADATA_TABLE, tableAttributeDefinitions } from "../lib/schema";
import { stateProtection } from "./refs";

export interface MetadataTableArgs {
  /** Continuous backups with 35 days of point-in-time restore. On in production. */
  pointInTimeRecovery: boolean;
  /** Refuse DeleteTable (also from `pulumi destroy`) until this is switched off. On in production. */
  deletionProtection: boolean;
  /**
   * Pulumi refuses to delete or replace the table (`protect`; a ForceNew change would
   * otherwise create an empty table) and leaves it in the account if it is ever removed from
   * the program (`retainOnDelete`). On in production. Default false.
   */
  protect?: boolean;
  /** Partition values of the list index (lib/list-index.ts); default LIST_SHARDS.default. */
  listShards?: number;
}

export class MetadataTable extends pulumi.ComponentResource {
  public readonly table: aws.dynamodb.Table;
  public readonly tableName: pulumi.Output<string>;
  public readonly arn: pulumi.Output<string>;
  /** Name of the index listing live documents newest first (Query, never Scan). */
  public readonly listIndexName: string = METADATA_TABLE.listIndex.name;
  /** ARN of that index, for IAM statements that allow Query on it only. */
  public readonly listIndexArn: pulumi.Output<string>;
  /** Partition values the list index spreads documents over (every function gets it as LIST_SHARDS). */
  public readonly listShards: number;
  /** The table's stream (new and old images), read by the stats aggregator (MetadataStats). */
  public readonly streamArn: pulumi.Output<string>;

  constructor(name: string, args: MetadataTableArgs, opts?: pulumi.ComponentResourceOptions) {
    super("media-pipeline:storage:MetadataTable", name, {}, opts);
    const { partitionKey, listIndex, ttlAttribute } = METADATA_TABLE;
    this.listShards = checkListShards(args.listShards ?? LIST_SHARDS.default, `${name}: listShards`);

    this.table = new aws.dynamodb.Table(
      name,
      {
        // On demand: no capacity to plan, nothing billed for throughput while idle.
        billingMode: "PAY_PER_REQUEST",
        hashKey: partitionKey.name,
        attributes: tableAttributeDefinitions(),
        globalSecondaryIndexes: [
          {
            name: listIndex.name,
            keySchemas: [
              { attributeName: listIndex.partitionKey.name, keyType: "HASH" },
              { attributeName: listIndex.sortKey.name, keyType: "RANGE" },
            ],
            projectionType: listIndex.projection,
          },
        ],
        // Tombstones of removed objects expire through TTL.
        ttl: { attributeName: ttlAttribute, enabled: true },
        pointInTimeRecovery: { enabled: args.pointInTimeRecovery },
        deletionProtectionEnabled: args.deletionProtection,
        // `enabled: true` without a key ARN = the AWS managed key aws/dynamodb: encryption at
        // rest that shows up as KMS in the console and audits, with no grants for callers to hold.
        serverSideEncryption: { enabled: true },
        // Every change, with both images, for the stats aggregator (components/metadata-stats.ts).
        streamEnabled: true,
        streamViewType: "NEW_AND_OLD_IMAGES",
      },
      { parent: this, ...stateProtection(args.protect) },
    );
    this.tableName = this.table.name;
    this.arn = this.table.arn;
    this.listIndexArn = pulumi.interpolate`${this.table.arn}/index/${listIndex.name}`;
    this.streamArn = this.table.streamArn;

    this.registerOutputs({ tableName: this.tableName, arn: this.arn, listIndexArn: this.listIndexArn });
  }
}
