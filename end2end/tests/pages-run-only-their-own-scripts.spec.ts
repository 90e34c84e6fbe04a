import { expect, test } from "./fixtures";

// Hardening (issue 14, L-4): every response carries a Content-Security-Policy with a script-src;
// a page allows only the site's files and its own inline hydration scripts (by this response's
// nonce), and still hydrates under it.

test("the sign-in page hydrates under a CSP that allows only its own scripts", async ({ page }) => {
  const violations: string[] = [];
  page.on("console", (m) => {
    if (m.text().includes("Content Security Policy")) violations.push(m.text());
  });
  const response = await page.goto("/connexion");
  const csp = response!.headers()["content-security-policy"] ?? "";
  const nonce = csp.match(/script-src 'self' 'nonce-([^']+)'/)?.[1];
  expect(nonce, csp).toBeTruthy();
  expect(csp).not.toContain("unsafe-inline");
  // Each inline script of the page carries this response's nonce.
  const nonces = await page
    .locator("script:not([src])")
    .evaluateAll((scripts) => scripts.map((s) => (s as HTMLScriptElement).nonce));
  expect(nonces.length).toBeGreaterThan(0);
  for (const n of nonces) expect(n).toBe(nonce);
  await expect(page.locator("html[data-hydrated='true']")).toHaveCount(1);
  // A fresh nonce for every response.
  const again = await page.request.get("/connexion");
  expect(again.headers()["content-security-policy"]).not.toContain(`'nonce-${nonce}'`);
  expect(violations).toEqual([]);
});

test("responses that are not pages get a CSP too; no HSTS over plain http", async ({ request }) => {
  const response = await request.get("/healthz");
  const csp = response.headers()["content-security-policy"] ?? "";
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("object-src 'none'");
  expect(response.headers()["strict-transport-security"]).toBeUndefined();
});

// A NUL byte in what Pro Santé Connect's callback receives used to keep the refusal out of the
// audit log (and answer an internal error): the refusal is now written, the NUL stripped.
test("a Pro Santé Connect answer carrying a NUL byte is refused like any other", async ({ request }) => {
  for (const query of ["state=abc&code=x&iss=%00", "state=abc&error=%00"]) {
    const response = await request.get(`/connexion/psc/retour?${query}`, { maxRedirects: 0 });
    expect(response.status(), query).toBeGreaterThanOrEqual(300);
    expect(response.status(), query).toBeLessThan(400);
    const location = response.headers()["location"] ?? "";
    expect(location, query).toMatch(/erreur=psc-/);
    expect(location, query).not.toContain("technique");
  }
});
