import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { S3Config } from '@k2/storage';
import { AsxInputError } from './errors';
import { globBase, globToRegExp, hasGlob } from './glob';
import type { AsxFileKind } from './mappers';

/** Where to load from: a local file, directory or glob, or an S3 object, prefix or key glob. */
export type AsxInputSpec = { readonly kind: 'local'; readonly path: string } | { readonly kind: 's3'; readonly bucket: string; readonly key: string };

/** One input file, local or in S3, plain or gzip. */
export interface AsxSource {
  /** Absolute local path or s3://bucket/key. */
  readonly location: string;
  readonly kind: AsxFileKind;
  /**
   * The stable source-file identity that row ids are built from: `[<tag>/]<trades|quotes|reference-data>/<name>`
   * with a trailing .gz dropped. It does not depend on where the file is read from (local path, S3 key) nor on
   * compression, so the same file always yields the same ids (docs/adr/0006-asx-deterministic-ids.md).
   */
  readonly identity: string;
  /** Company id for trades/quotes files (their file name), else null. */
  readonly companyId: string | null;
  readonly gzip: boolean;
  /** Stored size in bytes (compressed size for .gz), for progress. */
  readonly size: number;
  /**
   * The uncompressed content from byte `offset` on. `onStoredBytes` is called with the stored (possibly
   * compressed) bytes as they are read, for a progress percentage over the stored sizes.
   */
  open(offset: number, onStoredBytes?: (n: number) => void): Readable;
}

const DATA_FILE = /\.csv(\.gz)?$/i;
const READ_CHUNK = 1024 * 1024;

/** What a file holds, from its name and its directory; null when neither tells. */
export function classify(dirName: string, fileName: string): { kind: AsxFileKind; companyId: string | null; dir: string } | null {
  const name = fileName.replace(/\.gz$/i, '').toLowerCase();
  const byName: Record<string, AsxFileKind> = {
    'company_info.csv': 'company_info',
    'dividends.csv': 'dividends',
    'stock_splits.csv': 'splits',
    'splits.csv': 'splits',
    'mergers.csv': 'mergers',
  };
  const ref = byName[name];
  if (ref) return { kind: ref, companyId: null, dir: 'reference-data' };
  const id = /^(\d+)\.csv$/.exec(name)?.[1];
  const dir = dirName.toLowerCase();
  if (id && (dir === 'trades' || dir === 'quotes')) return { kind: dir, companyId: id, dir };
  return null;
}

export function sourceIdentity(dir: string, fileName: string, tag?: string): string {
  const base = `${dir}/${fileName.replace(/\.gz$/i, '')}`;
  return tag ? `${tag.replace(/\/+$/, '')}/${base}` : base;
}

interface FoundFile {
  location: string;
  dirName: string;
  fileName: string;
  size: number;
  open: (offset: number, gzip: boolean, onStoredBytes?: (n: number) => void) => Readable;
}

export interface ResolveOptions {
  s3?: S3Config;
  /** Optional identity prefix for deliveries whose files share names (see AsxSource.identity). */
  sourceTag?: string;
  /** Injected for tests; built from `s3` otherwise. */
  s3Client?: S3Client;
}

/**
 * Lists the input files in load order: reference data first (instruments before the events that name them),
 * then trades, then quotes, each sorted by identity. A CSV whose kind cannot be told, or two files with the same
 * identity, stop the load before anything is produced: both would otherwise mean wrong or colliding ids.
 */
export async function resolveSources(spec: AsxInputSpec, opts: ResolveOptions = {}): Promise<AsxSource[]> {
  const found = spec.kind === 'local' ? await listLocal(spec.path) : await listS3(spec.bucket, spec.key, s3ClientFor(opts));
  return toSources(found, opts.sourceTag);
}

