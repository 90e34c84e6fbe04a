import { expect, Page, test } from "./fixtures";
import type { BrowserContext, CDPSession } from "@playwright/test";
import { DEMO_PASSWORD, fleet, hydrated, receivedMails, servedBy, servingAgain, signIn, signOut } from "./helpers";

// Passkeys (issue 19), with Chromium's own virtual authenticator (DevTools' WebAuthn domain): a
// platform authenticator that keeps discoverable credentials and verifies its user. cle.fontaine
// is created by scripts/test.sh for this spec (one establishment: Saint-Denis).

test.describe.configure({ mode: "serial" });

const HOLDER = "cle.fontaine";
const ADDRESS = "camille.fontaine@chu.example";
const HOME = /\/etablissements\/930004569$/;

type Authenticator = { cdp: CDPSession; id: string };

/** A virtual authenticator in `page`'s browser, as a phone's or a laptop's screen lock. */
async function authenticator(page: Page): Promise<Authenticator> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, id: authenticatorId };
}

async function credentials(a: Authenticator) {
  return (await a.cdp.send("WebAuthn.getCredentials", { authenticatorId: a.id })).credentials;
}

/** Waits for a message to `to`, received after `since` messages, whose body says `says`. */
async function mailSaying(to: string, says: string, since: number, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = receivedMails().slice(since).find((m) => m.to.includes(to) && m.body.includes(says));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no e-mail to ${to} saying ${says}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** From the sign-in page: « Se connecter avec une clé d'accès », no username typed. */
async function signInWithPasskey(page: Page) {
  await page.goto("/connexion");
  await hydrated(page);
  await page.getByRole("button", { name: "Se connecter avec une clé d'accès" }).click();
}

async function addPasskey(page: Page, name: string) {
  await page.goto("/compte/moyens-de-connexion");
  await hydrated(page);
  const section = page.getByRole("region", { name: "Clés d'accès" });
  await section.getByLabel("Nom de la clé (facultatif)").fill(name);
  await section.getByRole("button", { name: "Ajouter une clé d'accès" }).click();
  await expect(page.getByRole("status")).toContainText("La clé d'accès a été ajoutée");
  await expect(section.getByRole("heading", { level: 3, name })).toBeVisible();
}

let phone: Authenticator;
let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext();
  page = await context.newPage();
  phone = await authenticator(page);
});

test.afterAll(async () => {
  await context.close();
});

test("the holder adds a passkey after signing in, then signs in with it alone", async () => {
  test.setTimeout(90_000);
  await signIn(page, HOLDER);
  await expect(page).toHaveURL(HOME);
  const before = receivedMails().length;
  await addPasskey(page, "Ordinateur du cabinet");
  // Kept by the authenticator as a discoverable credential of this portal.
  const kept = await credentials(phone);
  expect(kept).toHaveLength(1);
  expect(kept[0].rpId).toBe("localhost");
  expect(kept[0].isResidentCredential).toBe(true);
  const mail = await mailSaying(ADDRESS, "Une clé d'accès (« Ordinateur du cabinet ») a été enregistrée", before);
  expect(mail.body).toContain("Si vous n'êtes pas à l'origine de cet ajout");

  await signOut(page);
  await signInWithPasskey(page);
  await expect(page).toHaveURL(HOME);
  await expect(page.getByText("clé d'accès (cle.fontaine)")).toBeVisible();
  // Its last use is shown on the holder's page.
  await page.goto("/compte/moyens-de-connexion");
  const card = page.getByRole("article", { name: "Ordinateur du cabinet" });
  await expect(card).toBeVisible();
  await expect(card).not.toContainText("jamais");
  await signOut(page);
});

