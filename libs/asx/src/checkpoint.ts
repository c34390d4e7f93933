import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { AsxInputError } from './errors';

/** Per-file row counts, cumulative over every run that worked on the file. */
export interface FileCounts {
  read: number;
  produced: number;
  rejected: number;
  /** Rows a resumed run found already in Kafka and therefore did not send again. */
  alreadyInKafka: number;
}

/**
 * Progress of one source file. Everything up to `line` (ending at uncompressed byte `offset`) has been
 * acknowledged by Kafka — good rows on the data topic, bad rows on the DLQ — and written to the reject file up to
 * `rejectBytes`. `scanFrom` holds, per topic and partition, the offset from which a resumed run reads what a killed
 * run may have sent after this checkpoint, so those rows are recognised by message id and not sent twice.
 */
export interface FileCheckpoint {
  version: 1;
  identity: string;
  location: string;
  fingerprint: string;
  topic: string;
  dlqTopic: string;
  line: number;
  offset: number;
  done: boolean;
  scanFrom: Record<string, Record<string, number>>;
  rejectFile: string | null;
  rejectBytes: number;
  counts: FileCounts;
  updatedAt: string;
}

/**
 * One JSON file per source under a directory, replaced atomically (write to a temp file, fsync, rename), so a
 * process killed at any instant leaves either the previous or the new checkpoint, never a torn one.
 */
export class CheckpointStore {
  constructor(readonly dir: string) {}

  pathFor(identity: string): string {
    return path.join(this.dir, `${identity.replace(/[^A-Za-z0-9._-]+/g, '__')}.json`);
  }

  load(identity: string): FileCheckpoint | undefined {
    let text: string;
    try {
      text = readFileSync(this.pathFor(identity), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const cp = JSON.parse(text) as FileCheckpoint;
    return cp.version === 1 && cp.identity === identity ? cp : undefined;
  }

  save(cp: FileCheckpoint): void {
    mkdirSync(this.dir, { recursive: true });
    const file = this.pathFor(cp.identity);
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify({ ...cp, updatedAt: new Date().toISOString() }, null, 2));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  }

  /**
   * Claims the directory for this process (`.lock` holding host and pid). Two loaders sharing checkpoints would
   * overwrite each other's progress; a lock left by a killed loader on this host is taken over, one from another
   * host (a shared volume) is not, since its owner cannot be checked from here.
   */
  lock(): () => void {
    mkdirSync(this.dir, { recursive: true });
    const file = path.join(this.dir, '.lock');
    const me = { host: hostname(), pid: process.pid };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(file, 'wx');
        writeSync(fd, JSON.stringify(me));
        closeSync(fd);
        return () => rmSync(file, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let owner: { host?: string; pid?: number } = {};
      try {
        owner = JSON.parse(readFileSync(file, 'utf8')) as typeof owner;
      } catch {
        // Torn or empty: its writer died between create and write.
      }
      if (owner.host !== undefined && owner.host !== me.host) {
        throw new AsxInputError(`checkpoint directory ${this.dir} is locked by a loader on host ${owner.host} (pid ${owner.pid}); delete ${file} if none runs`, { lock: file });
      }
      if (owner.pid !== undefined && owner.pid !== me.pid && isAlive(owner.pid)) {
        throw new AsxInputError(`checkpoint directory ${this.dir} is in use by another loader (pid ${owner.pid})`, { lock: file });
      }
      rmSync(file, { force: true });
    }
    throw new AsxInputError(`cannot lock checkpoint directory ${this.dir}`, { lock: file });
  }

  /** Every checkpoint in the directory (for the reject file's resume length). */
  all(): FileCheckpoint[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: FileCheckpoint[] = [];
    for (const n of names) {
      if (!n.endsWith('.json')) continue;
      try {
        const cp = JSON.parse(readFileSync(path.join(this.dir, n), 'utf8')) as FileCheckpoint;
        if (cp.version === 1) out.push(cp);
      } catch {
        // A foreign or unreadable file is not ours to judge.
      }
    }
    return out;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
