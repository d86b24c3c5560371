import { test, expect } from './fixtures';
import { isHydrated, open, search, signInOk } from './helpers';
import { admin, pushImage } from './registry-helpers';

// Its own organization (made with the CLI), independent of console.spec.
const USER = { email: 'owner@globex.test', password: 'globex password 1' };

test.describe.configure({ mode: 'serial' });

test('pushed artifacts are listed, searchable, and have copyable details', async ({ page, baseURL, context }, info) => {
  admin(info, ['create-org', '--slug', 'globex', '--name', 'Globex', '--admin-email', USER.email, '--plan', 'pro'], USER.password + '\n');
  const token = admin(info, ['create-token', '--email', USER.email, '--label', 'e2e']);
  const digest = await pushImage(baseURL!, USER.email, token, 'globex/web', '1.0.0');
  await pushImage(baseURL!, USER.email, token, 'globex/web', '1.1.0');
  await pushImage(baseURL!, USER.email, token, 'globex/tools/cli', '0.9');

  await signInOk(page, info, USER.email, USER.password);
  const table = page.getByRole('table');
  await expect(table.getByRole('row')).toHaveCount(3);
  await expect(page.getByRole('row', { name: /tools\/cli/ })).toContainText('Container image');
  await expect(page.getByText(`docker login ${new URL(baseURL!).host} -u ${USER.email} --password-stdin`)).toBeVisible();

  // Search: as you type when hydrated, by submitting the form without JavaScript.
  await search(page, info, page.getByRole('searchbox', { name: 'Search artifacts' }), 'cli');
  await expect(table.getByRole('row')).toHaveCount(2);
  await expect(table.getByRole('link')).toHaveText(['tools/cli']);

  await open(page, info, '/artifacts');
  await page.getByRole('link', { name: 'web', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'web', level: 1 })).toBeVisible();
  const tags = page.getByRole('table');
  await expect(tags.getByRole('row').nth(1)).toContainText('1.1.0'); // newest first
  await expect(tags.getByRole('row').nth(2)).toContainText('1.0.0');
  await expect(tags.getByRole('row').nth(2).locator('code')).toHaveAttribute('title', digest);

  if (isHydrated(info)) {
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await tags.getByRole('row').nth(2).getByRole('button', { name: /Copy digest/ }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(digest);
  }
});

test('the artifacts list pages with Next and First page links', async ({ page }, info) => {
  await signInOk(page, info, USER.email, USER.password);
  // One artifact a page (tools/cli, web): the links are the same without
  // JavaScript (plain links) and hydrated (the router follows them in place).
  await open(page, info, '/artifacts?limit=1');
  if (isHydrated(info)) await page.evaluate(() => { (window as any).stayed = true; });
  const table = page.getByRole('table');
  const pager = page.getByRole('navigation', { name: 'Artifact pages' });
  await expect(table.getByRole('link')).toHaveText(['tools/cli']);
  await expect(pager.getByRole('link', { name: 'First page' })).toHaveCount(0);
  await pager.getByRole('link', { name: 'Next' }).click();
  await expect(page).toHaveURL(/\/artifacts\?limit=1&after=tools%2Fcli$/);
  await expect(table.getByRole('link')).toHaveText(['web']);
  await expect(pager.getByRole('link', { name: 'Next' })).toHaveCount(0);
  await pager.getByRole('link', { name: 'First page' }).click();
  await expect(page).toHaveURL(/\/artifacts\?limit=1$/);
  await expect(table.getByRole('link')).toHaveText(['tools/cli']);
  if (isHydrated(info)) expect(await page.evaluate(() => (window as any).stayed)).toBe(true);
});

test('tokens are created once-visible, listed and revoked', async ({ page, baseURL }, info) => {
  await signInOk(page, info, USER.email, USER.password);
  await open(page, info, '/settings');
  const form = page.getByRole('form', { name: 'Create a token' });
  await form.getByLabel('Expires').selectOption('90');
  // Enter submits it (the box keeps the focus).
  await form.getByLabel('Label').fill('deploy bot');
  await form.getByLabel('Label').press('Enter');
  const secret = (await page.getByTestId('new-token').textContent())!.trim();
  // The form is ready for the next token.
  await expect(form.getByLabel('Label')).toHaveValue('');
  await expect(form.getByLabel('Expires')).toHaveValue('30');
  expect(secret).toMatch(/^pcl_[0-9a-f]{64}$/);
  const row = page.getByRole('row', { name: /deploy bot/ });
  await expect(row).toBeVisible();

  const auth = 'Basic ' + Buffer.from(`${USER.email}:${secret}`).toString('base64');
  expect((await fetch(`${baseURL}/v2/globex/web/tags/list`, { headers: { authorization: auth } })).status).toBe(200);

  await row.getByRole('button', { name: 'Revoke deploy bot' }).click();
  await expect(page.getByRole('row', { name: /deploy bot/ })).toHaveCount(0);
  expect((await fetch(`${baseURL}/v2/globex/web/tags/list`, { headers: { authorization: auth } })).status).toBe(401);
  // The secret is never shown again.
  await open(page, info, '/settings');
  await expect(page.getByText(secret)).toHaveCount(0);
});