function toSources(found: FoundFile[], tag: string | undefined): AsxSource[] {
  const unknown: string[] = [];
  const sources: AsxSource[] = [];
  for (const f of found) {
    const c = classify(f.dirName, f.fileName);
    if (!c) {
      unknown.push(f.location);
      continue;
    }
    const gzip = /\.gz$/i.test(f.fileName);
    sources.push({
      location: f.location,
      kind: c.kind,
      identity: sourceIdentity(c.dir, f.fileName, tag),
      companyId: c.companyId,
      gzip,
      size: f.size,
      open: (offset, onStoredBytes) => f.open(offset, gzip, onStoredBytes),
    });
  }
  if (unknown.length) {
    throw new AsxInputError(
      `cannot tell what ${unknown.join(', ')} hold(s): trades and quotes files must be <company_id>.csv[.gz] inside a trades/ or quotes/ directory; reference data must be company_info.csv, dividends.csv, stock_splits.csv or mergers.csv`,
      { files: unknown },
    );
  }
  const byIdentity = new Map<string, string>();
  for (const s of sources) {
    const other = byIdentity.get(s.identity);
    if (other) {
      throw new AsxInputError(`${other} and ${s.location} have the same source identity ${s.identity}; their row ids would collide (load them separately or set a source tag)`, {
        identity: s.identity,
      });
    }
    byIdentity.set(s.identity, s.location);
  }
  const order: Record<AsxFileKind, number> = { company_info: 0, dividends: 1, splits: 2, mergers: 3, trades: 4, quotes: 5 };
  return sources.sort((a, b) => order[a.kind] - order[b.kind] || (a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0));
}

/** Counts stored bytes for progress and, for gzip, inflates; a resumed read skips `offset` uncompressed bytes. */
function decode(raw: Readable, offset: number, gzip: boolean, onStoredBytes?: (n: number) => void): Readable {
  const stages: NodeJS.ReadWriteStream[] = [];
  if (onStoredBytes) stages.push(new CountingStream(onStoredBytes));
  if (gzip) {
    stages.push(createGunzip({ chunkSize: 256 * 1024 }));
    if (offset > 0) stages.push(new SkipStream(offset));
  }
  if (stages.length === 0) return raw;
  return pipeline([raw, ...stages] as unknown as [Readable, ...NodeJS.ReadWriteStream[]], () => undefined) as unknown as Readable;
}

class CountingStream extends Transform {
  constructor(private readonly onBytes: (n: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.onBytes(chunk.length);
    cb(null, chunk);
  }
}

/** Drops the first `n` bytes: resuming inside a gzip file means inflating up to the checkpoint again. */
class SkipStream extends Transform {
  constructor(private left: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.left >= chunk.length) {
      this.left -= chunk.length;
      cb();
    } else {
      const rest = chunk.subarray(this.left);
      this.left = 0;
      cb(null, rest);
    }
  }
}

async function listLocal(input: string): Promise<FoundFile[]> {
  const files: string[] = [];
  if (!hasGlob(input)) {
    const st = await fsp.stat(input).catch((err: NodeJS.ErrnoException) => {
      throw new AsxInputError(`input ${input} cannot be read: ${err.code ?? err.message}`, { input }, err);
    });
    if (st.isDirectory()) files.push(...(await walk(input)).filter((f) => DATA_FILE.test(f)));
    else files.push(input);
  } else {
    const { base, pattern } = globBase(input.split(path.sep).join('/'));
    const re = globToRegExp(pattern);
    const root = base === '' ? '.' : base;
    for (const f of await walk(root).catch(() => [] as string[])) {
      if (re.test(path.relative(root, f).split(path.sep).join('/'))) files.push(f);
    }
  }
  if (files.length === 0) throw new AsxInputError(`input ${input} matches no files`, { input });
  return Promise.all(
    files.map(async (f) => {
      const abs = path.resolve(f);
      const st = await fsp.stat(abs);
      return {
        location: abs,
        dirName: path.basename(path.dirname(abs)),
        fileName: path.basename(abs),
        size: st.size,
        open: (offset: number, gzip: boolean, onStoredBytes?: (n: number) => void) =>
          decode(createReadStream(abs, { start: gzip ? 0 : offset, highWaterMark: READ_CHUNK }), offset, gzip, onStoredBytes),
      };
    }),
  );
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

export function s3ClientFor(opts: { s3?: S3Config; s3Client?: S3Client }): S3Client {
  if (opts.s3Client) return opts.s3Client;
  const c = opts.s3;
  return new S3Client({
    region: c?.region ?? 'us-east-1',
    endpoint: c?.endpoint,
    forcePathStyle: c?.forcePathStyle ?? false,
    credentials: c?.accessKeyId && c.secretAccessKey ? { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey } : undefined,
    // S3-compatible stores (MinIO, s3proxy) do not all implement the newer flexible checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

async function listS3(bucket: string, key: string, client: S3Client): Promise<FoundFile[]> {
  const objects: Array<{ key: string; size: number }> = [];
  const list = async (prefix: string, match: (k: string) => boolean) => {
    let token: string | undefined;
    do {
      const r = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of r.Contents ?? []) if (o.Key && match(o.Key)) objects.push({ key: o.Key, size: o.Size ?? 0 });
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  };
  try {
    if (hasGlob(key)) {
      const { base } = globBase(key);
      const re = globToRegExp(key);
      await list(base === '' ? '' : `${base}/`, (k) => re.test(k));
    } else if (key !== '' && !key.endsWith('/')) {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).catch((err: { name?: string; $metadata?: { httpStatusCode?: number } }) => {
        if (err.name === 'NotFound' || err.$metadata?.httpStatusCode === 404) return undefined;
        throw err;
      });
      if (head) objects.push({ key, size: head.ContentLength ?? 0 });
      else await list(`${key}/`, (k) => DATA_FILE.test(k));
    } else {
      await list(key, (k) => DATA_FILE.test(k));
    }
  } catch (err) {
    if (err instanceof AsxInputError) throw err;
    throw new AsxInputError(`cannot list s3://${bucket}/${key}: ${(err as Error).message}`, { bucket, key }, err);
  }
  if (objects.length === 0) throw new AsxInputError(`input s3://${bucket}/${key} matches no objects`, { bucket, key });
  return objects.map((o) => {
    const parts = o.key.split('/');
    return {
      location: `s3://${bucket}/${o.key}`,
      dirName: parts.length > 1 ? parts[parts.length - 2] : '',
      fileName: parts[parts.length - 1],
      size: o.size,
      open: (offset: number, gzip: boolean, onStoredBytes?: (n: number) => void) => {
        // Plain objects resume with a ranged GET; gzip has to be inflated from the start.
        const range = !gzip && offset > 0 ? `bytes=${offset}-` : undefined;
        const body = Readable.from(s3Body(client, bucket, o.key, range));
        return decode(body, offset, gzip, onStoredBytes);
      },
    };
  });
}

async function* s3Body(client: S3Client, bucket: string, key: string, range: string | undefined): AsyncGenerator<Buffer> {
  const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }));
  for await (const chunk of r.Body as AsyncIterable<Uint8Array>) yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
}

