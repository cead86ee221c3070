/**
 * Real headless Chromium (Debian's) driven by playwright-core: signs in on the sandbox IdP's login page
 * the way a user would, for the browser-login tests.
 */
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Opens `url` in a fresh context, fills in the login form and waits until the browser is back on
 * `callbackPrefix`; resolves with the final page (the one qindex-mcp served).
 */
export async function signInWithBrowser(
  browser: Browser,
  url: string,
  username: string,
  password: string,
): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  await page.fill('input[name="login"]', username);
  await page.fill('input[name="password"]', password);
  const redirect = new URL(url).searchParams.get('redirect_uri')!;
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(redirect), { waitUntil: 'load' }),
    page.click('#submit'),
  ]);
  return page;
}
