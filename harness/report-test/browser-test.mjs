// Drives witness's HTML report (`cargo xtask report`) in a real headless
// Chromium: the first screen (the summary per host and package, and what
// each host did where hosts disagree), the collapsed matrix, its filters, a
// cell's details, the coverage bars, and guest output that is markup
// staying text. Usage: node browser-test.mjs REPORT.html [SCREENSHOT.png]
import { chromium } from 'playwright-core';
import { resolve } from 'node:path';
import assert from 'node:assert/strict';

const report = resolve(process.argv[2]);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
const problems = [];
page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
page.on('dialog', async (dialog) => {
  problems.push(`dialog: ${dialog.message()}`);
  await dialog.dismiss();
});
await page.goto(`file://${report}`);

// The first screen: the summary and the disagreements, the matrix collapsed.
const onFirstScreen = async (selector) => {
  const box = await page.locator(selector).boundingBox();
  return box !== null && box.y < 720;
};
assert.ok(await onFirstScreen('#host-summary'), 'the per-host summary is on the first screen');
assert.ok(await onFirstScreen('#package-summary'), 'the per-package coverage is on the first screen');
assert.ok(await onFirstScreen('#disagreements table'), 'the disagreements are on the first screen');
const top = async (selector) => (await page.locator(selector).boundingBox()).y;
assert.ok(await top('#summary') < await top('#disagreements'), 'the summary comes first');
assert.ok(await top('#disagreements') < await top('#all-cases'), 'the disagreements come before everything else');
const count = (host, verdict) =>
  page.locator('#host-summary tr', { hasText: host }).locator(`td[data-count="${verdict}"]`).innerText();
assert.equal(await count('wasmtime', 'violates'), '1', 'wasmtime has one violation');
assert.equal(await count('jco', 'known-violation'), '1', 'jco has one known violation');
assert.equal(await count('wasmtime', 'changed'), '1', 'wasmtime has one changed record');
assert.equal(await page.locator('#disagreements tbody tr').count(), 2, 'two cases where hosts disagree');
const disagreement = page.locator('#disagreements tbody tr', { hasText: 'poll::empty-list' });
assert.equal(await disagreement.locator('td.conforms button').innerText(), 'trap by host', 'what wasmtime did, coloured as conforming');
assert.equal(await disagreement.locator('td.known-violation button').innerText(), 'hang', 'what jco did, coloured as a known violation');
assert.ok(!(await page.locator('#matrix').isVisible()), 'the whole matrix starts collapsed');
const markup = page.locator('#disagreements tbody tr', { hasText: 'streams::markup' });
assert.ok((await markup.locator('td.conforms button').innerText()).includes('<img src=x'), 'what a host did is shown as text');
assert.equal(await page.locator('#disagreements img, #disagreements script').count(), 0, 'no element came from what a host did');
if (process.argv[3]) await page.screenshot({ path: process.argv[3] });

await markup.locator('td.conforms button').click();
assert.ok((await page.locator('#panel').innerText()).includes('cargo xtask test -- --exact jco::streams::markup'), 'a disagreeing cell opens its details');
assert.equal(await page.locator('#details img, #details script').count(), 0, 'no element came from the details');
await page.locator('#close').click();

// The coverage: one bar per package and interface, from the run's ledger.
assert.equal(await page.locator('#coverage-bars tr.package').count(), 2, 'a row per package');
assert.equal(await page.locator('#coverage-bars tr.interface').count(), 2, 'a row per interface');
assert.equal(await page.locator('#coverage-bars .bar').count(), 16, 'a bar per measure');
assert.equal(await page.locator('#coverage-bars b').count(), 0, 'a package name that is markup stays text');

await page.locator('#all-cases > summary').click();
const visibleRows = () => page.locator('#matrix tbody tr:not([hidden])').count();
assert.equal(await page.locator('#matrix tbody tr').count(), 2, 'one row per case');
assert.equal(await page.locator('#matrix thead th[data-host]').count(), 2, 'one column per host');

await page.selectOption('#verdict', 'violates');
assert.equal(await visibleRows(), 1, 'the verdict filter keeps the violating case');
await page.selectOption('#verdict', '');
await page.selectOption('#family', 'poll');
assert.equal(await visibleRows(), 1, 'the family filter keeps poll');
await page.selectOption('#family', '');
await page.selectOption('#host', 'jco');
assert.equal(await page.locator('#matrix td[data-host="wasmtime"]:not([hidden])').count(), 0, 'the host filter hides the other host');
assert.equal(await visibleRows(), 2, 'both cases jco ran are left');
await page.selectOption('#host', '');

await page.locator('#matrix td[data-host="wasmtime"] button.open').last().click();
const panel = page.locator('#panel');
assert.ok(await panel.isVisible(), 'a cell opens its details');
const text = await panel.innerText();
for (const part of ['the spec allows', 'observed', 'reproduce', 'cargo xtask test -- --exact wasmtime::streams::markup']) {
  assert.ok(text.includes(part), `the details show ${part}`);
}
assert.ok(text.includes("<script>window.injected='script'</script>"), 'markup in guest output is shown as text');
assert.equal(await page.locator('#details img, #details script').count(), 0, 'no element came from a run\'s text');
assert.equal(await page.locator('#details b').count(), 2, 'the only bold text is the verdicts\'');
assert.equal(await page.evaluate(() => window.injected), undefined, 'nothing from a run\'s text ran');
await page.locator('#close').click();
assert.ok(!(await panel.isVisible()), 'the details close');

assert.deepEqual(problems, []);
await browser.close();
console.log(`report browser test: ${report} passed`);
