import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '@k2/core';
import { KeyFileError, KeyRing, parseKeyEntries, type ApiKeyEntry } from './api-keys';

export interface KeySource {
  /** QUERY_API_KEYS_FILE: re-read on change, so keys are added and revoked without a restart. */
  file?: string;
  /** QUERY_API_KEYS: the same JSON inline (fixed for the life of the process). */
  inline?: string;
}

/** Reads and validates the keys once; throws KeyFileError whose problems name the source, never its content. */
export function readKeyRing(src: KeySource): KeyRing {
  const { text, name } = readSource(src);
  try {
    return new KeyRing(parseKeyEntries(text));
  } catch (e) {
    if (e instanceof KeyFileError) throw new KeyFileError(e.problems.map((p) => `${name} ${p}`));
    throw e;
  }
}

function readSource(src: KeySource): { text: string; name: string } {
  if (src.file === undefined) return { text: src.inline ?? '[]', name: 'QUERY_API_KEYS' };
  try {
    return { text: readFileSync(src.file, 'utf8'), name: `QUERY_API_KEYS_FILE=${src.file}` };
  } catch (e) {
    throw new KeyFileError([`QUERY_API_KEYS_FILE=${src.file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
}

export interface KeyStoreOptions extends KeySource {
  logger: Logger;
  /** Poll interval of the keys file, besides fs.watch. Default 5 s. */
  pollMs?: number;
  onChange?: (ring: KeyRing) => void;
}

/**
 * The current key ring. With a file, a change is picked up by fs.watch on its directory (a Kubernetes Secret
 * volume replaces a `..data` symlink rather than writing the file, which a watch on the file itself would miss)
 * and by a poll that compares the content's digest, for file systems without inotify. A file that becomes
 * invalid or unreadable is logged and ignored: the last good ring stays, so a botched edit does not lock out
 * every client.
 */
export class KeyStore {
  private current: KeyRing;
  private digest: string;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;

  constructor(private readonly o: KeyStoreOptions) {
    this.current = readKeyRing(o);
    this.digest = digestOf(o);
    o.onChange?.(this.current);
  }

  get ring(): KeyRing {
    return this.current;
  }

  start(): void {
    const file = this.o.file;
    if (file === undefined || this.timer) return;
    this.timer = setInterval(() => this.reload(), this.o.pollMs ?? 5000);
    this.timer.unref();
    try {
      this.watcher = watch(dirname(file), { persistent: false }, (_event, name) => {
        if (name !== null && name !== basename(file) && !String(name).startsWith('..')) return;
        clearTimeout(this.debounce);
        this.debounce = setTimeout(() => this.reload(), 100);
      });
      this.watcher.on('error', () => undefined);
    } catch (e) {
      this.o.logger.warn('cannot watch the API keys directory; polling only', { file, error: (e as NodeJS.ErrnoException).code });
    }
  }

  /** Re-reads the file; returns whether a new ring is in use. */
  reload(): boolean {
    if (this.o.file === undefined) return false;
    let digest: string;
    try {
      digest = digestOf(this.o);
    } catch {
      digest = 'unreadable';
    }
    if (digest === this.digest) return false;
    try {
      const ring = readKeyRing(this.o);
      this.current = ring;
      this.digest = digest;
      this.o.logger.info('API keys reloaded', { file: this.o.file, keys: ring.entries.length, active: ring.active });
      this.o.onChange?.(ring);
      return true;
    } catch (e) {
      this.digest = digest;
      const problems = e instanceof KeyFileError ? e.problems : [String((e as Error).message)];
      this.o.logger.error('API keys file rejected; keeping the previous keys', { file: this.o.file, problems });
      return false;
    }
  }

  close(): void {
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    this.watcher?.close();
    this.timer = undefined;
  }
}

function digestOf(src: KeySource): string {
  const text = src.file !== undefined ? readFileSync(src.file) : Buffer.from(src.inline ?? '');
  return createHash('sha256').update(text).digest('hex');
}

/** The entries of a keys file; none when it does not exist yet. */
export function readKeysFile(file: string): ApiKeyEntry[] {
  return existsSync(file) ? [...readKeyRing({ file }).entries] : [];
}

/**
 * Replaces a keys file atomically (write + rename in the same directory, mode 0600), so the watching query-api
 * never reads half a file. The entries are validated first.
 */
export function writeKeysFile(file: string, entries: readonly ApiKeyEntry[]): void {
  const text = `${JSON.stringify(entries, null, 2)}\n`;
  parseKeyEntries(text);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}
