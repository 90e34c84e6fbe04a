import { Browser, expect, Page, test } from "./fixtures";
import { DEMO_PASSWORD, receivedMails, signIn, signOut } from "./helpers";

// Issue 14, H-1: the one-time linking of a card or Pro Santé Connect identity asks as much as the
// password sign-in, and the holder hears of every link. Against the PSC test provider and the
// real SMTP server of scripts/test.sh.

// psc.roux, created by scripts/test.sh: no RPPS, the desk declared her e-CPS identity, and her
// account needs the e-mail code. One establishment (Saint-Denis).
const ROUX = "899700056783";
const ROUX_MAIL = "agnes.roux@chu.example";
const ROUX_HOME = /\/etablissements\/930004569$/;
// Someone whose own identity is unknown here, holding admin.idf's phished password.
const ATTACKER = "899700067897";

test.describe.configure({ mode: "serial" });

async function pscSignIn(page: Page, identifier: string) {
  await page.goto("/connexion");
  await page.getByRole("link", { name: "Se connecter avec Pro Santé Connect" }).click();
  await expect(page).toHaveURL(/^http:\/\/localhost:\d+\/interaction\//);
  await page.getByLabel("Identifiant national").fill(identifier);
  await page.getByRole("button", { name: "Se connecter", exact: true }).click();
}

async function freshPage(browser: Browser): Promise<Page> {
  return (await browser.newContext()).newPage();
}

async function linkWith(page: Page, username: string, password = DEMO_PASSWORD) {
  await expect(page).toHaveURL(/\/connexion\/lier$/);
  await page.getByLabel("Identifiant", { exact: true }).fill(username);
  await page.getByLabel("Mot de passe", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Lier mon identité et se connecter" }).click();
}

/** Waits for a message to `to` whose text contains `text`, received after `since` messages. */
async function mailContaining(to: string, text: string, since: number) {
  await expect
    .poll(() => receivedMails().slice(since).some((m) => m.to.includes(to) && m.body.includes(text)), {
      timeout: 30_000,
    })
    .toBe(true);
  return receivedMails().slice(since).find((m) => m.to.includes(to) && m.body.includes(text))!;
}

test("linking an account that needs the e-mail code waits for the code, then the holder is told", async ({ browser }) => {
  const page = await freshPage(browser);
  const since = receivedMails().length;
  await pscSignIn(page, ROUX);
  await linkWith(page, "psc.roux");
  // The right password alone links nothing: the code page of the password sign-in.
  await expect(page).toHaveURL(/\/connexion\/code$/);
  await page.getByRole("button", { name: "Envoyer le code par courriel" }).click();
  const mail = await mailContaining(ROUX_MAIL, "Votre code de connexion", since);
  const code = mail.body.match(/\b(\d{6})\b/)![1];
  await page.getByLabel("Code reçu par courriel").fill(code);
  await page.getByRole("button", { name: "Valider le code" }).click();
  await expect(page).toHaveURL(ROUX_HOME);
  await expect(page.getByText("Pro Santé Connect (CARD · eidas3)")).toBeVisible();
  // The holder hears of the link, at the account's address.
  const notice = await mailContaining(ROUX_MAIL, "a été liée à votre compte Passerelle", since);
  expect(notice.body).toContain(ROUX);

  // From now on PSC alone signs in (another browser: no PSC session to reuse).
  const next = await freshPage(browser);
  await pscSignIn(next, ROUX);
  await expect(next).toHaveURL(ROUX_HOME);
});

test("a phished password and the attacker's own identity do not open an administrator's account", async ({ browser }) => {
  const page = await freshPage(browser);
  await pscSignIn(page, ATTACKER);
  await linkWith(page, "admin.idf");
  await expect(page).toHaveURL(/\/connexion\/psc\/erreur\?erreur=compte-identite-non-declaree/);
  await expect(page.getByRole("alert")).toContainText(
    "Ce compte n'a pas de numéro RPPS et l'assistance n'y a déclaré aucune identité nationale : rien n'a été lié.",
  );
  // Nothing was linked: the same identity asks for a linking again.
  const again = await freshPage(browser);
  await pscSignIn(again, ATTACKER);
  await expect(again).toHaveURL(/\/connexion\/lier$/);
  // And admin.idf's own sign-in is untouched.
  const admin = await freshPage(browser);
  await signIn(admin, "admin.idf");
  await expect(admin).toHaveURL(/\/admin/);
});

test("after a sign-out, Pro Santé Connect asks the next person to authenticate", async ({ browser }) => {
  // psc.roux was linked by the first test: PSC signs her in directly.
  const page = await freshPage(browser);
  await pscSignIn(page, ROUX);
  await expect(page).toHaveURL(ROUX_HOME);
  await signOut(page);
  await expect(page.getByRole("link", { name: "Se déconnecter aussi de Pro Santé Connect" })).toBeVisible();
  // The next person at this workstation: PSC's own page, not the previous professional's account.
  await page.getByRole("link", { name: "Se connecter avec Pro Santé Connect" }).click();
  await expect(page).toHaveURL(/^http:\/\/localhost:\d+\/interaction\//);
  await expect(page.getByLabel("Identifiant national")).toBeVisible();
  await page.getByLabel("Identifiant national").fill(ROUX);
  await page.getByRole("button", { name: "Se connecter", exact: true }).click();
  await expect(page).toHaveURL(ROUX_HOME);
  // Signing out of PSC as well: PSC asks to confirm, then comes back to the sign-in page.
  await signOut(page);
  await page.getByRole("link", { name: "Se déconnecter aussi de Pro Santé Connect" }).click();
  await expect(page.getByText("Voulez-vous vous déconnecter de Pro Santé Connect ?")).toBeVisible();
  await page.getByRole("button", { name: "Se déconnecter" }).click();
  await expect(page).toHaveURL(/\/connexion\?info=deconnecte$/);
});
