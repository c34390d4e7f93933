import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ErrorCode } from '@k2/core';
import { QueryEngine, sandboxDirectories } from './engine';

/** The engine's sandbox against real Parquet files: reads inside the allowed directories only. */
describe('QueryEngine sandbox', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-engine-'));
  const allowed = path.join(root, 'cache');
  const outside = path.join(root, 'cache-other');
  const inFile = path.join(allowed, 'a.parquet');
  const outFile = path.join(outside, 'b.parquet');
  let engine: QueryEngine;

  beforeAll(async () => {
    fs.mkdirSync(allowed);
    fs.mkdirSync(outside);
    // Fixture files written by a separate, unrestricted DuckDB (the tables' shape as fileSymbols reads it).
    const free = await DuckDBInstance.create(':memory:');
    const c = await free.connect();
    for (const [file, symbol] of [[inFile, 'BTCUSDT'], [outFile, 'ETHUSDT']]) {
      await c.run(`COPY (SELECT '${symbol}' AS symbol, 'BINANCE' AS exchange, 'crypto' AS asset_class, TIMESTAMPTZ '2026-11-23 10:00:00+00' AS "timestamp") TO '${file}' (FORMAT parquet)`);
    }
    c.closeSync();
    free.closeSync();
    engine = await QueryEngine.create({ connections: 2, threads: 1, allowedDirectories: [allowed] });
  });

  afterAll(async () => {
    await engine?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('reads Parquet files inside the allowed directories', async () => {
    const rows = await engine.query('fileSymbols', { files: [inFile] });
    expect(rows.map((r) => r['symbol'])).toEqual(['BTCUSDT']);
  });

  it('refuses files outside them, also by a sibling prefix or ../, as a non-retriable storage rejection', async () => {
    for (const f of [outFile, path.join(allowed, '..', 'cache-other', 'b.parquet'), '/etc/passwd']) {
      await expect(engine.query('fileSymbols', { files: [f] })).rejects.toMatchObject({ code: ErrorCode.STORAGE_REJECTED, retriable: false });
    }
  });

  it('normalizes directories so a prefix never widens to a sibling', () => {
    expect(sandboxDirectories(['/a/cache', '/a/cache/', '/'])).toEqual(['/a/cache/', '/a/cache/', '/']);
  });
});
