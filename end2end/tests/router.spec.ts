import type { Page, Route } from '@playwright/test';
import { test, expect } from './fixtures';
import { live, open, signInOk } from './helpers';
import { admin, jsonApi, pushImage } from './registry-helpers';

// public/router.js, the in-place navigation of the hydrated pages
// (ARCHITECTURE.md, "The browser bundle"): what it keeps of the user's
// state while it morphs a page into the next. Hydrated only (the
// `hydrated-registry` project): without JavaScript every one of these is a
// plain page load, which the other specs cover.

/** An org on the pro plan, signed in as its owner; its JSON API. */
async function setUp(page: Page, info: Parameters<typeof signInOk>[1], baseURL: string, slug: string) {
  const owner = { email: `owner@${slug}.test`, password: `${slug} password 1` };
  admin(info, ['create-org', '--slug', slug, '--name', slug, '--admin-email', owner.email, '--plan', 'pro'], owner.password + '\n');
  const token = admin(info, ['create-token', '--email', owner.email, '--label', 'e2e']);
  await signInOk(page, info, owner.email, owner.password);
  return { token, email: owner.email, api: jsonApi(baseURL, token) };
}

/** A gate: `open()` lets what waits on `passed` go on. */
function gate() {
  let open!: () => void;
  const passed = new Promise<void>((resolve) => { open = resolve; });
  return { open, passed };
}

/** Holds the next request to `url` until `release` opens; `arrived` opens when it is held. */
async function hold(page: Page, url: string | RegExp) {
  const arrived = gate();
  const release = gate();
  await page.route(url, async (route: Route) => {
    // The server's answer as it is now, delivered once released.
    const response = await route.fetch();
    arrived.open();
    await release.passed;
    await route.fulfill({ response });
  }, { times: 1 });
  return { arrived: arrived.passed, release: release.open };
}

test('a live update keeps an opened Delete confirmation on its own row', async ({ page, baseURL }, info) => {
  const { token, email, api } = await setUp(page, info, baseURL!, 'soylentco');
  await pushImage(baseURL!, email, token, 'soylentco/web', '1.0');
  const customer = await api('POST', '/api/v1/customers', { name: 'Skynet' });
  await api('POST', `/api/v1/customers/${customer.id}/entitlements`, {
    name: 'Silver', expires_at: null, artifacts: [{ artifact: 'web', tags: 'all' }],
  });
  await open(page, info, `/licenses/${customer.id}/entitlements`);
  await live(page);
  const table = page.getByRole('table', { name: 'Entitlements' });
  const silver = table.getByRole('row', { name: /Silver/ });
  await silver.getByText('Delete', { exact: true }).click();
  await expect(silver.getByRole('button', { name: 'Confirm delete' })).toBeVisible();

  // Another vendor user adds "Bronze", which sorts before "Silver": the
  // rows move, and the open confirmation stays with Silver's row.
  await api('POST', `/api/v1/customers/${customer.id}/entitlements`, {
    name: 'Bronze', expires_at: null, artifacts: [{ artifact: 'web', tags: ['1.0'] }],
  });
  const bronze = table.getByRole('row', { name: /Bronze/ });
  await expect(bronze).toHaveCount(1);
  await expect(table.getByRole('row').nth(1)).toContainText('Bronze');
  await expect(silver.getByRole('button', { name: 'Confirm delete' })).toBeVisible();
  await expect(bronze.getByRole('button', { name: 'Confirm delete' })).toBeHidden();

  // Confirming deletes Silver, not the row that took its place.
  await silver.getByRole('button', { name: 'Confirm delete' }).click();
  await expect(silver).toHaveCount(0);
  await expect(bronze).toHaveCount(1);
  expect((await api('GET', `/api/v1/customers/${customer.id}/entitlements`)).entitlements.map((e: { name: string }) => e.name)).toEqual(['Bronze']);
});

