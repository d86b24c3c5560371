import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { TestInfo } from '@playwright/test';

const bin = process.env.PORTCULLIS_BIN ?? '../target/debug/portcullis';

/** The data directory of the server this project runs against. */
function dataDir(info: TestInfo): string {
  const name = info.project.name.toUpperCase().replace('NO-JS', 'NOJS').replace('-', '_');
  return process.env[`E2E_DATA_${name}`]!;
}

/** `portcullis admin …` against the project's server (works while it runs). */
export function admin(info: TestInfo, args: string[], stdin = ''): string {
  return execFileSync(bin, ['--data-dir', dataDir(info), 'admin', ...args], { input: stdin }).toString().trim();
}

const sha256 = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

/** Pushes a small OCI image over the registry API; returns the manifest digest. */
export async function pushImage(baseURL: string, email: string, token: string, repo: string, tag: string): Promise<string> {
  const auth = 'Basic ' + Buffer.from(`${email}:${token}`).toString('base64');
  const blob = async (data: Buffer) => {
    const d = sha256(data);
    const r = await fetch(`${baseURL}/v2/${repo}/blobs/uploads/?digest=${d}`, { method: 'POST', headers: { authorization: auth }, body: data });
    if (r.status !== 201) throw new Error(`blob upload: ${r.status} ${await r.text()}`);
    return { digest: d, size: data.length };
  };
  const config = await blob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', tag })));
  const layer = await blob(Buffer.from(`layer for ${tag}`));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
  }));
  const r = await fetch(`${baseURL}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { authorization: auth, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest,
  });
  if (r.status !== 201) throw new Error(`manifest: ${r.status} ${await r.text()}`);
  return sha256(manifest);
}

/** The JSON API with a bearer token: each call must succeed (status < 300). */
export function jsonApi(baseURL: string, token: string) {
  return async (method: string, path: string, body?: unknown): Promise<any> => {
    const r = await fetch(`${baseURL}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return r.status === 204 ? null : r.json();
  };
}
