/**
 * Lambda code archives: the esbuild bundles of build/bundles.ts, built ahead of time
 * (no closure serialization). The archive holds index.js only: the source map stays in dist/
 * for offline symbolication, out of the function (a multi-megabyte map is read by
 * `--enable-source-maps` at every cold start, which is why no function sets that flag).
 * The bundles are plain JavaScript, so Pulumi's zipping (which drops file modes) is harmless.
 */
import * as pulumi from "@pulumi/pulumi";
import { type BundleName, buildBundleSync } from "./bundles";

/** Builds one handler's bundle and returns it as a code archive; the error names the handler. */
export function bundleArchive(name: BundleName): pulumi.asset.Archive {
  try {
    const bundle = buildBundleSync(name);
    return new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.FileAsset(bundle.outfile) });
  } catch (err) {
    throw new Error(`bundling the ${name} handler (build/bundles.ts) failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
