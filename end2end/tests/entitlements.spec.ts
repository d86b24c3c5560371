import { test, expect } from './fixtures';
import { confirmDelete, isHydrated, open, signInOk } from './helpers';
import { admin, pushImage } from './registry-helpers';

// Its own organization, made with the CLI, on the pro plan.
const USER = { email: 'owner@umbrella.test', password: 'umbrella password 1' };

test('the Artifact Entitlements tab lists, marks, filters and deletes', async ({ page, baseURL }, info) => {
  admin(info, ['create-org', '--slug', 'umbrella', '--name', 'Umbrella', '--admin-email', USER.email, '--plan', 'pro'], USER.password + '\n');
  const token = admin(info, ['create-token', '--email', USER.email, '--label', 'e2e']);
  await pushImage(baseURL!, USER.email, token, 'umbrella/web', '1.0');
  await pushImage(baseURL!, USER.email, token, 'umbrella/charts/api', '2.0');
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${baseURL}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    expect(r.status, `${method} ${path}`).toBeLessThan(300);
    return r.status === 204 ? null : r.json();
  };
  const customer = await api('POST', '/api/v1/customers', { name: 'Hive' });
  await api('POST', `/api/v1/customers/${customer.id}/entitlements`, {
    name: 'Gold', expires_at: null, artifacts: [{ artifact: 'web', tags: 'all' }],
  });
  await api('POST', `/api/v1/customers/${customer.id}/entitlements`, {
    name: 'Trial', expires_at: '2020-01-01T00:00:00Z', artifacts: [{ artifact: 'charts/api', tags: ['2.0'] }],
  });

  await signInOk(page, info, USER.email, USER.password);
  await open(page, info, `/licenses/${customer.id}`);
  await page.getByRole('navigation', { name: 'Customer' }).getByRole('link', { name: 'Artifact Entitlements' }).click();
  const table = page.getByRole('table', { name: 'Entitlements' });
  await expect(table.getByRole('row')).toHaveCount(3);
  await expect(table.getByRole('row', { name: /Gold/ })).toContainText('all tags');
  await expect(table.getByRole('row', { name: /Trial/ })).toContainText('Expired 2020-01-01');

  const search = page.getByRole('searchbox', { name: /Search by entitlement or artifact/ });
  if (isHydrated(info)) {
    await search.pressSequentially('charts');
  } else {
    await search.fill('charts');
    await search.press('Enter');
    await expect(page).toHaveURL(/\?q=charts$/);
  }
  await expect(table.getByRole('row')).toHaveCount(2);
  await expect(table.getByRole('row').nth(1)).toContainText('Trial');

  await open(page, info, `/licenses/${customer.id}/entitlements`);
  await confirmDelete(table.getByRole('row', { name: /Gold/ }));
  await expect(table.getByRole('row', { name: /Gold/ })).toHaveCount(0);
  await expect(table.getByRole('row')).toHaveCount(2);
});

// SPEC §4: the whole vendor flow through the entitlement form.
const OWNER = { email: 'owner@initrode.test', password: 'initrode password 1' };

