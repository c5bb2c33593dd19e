/**
 * Soak phase 1: the lab starts. A CPU hog if asked, the test media made and checked, the
 * DynamoDB and S3 fault proxies, and the lab child (lab-child.ts) with its extractor behind
 * them. Returns the run's shared state, which the later phases fill in.
 */
import * as net from "node:net";
import type { S3Client } from "@aws-sdk/client-s3";
import { resolveLocalFfprobe } from "../../handlers/extractor/ffprobe";
import { ProgressBar } from "../../lib/progress";
import { makeLabS3Client } from "../clients";
import type { LabEndpoints } from "../lab";
import { type CpuHog, startCpuHog } from "./cpu-hog";
import {
  emptyFaultCounts,
  type FaultCounts,
  type FaultProxy,
  injectsFaults,
  seededRandom,
  startDynamoFaultProxy,
  startS3FaultProxy,
} from "./fault-proxy";
import { LabChild } from "./lab-child";
import type { SoakLabStatus } from "./lab-process";
import { SoakMedia } from "./media";
import type { SoakOptions, SoakReport } from "./options";
import { plainHttpUploader, type Uploader } from "./uploader";

/** What a run holds open, for the clean-up when it stops on an error. */
export interface Held {
  lab?: LabChild;
  proxies: FaultProxy[];
  hog?: CpuHog;
}

/** What a writer last had acknowledged for a key it owns. */
export interface OwnedKey {
  etag?: string;
  deleted: boolean;
}

/** One soak run: what phase 1 set up, and the counters the writers, the killer and the drain share. */
export interface SoakRun {
  o: SoakOptions;
  dir: string;
  held: Held;
  started: number;
  s3Port: number;
  dynamodbPort: number;
  counts: FaultCounts;
  media: SoakMedia;
  lab: LabChild;
  endpoints: LabEndpoints;
  bucket: string;
  /** The verdict's S3 client (straight at the stand-in, no retries of its own). */
  s3: S3Client;
  /** The writers' PUTs and DELETEs (plain HTTP, as to a presigned URL; lab/soak/uploader.ts). */
  uploader: Uploader;
  uploads: SoakReport["uploads"];
  kills: number;
  killsMidBatch: number;
  /** PUTs handed out. */
  slots: number;
  /** The writers stop here; set when the uploads start. */
  deadline: number;
  /** When the uploads started. */
  uploadStarted: number;
  writersDone: boolean;
  owned: Map<string, OwnedKey>;
  lastStatus?: SoakLabStatus;
  bar?: ProgressBar;
  /** Redraws the progress bar (if any) with the phase and the counters. */
  draw(phase: string, force?: boolean): void;
}

/** A port nothing listens on now (the lab child binds it next). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startSoakLab(dir: string, o: SoakOptions, held: Held): Promise<SoakRun> {
  const started = Date.now();
  if (o.cpuHog > 0) held.hog = startCpuHog(o.cpuHog);
  const [s3Port, dynamodbPort] = [await freePort(), await freePort()];
  const counts = emptyFaultCounts();
  const faultRandom = seededRandom(o.seed * 7919 + 17);
  const proxies = held.proxies;
  const media = await SoakMedia.create({ maxWavSeconds: o.maxWavSeconds });
  await media.verify(await resolveLocalFfprobe(), seededRandom(o.seed + 1));

  const s3Endpoint = `http://127.0.0.1:${s3Port}`;
  const dynamodbEndpoint = `http://127.0.0.1:${dynamodbPort}`;
  const extractorAt = { s3: s3Endpoint, dynamodb: dynamodbEndpoint };
  if (injectsFaults(o.faults)) {
    const dynamoProxy = await startDynamoFaultProxy(dynamodbEndpoint, o.faults, counts, faultRandom);
    proxies.push(dynamoProxy);
    const s3Proxy = await startS3FaultProxy(s3Endpoint, o.faults, counts, faultRandom);
    proxies.push(s3Proxy);
    Object.assign(extractorAt, { s3: s3Proxy.url, dynamodb: dynamoProxy.url });
  }
  const lab = new LabChild({
    dir,
    s3Port,
    dynamodbPort,
    extractorS3: extractorAt.s3,
    extractorDynamodb: extractorAt.dynamodb,
    queue: o.queue,
  });
  held.lab = lab;
  const endpoints = await lab.start();
  const bucket = endpoints.ingestBucket;
  // The writers retry by themselves (and count it): a request to a killed lab fails fast.
  const s3: S3Client = makeLabS3Client(s3Endpoint, { maxAttempts: 1 });
  const uploader = plainHttpUploader(s3Endpoint, bucket);

  const run: SoakRun = {
    o,
    dir,
    held,
    started,
    s3Port,
    dynamodbPort,
    counts,
    media,
    lab,
    endpoints,
    bucket,
    s3,
    uploader,
    uploads: {
      puts: 0,
      newKeys: 0,
      overwrites: 0,
      duplicates: 0,
      recreated: 0,
      deletes: 0,
      hotPuts: 0,
      hotDeletes: 0,
      corrupt: 0,
      bytes: 0,
      writerRetries: 0,
      kinds: {},
    },
    kills: 0,
    slots: 0,
    killsMidBatch: 0,
    deadline: Number.POSITIVE_INFINITY,
    uploadStarted: Number.NaN,
    writersDone: false,
    owned: new Map(),
    bar: o.progress ? new ProgressBar("soak", o.progress) : undefined,
    draw: (phase, force = false) =>
      run.bar?.update(
        {
          done: run.uploads.puts,
          total: Math.min(o.files, Number.MAX_SAFE_INTEGER) >= Number.MAX_SAFE_INTEGER ? run.uploads.puts : o.files,
          detail: `${phase}; queue ${run.lastStatus ? run.lastStatus.visible + run.lastStatus.inFlight : "?"}; kills ${run.kills}; faults ddb ${counts.dynamoThrottles}+${counts.dynamo5xxBefore + counts.dynamo5xxAfter} s3 ${counts.s3Errors}+${counts.s3Stalls}+${counts.s3Resets}`,
        },
        force,
      ),
  };
  return run;
}
