import { Browser, expect, Page, test } from "../tests/fixtures";
import { addTiqrPhone, DEMO_PASSWORD, hydrated, signIn } from "../tests/helpers";
import { Phone } from "../tests/tiqr-phone";

// A newcomer's first ten minutes: every sign-in mode of the README's walkthrough, through the demo
// that `bash scripts/run.sh` starts (the portal with its demo data, the Pro Santé Connect test
// provider, the virtual card reader with Claire Martin's card and the agent, nginx with the demo
// PKI). Each test uses its own account or means, as a visitor of the demo would.
const DEMO_URL = process.env.PASSERELLE_DEMO_URL ?? "http://127.0.0.1:3000";
const PKI = process.env.PASSERELLE_DEMO_PKI ?? "../data/demo-services/pki";
const CARD_URL = process.env.PASSERELLE_DEMO_CARD_URL ?? "https://127.0.0.1:3443";
const DASHBOARD = /\/etablissements\/\d{9}$/;

// In order, as in the README's walkthrough: the card linked by the PIN test makes Claire Martin a
// professional Passerelle already knows when she comes through Pro Santé Connect.
test.describe.configure({ mode: "serial" });

async function fillAccount(page: Page, username: string) {
  await page.getByLabel("Identifiant", { exact: true }).fill(username);
  await page.getByLabel("Mot de passe", { exact: true }).fill(DEMO_PASSWORD);
}

/** The method the dashboard says this session was opened with. */
async function expectMethod(page: Page, method: string | RegExp) {
  await expect(page.locator("dl.facts")).toContainText(method);
}

/** The sign-in code of the newest e-mail to `to` in the demo's e-mails, once there are more than
 * `before` of them (the outbox worker writes it a moment after the page asked). */
async function codeFromDemoMails(page: Page, to: string, before: number): Promise<string> {
  const mails = await page.context().newPage();
  let code = "";
  await expect(async () => {
    await mails.goto("/demo/courriels");
    const rows = mails.locator("#courriels tbody tr", { hasText: to });
    expect(await rows.count()).toBeGreaterThan(before);
    await rows.first().getByRole("link").click();
    code = (await mails.locator("#courriel").innerText()).match(/Passerelle : (\d{6})/)?.[1] ?? "";
    expect(code).toMatch(/^\d{6}$/);
  }).toPass({ timeout: 30_000 });
  await mails.close();
  return code;
}

async function mailCount(page: Page, to: string): Promise<number> {
  const mails = await page.context().newPage();
  await mails.goto("/demo/courriels");
  const count = await mails.locator("#courriels tbody tr", { hasText: to }).count();
  await mails.close();
  return count;
}

/** On the code page: asks for the code, reads it in the demo's e-mails, types it. */
async function codeStep(page: Page, to: string) {
  await expect(page).toHaveURL(/\/connexion\/code$/);
  const before = await mailCount(page, to);
  await page.getByRole("button", { name: "Envoyer le code par courriel" }).click();
  await expect(page.locator(".alert-info")).toContainText("Un code vous a été envoyé par courriel.");
  const code = await codeFromDemoMails(page, to, before);
  await page.getByLabel("Code reçu par courriel").fill(code);
  await page.getByRole("button", { name: "Valider le code" }).click();
}

test("password then the code read in the demo's e-mails", async ({ page }) => {
  await signIn(page, "helene.leclerc");
  await codeStep(page, "helene.leclerc@");
  await expect(page).toHaveURL(DASHBOARD);
  await expectMethod(page, "identifiant, mot de passe et code par courriel");
});

test("the virtual CPS and its PIN: linked once to dr.martin, then the card alone", async ({ page }) => {
  for (const first of [true, false]) {
    await page.goto("/connexion");
    await hydrated(page);
    await expect(page.locator("#etat-lecteur")).toContainText("CLAIRE MARTIN", { timeout: 20_000 });
    await page.getByLabel("Code porteur").fill("1234");
    await page.getByRole("button", { name: "Connexion", exact: true }).click();
    if (first) {
      await expect(page).toHaveURL(/\/connexion\/carte\/lier$/);
      await fillAccount(page, "dr.martin");
      await page.getByRole("button", { name: "Lier la carte et se connecter" }).click();
    }
    // Two establishments: the chooser.
    await expect(page).toHaveURL(/\/etablissements$/);
    await page.getByRole("button", { name: "Se déconnecter" }).click();
    await expect(page.locator(".alert-info")).toContainText("Vous êtes déconnecté(e).");
  }
});

