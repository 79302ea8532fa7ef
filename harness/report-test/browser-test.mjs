// Drives witness's HTML report (`cargo xtask report`) in a real headless
// Chromium: the matrix, the filters, a cell's details, and guest output
// that is markup staying text. Usage: node browser-test.mjs REPORT.html
import { chromium } from 'playwright-core';
import { resolve } from 'node:path';
import assert from 'node:assert/strict';

const report = resolve(process.argv[2]);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
const page = await browser.newPage();
const problems = [];
page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
page.on('dialog', async (dialog) => {
  problems.push(`dialog: ${dialog.message()}`);
  await dialog.dismiss();
});
await page.goto(`file://${report}`);

const visibleRows = () => page.locator('tbody tr:not([hidden])').count();
assert.equal(await page.locator('tbody tr').count(), 2, 'one row per case');
assert.equal(await page.locator('thead th[data-host]').count(), 2, 'one column per host');

await page.selectOption('#verdict', 'violates');
assert.equal(await visibleRows(), 1, 'the verdict filter keeps the violating case');
await page.selectOption('#verdict', '');
await page.selectOption('#family', 'poll');
assert.equal(await visibleRows(), 1, 'the family filter keeps poll');
await page.selectOption('#family', '');
await page.selectOption('#host', 'jco');
assert.equal(await page.locator('td[data-host="wasmtime"]:not([hidden])').count(), 0, 'the host filter hides the other host');
assert.equal(await visibleRows(), 1, 'only the case jco ran is left');
await page.selectOption('#host', '');

await page.locator('td[data-host="wasmtime"] button.open').last().click();
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
