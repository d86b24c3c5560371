import { test, expect } from './fixtures';
import { isHydrated, open, signInOk } from './helpers';
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
  await table.getByRole('row', { name: /Gold/ }).getByText('Delete', { exact: true }).click();
  await table.getByRole('row', { name: /Gold/ }).getByRole('button', { name: 'Confirm delete' }).click();
  await expect(table.getByRole('row', { name: /Gold/ })).toHaveCount(0);
  await expect(table.getByRole('row')).toHaveCount(2);
});
