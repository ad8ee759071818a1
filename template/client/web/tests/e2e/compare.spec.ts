// The page as a user drives it: one prompt through every strategy, compared live.
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';

async function run(page: Page, prompt: string, maxTokens?: number) {
  await page.goto('/');
  await page.getByRole('textbox', { name: 'Prompt', exact: true }).fill(prompt);
  if (maxTokens) await page.getByRole('spinbutton', { name: 'Max tokens' }).fill(String(maxTokens));
  await page.getByRole('button', { name: /^Run / }).click();
}

test('every panel completes with the same text; metrics, winners and the chart appear', async ({ page }, testInfo) => {
  await run(page, 'Why do streamed answers feel faster? [tokens=60] [tps=300]');
  const panels = page.locator('section.panel');
  const count = await panels.count();
  expect(count).toBeGreaterThan(0);
  for (let i = 0; i < count; i += 1) {
    await expect(panels.nth(i)).toHaveAttribute('data-status', 'done', { timeout: 30_000 });
    await expect(panels.nth(i).getByText('60 / ')).toBeVisible();
  }
  const texts = await panels.locator('.text').allTextContents();
  expect(texts[0].length).toBeGreaterThan(0);
  expect(new Set(texts).size).toBe(1);

  const rows = page.locator('.metrics table tbody tr');
  await expect(rows).toHaveCount(count);
  // With two or more strategies each of the three metrics has a winner (ties share it); alone,
  // a strategy wins nothing.
  const marks = await page.getByLabel('winner').count();
  if (count > 1) expect(marks).toBeGreaterThanOrEqual(3);
  else expect(marks).toBe(0);
  await expect(page.locator('.chart canvas')).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('compare.png'), fullPage: true });
});

test("every panel's live figures move on every chunk while the answer streams", async ({ page }, testInfo) => {
  await run(page, 'A steady answer [tokens=400] [tps=40]', 400);
  // A buffered strategy answers whole, at the end: it has no figures to move mid-race.
  const panels = page.locator('section.panel:not([data-buffered])');
  const count = await panels.count();
  const reading = (i: number) =>
    Promise.all(
      ['elapsed', 'chunks'].map((metric) => panels.nth(i).locator(`[data-metric="${metric}"]`).textContent()),
    );
  const first: (string | null)[][] = [];
  for (let i = 0; i < count; i += 1) {
    await expect(panels.nth(i)).toHaveAttribute('data-status', 'streaming', { timeout: 30_000 });
    first.push(await reading(i));
  }
  // A second reading of each panel, still mid-race: elapsed and chunks both moved.
  for (let i = 0; i < count; i += 1) {
    await expect
      .poll(async () => (await reading(i)).map((value, k) => value !== first[i][k]), { timeout: 10_000 })
      .toEqual([true, true]);
    await expect(panels.nth(i)).toHaveAttribute('data-status', 'streaming');
  }
  await page.screenshot({ path: testInfo.outputPath('mid-race.png'), fullPage: true });
  await page.getByRole('button', { name: 'Cancel' }).click();
});

test('Enter runs, Shift+Enter adds a line; the controls wait out the run; a strategy left out stays out', async ({
  page,
}) => {
  await page.goto('/');
  const prompt = page.getByRole('textbox', { name: 'Prompt', exact: true });
  await prompt.fill('Line one');
  await prompt.press('Shift+Enter');
  await prompt.pressSequentially('line two [tokens=200] [tps=100]');
  await expect(prompt).toHaveValue('Line one\nline two [tokens=200] [tps=100]');
  // With more than one strategy, each has a box; leave the last one out.
  const boxes = page.getByRole('group', { name: 'Strategies in the race' }).getByRole('checkbox');
  const strategies = await boxes.count();
  if (strategies > 1) await boxes.last().uncheck();
  await prompt.press('Enter');
  await expect(prompt).toBeDisabled();
  await expect(page.getByRole('button', { name: 'Cancel' })).toBeEnabled();
  const panels = page.locator('section.panel');
  await expect(panels).toHaveCount(Math.max(1, strategies - 1));
  for (let i = 0; i < (await panels.count()); i += 1) {
    await expect(panels.nth(i)).toHaveAttribute('data-status', 'done', { timeout: 30_000 });
  }
  // Done: the prompt is back, with the focus, for the next question.
  await expect(prompt).toBeEnabled();
  await expect(prompt).toBeFocused();
  if (strategies > 1) {
    await page.reload();
    await expect(boxes.last()).not.toBeChecked();
    await expect(page.locator('section.panel')).toHaveCount(strategies - 1);
  }
});

test("an injected model fault shows the protocol's error code in each panel", async ({ page }) => {
  await run(page, 'Fail after a few tokens [fault=stream-error] [after=5]');
  const panels = page.locator('section.panel');
  for (let i = 0; i < (await panels.count()); i += 1) {
    await expect(panels.nth(i)).toHaveAttribute('data-status', 'error', { timeout: 30_000 });
    await expect(panels.nth(i).getByRole('alert')).toContainText('MODEL_ERROR');
  }
});

test('cancel stops the streams', async ({ page }) => {
  await run(page, 'A long answer [tokens=3000] [tps=40]', 3000);
  const streaming = page.locator('section.panel[data-status="streaming"]').first();
  await expect(streaming).toBeVisible({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.locator('section.panel[data-status="streaming"]')).toHaveCount(0);
  await expect(page.locator('section.panel[data-status="cancelled"]').first()).toBeVisible();
  await expect(page.getByRole('button', { name: /^Run / })).toBeEnabled();
});

test('works from the keyboard on a phone-width screen, in the dark scheme', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto('/');
  const prompt = page.getByRole('textbox', { name: 'Prompt', exact: true });
  await prompt.fill('From the keyboard [tokens=8]');
  // Tab order reaches the Run button, past every control before it (a box per strategy among
  // them); Enter on it runs.
  const run = page.getByRole('button', { name: /^Run / });
  const controls = await page.locator('textarea, input, select, button').count();
  for (let i = 0; i < controls && !(await run.evaluate((el) => el === document.activeElement)); i += 1) {
    await page.keyboard.press('Tab');
  }
  await expect(run).toBeFocused();
  await page.keyboard.press('Enter');
  const panels = page.locator('section.panel');
  await expect(panels.first()).toHaveAttribute('data-status', 'done', { timeout: 30_000 });
  // Nothing wider than the screen: no sideways scrolling of the page.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  // The dark scheme applies (light text on a dark background).
  const background = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  expect(background).toBe('rgb(13, 17, 23)');
  await page.screenshot({ path: test.info().outputPath('phone-dark.png'), fullPage: true });
});

test('axe-core finds no accessibility violation, in the light and the dark scheme, before and after a race', async ({
  page,
}) => {
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    await page.goto('/');
    const check = async (when: string) => {
      const { violations } = await new AxeBuilder({ page }).analyze();
      const found = violations.map((v) => `${colorScheme}, ${when}: ${v.id} (${v.help}) at ${v.nodes.map((n) => n.target.join(' ')).join('; ')}`);
      expect(found).toEqual([]);
    };
    await check('before a race');
    await run(page, 'Accessible to everyone? [tokens=30]');
    const panels = page.locator('section.panel');
    for (let i = 0; i < (await panels.count()); i += 1) {
      await expect(panels.nth(i)).toHaveAttribute('data-status', 'done', { timeout: 30_000 });
    }
    await expect(page.locator('.chart canvas')).toBeVisible();
    await check('after a race');
  }
});
