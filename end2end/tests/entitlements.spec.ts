import { test, expect } from './fixtures';
import { confirmDelete, isHydrated, open, search, signInOk } from './helpers';
import { admin, jsonApi, pushImage } from './registry-helpers';

// Its own organization, made with the CLI, on the pro plan.
const USER = { email: 'owner@umbrella.test', password: 'umbrella password 1' };

test('the Artifact Entitlements tab lists, marks, filters and deletes', async ({ page, baseURL }, info) => {
  admin(info, ['create-org', '--slug', 'umbrella', '--name', 'Umbrella', '--admin-email', USER.email, '--plan', 'pro'], USER.password + '\n');
  const token = admin(info, ['create-token', '--email', USER.email, '--label', 'e2e']);
  await pushImage(baseURL!, USER.email, token, 'umbrella/web', '1.0');
  await pushImage(baseURL!, USER.email, token, 'umbrella/charts/api', '2.0');
  const api = jsonApi(baseURL!, token);
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

  await search(page, info, page.getByRole('searchbox', { name: /Search by entitlement or artifact/ }), 'charts');
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
  await search(page, info, page.getByRole('searchbox', { name: /Search by entitlement or artifact/ }), 'stapler');
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

// Issue 15: rules in a grant, with a preview of what they match, and what
// happens at the expiry.
const CYBER = { email: 'owner@weyland.test', password: 'weyland password 1' };

test('a rule shows which tags it matches before it is saved', async ({ page, baseURL }, info) => {
  const hydrated = isHydrated(info);
  admin(info, ['create-org', '--slug', 'weyland', '--name', 'Weyland', '--admin-email', CYBER.email, '--plan', 'pro'], CYBER.password + '\n');
  const token = admin(info, ['create-token', '--email', CYBER.email, '--label', 'e2e']);
  for (const tag of ['1.0.0', '1.2.0', '2.0.0', '1.3.0-rc.1']) {
    await pushImage(baseURL!, CYBER.email, token, 'weyland/t800', tag);
  }
  const api = jsonApi(baseURL!, token);
  const customer = await api('POST', '/api/v1/customers', { name: 'Skynet' });

  await signInOk(page, info, CYBER.email, CYBER.password);
  await open(page, info, `/licenses/${customer.id}/entitlements/new`);
  if (hydrated) await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1, { timeout: 30_000 });
  const form = page.getByRole('form', { name: 'Create entitlement' });
  const row = page.getByRole('group', { name: 'Artifact 1', exact: true });
  await form.getByLabel('Name').fill('Stable 1.x');
  await row.getByLabel('Artifact', { exact: true }).selectOption('t800');
  await row.getByLabel('Version range…').check();
  const range = row.getByRole('textbox', { name: 'Version range', exact: true });
  const preview = row.getByRole('status');
  // Hydrated, the preview follows the typing; without JavaScript the
  // Preview button asks the server (the form comes back as it was).
  const typeAndPreview = async (text: string) => {
    await range.fill(text);
    if (!hydrated) await row.getByRole('button', { name: 'Preview' }).click();
  };
  await typeAndPreview('>=1.0, <2');
  await expect(preview).toContainText('Matches 2 of 4 current tags');
  await expect(preview).toContainText('1.0.0');
  await expect(preview).toContainText('1.2.0');
  await expect(preview).not.toContainText('1.3.0-rc.1');
  await expect(preview).toContainText('2 do not match');
  await expect(form.getByLabel('Name')).toHaveValue('Stable 1.x');

  // A pattern that matches nothing yet is allowed, and says so.
  await row.getByLabel('Tags matching a pattern…').check();
  const pattern = row.getByRole('textbox', { name: 'Pattern', exact: true });
  await pattern.fill('*-lts');
  if (!hydrated) await row.getByRole('button', { name: 'Preview' }).click();
  await expect(preview).toContainText('Matches none of the 4 current tags yet');
  // An invalid range says why, next to the field.
  await row.getByLabel('Version range…').check();
  await typeAndPreview('>=1.x.y');
  await expect(preview).toContainText('is not a version range');

  await typeAndPreview('^1');
  await expect(preview).toContainText('Matches 2 of 4');
  await form.getByLabel('Keep what was released').check();
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(page).toHaveURL(/\/entitlements$/);
  const saved = page.getByRole('table', { name: 'Entitlements' }).getByRole('row', { name: /Stable 1.x/ });
  await expect(saved).toContainText('t800 · 1.x stable: ^1');

  // Edited again, the form shows the rule and the choice.
  await saved.getByRole('link', { name: 'Stable 1.x' }).click();
  const edit = page.getByRole('form', { name: 'Edit entitlement' });
  await expect(row.getByLabel('Version range…')).toBeChecked();
  await expect(row.getByRole('textbox', { name: 'Version range', exact: true })).toHaveValue('^1');
  await expect(edit.getByLabel('Keep what was released')).toBeChecked();
  const list = await api('GET', `/api/v1/customers/${customer.id}/entitlements`);
  expect(list.entitlements[0].after_expiry).toBe('keep_released');
  expect(list.entitlements[0].artifacts[0].tags).toEqual({ semver: '^1' });

  // The form, loaded as a page, is left by the console's navigation: the
  // console frame stays and the page under it is replaced (the fixture fails
  // the test on any error in the page).
  await open(page, info, `/licenses/${customer.id}/entitlements/new`);
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Licenses' }).click();
  await expect(page).toHaveURL(/\/licenses$/);
  await expect(page.getByRole('heading', { name: 'Licenses', level: 1 })).toBeVisible();
  await expect(page.getByRole('form', { name: 'Create entitlement' })).toHaveCount(0);
});
