import type { Browser, Page, TestInfo } from '@playwright/test';
import { test, expect } from './fixtures';
import { isHydrated, live, open, signIn } from './helpers';
import { admin, pushImage } from './registry-helpers';

// The customer portal (SPEC §5) and its live updates (SPEC §3). Each test
// makes its own organization with the CLI, on the pro plan.

type Api = (method: string, path: string, body?: unknown) => Promise<any>;

/** An org, its admin's API, and a customer with one user. */
async function setUp(info: TestInfo, baseURL: string, slug: string, vendor: { email: string; password: string }) {
  admin(info, ['create-org', '--slug', slug, '--name', `${slug[0].toUpperCase()}${slug.slice(1)} Inc`, '--admin-email', vendor.email, '--plan', 'pro'], vendor.password + '\n');
  const token = admin(info, ['create-token', '--email', vendor.email, '--label', 'e2e']);
  const api: Api = async (method, path, body) => {
    const r = await fetch(`${baseURL}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    expect(r.status, `${method} ${path}`).toBeLessThan(300);
    return r.status === 204 ? null : r.json();
  };
  return { token, api };
}

async function customer(api: Api, name: string, user: { email: string; password: string }): Promise<number> {
  const c = await api('POST', '/api/v1/customers', { name });
  await api('POST', `/api/v1/customers/${c.id}/users`, { email: user.email, password: user.password, role: 'member' });
  return c.id;
}

/** A second browser, with JavaScript as the project has it. */
async function otherBrowser(browser: Browser, info: TestInfo): Promise<Page> {
  const context = await browser.newContext({ baseURL: info.project.use.baseURL, javaScriptEnabled: isHydrated(info) });
  return context.newPage();
}

const tagRows = (page: Page, artifact: string) => page.getByRole('table', { name: `Tags of ${artifact}` }).locator('tbody tr');

const VENDOR = { email: 'owner@soylent.test', password: 'soylent password 1' };
const BUYER = { email: 'buyer@oceanic.test', password: 'oceanic password 1' };

test('the portal shows what the customer may pull, and follows entitlement changes live', async ({ page, browser, baseURL }, info) => {
  const hydrated = isHydrated(info);
  const { token, api } = await setUp(info, baseURL!, 'soylent', VENDOR);
  await pushImage(baseURL!, VENDOR.email, token, 'soylent/web', '1.0');
  await pushImage(baseURL!, VENDOR.email, token, 'soylent/web', '2.0');
  await pushImage(baseURL!, VENDOR.email, token, 'soylent/green', '1.0');
  const cid = await customer(api, 'Oceanic', BUYER);
  const gold = await api('POST', `/api/v1/customers/${cid}/entitlements`, {
    name: 'Gold', expires_at: null, artifacts: [{ artifact: 'web', tags: ['1.0'] }],
  });

  // The customer: exactly web, with 1.0 only.
  await signIn(page, info, BUYER.email, BUYER.password);
  await expect(page).toHaveURL(/\/portal$/);
  await expect(page.getByRole('navigation', { name: 'Portal' }).getByRole('link', { name: 'Artifacts' })).toHaveAttribute('aria-current', 'page');
  await expect(page.getByRole('heading', { level: 2 })).toHaveText(['web']);
  await expect(tagRows(page, 'web')).toHaveCount(1);
  await expect(tagRows(page, 'web').first()).toContainText('1.0');
  if (hydrated) await live(page);

  // The vendor, in another browser, adds tag 2.0 with the entitlement form.
  const vendor = await otherBrowser(browser, info);
  try {
    await signIn(vendor, info, VENDOR.email, VENDOR.password);
    await expect(vendor).toHaveURL(/\/artifacts$/);
    await open(vendor, info, `/licenses/${cid}/entitlements/${gold.id}`);
    const row = vendor.getByRole('group', { name: 'Artifact 1', exact: true });
    await row.getByRole('checkbox', { name: '2.0' }).check();
    const saved = Date.now();
    await vendor.getByRole('form', { name: 'Edit entitlement' }).getByRole('button', { name: 'Save' }).click();
    await expect(vendor).toHaveURL(/\/entitlements$/);
    const table = vendor.getByRole('table', { name: 'Entitlements' });
    await expect(table.getByRole('row', { name: /Gold/ })).toContainText(/web · .*2\.0/);

    if (hydrated) {
      // No reload: the customer's page shows 2.0 by itself.
      await expect(tagRows(page, 'web')).toHaveCount(2);
      const latency = Date.now() - saved;
      info.annotations.push({ type: 'latency', description: `save click → customer list updated: ${latency} ms` });
      console.log(`portal live update: ${latency} ms from the Save click`);
      await expect(tagRows(page, 'web').first()).toContainText('2.0');
    } else {
      // Without JavaScript nothing is pushed; the next load shows it.
      await expect(tagRows(page, 'web')).toHaveCount(1);
      await page.reload();
      await expect(tagRows(page, 'web')).toHaveCount(2);
    }

    // Another vendor user (the API) replaces web with green: the vendor's
    // open list and the customer's portal both follow.
    if (hydrated) await live(vendor);
    await api('PUT', `/api/v1/entitlements/${gold.id}`, {
      name: 'Gold', expires_at: null, artifacts: [{ artifact: 'green', tags: 'all' }],
    });
    if (!hydrated) {
      await vendor.reload();
      await page.reload();
    }
    await expect(table.getByRole('row', { name: /Gold/ })).toContainText('green · all tags');
    await expect(page.getByRole('heading', { level: 2 })).toHaveText(['green']);
    await expect(tagRows(page, 'green')).toHaveCount(1);
  } finally {
    await vendor.context().close();
  }
});

test('pull instructions for a chosen tag, each with a copy button', async ({ page, baseURL }, info) => {
  const hydrated = isHydrated(info);
  const vendor = { email: 'owner@tyrell.test', password: 'tyrell password 1' };
  const buyer = { email: 'deckard@lapd.test', password: 'lapd password 1' };
  const { token, api } = await setUp(info, baseURL!, 'tyrell', vendor);
  await pushImage(baseURL!, vendor.email, token, 'tyrell/images/nexus', '6.0');
  await pushImage(baseURL!, vendor.email, token, 'tyrell/images/nexus', '7.0');
  await pushImage(baseURL!, vendor.email, token, 'tyrell/owl', '1.0');
  const cid = await customer(api, 'LAPD', buyer);
  await api('POST', `/api/v1/customers/${cid}/entitlements`, {
    name: 'Replicants', expires_at: null, artifacts: [{ artifact: 'images/nexus', tags: 'all' }],
  });
  const host = new URL(baseURL!).host;

  await signIn(page, info, buyer.email, buyer.password);
  await expect(page).toHaveURL(/\/portal$/);
  await page.getByRole('link', { name: 'images/nexus', exact: true }).click();
  await expect(page).toHaveURL(/\/portal\/artifacts\/images\/nexus$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('images/nexus');
  // The newest tag by default.
  await expect(page.getByRole('heading', { name: 'Pull images/nexus:7.0' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Access tokens' }).last()).toHaveAttribute('href', '/portal/tokens');

  // Choose 6.0 (a GET form: works without JavaScript).
  if (hydrated) await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1, { timeout: 30_000 });
  await page.getByLabel('Tag', { exact: true }).selectOption('6.0');
  await page.getByRole('button', { name: 'Show commands' }).click();
  await expect(page).toHaveURL(/\?tag=6\.0$/);
  await expect(page.getByRole('heading', { name: 'Pull images/nexus:6.0' })).toBeVisible();
  // A plain GET form: a new page, which hydrates again.
  if (hydrated) await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1, { timeout: 30_000 });
  await expect(page.getByRole('table', { name: 'Tags of images/nexus' }).getByRole('link', { name: '6.0' })).toHaveAttribute('aria-current', 'true');

  const commands = [
    `echo "$TOKEN" | docker login ${host} -u ${buyer.email} --password-stdin`,
    `docker pull ${host}/tyrell/images/nexus:6.0`,
    `echo "$TOKEN" | podman login ${host} -u ${buyer.email} --password-stdin`,
    `podman pull ${host}/tyrell/images/nexus:6.0`,
  ];
  await expect(page.locator('.command pre')).toHaveText(commands);
  if (hydrated) {
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseURL });
    for (const command of commands) {
      const button = page.getByRole('button', { name: `Copy: ${command}`, exact: true });
      await button.click();
      await expect(button).toHaveText('Copied ✓');
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(command);
    }
  } else {
    // Without JavaScript the commands are there to select and copy.
    for (const command of commands) {
      await expect(page.getByRole('button', { name: `Copy: ${command}`, exact: true })).toBeVisible();
    }
  }

  // An artifact the customer may not see is not found, like a missing one.
  await open(page, info, '/portal/artifacts/owl');
  await expect(page.getByRole('heading', { name: 'Artifact not found' })).toBeVisible();
  await open(page, info, '/portal/artifacts/nothing-here');
  await expect(page.getByRole('heading', { name: 'Artifact not found' })).toBeVisible();
});

test('a reconnection refetches what it may have missed; without JavaScript a reload does', async ({ page, baseURL }, info) => {
  const hydrated = isHydrated(info);
  const vendor = { email: 'owner@wonka.test', password: 'wonka password 1' };
  const buyer = { email: 'charlie@bucket.test', password: 'bucket password 1' };
  const { token, api } = await setUp(info, baseURL!, 'wonka', vendor);
  await pushImage(baseURL!, vendor.email, token, 'wonka/gobstopper', '1.0');
  await pushImage(baseURL!, vendor.email, token, 'wonka/fizzy', '1.0');
  const cid = await customer(api, 'Bucket', buyer);
  const e = await api('POST', `/api/v1/customers/${cid}/entitlements`, {
    name: 'Golden ticket', expires_at: null, artifacts: [{ artifact: 'gobstopper', tags: 'all' }],
  });
  const grantFizzy = () => api('PUT', `/api/v1/entitlements/${e.id}`, {
    name: 'Golden ticket', expires_at: null, artifacts: [{ artifact: 'gobstopper', tags: 'all' }, { artifact: 'fizzy', tags: 'all' }],
  });

  if (hydrated) {
    // The first connection is answered by a stream that ends at once (as a
    // dropped connection would); the change happens while the browser is
    // disconnected, so no event carries it. The browser reconnects by itself
    // (with Last-Event-ID, so the server does not replay) and the page
    // refetches once.
    let connections = 0;
    await page.route('**/events*', async (route) => {
      connections += 1;
      if (connections === 1) {
        await route.fulfill({ status: 200, headers: { 'content-type': 'text/event-stream' }, body: 'id: live\nretry: 300\n\n' });
        return;
      }
      // (Chromium sends `Last-Event-ID: live` with this request; Playwright's
      // view of intercepted headers does not show it.)
      if (connections === 2) await grantFizzy();
      await route.fallback();
    });
    await signIn(page, info, buyer.email, buyer.password);
    await expect(page).toHaveURL(/\/portal$/);
    await expect(page.getByRole('heading', { level: 2 })).toHaveText(['fizzy', 'gobstopper']);
    await live(page);
    expect(connections).toBe(2);
  } else {
    await signIn(page, info, buyer.email, buyer.password);
    await expect(page).toHaveURL(/\/portal$/);
    await expect(page.getByRole('heading', { level: 2 })).toHaveText(['gobstopper']);
    await grantFizzy();
    // Nothing connects without JavaScript; the page is as it was rendered.
    await expect(page.locator('body[data-live]')).toHaveCount(0);
    await expect(page.getByRole('heading', { level: 2 })).toHaveText(['gobstopper']);
    await page.reload();
    await expect(page.getByRole('heading', { level: 2 })).toHaveText(['fizzy', 'gobstopper']);
  }
});

test('an empty portal says whom to ask; access tokens are created, shown once and revoked', async ({ page, baseURL }, info) => {
  const vendor = { email: 'owner@cyberdyne.test', password: 'cyberdyne password 1' };
  const buyer = { email: 'sarah@connor.test', password: 'connor password 1' };
  const { token, api } = await setUp(info, baseURL!, 'cyberdyne', vendor);
  await pushImage(baseURL!, vendor.email, token, 'cyberdyne/t800', '1.0');
  await customer(api, 'Connor', buyer);
  // The org uses entitlements, for someone else: Connor sees nothing.
  const other = await customer(api, 'Skynet', { email: 'ops@skynet.test', password: 'skynet password 1' });
  await api('POST', `/api/v1/customers/${other}/entitlements`, {
    name: 'All', expires_at: null, artifacts: [{ artifact: 't800', tags: 'all' }],
  });

  await signIn(page, info, buyer.email, buyer.password);
  await expect(page).toHaveURL(/\/portal$/);
  await expect(page.getByRole('heading', { name: 'Nothing to pull yet' })).toBeVisible();
  await expect(page.getByText('ask your contact at Cyberdyne Inc to grant you access')).toBeVisible();
  await expect(page.getByText('t800')).toHaveCount(0);

  await page.getByRole('navigation', { name: 'Portal' }).getByRole('link', { name: 'Access tokens' }).click();
  await expect(page).toHaveURL(/\/portal\/tokens$/);
  await expect(page.getByRole('heading', { name: 'Access tokens', level: 1 })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Portal' }).getByRole('link', { name: 'Access tokens' })).toHaveAttribute('aria-current', 'page');
  await expect(page.getByText('No tokens yet.')).toBeVisible();
  if (isHydrated(info)) await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1, { timeout: 30_000 });

  const create = page.getByRole('form', { name: 'Create a token' });
  await create.getByLabel('Label').fill('laptop');
  await create.getByLabel('Expires').selectOption('90');
  await create.getByRole('button', { name: 'Create token' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Token “laptop” created.' })).toBeVisible();
  const secret = (await page.getByTestId('new-token').textContent())!.trim();
  expect(secret).toMatch(/^pcl_/);
  await expect(page.getByRole('button', { name: `Copy: ${secret}` })).toBeVisible();
  const tokens = page.getByRole('table', { name: 'Your access tokens' });
  await expect(tokens.getByRole('row', { name: /laptop/ })).toContainText('Never');

  // The token works against the registry as the customer: the catalog is
  // what the customer may see (nothing).
  const auth = 'Basic ' + Buffer.from(`${buyer.email}:${secret}`).toString('base64');
  const catalog = await fetch(`${baseURL}/v2/_catalog`, { headers: { authorization: auth } });
  expect(catalog.status).toBe(200);
  expect(await catalog.json()).toEqual({ repositories: [] });

  // Shown once: a reload does not show the secret again.
  await open(page, info, '/portal/tokens');
  await expect(page.getByTestId('new-token')).toHaveCount(0);
  await tokens.getByRole('button', { name: 'Revoke laptop' }).click();
  await expect(page.getByText('No tokens yet.')).toBeVisible();
  const refused = await fetch(`${baseURL}/v2/_catalog`, { headers: { authorization: auth } });
  expect(refused.status).toBe(401);
});

test('a banner tells the customer which access ends within two weeks', async ({ page, baseURL }, info) => {
  const vendor = { email: 'owner@wallace.test', password: 'wallace password 1' };
  const buyer = { email: 'buyer@offworld.test', password: 'offworld password 1' };
  const { token, api } = await setUp(info, baseURL!, 'wallace', vendor);
  await pushImage(baseURL!, vendor.email, token, 'wallace/nexus', '6.0');
  await pushImage(baseURL!, vendor.email, token, 'wallace/owl', '1.0');
  const id = await customer(api, 'Off-world', buyer);
  const day = new Date(Date.now() + 5 * 86_400_000);
  day.setUTCHours(12, 0, 0, 0);
  await api('POST', `/api/v1/customers/${id}/entitlements`, {
    name: 'Ending', expires_at: day.toISOString(), artifacts: [{ artifact: 'nexus', tags: 'all' }],
  });
  await api('POST', `/api/v1/customers/${id}/entitlements`, {
    name: 'Later', expires_at: new Date(Date.now() + 60 * 86_400_000).toISOString(), artifacts: [{ artifact: 'owl', tags: 'all' }],
  });
  await signIn(page, info, buyer.email, buyer.password);
  await expect(page).toHaveURL(/\/portal$/);
  const date = day.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
  const banner = page.getByRole('note', { name: 'Access ending soon' });
  await expect(banner).toHaveText(`Your access to nexus ends on ${date}; contact Wallace Inc.`);
  await expect(banner).not.toContainText('owl');
});
