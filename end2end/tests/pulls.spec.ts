import { test, expect } from './fixtures';
import { open, signInOk } from './helpers';
import { admin, pushImage } from './registry-helpers';

// Its own organization (made with the CLI): community plan, no entitlements,
// so its customers may pull everything (SPEC §3 rule 1).
const USER = { email: 'owner@stark.test', password: 'stark password 1' };
const CUSTOMER = { email: 'bruce@wayne.test', password: 'wayne password 1' };
const HEADER = 'id,time,customer_id,customer,user_id,user,artifact,tag,digest,address,count\r\n';

test('the Pulls cards: empty, then a customer pull, with the CSV download', async ({ page, baseURL }, info) => {
  admin(info, ['create-org', '--slug', 'stark', '--name', 'Stark', '--admin-email', USER.email], USER.password + '\n');
  const token = admin(info, ['create-token', '--email', USER.email, '--label', 'e2e']);
  const digest = await pushImage(baseURL!, USER.email, token, 'stark/charts/web', '1.0.0');
  const api = async (path: string, body: object) => {
    const r = await fetch(`${baseURL}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(r.status, `${path}: ${await r.clone().text()}`).toBe(201);
    return r.json();
  };
  const customer = await api('/api/v1/customers', { name: 'Wayne' });
  await api(`/api/v1/customers/${customer.id}/users`, { ...CUSTOMER, role: 'member' });

  await signInOk(page, info, USER.email, USER.password);
  await open(page, info, `/licenses/${customer.id}`);
  let card = page.getByRole('region', { name: 'Pulls' });
  await expect(card.getByText('No pulls yet.')).toBeVisible();
  const link = card.getByRole('link', { name: 'Download CSV' });
  const href = `/api/v1/pulls?customer=${customer.id}&format=csv`;
  await expect(link).toHaveAttribute('href', href);
  // The link downloads a file (hydrated, the router leaves it alone).
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  expect(download.suggestedFilename()).toBe(`pulls-stark-customer-${customer.id}.csv`);
  const empty = await page.request.get(href);
  expect(empty.status()).toBe(200);
  expect(empty.headers()['content-type']).toBe('text/csv; charset=utf-8');
  expect(await empty.text()).toBe(HEADER);

  await open(page, info, '/artifacts/charts/web');
  card = page.getByRole('region', { name: 'Pulls' });
  await expect(card.getByText('No pulls yet.')).toBeVisible();
  await expect(card.getByRole('link', { name: 'Download CSV' })).toHaveAttribute('href', '/api/v1/pulls?artifact=charts/web&format=csv');

  // The customer pulls the chart; the log is written within a second or so.
  const customerToken = admin(info, ['create-token', '--email', CUSTOMER.email, '--label', 'e2e']);
  const auth = 'Basic ' + Buffer.from(`${CUSTOMER.email}:${customerToken}`).toString('base64');
  const pulled = await fetch(`${baseURL}/v2/stark/charts/web/manifests/1.0.0`, { headers: { authorization: auth } });
  expect(pulled.status).toBe(200);

  const row = card.getByRole('table', { name: 'Pulls' }).getByRole('row', { name: /Wayne/ });
  await expect(async () => {
    await open(page, info, '/artifacts/charts/web');
    await expect(row).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  await expect(row).toContainText(CUSTOMER.email);
  await expect(row).toContainText('1.0.0');
  await expect(row.locator('code')).toHaveAttribute('title', digest);

  await open(page, info, `/licenses/${customer.id}`);
  const mine = page.getByRole('region', { name: 'Pulls' }).getByRole('row', { name: /charts\/web/ });
  await expect(mine).toContainText(CUSTOMER.email);
  await expect(mine).toContainText('127.0.0.1');
  await expect(mine.getByRole('cell').last()).toHaveText('1');
  const csv = await (await page.request.get(href)).text();
  expect(csv.startsWith(HEADER)).toBe(true);
  expect(csv.split('\r\n')[1]).toContain(`,Wayne,`);
  expect(csv.split('\r\n')[1]).toContain(`,${CUSTOMER.email},charts/web,1.0.0,${digest},127.0.0.1,1`);
});
