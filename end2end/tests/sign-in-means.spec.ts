import { expect, Page, test } from "./fixtures";
import { DEMO_PASSWORD, receivedMails, signIn, signOut } from "./helpers";

// "Mes moyens de connexion" and the desk's « Compte compromis » (issue 14, H-1). moyens.bernard is
// created by scripts/test.sh for this spec, with a linked card (serial e2e0b1), a Pro Santé
// Connect identity (810000777770) and a TIQR phone; one establishment (Saint-Denis).

test.describe.configure({ mode: "serial" });

const HOLDER = "moyens.bernard";
const ADDRESS = "anne.bernard@chu.example";
const HOME = /\/etablissements\/930004569$/;
const NEW_PASSWORD = "une nouvelle phrase pour Anne";

function linkIn(body: string): string {
  const url = body.match(/http:\/\/[a-z0-9.]+:\d+\/mot-de-passe\?jeton=[A-Za-z0-9_-]+/)?.[0];
  if (!url) throw new Error("no link in the e-mail");
  return url;
}

/** Waits for a message to `to`, received after `since` messages, whose body says `says` (these
 * subjects carry accents, so they travel RFC 2047-encoded: the body is what can be matched). */
async function mailSaying(to: string, says: string, since: number, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = receivedMails().slice(since).find((m) => m.to.includes(to) && m.body.includes(says));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no e-mail to ${to} saying ${says}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function section(page: Page, name: string) {
  return page.getByRole("region", { name });
}

test("the holder sees card, PSC identity and phone, and removes the identity with the password", async ({ page }) => {
  test.setTimeout(60_000);
  await signIn(page, HOLDER);
  await expect(page).toHaveURL(HOME);
  await page.getByRole("link", { name: "Mes moyens de connexion" }).click();
  await expect(page).toHaveURL(/\/compte\/moyens-de-connexion$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Mes moyens de connexion");

  const cards = section(page, "Cartes CPx");
  await expect(cards.getByRole("heading", { level: 3, name: "CPS — ANNE BERNARD" })).toBeVisible();
  await expect(cards.locator(".serial")).toHaveText("e2e0b1");
  const psc = section(page, "Identités Pro Santé Connect");
  await expect(psc.getByRole("heading", { level: 3, name: "Anne Bernard" })).toBeVisible();
  await expect(psc.locator(".national-id")).toHaveText("810000777770");
  const phones = section(page, "Téléphones (application TIQR)");
  await expect(phones.getByRole("heading", { level: 3, name: "Téléphone du 01/12/2026" })).toBeVisible();
  await expect(phones.getByRole("link", { name: "Ajouter un téléphone" })).toHaveAttribute("href", "/compte/tiqr");

  // A wrong password removes nothing.
  const before = receivedMails().length;
  await psc.getByLabel("Pour retirer cette identité, confirmez votre mot de passe.").fill("pas le bon");
  await psc.getByRole("button", { name: "Retirer cette identité" }).click();
  await expect(page.getByRole("alert")).toContainText("Identifiant ou mot de passe incorrect.");
  await expect(psc.locator(".national-id")).toHaveText("810000777770");

  await psc.getByLabel("Pour retirer cette identité, confirmez votre mot de passe.").fill(DEMO_PASSWORD);
  await psc.getByRole("button", { name: "Retirer cette identité" }).click();
  await expect(page.getByRole("status")).toContainText("L'identité Pro Santé Connect a été retirée de votre compte");
  await expect(page.locator("#aucune-identite-psc")).toBeVisible();
  // The others stay.
  await expect(cards.locator(".serial")).toHaveText("e2e0b1");
  await expect(phones.getByRole("heading", { level: 3, name: "Téléphone du 01/12/2026" })).toBeVisible();

  // The holder is told by e-mail, whoever removed it.
  const mail = await mailSaying(ADDRESS, "ont été retirés de votre compte Passerelle", before);
  expect(mail.body).toContain("identité Pro Santé Connect de Anne Bernard (identifiant national 810000777770)");
  expect(mail.body).toContain("depuis votre page « Mes moyens de connexion »");
});

test("the desk's « Compte compromis » removes everything; the holder gets a reset link and starts again", async ({ page, browser }) => {
  test.setTimeout(90_000);
  // The holder (or whoever has the password) is signed in somewhere.
  const elsewhere = await (await browser.newContext()).newPage();
  await signIn(elsewhere, HOLDER);
  await expect(elsewhere).toHaveURL(HOME);

  const before = receivedMails().length;
  await signIn(page, "support.idf");
  await expect(page).toHaveURL(/\/admin\/comptes$/);
  await page.goto(`/admin/comptes?q=${HOLDER}`);
  await page.locator("#comptes tbody tr").getByRole("link").click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Anne Bernard");
  const cards = section(page, "Cartes CPx");
  await expect(cards).toContainText("CPS e2e0b1");
  await expect(section(page, "Identités Pro Santé Connect")).toContainText("Aucune identité Pro Santé Connect liée.");

  // Nothing happens until the desk ticks the confirmation (the browser asks for it, no script).
  const compromised = section(page, "Compte compromis");
  await compromised.getByRole("button", { name: "Sécuriser le compte" }).click();
  await expect(page.locator(".alert-info")).toHaveCount(0);
  await expect(cards).toContainText("CPS e2e0b1");

  await compromised.getByLabel("Je confirme que ce compte est compromis et qu'il faut le sécuriser maintenant.").check();
  await compromised.getByRole("button", { name: "Sécuriser le compte" }).click();
  await expect(page.locator(".alert-info")).toContainText("Le compte a été sécurisé");
  await expect(cards).toContainText("Aucune carte liée.");
  // The desk reads no audit rows (issue 14, L-4); the audit of the action is a domain test.
  await expect(page.locator("#journal")).toHaveCount(0);
  await signOut(page);

  // The other session is over.
  await elsewhere.goto("/compte/moyens-de-connexion");
  await expect(elsewhere.getByRole("alert")).toContainText("Veuillez vous");

  // The holder is told what happened, then gets the reset link.
  const secured = await mailSaying(ADDRESS, "a sécurisé votre compte Passerelle", before);
  expect(secured.body).toContain("agent : support.idf");
  expect(secured.body).toContain("- carte CPx (numéro de série e2e0b1)");
  expect(secured.body).toContain("- téléphone « Téléphone du 01/12/2026 » (application TIQR)");
  const reset = await mailSaying(ADDRESS, "Un changement de mot de passe a été demandé", before);

  // The old password no longer works.
  await signIn(page, HOLDER);
  await expect(page).toHaveURL(/\/connexion\?erreur=identifiants$/);

  await page.goto(linkIn(reset.body));
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Choisir un nouveau mot de passe");
  await expect(
    page.getByLabel("Supprimer aussi toutes les cartes, identités Pro Santé Connect et téléphones liés à ce compte"),
  ).not.toBeChecked();
  await page.getByLabel("Nouveau mot de passe").fill(NEW_PASSWORD);
  await page.getByLabel("Confirmer le mot de passe").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Enregistrer le mot de passe" }).click();
  await expect(page.locator(".alert-info")).toContainText("Votre mot de passe a été enregistré.");
  await signIn(page, HOLDER, NEW_PASSWORD);
  await expect(page).toHaveURL(HOME);
  await page.goto("/compte/moyens-de-connexion");
  await expect(page.locator("#aucune-carte")).toBeVisible();
  await expect(page.locator("#aucune-identite-psc")).toBeVisible();
  await expect(page.locator("#aucun-telephone")).toBeVisible();
});