/** Where to look for company_info.csv when the input does not include it: ../reference-data/ of a data file. */
export async function findCompanyInfo(sources: readonly AsxSource[], spec: AsxInputSpec, opts: ResolveOptions = {}): Promise<AsxSource | undefined> {
  const listed = sources.find((s) => s.kind === 'company_info');
  if (listed) return listed;
  const dataDirs = [...new Set(sources.filter((s) => s.companyId !== null).map((s) => s.location.slice(0, s.location.lastIndexOf('/'))))];
  for (const dir of dataDirs) {
    const parent = dir.slice(0, dir.lastIndexOf('/'));
    for (const name of ['company_info.csv', 'company_info.csv.gz']) {
      const candidate = `${parent}/reference-data/${name}`;
      try {
        const one =
          spec.kind === 's3'
            ? await resolveSources({ kind: 's3', bucket: spec.bucket, key: candidate.slice(`s3://${spec.bucket}/`.length) }, opts)
            : await resolveSources({ kind: 'local', path: candidate }, opts);
        if (one[0]) return one[0];
      } catch (err) {
        if (!(err instanceof AsxInputError)) throw err;
      }
    }
  }
  return undefined;
}

/** Resolves an explicit company-info location (local path or s3://bucket/key). */
export async function companyInfoSource(location: string, opts: ResolveOptions = {}): Promise<AsxSource> {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  const found = m ? await resolveSources({ kind: 's3', bucket: m[1], key: m[2] }, opts) : await resolveSources({ kind: 'local', path: location }, opts);
  const src = found[0];
  if (!src || found.length !== 1 || src.kind !== 'company_info') {
    throw new AsxInputError(`company info ${location} must be a single company_info.csv[.gz] file`, { location });
  }
  return src;
}

/** Reads a whole (small) source into a string: company_info.csv. */
export async function readText(source: AsxSource): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of source.open(0) as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts).toString('utf8');
}

export const FINGERPRINT_BYTES = 64 * 1024;

/**
 * sha256 of the first 64 KiB of the uncompressed content: the same file read from another path, from S3 or
 * gzipped has the same fingerprint, and a replaced file almost surely does not. A checkpoint only applies to a
 * file with its fingerprint.
 */
export async function fingerprint(source: AsxSource): Promise<string> {
  const h = createHash('sha256');
  let left = FINGERPRINT_BYTES;
  const stream = source.open(0);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const take = chunk.subarray(0, left);
      h.update(take);
      left -= take.length;
      if (left <= 0) break;
    }
  } finally {
    stream.destroy();
  }
  return `sha256:${h.digest('hex')}`;
}
