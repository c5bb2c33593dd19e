/**
 * One cold start, in a fresh node process started by bench/cold-start.ts. Bundled with
 * esbuild into plain JavaScript first (no tsx in the measured process), then run as
 *
 *   node cold-start-child.js <bundle index.js> '<event json>'
 *
 * It times what a Lambda cold start pays for our code: require() of the bundle, the time
 * until its handler is ready (the module's `ready()` when it has one: the extractor's and
 * the backfill's ffprobe check and clients), and the first invocation; and the bytes the
 * function wrote to stdout (its logs and EMF metrics: what CloudWatch Logs would ingest).
 * Prints one JSON line last.
 */
const ms = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e6;

/** Counts what the function writes to stdout (Powertools writes its JSON lines there). */
let logBytes = 0;
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  logBytes += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
  return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stdout.write;

async function main(): Promise<void> {
  const [bundle, eventJson] = process.argv.slice(2);
  const event = JSON.parse(eventJson);
  const start = process.hrtime.bigint();
  const mod = require(bundle) as { handler(e: unknown): Promise<unknown>; ready?: () => Promise<unknown> };
  const requireMs = ms(start);
  if (typeof mod.ready === "function") await mod.ready();
  const readyMs = ms(start);
  const invoked = process.hrtime.bigint();
  const result = await mod.handler(event);
  const firstInvokeMs = ms(invoked);
  const logged = logBytes;
  write(`\n${JSON.stringify({ requireMs, readyMs, firstInvokeMs, logBytes: logged, result })}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`cold-start child: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
