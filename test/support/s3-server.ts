import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

// The package ships no types; this is the part of its API used here.
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverClass = new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  vhostBuckets: boolean;
  configureBuckets: { name: string }[];
}) => S3rverInstance;

export interface S3TestServer {
  endpoint: string;
  bucket: string;
  region: string;
  /** s3rver's one built-in key pair; it checks SigV4 signatures against it. */
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

/**
 * An S3-compatible server (s3rver, the maintained @20minutes fork) on an ephemeral loopback
 * port, its objects in a temporary directory that stop() removes, with one empty bucket.
 * Path-style requests only (vhostBuckets off): that is how the adapter is configured for
 * S3-compatible services.
 */
export async function startS3Server(bucket = 'junggo-test'): Promise<S3TestServer> {
  // Through a variable so TypeScript does not look for the declarations the package lacks.
  const moduleName = '@20minutes/s3rver';
  const { default: S3rver } = (await import(moduleName)) as { default: S3rverClass };
  const directory = await mkdtemp(path.join(tmpdir(), 'junggo-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, vhostBuckets: false, configureBuckets: [{ name: bucket }] });
  try {
    const { port } = await server.run();
    return {
      endpoint: `http://127.0.0.1:${port}`,
      bucket,
      region: 'us-east-1',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      async stop() {
        await server.close();
        await rm(directory, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(directory, { recursive: true, force: true });
    throw err;
  }
}
