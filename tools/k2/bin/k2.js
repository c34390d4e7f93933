#!/usr/bin/env node
// `npx k2 …` inside the repository (the root package.json's "bin"): runs tools/k2/src/main.ts through tsx, as
// `npm run k2 -- …` does, and exits as it exits. Ctrl-C reaches both processes from the terminal, so this one only
// waits for k2 to stop (k2 removes a half-written export); SIGTERM sent to this process is passed on.
const { spawn } = require('node:child_process');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const root = path.resolve(__dirname, '../../..');
const tsx = pathToFileURL(require.resolve('tsx', { paths: [root] })).href;
const child = spawn(process.execPath, ['--import', tsx, path.join(root, 'tools/k2/src/main.ts'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.base.json') },
});
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)));
