import fs from 'node:fs/promises';
import path from 'node:path';

export interface DownloadCacheOptions {
  /** Total bytes of cached copies this process keeps; older copies are deleted past it. Default 2 GiB. */
  maxBytes?: number;
  /**
   * A copy used within this many ms is never deleted, even over `maxBytes`: a reader (DuckDB) may be about to open
   * the path it was just given. Should exceed the longest query deadline. Default 60 s.
   */
  minAgeMs?: number;
  now?: () => number;
}

export interface DownloadCacheStats {
  files: number;
  bytes: number;
  maxBytes: number;
  evictedFiles: number;
  evictedBytes: number;
}

interface Entry {
  size: number;
  usedMs: number;
  /** Written or checked against the object by this process; adopted copies are checked once before use. */
  verified: boolean;
}

const GiB = 1024 ** 3;
const STALE_TMP_MS = 10 * 60_000;

/**
 * The byte-bounded, least-recently-used index of S3FileIO's local copies (issue 15: the download cache grew until
 * kubelet evicted the pod). Objects are immutable, so an indexed copy of the right size needs no HEAD request.
 * Copies left by an earlier process are adopted at the first use (oldest first), so a restart does not leak them.
 * Deleting a copy a reader still has open is safe on POSIX (the open descriptor keeps the inode); the `minAgeMs`
 * grace keeps a just-returned path alive until its reader has opened it.
 */
export class DownloadCache {
  readonly maxBytes: number;
  private readonly minAgeMs: number;
  private readonly now: () => number;
  /** Map order is recency order: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private evictedFiles = 0;
  private evictedBytes = 0;
  private adopted: Promise<void> | undefined;

  constructor(
    private readonly dir: string,
    opts: DownloadCacheOptions = {},
  ) {
    this.maxBytes = opts.maxBytes ?? 2 * GiB;
    if (!(this.maxBytes > 0)) throw new RangeError(`DownloadCache maxBytes must be positive, got ${this.maxBytes}`);
    this.minAgeMs = opts.minAgeMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** The size of a verified copy (and marks it used), or undefined when the caller must check the object. */
  async lookup(file: string): Promise<number | undefined> {
    await this.adoptExisting();
    const e = this.entries.get(file);
    if (!e) return undefined;
    this.entries.delete(file);
    e.usedMs = this.now();
    this.entries.set(file, e);
    return e.verified ? e.size : undefined;
  }

  /** Indexes a copy that was just written or verified, then deletes least recently used copies over the cap. */
  async add(file: string, size: number): Promise<void> {
    const old = this.entries.get(file);
    if (old) {
      this.entries.delete(file);
      this.bytes -= old.size;
    }
    this.entries.set(file, { size, usedMs: this.now(), verified: true });
    this.bytes += size;
    await this.evict();
  }

  /** Forgets a copy found missing or of the wrong size (the caller replaces it). */
  forget(file: string): void {
    const e = this.entries.get(file);
    if (!e) return;
    this.entries.delete(file);
    this.bytes -= e.size;
  }

  stats(): DownloadCacheStats {
    return { files: this.entries.size, bytes: this.bytes, maxBytes: this.maxBytes, evictedFiles: this.evictedFiles, evictedBytes: this.evictedBytes };
  }

  private async evict(): Promise<void> {
    const cutoff = this.now() - this.minAgeMs;
    for (const [file, e] of this.entries) {
      if (this.bytes <= this.maxBytes) return;
      if (e.usedMs > cutoff) continue; // in use or about to be: the cap is exceeded only by the working set
      this.entries.delete(file);
      this.bytes -= e.size;
      this.evictedFiles++;
      this.evictedBytes += e.size;
      await fs.rm(file, { force: true });
    }
  }

  /**
   * Copies already on disk (another run's) join the index oldest-first, as if used at their modification time. Runs
   * once, before the first lookup answers; every `add` follows a lookup, so nothing indexed here is overwritten.
   */
  private adoptExisting(): Promise<void> {
    this.adopted ??= (async () => {
      const found: Array<{ file: string; size: number; mtimeMs: number }> = [];
      const buckets = await fs.readdir(this.dir, { withFileTypes: true }).catch(() => []);
      for (const b of buckets) {
        if (!b.isDirectory()) continue;
        const bucketDir = path.join(this.dir, b.name);
        for (const name of await fs.readdir(bucketDir).catch(() => [] as string[])) {
          const file = path.join(bucketDir, name);
          const st = await fs.stat(file).catch(() => undefined);
          if (!st?.isFile()) continue;
          // A download cut short by a crash; a younger one may be another process's download in progress.
          if (name.endsWith('.tmp')) {
            if (st.mtimeMs < this.now() - STALE_TMP_MS) await fs.rm(file, { force: true });
            continue;
          }
          found.push({ file, size: st.size, mtimeMs: st.mtimeMs });
        }
      }
      found.sort((a, b) => a.mtimeMs - b.mtimeMs);
      for (const f of found) {
        if (this.entries.has(f.file)) continue;
        this.entries.set(f.file, { size: f.size, usedMs: f.mtimeMs, verified: false });
        this.bytes += f.size;
      }
      await this.evict();
    })();
    return this.adopted;
  }
}
