import * as fs from "node:fs";
import { expect, test } from "./fixtures";
import { signIn, signOut, waitForMail } from "./helpers";

// The regional administration console (ARCHITECTURE.md, "Regional administration") with the demo accounts: support.ara is the
// Auvergne-Rhône-Alpes support desk, admin.idf the Île-de-France administrator, admin.national
// the national administrator.

test.describe.configure({ mode: "serial" });

const NEW_USER = "nouvelle.infirmiere";
const NEW_ADDRESS = "elise.berard@chu.example";
const NEW_PASSWORD = "une phrase de passe pour Élise";

function linkIn(body: string): string {
  const url = body.match(/http:\/\/[a-z0-9.]+:\d+\/mot-de-passe\?jeton=[A-Za-z0-9_-]+/)?.[0];
  if (!url) throw new Error("no link in the e-mail");
  return url;
}

test("the support desk finds « helene » without her accents and unlocks her account", async ({ page, browser }) => {
  // Hélène mistypes her password until her sign-in is suspended. Before that, from a browser whose
  // name is a formula (which the audit export must keep inert), someone types a password in the
  // username field (which the audit log must not keep).
  const formula = await browser.newContext({ userAgent: '=HYPERLINK("http://exemple.invalid")' });
  const mistyped = await formula.newPage();
  await signIn(mistyped, "Helene-MotDePasse-2026", "x");
  await expect(mistyped.getByRole("alert")).toBeVisible();
  await formula.close();
  for (let i = 1; i <= 5; i++) {
    await signIn(page, "helene.leclerc", `faux-${i}`);
  }
  await signIn(page, "helene.leclerc");
  await expect(page.getByRole("alert")).toContainText("la connexion est suspendue");

  // The desk of her region, on the phone with her.
  await signIn(page, "support.ara");
  await expect(page).toHaveURL(/\/admin\/comptes$/);
  await page.getByLabel("Rechercher un compte").fill("helene");
  await page.getByRole("button", { name: "Rechercher" }).click();
  const row = page.locator("#comptes tbody tr");
  await expect(row).toHaveCount(1);
  await expect(row).toContainText("LECLERC Hélène");
  await row.getByRole("link").click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Hélène Leclerc");
  await expect(page.locator("#verrou")).toBeVisible();
  // A support desk helps; it does not edit identities nor grant roles.
  await expect(page.getByRole("button", { name: "Enregistrer" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Désactiver le compte" })).toHaveCount(0);
  await page.getByRole("button", { name: "Déverrouiller" }).click();
  await expect(page.locator(".alert-info")).toContainText("Le compte a été déverrouillé.");
  await expect(page.locator("#verrou")).toHaveCount(0);
  // The desk has no audit permission: the account page shows it no audit rows.
  await expect(page.locator("#journal")).toHaveCount(0);
  await signOut(page);

  // Her password works again (her account then asks for the e-mail code).
  await signIn(page, "helene.leclerc");
  await expect(page).toHaveURL(/\/connexion\/code$/);
});

test("another region's desk cannot see her", async ({ page }) => {
  await signIn(page, "support.idf");
  await page.goto("/admin/comptes?q=helene");
  await expect(page.locator("#aucun-resultat")).toBeVisible();
});

test("a regional administrator creates an account with two establishments; its holder gets the chooser", async ({ page }) => {
  await signIn(page, "admin.idf");
  await expect(page).toHaveURL(/\/admin\/comptes$/);
  await page.getByRole("link", { name: "Créer un compte" }).click();
  await page.getByLabel("Identifiant", { exact: true }).fill(NEW_USER);
  await page.getByLabel("Prénom").fill("Élise");
  await page.getByLabel("Nom", { exact: true }).fill("Bérard");
  await page.getByLabel("Adresse électronique").fill(NEW_ADDRESS);
  await page.getByLabel("RPPS").fill("12345678901"); // 11 digits, wrong check digit
  await page.getByLabel(/Centre de santé des Batignolles/).check();
  await page.getByRole("button", { name: "Créer" }).click();
  // A bad RPPS: a clear message, nothing created.
  await expect(page.getByRole("alert")).toContainText("numéro RPPS");
  await expect(page).toHaveURL(/\/admin\/comptes\/nouveau\?erreur=invalide-rpps$/);

  await page.getByLabel("Identifiant", { exact: true }).fill(NEW_USER);
  await page.getByLabel("Prénom").fill("Élise");
  await page.getByLabel("Nom", { exact: true }).fill("Bérard");
  await page.getByLabel("Adresse électronique").fill(NEW_ADDRESS);
  await page.getByLabel(/Centre de santé des Batignolles/).check();
  await page.getByRole("button", { name: "Créer" }).click();
  await expect(page.locator(".alert-info")).toContainText("Le compte a été créé");
  await expect(page.locator("#statut")).toHaveText("En attente d'activation");

  // The second establishment, attached from the account's page.
  await page.getByLabel("Rattacher à l'établissement").selectOption({ label: "Assistance Publique – Hôpitaux de Paris — Paris (750712184)" });
  await page.getByRole("button", { name: "Ajouter" }).click();
  await expect(page.locator(".alert-info")).toContainText("rattaché à l'établissement");
  await expect(page.locator("#liste-etablissements li")).toHaveCount(2);
  await signOut(page);

  // Élise activates her account from the e-mail and signs in: two establishments, the chooser.
  const mail = await waitForMail(NEW_ADDRESS, /activez votre compte/);
  await page.goto(linkIn(mail.body));
  await page.getByLabel("Nouveau mot de passe").fill(NEW_PASSWORD);
  await page.getByLabel("Confirmer le mot de passe").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Enregistrer le mot de passe" }).click();
  await expect(page).toHaveURL(/\/connexion\?info=compte-active$/);
  await signIn(page, NEW_USER, NEW_PASSWORD);
  await expect(page).toHaveURL(/\/etablissements$/);
  await expect(page.getByRole("button", { name: /Centre de santé des Batignolles/ })).toBeVisible();
  await expect(page.getByRole("button", { name: /Hôpitaux de Paris/ })).toBeVisible();
});

test("two administrators edit the same account: the second save is refused", async ({ browser }) => {
  const first = await (await browser.newContext()).newPage();
  const second = await (await browser.newContext()).newPage();
  for (const page of [first, second]) {
    await signIn(page, page === first ? "admin.idf" : "admin.national");
    await page.goto(`/admin/comptes?q=${NEW_USER}`);
    await page.locator("#comptes tbody tr").getByRole("link").click();
  }
  await first.getByLabel("Nom", { exact: true }).fill("Bérard-Martin");
  await first.getByRole("button", { name: "Enregistrer" }).click();
  await expect(first.locator(".alert-info")).toContainText("Les modifications ont été enregistrées.");
  await second.getByLabel("Nom", { exact: true }).fill("Berard");
  await second.getByRole("button", { name: "Enregistrer" }).click();
  await expect(second.getByRole("alert")).toContainText("modifié par quelqu'un d'autre");
  await expect(second.getByLabel("Nom", { exact: true })).toHaveValue("Bérard-Martin");
});

test("the audit viewer shows these actions, and its CSV export opens safely in a spreadsheet", async ({ page }) => {
  await signIn(page, "admin.idf");
  await page.getByRole("link", { name: "Journal d'audit" }).click();
  await page.getByLabel("Cible").fill(NEW_USER);
  await page.getByRole("button", { name: "Filtrer" }).click();
  const table = page.locator("#journal");
  await expect(table).toContainText("user.create");
  await expect(table).toContainText("membership.add");
  await expect(table).toContainText("user.edit");
  // Another region's rows are not in a regional administrator's log.
  await page.goto("/admin/journal?action=user.unlock");
  await expect(page.locator("#aucun-resultat")).toBeVisible();
  await signOut(page);

  await signIn(page, "admin.national");
  await page.goto("/admin/journal?action=user.unlock");
  const unlock = page.locator("#journal tbody tr").first();
  await expect(unlock).toContainText("support.ara");
  await unlock.getByRole("link").click();
  await expect(page.locator("#ligne")).toContainText('"temporary_lock": true');

  await page.goto("/admin/journal");
  const download = page.waitForEvent("download");
  await page.getByRole("link", { name: "Exporter (CSV)" }).click();
  const file = await (await download).path();
  const bytes = fs.readFileSync(file);
  expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  const text = bytes.toString("utf8").slice(1);
  const lines = text.split("\r\n");
  expect(lines[0]).toBe(
    "id;date (UTC);acteur;rôle;action;résultat;type de cible;cible;libellé de la cible;région;adresse IP;navigateur;détails",
  );
  expect(text).toContain(";support.ara;support;user.unlock;success;user;");
  expect(text).toContain("helene.leclerc");
  // The browser name that is a formula is text, not a formula: its cell starts with a quote.
  expect(text).toMatch(/;"'=HYPERLINK\(""http:\/\/exemple\.invalid""\)";/);
  expect(text).not.toMatch(/;"?=HYPERLINK/);
  // What was typed for no account is not kept: a keyed hash, shown as « compte inconnu ».
  expect(text.toLowerCase()).not.toContain("motdepasse-2026");
  expect(text).toMatch(/\n\d+;[^;]+;#inconnu-[0-9a-f]{16};;auth\.password\.sign_in;failure;/);
  await page.goto("/admin/journal?action=auth.password.sign_in&resultat=failure");
  await expect(page.locator("#journal")).toContainText("compte inconnu (");
  await expect(page.locator("#journal")).not.toContainText("MotDePasse");
});

test("professionals are refused the console", async ({ page }) => {
  await signIn(page, "dr.martin");
  const response = await page.goto("/admin/comptes");
  expect(response?.status()).toBe(403);
  await expect(page.getByRole("alert")).toContainText("Vous n'avez pas accès à cette page.");
});
