/**
 * Keeps s3rver's bucket-level state in memory. s3rver's middleware reads the bucket's CORS and
 * website configuration files and stats the bucket's folder on every request (cors.js,
 * website.js, bucketExists): three file-system calls before any object is served, about a
 * tenth of the lab's CPU under load. The lab's s3rver is the only writer of its folder, and
 * every change of that state goes through the store's own methods, which drop what is kept.
 * Object data and metadata are not kept: they are read from disk per request, as before.
 */

/** The store members this wraps (s3rver's FilesystemStore). */
export interface BucketStateStore {
  getBucket(bucket: string): Promise<unknown>;
  putBucket(bucket: string): Promise<unknown>;
  deleteBucket(bucket: string): Promise<unknown>;
  getSubresource(bucket: string, key: string | undefined, resourceType: string): Promise<unknown>;
  putSubresource(bucket: string, key: string | undefined, resource: { type: string }): Promise<unknown>;
  deleteSubresource(bucket: string, key: string | undefined, resourceType: string): Promise<unknown>;
}

/**
 * Reads kept until the next change. Changes of bucket state are rare (provisioning, tests), so
 * a change forgets everything, before and after it runs; a read that started before a change
 * is not kept (the generation moved on), so a slow read of the old file never outlives it.
 */
class ReadCache {
  private readonly values = new Map<string, unknown>();
  private generation = 0;

  async get(id: string, read: () => Promise<unknown>): Promise<unknown> {
    if (this.values.has(id)) return this.values.get(id);
    const generation = this.generation;
    const value = await read();
    if (this.generation === generation) this.values.set(id, value);
    return value;
  }

  async change<T>(change: () => Promise<T>): Promise<T> {
    this.forget();
    try {
      return await change();
    } finally {
      this.forget();
    }
  }

  private forget(): void {
    this.values.clear();
    this.generation += 1;
  }
}

/**
 * Patches `store` in place: getBucket and bucket-level getSubresource answer from memory after
 * their first read. Object-level subresources (a key given) are passed through untouched.
 */
export function cacheBucketState(store: BucketStateStore): void {
  const cache = new ReadCache();
  const original = {
    getBucket: store.getBucket.bind(store),
    putBucket: store.putBucket.bind(store),
    deleteBucket: store.deleteBucket.bind(store),
    getSubresource: store.getSubresource.bind(store),
    putSubresource: store.putSubresource.bind(store),
    deleteSubresource: store.deleteSubresource.bind(store),
  };
  const bucketLevel = (key: string | undefined) => key === undefined || key === "";
  // JSON ids: no bucket name or type can make two ids equal.
  store.getBucket = (bucket) => cache.get(JSON.stringify(["bucket", bucket]), () => original.getBucket(bucket));
  store.putBucket = (bucket) => cache.change(() => original.putBucket(bucket));
  store.deleteBucket = (bucket) => cache.change(() => original.deleteBucket(bucket));
  store.getSubresource = (bucket, key, type) =>
    bucketLevel(key)
      ? cache.get(JSON.stringify(["config", bucket, type]), () => original.getSubresource(bucket, key, type))
      : original.getSubresource(bucket, key, type);
  store.putSubresource = (bucket, key, resource) =>
    bucketLevel(key)
      ? cache.change(() => original.putSubresource(bucket, key, resource))
      : original.putSubresource(bucket, key, resource);
  store.deleteSubresource = (bucket, key, type) =>
    bucketLevel(key)
      ? cache.change(() => original.deleteSubresource(bucket, key, type))
      : original.deleteSubresource(bucket, key, type);
}
