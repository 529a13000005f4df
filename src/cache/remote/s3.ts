import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { COMPLETE, MANIFEST } from '../store.js';
import type { RemoteCache } from './remote.js';

// An S3-compatible bucket: `<prefix>/<key>/<file>` objects. S3 has no rename, so the
// order is the protocol: the entry's files, then manifest.json, then the COMPLETE
// object; `has` and `keys` look for COMPLETE only, so a partial upload is no entry.
// Endpoint, region and credentials come from the AWS SDK's usual sources
// (AWS_ENDPOINT_URL[_S3], AWS_REGION, AWS_ACCESS_KEY_ID, profiles, instance roles).
const PART_BYTES = 16 * 2 ** 20;

export class S3Remote implements RemoteCache {
  private readonly client: S3Client;

  constructor(
    readonly bucket: string,
    readonly prefix: string,
  ) {
    // The SDK warns on every run about node versions its *future* releases will need;
    // paramflow supports node 20, so the warning is noise in a run's output.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    this.client = new S3Client({
      region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      // Self-hosted S3 (MinIO, Ceph, s3rver) is addressed by path, not by bucket subdomain.
      forcePathStyle: Boolean(endpoint) || process.env.AWS_S3_FORCE_PATH_STYLE === 'true',
    });
  }

  get where(): string {
    return `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
  }

  private object(key: string, file: string): string {
    return `${this.prefix ? `${this.prefix}/` : ''}${key}/${file}`;
  }

  async has(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.object(key, COMPLETE) }));
      return true;
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
      throw err;
    }
  }

  async keys(): Promise<string[]> {
    const out: string[] = [];
    const base = this.prefix ? `${this.prefix}/` : '';
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        const m = /^([0-9a-f]{64})\/COMPLETE$/.exec((o.Key ?? '').slice(base.length));
        if (m) out.push(m[1]!);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort();
  }

  async read(key: string, file: string): Promise<AsyncIterable<Uint8Array>> {
    const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.object(key, file) }));
    // In Node the body is a Readable: read as it arrives, never whole.
    return r.Body as unknown as AsyncIterable<Uint8Array>;
  }

  async write(key: string, dir: string, files: readonly string[]): Promise<void> {
    for (const f of [...files, MANIFEST, COMPLETE]) {
      // lib-storage's Upload streams the file in parts (multipart above its part size, so an
      // array past S3's 5 GB single-PUT limit goes too), a few parts in memory at a time.
      await new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key: this.object(key, f), Body: createReadStream(join(dir, f)) },
        partSize: PART_BYTES,
        queueSize: 2,
      }).done();
    }
  }
}
