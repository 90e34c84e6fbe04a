import * as fs from "node:fs";
import { expect, test } from "./fixtures";
import { CARD_URL, DEMO_PASSWORD, PKI } from "./helpers";

const baseURL = process.env.PASSERELLE_E2E_URL ?? "http://127.0.0.1:3900";

/** A browser whose user picks the given card's certificate when the card host asks for one. */
async function browserWithCard(browser: import("@playwright/test").Browser, holder: string) {
  return browser.newContext({
    baseURL,
    locale: "fr-FR",
    ignoreHTTPSErrors: true,
    clientCertificates: [
      { origin: CARD_URL, certPath: `${PKI}/${holder}.cert.pem`, keyPath: `${PKI}/${holder}.key.pem` },
    ],
  });
}

test("the card's certificate through the TLS terminator: linked once, then signed in", async ({ browser }) => {
  const context = await browserWithCard(browser, "cps-durand");
  const page = await context.newPage();
  await page.goto("/connexion");
  await page.getByRole("link", { name: "Se connecter avec le certificat de la carte (sans agent)" }).click();
  // Back on the portal's own address (the card host is another one).
  await expect(page).toHaveURL(`${baseURL}/connexion/carte/lier`);
  await expect(page.locator("#porteur")).toHaveText("PAUL DURAND");
  await page.getByLabel("Identifiant", { exact: true }).fill("inf.durand");
  await page.getByLabel("Mot de passe", { exact: true }).fill(DEMO_PASSWORD);
  await page.getByRole("button", { name: "Lier la carte et se connecter" }).click();
  // One establishment: straight to its dashboard, signed in by card.
  await expect(page).toHaveURL(/\/etablissements\/\w{9}$/);
  await expect(page.locator("dl.facts")).toContainText("carte CPS");
  await page.getByRole("button", { name: "Se déconnecter" }).click();

  await page.goto("/connexion");
  await page.getByRole("link", { name: "Se connecter avec le certificat de la carte (sans agent)" }).click();
  await expect(page).toHaveURL(/\/etablissements\/\w{9}$/);
  await context.close();
});

test("a revoked certificate presented to the terminator is refused with its reason", async ({ browser }) => {
  const context = await browserWithCard(browser, "cps-revoked");
  const page = await context.newPage();
  await page.goto("/connexion");
  await page.getByRole("link", { name: "Se connecter avec le certificat de la carte (sans agent)" }).click();
  await expect(page).toHaveURL(/\/connexion\?erreur=carte-revoquee$/);
  await expect(page.getByRole("alert")).toContainText("révoqué");
  await context.close();
});

for (const [how, base] of [
  ["straight to the portal", baseURL],
  ["through a reverse proxy that passes client headers", process.env.PASSERELLE_E2E_PROXY_URL ?? "http://127.0.0.1:3908"],
]) {
  test(`a forged certificate header sent ${how} is ignored`, async ({ page }) => {
    const pem = fs.readFileSync(`${PKI}/cps-martin.cert.pem`, "utf8");
    await page.setExtraHTTPHeaders({
      "X-SSL-Client-Cert": encodeURIComponent(pem),
      "X-SSL-Client-Verify": "SUCCESS",
    });
    await page.goto(`${base}/connexion/carte/certificat/verifier?etat=${"a".repeat(64)}`);
    await expect(page).toHaveURL(/\/connexion\?erreur=carte-absente$/);
    await expect(page.getByRole("alert")).toContainText("Aucun certificat de carte n'a été présenté");
  });
}
