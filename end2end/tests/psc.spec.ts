import * as fs from "node:fs";
import { createHash } from "node:crypto";
import { Browser, expect, Page, test } from "./fixtures";
import { DEMO_PASSWORD } from "./helpers";

// Pro Santé Connect against the test provider of scripts/test.sh (oidc-provider configured like
// PSC, see end2end/psc-provider/README.md); the portal is its client `passerelle-jwt`.
const PSC = process.env.PASSERELLE_E2E_PSC_URL ?? "";
const USERS = process.env.PASSERELLE_E2E_PSC_USERS ?? "";

// psc.moreau, created by scripts/test.sh for this spec: one establishment (Saint-Denis).
const MOREAU = "810000999994";
const MOREAU_HOME = /\/etablissements\/930004569$/;
const MARTIN = "810000123454"; // dr.martin: two establishments
const JEANNE = "899700427885"; // a professional with no account here

// The faults and the provider's single sign-on are shared: one test at a time, in this order.
test.describe.configure({ mode: "serial" });

test.beforeAll(() => {
  fs.writeFileSync(
    USERS,
    JSON.stringify({
      [JEANNE]: {
        given_name: "Jeanne",
        family_name: "Fichier",
        finess: [{ site: "750001232", raison_sociale: "Centre de santé des Batignolles" }],
      },
      [MOREAU]: {
        given_name: "Louise",
        family_name: "Moreau",
        finess: [{ site: "930004569", raison_sociale: "Maison de santé de Saint-Denis" }],
      },
      // PSC declares only one of dr.martin's two establishments.
      [MARTIN]: {
        given_name: "Claire",
        family_name: "Martin",
        finess: [{ site: "750712184", raison_sociale: "AP-HP" }],
      },
    }),
  );
});

/** The provider's `sub` for an identifier (its derivation, see server.mjs). */
function subFor(identifier: string): string {
  const h = createHash("sha256").update(`psc-test:${identifier}`).digest("hex");
  return `f:${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}:${identifier}`;
}

/** "Se connecter avec Pro Santé Connect", then PSC's own page: national identifier and means. */
async function pscSignIn(page: Page, identifier: string, means: "Carte CPS" | "e-CPS" = "Carte CPS") {
  await page.goto("/connexion");
  await page.getByRole("link", { name: "Se connecter avec Pro Santé Connect" }).click();
  await expect(page).toHaveURL(/^http:\/\/localhost:\d+\/interaction\//);
  await page.getByLabel("Identifiant national").fill(identifier);
  await page.getByLabel(means).check();
  await page.getByRole("button", { name: "Se connecter", exact: true }).click();
}

/** A fresh browser (no PSC single sign-on, no Passerelle session). */
async function freshPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext();
  return context.newPage();
}

async function fault(page: Page, body: object) {
  const r = await page.request.post(`${PSC}/test/faults`, { data: body });
  expect(r.ok()).toBeTruthy();
}

