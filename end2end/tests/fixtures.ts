import { test as base, Page } from "@playwright/test";

export { expect } from "@playwright/test";
export type { Browser, BrowserContext, Page } from "@playwright/test";

const pause = (ms: number) => new Promise<null>((resolve) => setTimeout(() => resolve(null), ms));

/** What the browser saw on one page: its console errors and warnings, uncaught errors (a panic of
 * the WebAssembly lands there) and the requests that failed or were refused. */
async function browserReport(page: Page): Promise<string[]> {
  const lines: string[] = [];
  for (const m of await page.consoleMessages()) {
    if (m.type() === "error" || m.type() === "warning") lines.push(`console ${m.type()}: ${m.text()}`);
  }
  for (const e of await page.pageErrors()) lines.push(`uncaught: ${e.message}`);
  for (const r of await page.requests()) {
    const failure = r.failure();
    // A request still in flight has no response yet: not waited for.
    const response = failure ? null : await Promise.race([r.response().catch(() => null), pause(500)]);
    if (failure) lines.push(`request failed: ${r.method()} ${r.url()} (${failure.errorText})`);
    else if (!response) lines.push(`no answer yet: ${r.method()} ${r.url()}`);
    else if (response.status() >= 400) lines.push(`HTTP ${response.status()}: ${r.method()} ${r.url()}`);
  }
  return lines;
}

/** Every spec's `test`: when a test fails, what each of its browser pages saw is printed beside the
 * failure (the server's log is printed by scripts/test.sh). A test that failed on a loaded CI
 * machine once left nothing but "hydration never came". */
export const test = base.extend<{ browserLog: void }>({
  browserLog: [
    // Needs `context`: its pages are then still open when this runs (fixtures end in reverse).
    async ({ browser, context: _context }, use, testInfo) => {
      await use();
      if (testInfo.status === testInfo.expectedStatus) return;
      const report: string[] = [];
      for (const context of browser.contexts()) {
        for (const page of context.pages()) {
          const lines = await browserReport(page).catch((e) => [`(no report: ${e})`]);
          report.push(`--- page ${page.url()}`, ...(lines.length ? lines : ["(nothing unusual)"]));
        }
      }
      if (report.length) {
        const text = report.join("\n");
        console.log(`\nWhat the browser saw in « ${testInfo.title} »:\n${text}\n`);
        await testInfo.attach("browser-report", { body: text, contentType: "text/plain" });
      }
    },
    { auto: true },
  ],
});