test("the card's certificate through the TLS terminator: linked once to inf.durand", async ({ browser }) => {
  const context = await browser.newContext({
    baseURL: DEMO_URL,
    locale: "fr-FR",
    ignoreHTTPSErrors: true,
    clientCertificates: [
      { origin: CARD_URL, certPath: `${PKI}/cps-durand.cert.pem`, keyPath: `${PKI}/cps-durand.key.pem` },
    ],
  });
  const page = await context.newPage();
  await page.goto("/connexion");
  await page.getByRole("link", { name: "Se connecter avec le certificat de la carte (sans agent)" }).click();
  await expect(page).toHaveURL(/\/connexion\/carte\/lier$/);
  await expect(page.locator("#porteur")).toHaveText("PAUL DURAND");
  await fillAccount(page, "inf.durand");
  await page.getByRole("button", { name: "Lier la carte et se connecter" }).click();
  await expect(page).toHaveURL(DASHBOARD);
  await expectMethod(page, "carte CPS");
  await context.close();
});

/** "Se connecter avec Pro Santé Connect", then the provider's page, which lists the demo's
 * identities. */
async function pscSignIn(browser: Browser, identifier: string, means: "Carte CPS" | "e-CPS") {
  const context = await browser.newContext({ baseURL: DEMO_URL, locale: "fr-FR" });
  const page = await context.newPage();
  await page.goto("/connexion");
  await page.getByRole("link", { name: "Se connecter avec Pro Santé Connect" }).click();
  await expect(page.getByRole("heading", { name: "Identités de démonstration" })).toBeVisible();
  await expect(page.locator("li", { hasText: identifier })).toBeVisible();
  await page.getByLabel("Identifiant national").fill(identifier);
  await page.getByLabel(means, { exact: true }).check();
  await page.getByRole("button", { name: "Se connecter", exact: true }).click();
  return { context, page };
}

test("Pro Santé Connect with the card: Claire Martin, whose card is linked, signs in at once", async ({ browser }) => {
  const { context, page } = await pscSignIn(browser, "810000123454", "Carte CPS");
  await expect(page).toHaveURL(/\/etablissements$/);
  await context.close();
});

test("Pro Santé Connect with e-CPS: Hélène Leclerc links her account once, with its e-mail code", async ({ browser }) => {
  const { context, page } = await pscSignIn(browser, "810000345677", "e-CPS");
  await expect(page).toHaveURL(/\/connexion\/lier$/);
  await fillAccount(page, "helene.leclerc");
  await page.getByRole("button", { name: "Lier mon identité et se connecter" }).click();
  // Linking asks as much as signing in: her account needs the e-mail code.
  await codeStep(page, "helene.leclerc@");
  await expect(page).toHaveURL(DASHBOARD);
  await expectMethod(page, "Pro Santé Connect (MOBILE · eidas2)");
  await context.close();
});

test("the TIQR app (the tests' phone): sec.petit adds her phone, then signs in by QR code", async ({ page, browser }) => {
  const phone = new Phone("android", "2468");
  await signIn(page, "sec.petit");
  await addTiqrPhone(page, phone);

  const context = await browser.newContext({ baseURL: DEMO_URL, locale: "fr-FR" });
  const other = await context.newPage();
  await other.goto("/connexion");
  await other.getByRole("link", { name: "Se connecter avec l'application TIQR" }).click();
  await expect(other.locator("#tiqr-qr svg")).toHaveCount(1);
  await hydrated(other);
  expect(await phone.login((await other.locator("#tiqr-qr").getAttribute("data-tiqr-url")) ?? "")).toBe("OK");
  // sec.petit has no establishment: the page that says whom to contact, signed in.
  await expect(other).toHaveURL(/\/aucun-etablissement$/, { timeout: 15_000 });
  await context.close();
});