async function expectRefused(page: Page, message: string) {
  await expect(page).toHaveURL(/\/connexion\/psc\/erreur\?erreur=/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(
    "Connexion avec Pro Santé Connect impossible",
  );
  await expect(page.getByRole("alert")).toContainText(message);
  await expect(page.getByRole("link", { name: "Retour à la connexion" })).toBeVisible();
}

test("first Pro Santé Connect sign-in links the account once, then PSC alone signs in", async ({ page, browser }) => {
  await pscSignIn(page, MOREAU);
  await expect(page).toHaveURL(/\/connexion\/lier$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(
    "Connectez votre compte professionnel à votre identité Pro Santé Connect",
  );
  await expect(page.locator("#porteur")).toHaveText("Louise Moreau");
  await expect(page.locator("#identifiant-national")).toHaveText(MOREAU);
  // A typo: same message as the sign-in page, the pending link stays.
  await page.getByLabel("Identifiant", { exact: true }).fill("psc.moreau");
  await page.getByLabel("Mot de passe", { exact: true }).fill("pas le bon mot de passe");
  await page.getByRole("button", { name: "Lier mon identité et se connecter" }).click();
  await expect(page.getByRole("alert")).toContainText("Identifiant ou mot de passe incorrect.");
  await page.getByLabel("Identifiant", { exact: true }).fill("psc.moreau");
  await page.getByLabel("Mot de passe", { exact: true }).fill(DEMO_PASSWORD);
  await page.getByRole("button", { name: "Lier mon identité et se connecter" }).click();
  await expect(page).toHaveURL(MOREAU_HOME);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Maison de santé de Saint-Denis");
  await expect(page.getByText("Pro Santé Connect (CARD · eidas3)")).toBeVisible();

  // Another browser, another day: no password, straight to the establishment.
  const next = await freshPage(browser);
  await pscSignIn(next, MOREAU);
  await expect(next).toHaveURL(MOREAU_HOME);
});

test("an e-CPS sign-in is recorded with its means and level", async ({ page }) => {
  await pscSignIn(page, MOREAU, "e-CPS");
  await expect(page).toHaveURL(MOREAU_HOME);
  await expect(page.getByText("Pro Santé Connect (MOBILE · eidas2)")).toBeVisible();
});

test("an account already linked to another professional's identity is refused", async ({ page, browser }) => {
  await pscSignIn(page, JEANNE);
  await expect(page).toHaveURL(/\/connexion\/lier$/);
  await expect(page.locator("#porteur")).toHaveText("Jeanne Fichier");
  await page.getByLabel("Identifiant", { exact: true }).fill("psc.moreau");
  await page.getByLabel("Mot de passe", { exact: true }).fill(DEMO_PASSWORD);
  await page.getByRole("button", { name: "Lier mon identité et se connecter" }).click();
  await expectRefused(page, "Ce compte est déjà lié à l'identité d'un autre professionnel");
  // Nothing was linked: Jeanne is asked to link again.
  const again = await freshPage(browser);
  await pscSignIn(again, JEANNE);
  await expect(again).toHaveURL(/\/connexion\/lier$/);
});

test("cancelling on Pro Santé Connect's page ends on a French page with a way back", async ({ page }) => {
  await page.goto("/connexion");
  await page.getByRole("link", { name: "Se connecter avec Pro Santé Connect" }).click();
  await page.getByRole("button", { name: "Annuler" }).click();
  await expectRefused(page, "Vous avez annulé la connexion avec Pro Santé Connect.");
  await page.getByRole("link", { name: "Retour à la connexion" }).click();
  await expect(page).toHaveURL(/\/connexion$/);
  await expect(page.getByRole("link", { name: "Se connecter avec Pro Santé Connect" })).toBeVisible();
});

test("a tampered state is refused", async ({ page }) => {
  // The state sent to PSC is altered on its way (PSC echoes it back as it got it).
  await page.route(/\/connexion\/psc$/, async (route) => {
    const response = await route.fetch({ maxRedirects: 0 });
    const location = new URL(response.headers()["location"]);
    location.searchParams.set("state", `${location.searchParams.get("state")}x`);
    // The flow's browser cookie goes through as set.
    await route.fulfill({ response, headers: { ...response.headers(), location: location.toString() } });
  });
  await pscSignIn(page, MOREAU);
  await expectRefused(page, "n'est pas valable");
});

test("a replayed callback (same code and state) is refused", async ({ page }) => {
  const callback = page.waitForRequest(/\/connexion\/psc\/retour\?/);
  await pscSignIn(page, MOREAU);
  await expect(page).toHaveURL(MOREAU_HOME);
  await page.goto((await callback).url());
  await expectRefused(page, "n'est pas valable");
});

for (const [name, value] of [
  ["a wrong nonce", "wrong-nonce"],
  ["an expired ID token", "expired-id-token"],
  ["an ID token for another audience", "wrong-audience"],
]) {
  test(`${name} is refused`, async ({ page }) => {
    await fault(page, { next_token: value });
    await pscSignIn(page, MOREAU);
    await expectRefused(page, "La réponse de Pro Santé Connect n'a pas pu être vérifiée.");
    await fault(page, { next_token: "none" });
  });
}

test("Pro Santé Connect's back-channel logout ends the Passerelle session", async ({ page }) => {
  await pscSignIn(page, MOREAU);
  await expect(page).toHaveURL(MOREAU_HOME);
  const r = await page.request.post(`${PSC}/test/backchannel-logout`, {
    data: { sub: subFor(MOREAU), client_id: "passerelle-jwt" },
  });
  expect(await r.json()).toEqual({ status: 200 });
  await page.reload();
  await expect(page).toHaveURL(/\/connexion/);
  await expect(page.getByRole("link", { name: "Se connecter avec Pro Santé Connect" })).toBeVisible();

  // The same logout token again: refused.
  const last = await (await page.request.get(`${PSC}/test/last-logout-token`)).json();
  const replay = await page.request.post("/connexion/psc/deconnexion", {
    form: { logout_token: last.logout_token },
  });
  expect(replay.status()).toBe(400);
  expect(replay.headers()["cache-control"]).toBe("no-store");
});

test("establishments PSC declares are marked in the chooser", async ({ page }) => {
  await pscSignIn(page, MARTIN);
  if (/\/connexion\/lier$/.test(page.url()) || (await page.locator("#identifiant-national").count()) > 0) {
    await page.getByLabel("Identifiant", { exact: true }).fill("dr.martin");
    await page.getByLabel("Mot de passe", { exact: true }).fill(DEMO_PASSWORD);
    await page.getByRole("button", { name: "Lier mon identité et se connecter" }).click();
  }
  await expect(page).toHaveURL(/\/etablissements$/);
  const aphp = page.locator("li.choice", { hasText: "Assistance Publique – Hôpitaux de Paris" });
  const batignolles = page.locator("li.choice", { hasText: "Centre de santé des Batignolles" });
  await expect(aphp).toContainText("Déclaré par Pro Santé Connect");
  await expect(batignolles).not.toContainText("Déclaré par Pro Santé Connect");
});
