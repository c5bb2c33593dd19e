/**
 * The lab's S3 (lab/s3.ts, with its store patches) alone in a temp folder, announcing nothing,
 * with a client and the given buckets: for tests of the S3 stand-in itself.
 */
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { makeLabS3Client } from "../../lab/clients";
import { type LabS3, startLabS3 } from "../../lab/s3";
import { SequencerClock } from "../../lab/sequencer";

export interface TempLabS3 {
  /** The temp folder; the S3 folder is `<root>/s3`. */
  root: string;
  server: LabS3;
  s3: S3Client;
  stop(): Promise<void>;
}

export async function startTempLabS3(prefix: string, buckets: string[]): Promise<TempLabS3> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  const server = await startLabS3({
    directory: path.join(root, "s3"),
    host: "127.0.0.1",
    port: 0,
    notifications: {
      buckets: [],
      sequencer: SequencerClock.open(path.join(root, "seq.json")),
      deliver: async () => {},
    },
  });
  const s3 = makeLabS3Client(server.endpoint);
  for (const bucket of buckets) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    root,
    server,
    s3,
    async stop() {
      s3.destroy();
      await server.close();
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}