test('a live update that arrives while a page is loading is applied to that page', async ({ page, baseURL }, info) => {
  const { token, email, api } = await setUp(page, info, baseURL!, 'tessier');
  await pushImage(baseURL!, email, token, 'tessier/nexus', '6');
  const customer = await api('POST', '/api/v1/customers', { name: 'Wallace' });
  await open(page, info, `/licenses/${customer.id}/entitlements`);
  await live(page);
  await page.evaluate(() => { (window as any).stayed = true; });
  const table = page.getByRole('table', { name: 'Entitlements' });

  // A search as you type: its page is fetched before the change, and
  // delivered only after the change's live event has reached this page.
  const answer = await hold(page, new RegExp(`/licenses/${customer.id}/entitlements\\?q=rep$`));
  await page.getByRole('searchbox', { name: /Search by entitlement or artifact/ }).fill('rep');
  await answer.arrived;
  // (Counted from here: a refresh asked for while the visit is out.)
  await page.evaluate(() => addEventListener('portcullis:refresh', () => { (window as any).refreshAsked = true; }));
  await api('POST', `/api/v1/customers/${customer.id}/entitlements`, {
    name: 'Replicant', expires_at: null, artifacts: [{ artifact: 'nexus', tags: 'all' }],
  });
  await page.waitForFunction(() => (window as any).refreshAsked === true);
  answer.release();

  // The page asked for lands (the search's), then renders again with the change.
  await expect(page).toHaveURL(new RegExp(`/licenses/${customer.id}/entitlements\\?q=rep$`));
  await expect(table.getByRole('row', { name: /Replicant/ })).toHaveCount(1);
  await expect(page.getByRole('searchbox', { name: /Search by entitlement or artifact/ })).toHaveValue('rep');
  expect(await page.evaluate(() => (window as any).stayed)).toBe(true);
});

test('what is typed while a page is loading stays typed', async ({ page, baseURL }, info) => {
  const { api } = await setUp(page, info, baseURL!, 'dunder');
  for (const name of ['Penetrode', 'Chotchkies']) await api('POST', '/api/v1/customers', { name });
  await open(page, info, '/licenses');
  const table = page.getByRole('table', { name: 'Customers' });
  await expect(table.getByRole('link')).toHaveText(['Chotchkies', 'Penetrode']);

  const search = page.getByRole('searchbox', { name: 'Search customers' });
  const answer = await hold(page, /\/licenses\?q=pen/);
  await search.fill('pen');
  await search.press('Enter');
  await answer.arrived;
  // Meanwhile the user starts on the next customer, then moves on.
  const name = page.getByLabel('Customer name');
  await name.fill('Typed meanwhile');
  await search.focus();
  answer.release();

  await expect(page).toHaveURL(/\/licenses\?q=pen$/);
  await expect(table.getByRole('link')).toHaveText(['Penetrode']);
  await expect(name).toHaveValue('Typed meanwhile');
});

test('Back returns to where the list was scrolled', async ({ page, baseURL }, info) => {
  const { api } = await setUp(page, info, baseURL!, 'oscorp');
  for (let i = 0; i < 60; i++) await api('POST', '/api/v1/customers', { name: `Customer ${String(i).padStart(2, '0')}` });
  await open(page, info, '/licenses?limit=100');
  await page.evaluate(() => { (window as any).stayed = true; });
  const last = page.getByRole('table', { name: 'Customers' }).getByRole('link', { name: 'Customer 59' });
  await last.scrollIntoViewIfNeeded();
  const y = await page.evaluate(() => Math.round(window.scrollY));
  expect(y).toBeGreaterThan(500);

  await last.click();
  await expect(page).toHaveURL(/\/licenses\/\d+$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Customer 59');
  await expect.poll(() => page.evaluate(() => window.scrollY)).toBe(0);

  await page.goBack();
  await expect(page).toHaveURL(/\/licenses\?limit=100$/);
  await expect.poll(() => page.evaluate(() => Math.round(window.scrollY))).toBe(y);
  await expect(last).toBeInViewport();
  expect(await page.evaluate(() => (window as any).stayed)).toBe(true);
});
