import { expect, test } from "./fixtures";
import { signIn, waitForMailSaying } from "./helpers";

// Inactive accounts (issue 19). scripts/test.sh creates two professionals no other spec touches
// and ages them in the database before the fleet starts: sommeil.durand, unused for 400 days and
// warned 40 days ago, and sommeil.petit, unused for 340 days and never warned. The fleet's daily
// job (run once, by whichever instance comes first) puts the first to sleep and warns the second.

const HOME = /\/etablissements\/930004569$/;

test.describe.configure({ mode: "serial" });

test("a dormant account signs in only after the link its sign-in e-mailed", async ({ page, browser }) => {
  test.setTimeout(90_000);
  // The job runs as the fleet starts: until then the account is still active.
  await expect(async () => {
    await signIn(page, "sommeil.durand");
    await expect(page.getByRole("alert")).toContainText("Votre compte est en sommeil", { timeout: 2_000 });
  }).toPass({ timeout: 30_000 });
  await expect(page).toHaveURL(/\/connexion\?/);

  const mail = await waitForMailSaying("marc.durand@chu.example", "est en sommeil");
  expect(mail.body).toContain("identifiant et mot de passe");
  const link = mail.body.match(/http:\/\/[a-z0-9.]+:\d+\/connexion\/reveil\?jeton=[A-Za-z0-9_-]+/)?.[0];
  expect(link).toBeTruthy();

  // Opening the link changes nothing (mail scanners open links): the button does.
  const context = await browser.newContext();
  const phone = await context.newPage();
  await phone.goto(link!);
  await expect(phone.getByRole("heading", { level: 1 })).toHaveText("Réactiver mon compte");
  await signIn(page, "sommeil.durand");
  await expect(page.getByRole("alert")).toContainText("Votre compte est en sommeil");
  await phone.getByRole("button", { name: "Réactiver mon compte" }).click();
  await expect(phone.getByRole("status")).toContainText("Votre compte est de nouveau actif.");
  // Spent: the same link again is refused.
  await phone.goto(link!);
  await phone.getByRole("button", { name: "Réactiver mon compte" }).click();
  await expect(phone.getByRole("alert")).toBeVisible();
  await context.close();

  await signIn(page, "sommeil.durand");
  await expect(page).toHaveURL(HOME);
});

test("the holder was warned a month before; the regional administrator keeps the account active", async ({ page }) => {
  test.setTimeout(60_000);
  const warning = await waitForMailSaying("lucie.petit@chu.example", "sera mis en sommeil le");
  expect(warning.body).toContain("il suffit de vous connecter une fois");

  await signIn(page, "admin.idf");
  await page.getByRole("link", { name: "Comptes inactifs" }).click();
  await expect(page).toHaveURL(/\/admin\/comptes-inactifs$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Comptes inactifs");
  const row = page.locator("#comptes-inactifs tbody tr", { hasText: "sommeil.petit" });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText("Actif");
  await expect(row).toContainText("Jamais");
  // The other region's accounts are not listed, and the woken one no longer is.
  await expect(page.locator("#comptes-inactifs")).not.toContainText("sommeil.durand");

  await row.getByRole("button", { name: "Prolonger le compte de Lucie Petit" }).click();
  await expect(page.getByRole("status")).toContainText("Le compte est prolongé : il reste actif.");
  await expect(page.locator("#comptes-inactifs tbody tr", { hasText: "sommeil.petit" })).toHaveCount(0);

});
