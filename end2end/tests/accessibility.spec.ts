import AxeBuilder from "@axe-core/playwright";
import { expect, Page, test } from "./fixtures";
import { hydrated, signIn } from "./helpers";

// axe-core's rules for WCAG 2.0, 2.1 and 2.2 at levels A and AA (2.2 adds the target size). The
// page is checked hydrated, as most people see it; axe is injected through the DevTools protocol,
// so the pages' Content-Security-Policy stays as strict as in production.
const WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

/** The violations, one readable line per rule and element, so a failure says what to fix. */
async function violations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(WCAG_22_AA).analyze();
  return results.violations.flatMap((v) =>
    v.nodes.map((n) => `${v.id} (${v.impact}): ${v.help} — ${n.target.join(" ")}`),
  );
}

const pages: [string, (page: Page) => Promise<void>][] = [
  ["the sign-in page", async (page) => {
    await page.goto("/connexion");
  }],
  ["the sign-in page with a region's support contact", async (page) => {
    await page.goto("/connexion?region=FR-IDF");
  }],
  ["the e-mail code page", async (page) => {
    await signIn(page, "helene.leclerc");
    await expect(page).toHaveURL(/\/connexion\/code$/);
  }],
  ["the establishment chooser", async (page) => {
    await signIn(page, "dr.martin");
    await expect(page).toHaveURL(/\/etablissements$/);
  }],
  ["an establishment's dashboard", async (page) => {
    await signIn(page, "inf.durand");
    await expect(page).toHaveURL(/\/etablissements\/\d{9}$/);
  }],
  ["the console's accounts", async (page) => {
    await signIn(page, "admin.idf");
    await expect(page).toHaveURL(/\/admin\/comptes$/);
    await expect(page.locator("#comptes")).toBeVisible();
  }],
  ["the TIQR sign-in page", async (page) => {
    await page.goto("/connexion/tiqr");
  }],
  ["the public directory with results", async (page) => {
    await page.goto("/annuaire?q=paris");
    await expect(page.locator(".directory-entry").first()).toBeVisible();
  }],
  ["the console's news", async (page) => {
    await signIn(page, "admin.idf");
    await page.goto("/admin/actualites");
    await expect(page.getByRole("heading", { level: 1, name: "Actualités" })).toBeVisible();
  }],
  ["« Mes moyens de connexion » with its passkeys", async (page) => {
    await signIn(page, "inf.durand");
    await page.goto("/compte/moyens-de-connexion");
    await expect(page.getByRole("heading", { level: 2, name: "Clés d'accès" })).toBeVisible();
  }],
  ["« Mes connexions »", async (page) => {
    await signIn(page, "inf.durand");
    await page.goto("/compte/connexions");
    await expect(page.locator("#sessions tbody tr").first()).toBeVisible();
  }],
  ["« Ce n'était pas moi »", async (page) => {
    await page.goto("/connexion/pas-moi?jeton=" + "a".repeat(43));
    await expect(page.getByRole("button", { name: "Ce n'était pas moi : bloquer mon compte" })).toBeVisible();
  }],
  ["« Réactiver mon compte »", async (page) => {
    await page.goto("/connexion/reveil?jeton=" + "a".repeat(43));
    await expect(page.getByRole("button", { name: "Réactiver mon compte" })).toBeVisible();
  }],
  ["the console's inactive accounts", async (page) => {
    await signIn(page, "admin.idf");
    await page.goto("/admin/comptes-inactifs");
    await expect(page.getByRole("heading", { level: 1, name: "Comptes inactifs" })).toBeVisible();
  }],
  // A selection written, not confirmed: nothing changes for the other specs.
  ["a bulk action's confirmation", async (page) => {
    await signIn(page, "admin.idf");
    await page.goto("/admin/comptes?q=groupe");
    await page.getByRole("checkbox", { name: "Sélectionner ARNAUD Paul" }).check();
    await page.getByRole("button", { name: "Continuer" }).click();
    await expect(page.getByRole("button", { name: "Confirmer pour 1 compte" })).toBeVisible();
  }],
  ["the console's national directory", async (page) => {
    await signIn(page, "admin.national");
    await page.goto("/admin/annuaire");
    await expect(page.getByRole("heading", { level: 1, name: "Annuaire national" })).toBeVisible();
  }],
];

for (const [name, open] of pages) {
  test(`${name} has no WCAG 2.2 AA violation (axe-core)`, async ({ page }) => {
    await open(page);
    await hydrated(page);
    expect(await violations(page)).toEqual([]);
  });
}