test('create, filter, edit and delete an entitlement with the form', async ({ page, baseURL }, info) => {
  const hydrated = isHydrated(info);
  admin(info, ['create-org', '--slug', 'initrode', '--name', 'Initrode', '--admin-email', OWNER.email, '--plan', 'pro'], OWNER.password + '\n');
  const token = admin(info, ['create-token', '--email', OWNER.email, '--label', 'e2e']);
  await pushImage(baseURL!, OWNER.email, token, 'initrode/tps', '1.0');
  await pushImage(baseURL!, OWNER.email, token, 'initrode/charts/stapler', '2.0');
  await pushImage(baseURL!, OWNER.email, token, 'initrode/charts/stapler', '2.1');

  await signInOk(page, info, OWNER.email, OWNER.password);
  // Create the customer on the Licenses page.
  await open(page, info, '/licenses');
  await page.getByLabel('Customer name').fill('Penetrode');
  await page.getByRole('button', { name: 'Create customer' }).click();
  await expect(page.getByRole('heading', { name: 'Penetrode' })).toBeVisible();
  await page.getByRole('navigation', { name: 'Customer' }).getByRole('link', { name: 'Artifact Entitlements' }).click();
  await expect(page.getByText('This customer has no entitlements yet.')).toBeVisible();
  if (hydrated) await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1, { timeout: 30_000 });
  await page.getByRole('link', { name: 'Create Entitlement' }).click();
  await expect(page.getByRole('heading', { name: 'Create entitlement' })).toBeVisible();
  if (hydrated) await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1, { timeout: 30_000 });
  const form = page.getByRole('form', { name: 'Create entitlement' });

  // Validation: nothing typed, then the same artifact twice with no tag chosen.
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(form.locator('#name-error')).toHaveText('Enter a name.');
  await expect(form.getByRole('alert').filter({ hasText: 'Choose an artifact.' })).toBeVisible();

  await form.getByLabel('Name').fill('Gold support');
  await form.getByLabel('Expiration date').fill('2031-05-17');
  const row = (n: number) => page.getByRole('group', { name: `Artifact ${n}`, exact: true });
  await row(1).getByLabel('Artifact', { exact: true }).selectOption('tps');
  await form.getByRole('button', { name: '+ Add Artifact' }).click();
  await row(2).getByLabel('Artifact', { exact: true }).selectOption('tps');
  if (!hydrated) await row(2).getByRole('button', { name: 'Show tags' }).click();
  await row(2).getByLabel('Specific tags').check();
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(row(2).getByRole('alert').filter({ hasText: 'This artifact is already in the entitlement.' })).toBeVisible();
  await expect(row(2).getByRole('alert').filter({ hasText: 'Choose at least one tag.' })).toBeVisible();
  // What was typed is still there.
  await expect(form.getByLabel('Name')).toHaveValue('Gold support');
  await expect(form.getByLabel('Expiration date')).toHaveValue('2031-05-17');

  // Fix the second row: a chart with one specific tag.
  await row(2).getByLabel('Artifact', { exact: true }).selectOption('charts/stapler');
  if (!hydrated) await row(2).getByRole('button', { name: 'Show tags' }).click();
  await row(2).getByLabel('Specific tags').check();
  await expect(row(2).getByRole('group', { name: 'Tags of artifact 2' }).getByRole('checkbox')).toHaveCount(2);
  await row(2).getByRole('checkbox', { name: '2.1' }).check();
  await form.getByRole('button', { name: 'Save' }).click();

  // Back on the tab, the table shows it.
  await expect(page).toHaveURL(/\/entitlements$/);
  const table = page.getByRole('table', { name: 'Entitlements' });
  const gold = table.getByRole('row', { name: /Gold support/ });
  await expect(gold).toContainText('tps · all tags');
  await expect(gold).toContainText('charts/stapler · 2.1');
  await expect(gold).toContainText('2031-05-17');

  // A duplicate name is refused next to the field.
  await page.getByRole('link', { name: 'Create Entitlement' }).click();
  if (hydrated) await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1, { timeout: 30_000 });
  await form.getByLabel('Name').fill('Gold support');
  await row(1).getByLabel('Artifact', { exact: true }).selectOption('tps');
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(form.locator('#name-error')).toHaveText('This customer already has an entitlement with this name.');
  await form.getByLabel('Name').fill('Silver');
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(table.getByRole('row')).toHaveCount(3);

  // Filter by artifact name.
  const search = page.getByRole('searchbox', { name: /Search by entitlement or artifact/ });
  if (hydrated) {
    await search.pressSequentially('stapler');
  } else {
    await search.fill('stapler');
    await search.press('Enter');
  }
  await expect(table.getByRole('row')).toHaveCount(2);
  await expect(table.getByRole('row').nth(1)).toContainText('Gold support');

  // Edit: click the row, switch the chart to all tags, remove the first row.
  if (hydrated) {
    await table.getByRole('row', { name: /Gold support/ }).getByRole('cell').nth(2).click();
  } else {
    await table.getByRole('link', { name: 'Gold support' }).click();
  }
  await expect(page.getByRole('heading', { name: 'Edit entitlement' })).toBeVisible();
  if (hydrated) await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1, { timeout: 30_000 });
  const edit = page.getByRole('form', { name: 'Edit entitlement' });
  await expect(edit.getByLabel('Name')).toHaveValue('Gold support');
  await expect(row(2).getByRole('checkbox', { name: '2.1' })).toBeChecked();
  await row(2).getByLabel('All tags and future tags').check();
  await row(1).getByRole('button', { name: 'Remove artifact 1' }).click();
  await expect(edit.getByRole('group', { name: /^Artifact \d$/ })).toHaveCount(1);
  await expect(row(1).getByLabel('Artifact', { exact: true })).toHaveValue('charts/stapler');
  await edit.getByLabel('Expiration date').fill('');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(page).toHaveURL(/\/entitlements$/);
  const edited = table.getByRole('row', { name: /Gold support/ });
  await expect(edited).toContainText('charts/stapler · all tags');
  await expect(edited).not.toContainText('tps');
  await expect(edited).toContainText('Never');

  // Delete with confirmation.
  await confirmDelete(edited);
  await expect(table.getByRole('row', { name: /Gold support/ })).toHaveCount(0);
  await expect(table.getByRole('row')).toHaveCount(2);

  // The customer's history records every change: who, what, before and after.
  await page.getByRole('navigation', { name: 'Customer' }).getByRole('link', { name: 'Overview' }).click();
  const history = page.getByRole('list', { name: 'Changes' });
  const items = history.getByRole('listitem');
  await expect(items).toHaveCount(5);
  await expect(items.nth(0)).toContainText(`${OWNER.email} · Deleted entitlement Gold support`);
  await expect(items.nth(1)).toContainText('Changed entitlement Gold support');
  await expect(items.nth(1).getByRole('definition').first()).toHaveText('Gold support · expires 2031-05-17 · tps (all tags), charts/stapler (2.1)');
  await expect(items.nth(1).getByRole('definition').last()).toHaveText('Gold support · no expiration · charts/stapler (all tags)');
  await expect(items.nth(2)).toContainText('Created entitlement Silver');
  await expect(items.nth(3)).toContainText('Created entitlement Gold support');
  await expect(items.nth(4)).toContainText('Created customer Penetrode');
});
