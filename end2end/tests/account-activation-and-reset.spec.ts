import { expect, test } from "./fixtures";
import { receivedMails, signIn, waitForMail } from "./helpers";

// nouveau.medecin was created by `passerelle user create` without a password (scripts/test.sh):
// pending activation, its e-mail in the outbox.
const ADDRESS = "nouveau.medecin@chu.example";
const NEW_PASSWORD = "une phrase de passe bien longue";
const RESET_PASSWORD = "encore une autre phrase de passe";

function linkIn(body: string): string {
  const url = body.match(/http:\/\/[a-z0-9.]+:\d+\/mot-de-passe\?jeton=[A-Za-z0-9_-]+/)?.[0];
  if (!url) throw new Error("no link in the e-mail");
  return url;
}

test.describe.configure({ mode: "serial" });

test("a new account is activated from its e-mail, with the password policy explained", async ({ page }) => {
  const mail = await waitForMail(ADDRESS, /activez votre compte/);
  await page.goto(linkIn(mail.body));
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Activer votre compte");
  await page.getByLabel("Nouveau mot de passe").fill("azertyuiop123");
  await page.getByLabel("Confirmer le mot de passe").fill("azertyuiop123");
  await page.getByRole("button", { name: "Enregistrer le mot de passe" }).click();
  await expect(page.getByRole("alert")).toContainText("Ce mot de passe est trop courant");
  await page.getByLabel("Nouveau mot de passe").fill(NEW_PASSWORD);
  await page.getByLabel("Confirmer le mot de passe").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Enregistrer le mot de passe" }).click();
  await expect(page).toHaveURL(/\/connexion\?info=compte-active$/);
  await expect(page.locator(".alert-info")).toContainText("Votre compte est activé.");
  await signIn(page, "nouveau.medecin", NEW_PASSWORD);
  await expect(page).toHaveURL(/\/etablissements\/750712184$/);
  // The link was for one use.
  await page.goto(linkIn(mail.body));
  await expect(page.getByRole("alert")).toContainText("Ce lien n'est plus valable");
});

test("forgotten password: same answer for anyone; the link sets a new password and the old one stops working", async ({ page }) => {
  await page.goto("/connexion");
  await page.getByRole("link", { name: "Mot de passe oublié ?" }).click();
  await page.getByLabel("Identifiant ou adresse électronique").fill("personne.inconnue");
  await page.getByRole("button", { name: "Envoyer le lien" }).click();
  const answer = await page.locator(".alert-info").textContent();
  expect(answer).toContain("Si un compte correspond");

  const before = receivedMails().length;
  await page.getByLabel("Identifiant ou adresse électronique").fill(ADDRESS);
  await page.getByRole("button", { name: "Envoyer le lien" }).click();
  await expect(page.locator(".alert-info")).toHaveText(answer ?? "");
  const mail = await waitForMail(ADDRESS, /changement de mot de passe/, before);
  await page.goto(linkIn(mail.body));
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Choisir un nouveau mot de passe");
  await page.getByLabel("Nouveau mot de passe").fill(RESET_PASSWORD);
  await page.getByLabel("Confirmer le mot de passe").fill(RESET_PASSWORD);
  await page.getByRole("button", { name: "Enregistrer le mot de passe" }).click();
  await expect(page.locator(".alert-info")).toContainText("Votre mot de passe a été enregistré.");

  await signIn(page, "nouveau.medecin", NEW_PASSWORD);
  await expect(page).toHaveURL(/\/connexion\?erreur=identifiants$/);
  await signIn(page, "nouveau.medecin", RESET_PASSWORD);
  await expect(page).toHaveURL(/\/etablissements\/750712184$/);
});
