import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, FatalError } from '@k2/core';
import type { FileInfo, FileIO } from './file-io';
import { schemeOf, type FileScheme } from './resolving-file-io';

/**
 * Keeps file access inside the roots a table may use (issue 18). Table metadata and manifests are data, not
 * configuration: a table whose manifest names `file:///etc/passwd`, or whose location is a bucket root, must not make
 * a reader open local files or maintenance delete another tool's objects.
 */

/** A location reduced for prefix checks: the scheme family and the path (`bucket/key` for S3) without a trailing `/`. */
export interface NormalizedLocation {
  scheme: FileScheme;
  path: string;
}

function refused(uri: string, why: string): FatalError {
  return new FatalError(ErrorCode.STORAGE_REJECTED, `refused ${uri}: ${why}`, { context: { uri } });
}

/** Normalizes `uri`; refuses `.`/`..` segments (a key that climbs out of its prefix on a filesystem-backed store). */
export function normalizeLocation(uri: string): NormalizedLocation {
  const scheme = schemeOf(uri);
  let p: string;
  if (scheme === 'file') {
    try {
      p = uri.startsWith('/') ? uri : fileURLToPath(uri.replace(/^file:/i, 'file:'));
    } catch {
      throw refused(uri, 'not a valid file URI');
    }
  } else {
    p = uri.replace(/^[A-Za-z0-9+.-]+:\/\//, '');
  }
  const segments = p.split('/');
  if (segments.some((s) => s === '.' || s === '..')) throw refused(uri, 'path has "." or ".." segments');
  p = p.replace(/\/+$/, '');
  return { scheme, path: scheme === 'file' ? path.posix.normalize(p || '/') : p };
}

/** True when `uri` is `root` itself or below it (same scheme family; a whole path segment must match). */
export function isWithin(uri: string, root: string): boolean {
  return within(normalizeLocation(uri), normalizeLocation(root));
}

function within(u: NormalizedLocation, r: NormalizedLocation): boolean {
  if (u.scheme !== r.scheme) return false;
  if (r.path === '/' || r.path === '') return u.scheme === 'file';
  return u.path === r.path || u.path.startsWith(`${r.path}/`);
}

/** True when `uri` is strictly below `root`. */
export function isStrictlyWithin(uri: string, root: string): boolean {
  return isWithin(uri, root) && normalizeLocation(uri).path !== normalizeLocation(root).path;
}

/** A filesystem root or an S3 bucket root: never a table's own location. */
export function isStoreRoot(uri: string): boolean {
  const { scheme, path: p } = normalizeLocation(uri);
  return scheme === 'file' ? p === '/' : !p.includes('/');
}

/**
 * A FileIO that serves only URIs within `roots` and refuses everything else with a non-retriable
 * `K2_STORAGE_REJECTED` naming the URI and the roots.
 */
export class ConfinedFileIO implements FileIO {
  private readonly normalized: NormalizedLocation[];

  constructor(
    private readonly inner: FileIO,
    readonly roots: readonly string[],
  ) {
    this.normalized = roots.map(normalizeLocation);
  }

  /** Returns `uri` when it is within one of the roots; throws otherwise. */
  check(uri: string): string {
    const u = normalizeLocation(uri);
    if (!this.normalized.some((r) => within(u, r))) throw refused(uri, `outside the table's allowed locations (${this.roots.join(', ')})`);
    return uri;
  }

  write(uri: string, data: Buffer): Promise<void> {
    return this.inner.write(this.check(uri), data);
  }

  writeFromLocal(uri: string, localPath: string): Promise<void> {
    return this.inner.writeFromLocal(this.check(uri), localPath);
  }

  async read(uri: string): Promise<Buffer> {
    return this.inner.read(this.check(uri));
  }

  async localPath(uri: string): Promise<string> {
    return this.inner.localPath(this.check(uri));
  }

  async exists(uri: string): Promise<boolean> {
    return this.inner.exists(this.check(uri));
  }

  async size(uri: string): Promise<number> {
    return this.inner.size(this.check(uri));
  }

  async delete(uri: string): Promise<void> {
    return this.inner.delete(this.check(uri));
  }

  async *list(prefixUri: string): AsyncIterable<FileInfo> {
    this.check(prefixUri);
    for await (const f of this.inner.list(prefixUri)) yield { ...f, uri: this.check(f.uri) };
  }
}

/** The FileIO for one table: its own location, plus `extraRoots` (e.g. the configured warehouse). */
export function tableFileIO(io: FileIO, location: string, extraRoots: readonly string[] = []): ConfinedFileIO {
  return new ConfinedFileIO(io, [location, ...extraRoots]);
}
