import { defineConfig } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Two servers, each on a free loopback port with a fresh data directory: one
// for the hydrated run, one for the run with JavaScript disabled. Computed
// once in the runner and passed to workers through the environment.
function freePort(): string {
  return execFileSync(process.execPath, [
    '-e',
    "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})",
  ]).toString().trim();
}
const SERVERS = ['HYDRATED', 'NOJS', 'HYDRATED_REGISTRY', 'NOJS_REGISTRY'];
// Data directories made here are removed when the runner exits; one given in
// E2E_DATA_<NAME> is the caller's and kept.
const made: string[] = [];
for (const name of SERVERS) {
  process.env[`E2E_PORT_${name}`] ??= freePort();
  if (!process.env[`E2E_DATA_${name}`]) {
    const dir = mkdtempSync(join(tmpdir(), `portcullis-e2e-${name.toLowerCase()}-`));
    process.env[`E2E_DATA_${name}`] = dir;
    made.push(dir);
  }
}
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

const bin = process.env.PORTCULLIS_BIN ?? '../target/debug/portcullis';
const server = (name: string) => ({
  command: `${bin} serve --listen 127.0.0.1:${process.env[`E2E_PORT_${name}`]} --data-dir ${process.env[`E2E_DATA_${name}`]}`,
  url: `http://127.0.0.1:${process.env[`E2E_PORT_${name}`]}/healthz`,
  reuseExistingServer: false,
  timeout: 60_000,
  stdout: 'ignore' as const,
  stderr: 'pipe' as const,
  // mirror.spec mirrors from the server itself (loopback, plain http).
  env: { PORTCULLIS_UPSTREAM_ALLOW_PRIVATE: 'true', PORTCULLIS_UPSTREAM_ALLOW_HTTP: 'true' },
});

const base = (name: string) => `http://127.0.0.1:${process.env[`E2E_PORT_${name}`]}`;

export default defineConfig({
  testDir: './tests',
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  workers: 2,
  reporter: [['list']],
  timeout: 60_000,
  expect: { timeout: 10_000 },
  use: {
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
    trace: 'off',
    screenshot: 'only-on-failure',
  },
  // Each spec file gets its own servers, so first-run state is independent.
  webServer: SERVERS.map(server),
  projects: [
    { name: 'hydrated', testMatch: /console\.spec/, use: { baseURL: base('HYDRATED'), javaScriptEnabled: true } },
    { name: 'no-js', testMatch: /console\.spec/, use: { baseURL: base('NOJS'), javaScriptEnabled: false } },
    { name: 'hydrated-registry', testMatch: /(registry|licenses|entitlements|pulls|portal|mirror|router)\.spec/, use: { baseURL: base('HYDRATED_REGISTRY'), javaScriptEnabled: true } },
    { name: 'no-js-registry', testMatch: /(registry|licenses|entitlements|pulls|portal|mirror)\.spec/, use: { baseURL: base('NOJS_REGISTRY'), javaScriptEnabled: false } },
  ],
});
