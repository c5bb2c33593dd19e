/**
 * dynalite's table descriptions kept in memory (lab/dynalite-table-cache.ts) are never
 * stale: a table updated, deleted or created again with another key is seen as it now is
 * by the very next request. Through a real DynamoDB client against the lab's dynalite.
 */
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  ListTagsOfResourceCommand,
  PutItemCommand,
  TagResourceCommand,
  UpdateTableCommand,
} from "@aws-sdk/client-dynamodb";
import { expect } from "chai";
import { makeLabDynamoClient } from "../../lab/clients";
import { type LabDynamo, startLabDynamo } from "../../lab/dynamodb";

describe("lab DynamoDB table descriptions kept in memory", function () {
  this.timeout(60_000);
  let dynamo: LabDynamo;
  let client: DynamoDBClient;

  before(async () => {
    dynamo = await startLabDynamo({ host: "127.0.0.1", port: 0 });
    client = makeLabDynamoClient(dynamo.endpoint);
  });
  after(async () => {
    client?.destroy();
    await dynamo?.close();
  });

  const create = (name: string, key: string) =>
    client.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: [{ AttributeName: key, AttributeType: "S" }],
        KeySchema: [{ AttributeName: key, KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );

  it("sees an update, tags, a deletion and a re-creation with another key at the next request", async () => {
    await create("kept", "pk");
    await client.send(new PutItemCommand({ TableName: "kept", Item: { pk: { S: "a" } } }));
    const before = await client.send(new DescribeTableCommand({ TableName: "kept" }));
    expect(before.Table?.BillingModeSummary?.BillingMode).to.equal("PAY_PER_REQUEST");

    await client.send(
      new UpdateTableCommand({
        TableName: "kept",
        BillingMode: "PROVISIONED",
        ProvisionedThroughput: { ReadCapacityUnits: 3, WriteCapacityUnits: 4 },
      }),
    );
    const updated = await client.send(new DescribeTableCommand({ TableName: "kept" }));
    expect(updated.Table?.ProvisionedThroughput?.WriteCapacityUnits).to.equal(4);

    const arn = updated.Table?.TableArn as string;
    await client.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: "team", Value: "media" }] }));
    const tags = await client.send(new ListTagsOfResourceCommand({ ResourceArn: arn }));
    expect(tags.Tags).to.deep.include({ Key: "team", Value: "media" });

    await client.send(new DeleteTableCommand({ TableName: "kept" }));
    const gone = await client.send(new GetItemCommand({ TableName: "kept", Key: { pk: { S: "a" } } })).catch((e) => e);
    expect(gone.name).to.equal("ResourceNotFoundException");

    await create("kept", "id");
    const wrongKey = await client
      .send(new PutItemCommand({ TableName: "kept", Item: { pk: { S: "a" } } }))
      .catch((e) => e);
    expect(wrongKey.name).to.equal("ValidationException");
    await client.send(new PutItemCommand({ TableName: "kept", Item: { id: { S: "a" } } }));
  });
});
