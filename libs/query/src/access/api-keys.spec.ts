import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@k2/core';
import { apiKeyId, hashSecret, KeyFileError, KeyRing, mintApiKey, parseKeyEntries } from './api-keys';
import { KeyStore, readKeyRing } from './key-store';
import { KeyLimits, TokenBucket } from './limits';

describe('API keys', () => {
  it('mints k2_<id>_<secret> keys whose entry verifies only that key', () => {
    const { key, entry } = mintApiKey({ name: 'alice' });
    expect(key).toMatch(/^k2_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(apiKeyId(key)).toBe(entry.id);
    expect(JSON.stringify(entry)).not.toContain(key.slice(16));
    expect(entry.hash).toBe(hashSecret(key.slice(16), entry.salt));
    const ring = new KeyRing([entry]);
    expect(ring.verify(key)).toEqual({ kind: 'ok', entry });
    // Same id, another secret; another id; not a K2 key at all.
    expect(ring.verify(`${key.slice(0, 16)}${'A'.repeat(43)}`).kind).toBe('unknown');
    expect(ring.verify(mintApiKey({ name: 'bob' }).key).kind).toBe('unknown');
    expect(ring.verify('hunter2').kind).toBe('unknown');
  });

  it('says revoked only to the holder of the secret', () => {
    const { key, entry } = mintApiKey({ name: 'carol' });
    const ring = new KeyRing([{ ...entry, revoked: true }]);
    expect(ring.verify(key).kind).toBe('revoked');
    expect(ring.verify(`${key.slice(0, 16)}${'B'.repeat(43)}`).kind).toBe('unknown');
    expect(ring.active).toBe(0);
  });

  it('rejects malformed entries by field name, never echoing salts or hashes', () => {
    const { entry } = mintApiKey({ name: 'dave' });
    const bad = [{ ...entry, hash: 'zz' + entry.hash.slice(2), burst: 0, routes: ['trades', 'admin'], extra: 1 }, { ...entry }];
    let err: unknown;
    try {
      parseKeyEntries(JSON.stringify(bad));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KeyFileError);
    const problems = (err as KeyFileError).problems;
    expect(problems).toEqual([
      'entry 0: hash must be 64 hex characters (HMAC-SHA-256)',
      'entry 0: burst must be an integer > 0',
      'entry 0: routes must be a list of trades|quotes|bars|summary|symbols|stream|snapshots|reference|replay',
      'entry 0: unknown field extra',
      'entry 1: id is used twice',
    ]);
    expect(problems.join(' ')).not.toContain(entry.salt);
    expect(() => parseKeyEntries('{not json')).toThrow('is not valid JSON');
    expect(() => parseKeyEntries('{}')).toThrow('must be a JSON array');
  });

  it('KeyStore picks up an added and a revoked key from the file without a restart', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-keys-'));
    const file = path.join(dir, 'keys.json');
    const a = mintApiKey({ name: 'a' });
    const b = mintApiKey({ name: 'b' });
    fs.writeFileSync(file, JSON.stringify([a.entry]));
    const logger = createLogger({ service: 'test', level: 'info', silent: true });
    const store = new KeyStore({ file, logger, pollMs: 200 });
    store.start();
    try {
      expect(store.ring.verify(b.key).kind).toBe('unknown');
      fs.writeFileSync(file, JSON.stringify([{ ...a.entry, revoked: true }, b.entry]));
      await waitUntil(() => store.ring.verify(b.key).kind === 'ok');
      expect(store.ring.verify(a.key).kind).toBe('revoked');
      // A broken edit keeps the last good keys.
      fs.writeFileSync(file, '[{"name":');
      await new Promise((r) => setTimeout(r, 600));
      expect(store.reload()).toBe(false);
      expect(store.ring.verify(b.key).kind).toBe('ok');
    } finally {
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('readKeyRing names the source when it cannot be read', () => {
    expect(() => readKeyRing({ file: '/nonexistent/k2-keys.json' })).toThrow('QUERY_API_KEYS_FILE=/nonexistent/k2-keys.json cannot be read (ENOENT)');
    expect(readKeyRing({ inline: JSON.stringify([mintApiKey({ name: 'x' }).entry]) }).active).toBe(1);
  });
});

describe('limits', () => {
  it('token bucket: burst at once, then the rate; headers in whole tokens and seconds', () => {
    const b = new TokenBucket(2, 4, 0);
    const takes = [0, 0, 0, 0, 0].map(() => b.take(0));
    expect(takes.map((t) => t.allowed)).toEqual([true, true, true, true, false]);
    expect(takes[0]).toEqual({ allowed: true, limit: 4, remaining: 3, resetS: 1, retryAfterS: 0 });
    expect(takes[4]).toEqual({ allowed: false, limit: 4, remaining: 0, resetS: 2, retryAfterS: 1 });
    expect(b.take(499).allowed).toBe(false);
    expect(b.take(500).allowed).toBe(true);
    expect(b.take(10_000)).toMatchObject({ allowed: true, remaining: 3 });
  });

  it('concurrency and stream slots per key, released once', () => {
    let now = 0;
    const limits = new KeyLimits(() => now);
    const { entry } = mintApiKey({ name: 'e', max_concurrency: 2, max_streams: 1 });
    const q1 = limits.acquire(entry, 'query')!;
    const q2 = limits.acquire(entry, 'query')!;
    expect(limits.acquire(entry, 'query')).toBeUndefined();
    const s1 = limits.acquire(entry, 'stream')!;
    expect(limits.acquire(entry, 'stream')).toBeUndefined();
    q1();
    q1();
    expect(limits.inUse(entry.id)).toEqual({ queries: 1, streams: 1 });
    expect(limits.acquire(entry, 'query')).toBeDefined();
    q2();
    s1();
    expect(limits.acquire(entry, 'stream')).toBeDefined();
    now = 1000;
    limits.sync([{ ...entry, burst: 1 }]);
    expect(limits.take({ ...entry, burst: 1 })).toMatchObject({ allowed: true, limit: 1, remaining: 0 });
  });
});

async function waitUntil(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
