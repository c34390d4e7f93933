import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ErrorCode, FatalError, TransientError } from '@k2/core';
import type { FileInfo, FileIO } from './file-io';

/** file:// warehouse. Writes go to a temp name and are renamed, so a crash never leaves a torn file under the real name. */
export class LocalFileIO implements FileIO {
  write(uri: string, data: Buffer): Promise<void> {
    return this.guard(uri, async () => {
      const p = toPath(uri);
      await fs.mkdir(path.dirname(p), { recursive: true });
      const tmp = `${p}.${process.pid}.${Date.now()}.tmp`;
      await fs.writeFile(tmp, data);
      await fs.rename(tmp, p);
    });
  }

  writeFromLocal(uri: string, localPath: string): Promise<void> {
    return this.guard(uri, async () => {
      const p = toPath(uri);
      if (path.resolve(localPath) === p) return;
      await fs.mkdir(path.dirname(p), { recursive: true });
      const tmp = `${p}.${process.pid}.${Date.now()}.tmp`;
      await fs.copyFile(localPath, tmp);
      await fs.rename(tmp, p);
    });
  }

  read(uri: string): Promise<Buffer> {
    return this.guard(uri, () => fs.readFile(toPath(uri)));
  }

  async localPath(uri: string): Promise<string> {
    return toPath(uri);
  }

  async exists(uri: string): Promise<boolean> {
    try {
      await fs.access(toPath(uri));
      return true;
    } catch {
      return false;
    }
  }

  size(uri: string): Promise<number> {
    return this.guard(uri, async () => (await fs.stat(toPath(uri))).size);
  }

  async delete(uri: string): Promise<void> {
    await fs.rm(toPath(uri), { force: true });
  }

  async *list(prefixUri: string): AsyncIterable<FileInfo> {
    const root = toPath(prefixUri);
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(root, { withFileTypes: true, recursive: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const e of entries) {
      if (!e.isFile()) continue;
      const p = path.join(e.parentPath, e.name);
      const st = await fs.stat(p).catch(() => undefined);
      if (st) yield { uri: pathToFileURL(p).href, size: st.size, lastModifiedMs: st.mtimeMs };
    }
  }

  private async guard<T>(uri: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new FatalError(ErrorCode.ICEBERG_NOT_FOUND, `file not found: ${uri}`, { cause: e });
      // Disk full or too many open files pass; a permission problem does not.
      if (code === 'ENOSPC' || code === 'EMFILE' || code === 'EIO' || code === 'EAGAIN') {
        throw new TransientError(ErrorCode.STORAGE_UNAVAILABLE, `local warehouse: ${code} on ${uri}`, { cause: e });
      }
      throw new FatalError(ErrorCode.STORAGE_REJECTED, `local warehouse: ${(e as Error).message}`, { cause: e });
    }
  }
}

export function toPath(uri: string): string {
  if (uri.startsWith('file:')) return fileURLToPath(uri.startsWith('file://') ? uri : `file://${uri.slice(5)}`);
  if (uri.startsWith('/')) return uri;
  throw new FatalError(ErrorCode.STORAGE_REJECTED, `not a file:// URI: ${uri}`);
}
