import { expect, Page, test } from "@playwright/test";
import { hydrated, signIn } from "../tests/helpers";

// The main pages as a newcomer sees them in the demo (scripts/run.sh), for the README.
const OUT = process.env.PASSERELLE_SCREENSHOTS ?? "../docs/screenshots";

async function shoot(page: Page, name: string) {
  await hydrated(page);
  await page.screenshot({ path: `${OUT}/${name}.png`, fullPage: true });
}

test.describe.configure({ mode: "serial" });

test("sign-in page", async ({ page }) => {
  await page.goto("/connexion?region=FR-IDF");
  await shoot(page, "connexion");
});

test("establishment chooser and dashboard", async ({ page }) => {
  await signIn(page, "dr.martin");
  await expect(page).toHaveURL(/\/etablissements$/);
  await shoot(page, "choix-etablissement");
  await page.getByRole("button", { name: /Centre de santé des Batignolles/ }).click();
  await expect(page).toHaveURL(/\/etablissements\/\d{9}$/);
  await shoot(page, "tableau-de-bord");
});

test("e-mail code", async ({ page }) => {
  await signIn(page, "helene.leclerc");
  await expect(page).toHaveURL(/\/connexion\/code$/);
  await page.getByRole("button", { name: "Envoyer le code par courriel" }).click();
  await expect(page.locator(".alert-info")).toBeVisible();
  await shoot(page, "code-par-courriel");
});

test("console", async ({ page }) => {
  await signIn(page, "admin.idf");
  await expect(page).toHaveURL(/\/admin\/comptes/);
  await shoot(page, "console-comptes");
  await page.goto("/admin/import");
  await shoot(page, "console-import");
});

test("TIQR sign-in", async ({ page }) => {
  await page.goto("/connexion/tiqr");
  await shoot(page, "connexion-tiqr");
});

test("demo e-mails", async ({ page }) => {
  await expect(async () => {
    await page.goto("/demo/courriels");
    await expect(page.locator("#courriels")).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await shoot(page, "courriels-demo");
  await page.locator("#courriels tbody a").first().click();
  await expect(page.locator("#courriel")).toBeVisible();
  await shoot(page, "courriel-demo");
});