test("a sign-in started on one instance is finished by the other, which that instance never saw", async ({ request }) => {
  test.setTimeout(90_000);
  let killed = 0;
  // The answer is held back until the instance that gave the challenge is dead.
  await page.route("**/connexion/cle-d-acces", async (route) => {
    if (route.request().method() === "POST") {
      killed = servedBy(/"POST \/connexion\/cle-d-acces\/defi /);
      fleet("kill", killed);
    }
    await route.continue();
  });
  try {
    await signInWithPasskey(page);
    await expect(page).toHaveURL(HOME);
    expect(killed).toBeGreaterThan(0);
    expect(servedBy(/"POST \/connexion\/cle-d-acces /)).not.toBe(killed);
  } finally {
    await page.unroute("**/connexion/cle-d-acces");
    if (killed) {
      fleet("revive", killed);
      await servingAgain(request, killed);
    }
  }
  await signOut(page);
});

test("a copied authenticator is refused: its counter goes backwards", async ({ browser }) => {
  test.setTimeout(90_000);
  // Another browser gets a copy of the credential as it is now (same key, same counter).
  const [original] = await credentials(phone);
  const elsewhere = await browser.newContext();
  const thief = await elsewhere.newPage();
  const copy = await authenticator(thief);
  await copy.cdp.send("WebAuthn.addCredential", { authenticatorId: copy.id, credential: original });
  // The holder signs in again: the real authenticator's counter moves on.
  await signInWithPasskey(page);
  await expect(page).toHaveURL(HOME);
  await signOut(page);
  // The copy answers with a counter the portal has already seen.
  await signInWithPasskey(thief);
  await expect(thief).toHaveURL(/\/connexion\?erreur=cle-copiee$/);
  await expect(thief.getByRole("alert")).toContainText("elle semble avoir été copiée");
  await elsewhere.close();
});

test("a removed passkey no longer signs in, whoever removed it", async () => {
  test.setTimeout(90_000);
  await signIn(page, HOLDER);
  const before = receivedMails().length;
  await page.goto("/compte/moyens-de-connexion");
  const card = page.getByRole("article", { name: "Ordinateur du cabinet" });
  await card.getByLabel("Pour retirer cette clé d'accès, confirmez votre mot de passe.").fill(DEMO_PASSWORD);
  await card.getByRole("button", { name: "Retirer cette clé d'accès" }).click();
  await expect(page.getByRole("status")).toContainText("La clé d'accès a été retirée de votre compte");
  await expect(page.locator("#aucune-cle")).toBeVisible();
  const mail = await mailSaying(ADDRESS, "clé d'accès « Ordinateur du cabinet »", before);
  expect(mail.body).toContain("depuis votre page « Mes moyens de connexion »");
  await signOut(page);

  // The authenticator still offers it; the portal no longer knows it.
  await signInWithPasskey(page);
  await expect(page).toHaveURL(/\/connexion\?erreur=cle-inconnue$/);
  await expect(page.getByRole("alert")).toContainText("n'est pas (ou plus) enregistrée sur Passerelle");

  // A second passkey, removed by the desk this time (on the phone with the holder).
  await signIn(page, HOLDER);
  await addPasskey(page, "Téléphone perdu");
  await signOut(page);
  await signIn(page, "support.idf");
  await expect(page).toHaveURL(/\/admin\/comptes$/);
  await page.goto("/admin/comptes?q=cle.fontaine");
  await page.locator("#comptes tbody tr").getByRole("link").click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Camille Fontaine");
  const keys = page.getByRole("region", { name: "Clés d'accès" });
  await expect(keys).toContainText("Téléphone perdu");
  await keys.getByRole("button", { name: "Retirer cette clé d'accès « Téléphone perdu »" }).click();
  await expect(page.getByRole("status")).toContainText("Le titulaire en est informé par courriel");
  await expect(keys).not.toContainText("Téléphone perdu");
  await signOut(page);
  await signInWithPasskey(page);
  await expect(page).toHaveURL(/\/connexion\?erreur=cle-inconnue$/);
});

test("without JavaScript the sign-in page says that passkeys need it", async ({ browser }) => {
  const plain = await browser.newContext({ javaScriptEnabled: false });
  const p = await plain.newPage();
  await p.goto("/connexion");
  const box = p.getByRole("region", { name: "Clé d'accès" });
  await expect(box).toContainText("La connexion par clé d'accès nécessite JavaScript");
  await expect(box.getByRole("button", { name: "Se connecter avec une clé d'accès" })).toBeHidden();
  await plain.close();
});
