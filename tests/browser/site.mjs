// End-to-end checks of the component directory in a real browser: Debian's chromium,
// headless, driven by playwright-core (never a browser that playwright downloads).
//
// Run by `cargo test --test site`, which builds a real index, generates the site and
// serves it from 127.0.0.1:
//   node tests/browser/site.mjs <base URL> <site folder> <artifacts folder>
// Prints `ok <check>` per check; any failure throws, and the process exits 1.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [base, siteDir, artifacts] = process.argv.slice(2);
if (!base || !siteDir || !artifacts) {
  throw new Error('usage: node site.mjs <base URL> <site folder> <artifacts folder>');
}
const executablePath = process.env.OCP_CHROMIUM || '/usr/bin/chromium';
// This machine's network is closed: these flags keep chromium from trying to reach out.
const args = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function check(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

function ok(name) {
  console.log(`ok ${name}`);
}

async function launch(options = {}) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'ocp-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args,
    viewport: { width: 1280, height: 900 },
    ...options,
  });
  return { context, userDataDir };
}

async function close({ context, userDataDir }) {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}

// Every dialog and every request a page makes, to prove hostile content stayed inert.
function watch(page) {
  const seen = { dialogs: [], requests: [], errors: [] };
  page.on('dialog', async (dialog) => {
    seen.dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  page.on('request', (request) => seen.requests.push(request.url()));
  page.on('pageerror', (error) => seen.errors.push(String(error)));
  return seen;
}

async function names(page) {
  return page.$$eval('#results li.result a.result-name', (links) => links.map((a) => a.textContent));
}

async function search(page, { q = '', osiris = '', status = '', mode = '' }) {
  await page.selectOption('#osiris', osiris);
  await page.selectOption('#status', status);
  await page.selectOption('#mode', mode);
  await page.fill('#q', q);
  return names(page);
}

const browser = await launch();
try {
  const page = await browser.context.newPage();
  const seen = watch(page);

  // The home page: the search box filters to the right components.
  await page.goto(`${base}/index.html`);
  await page.waitForSelector('html.js');
  const all = await names(page);
  check(all.length === 5, `the home page lists 5 components, not ${all}`);
  let shown = await search(page, { q: 'shopify' });
  check(shown.join() === 'shopify.extractor', `"shopify" finds shopify.extractor only, not ${shown}`);
  shown = await search(page, { q: 'writer' });
  check(shown.join() === 'postgres.writer', `"writer" finds postgres.writer only, not ${shown}`);
  shown = await search(page, { q: 'pagination' });
  check(shown.includes('shopify.extractor'), `words of the description match too: ${shown}`);
  shown = await search(page, { q: 'no-such-thing-anywhere' });
  check(shown.length === 0, `a word nothing has finds nothing, not ${shown}`);
  check((await page.textContent('#count')).startsWith('0 components'), 'the count says 0');
  ok('the search box filters to the right components');

  // The Osiris filter hides what does not fit: postgres.writer needs osiris >=0.5.5.
  shown = await search(page, { osiris: '0.5.3' });
  check(!shown.includes('postgres.writer'), `osiris 0.5.3 hides postgres.writer: ${shown}`);
  check(shown.includes('shopify.extractor'), `osiris 0.5.3 keeps shopify.extractor: ${shown}`);
  shown = await search(page, { osiris: '0.5.7' });
  check(shown.includes('postgres.writer'), `osiris 0.5.7 shows postgres.writer: ${shown}`);
  ok('a filter by Osiris version hides the incompatible components');

  shown = await search(page, { status: 'yanked' });
  check(shown.join() === 'old.processor', `the yanked filter shows old.processor only: ${shown}`);
  shown = await search(page, { mode: 'write' });
  check(shown.join() === 'postgres.writer', `the write mode shows postgres.writer only: ${shown}`);
  await search(page, {});
  ok('the status and mode filters work');

  // A filtered search survives a reload through the address.
  await search(page, { q: 'shopify', osiris: '0.5.7' });
  await page.reload();
  await page.waitForSelector('html.js');
  check((await page.inputValue('#q')) === 'shopify', 'the query is restored from the address');
  check((await names(page)).join() === 'shopify.extractor', 'the results are restored');
  await search(page, {});
  ok('a search is kept in the address');

  await page.screenshot({ path: join(artifacts, 'home.png'), fullPage: true });
  ok('home page screenshot saved');

  // A component page: the configuration table with the secret marked, the yanked version.
  await page.goto(`${base}/components/shopify.extractor.html`);
  const secretRow = await page.$eval('table.config tbody tr:has(code:text-is("api_key"))', (row) => ({
    secret: row.classList.contains('secret'),
    text: row.textContent,
  }));
  check(secretRow.secret, 'the api_key row is marked secret');
  check(/secret/.test(secretRow.text) && /connection/.test(secretRow.text), `api_key is a secret connection field: ${secretRow.text}`);
  const plainRow = await page.$eval('table.config tbody tr:has(code:text-is("resource"))', (row) => row.classList.contains('secret'));
  check(!plainRow, 'resource is not marked secret');
  ok('the configuration table marks the secret');

  const versions = await page.$$eval('table.versions tbody tr', (rows) => rows.map((row) => ({
    text: row.textContent.replace(/\s+/g, ' ').trim(),
    yanked: row.classList.contains('yanked'),
  })));
  const old = versions.find((v) => v.text.startsWith('0.1.0'));
  const current = versions.find((v) => v.text.startsWith('1.1.0'));
  check(old && old.yanked && /yanked/.test(old.text), `0.1.0 is marked yanked: ${JSON.stringify(versions)}`);
  check(current && !current.yanked && /verified/.test(current.text), `1.1.0 is installable and verified: ${JSON.stringify(versions)}`);
  ok('a yanked version is marked');
  await page.screenshot({ path: join(artifacts, 'component.png'), fullPage: true });
  ok('component page screenshot saved');

  // Hostile content: the README's script, onerror and javascript: payloads stay text.
  await page.goto(`${base}/components/evil.extractor.html`);
  await page.waitForTimeout(500);
  const readme = await page.$eval('#readme', (section) => ({
    text: section.textContent,
    active: section.querySelectorAll('script, img, iframe, object, embed, style, form, input').length,
    handlers: [...section.querySelectorAll('*')].flatMap((el) => [...el.attributes].map((a) => a.name)).filter((n) => n.startsWith('on')),
    scripted: section.querySelectorAll('a[href^="javascript:"], a[href^="data:"]').length,
  }));
  check(readme.active === 0, `no active element in the README (${readme.active})`);
  check(readme.handlers.length === 0, `no event handler in the README: ${readme.handlers}`);
  check(readme.scripted === 0, 'no javascript: or data: link in the README');
  check(readme.text.includes("<script>alert('readme-script')</script>"), 'the script payload shows as text');
  check(readme.text.includes('onerror='), 'the onerror payload shows as text');
  const heading = await page.textContent('header.component-head');
  check(heading.includes('<img src=x onerror=alert("spec")>'), 'the spec title shows as text');
  // Links the sanitizer emptied (javascript:) do nothing when clicked.
  for (const link of await page.$$('#readme a:not([href])')) {
    await link.click({ modifiers: [], noWaitAfter: true, timeout: 2000 }).catch(() => {});
  }
  await page.hover('#readme');
  await page.waitForTimeout(500);
  check(seen.dialogs.length === 0, `no dialog opened: ${seen.dialogs}`);
  const foreign = seen.requests.filter((url) => !url.startsWith(base) || url.includes('pwned'));
  check(foreign.length === 0, `no request left the site or followed a payload: ${foreign}`);
  check(seen.errors.length === 0, `no script error: ${seen.errors}`);
  ok('the hostile README renders as text: no dialog, no request');
} finally {
  await close(browser);
}

// Without JavaScript everything can still be browsed.
const plain = await launch({ javaScriptEnabled: false });
try {
  const page = await plain.context.newPage();
  await page.goto(`${base}/index.html`);
  check(await page.isVisible('text=Search needs JavaScript'), 'the home page says search needs JavaScript');
  check(!(await page.isVisible('#q')), 'the search box is hidden without JavaScript');
  await page.click('text=write (1)');
  check((await names(page)).join() === 'postgres.writer', 'the write mode page lists postgres.writer');
  await page.click('text=postgres.writer');
  check(page.url().endsWith('/components/postgres.writer.html'), `the link opens the component page: ${page.url()}`);
  ok('browsing works without JavaScript');
} finally {
  await close(plain);
}

// From file://, with no server at all, the search still works.
const local = await launch();
try {
  const page = await local.context.newPage();
  const seen = watch(page);
  await page.goto(pathToFileURL(join(siteDir, 'index.html')).href);
  await page.waitForSelector('html.js');
  const shown = await search(page, { q: 'postgres' });
  check(shown.join() === 'postgres.writer', `search from file:// finds postgres.writer: ${shown}`);
  check(seen.errors.length === 0, `no script error from file://: ${seen.errors}`);
  ok('the site works from file://');
} finally {
  await close(local);
}
