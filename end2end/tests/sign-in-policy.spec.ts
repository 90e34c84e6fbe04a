import AxeBuilder from "@axe-core/playwright";
import { expect, Page, test } from "./fixtures";
import { DEMO_PASSWORD, hydrated, receivedMails, signIn, signOut, waitForMail } from "./helpers";

// The minimum sign-in strength per role (issue 19), with the policy's defaults: an instance of
// its own (scripts/test.sh, PASSERELLE_E2E_STRICT_URL) over the fleet's database, under the same
// host name, with a transition until 31/12/2099 that still accepts the password with the e-mailed
// code. The fleet itself accepts the administrators' password (the other specs use it).

const STRICT = process.env.PASSERELLE_E2E_STRICT_URL ?? "http://localhost:3906";

test.describe.configure({ mode: "serial" });

test("the desk signed in with a password reaches nothing but the page that says how to sign in more strongly", async ({ browser }) => {
  const context = await browser.newContext({ baseURL: STRICT });
  const page = await context.newPage();
  await signIn(page, "support.idf");
  await expect(page).toHaveURL(/\/compte\/renforcer$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Une connexion plus forte est nécessaire");
  await expect(page.locator("#liste-moyens")).toHaveText("carte CPS, Pro Santé Connect, clé d'accès, application TIQR");
  await hydrated(page);
  const axe = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]).analyze();
  expect(axe.violations.map((v) => v.id)).toEqual([]);
  // The console, the account's pages: back here.
  for (const path of ["/admin/comptes", "/compte/moyens-de-connexion", "/admin/journal"]) {
    await page.goto(path);
    await expect(page).toHaveURL(/\/compte\/renforcer$/);
  }
  // The professionals' rule is unchanged: dr.martin signs in with his password as before.
  await page.getByRole("button", { name: "Se déconnecter et se connecter autrement" }).click();
  await expect(page).toHaveURL(/\/connexion/);
  await signIn(page, "dr.martin");
  await expect(page).toHaveURL(/\/etablissements$/);
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  await context.close();
});

test("during the transition the password with the e-mailed code still works, and every page says until when", async ({ browser }) => {
  const context = await browser.newContext({ baseURL: STRICT });
  const page = await context.newPage();
  const before = receivedMails().length;
  await signIn(page, "politique.garnier");
  await expect(page).toHaveURL(/\/connexion\/code$/);
  await page.getByRole("button", { name: "Envoyer le code par courriel" }).click();
  const mail = await waitForMail("lea.garnier@ars.example", /votre code de connexion/, before);
  const code = mail.body.match(/Passerelle : (\d{6})/)?.[1] ?? "";
  await page.getByLabel("Code reçu par courriel").fill(code);
  await page.getByRole("button", { name: "Valider le code" }).click();
  await expect(page).toHaveURL(/\/admin\/comptes$/);
  await expect(page.locator("#transition")).toContainText("jusqu'au 31/12/2099");
  // The console's confirmation cannot be a password for this role.
  await page.goto("/admin/confirmer?retour=/admin/comptes");
  await expect(page.locator("#confirmation-forte")).toContainText("le mot de passe ne suffit pas à confirmer");
  await expect(page.getByLabel("Mot de passe")).toHaveCount(0);
  await context.close();
});

test("with a passkey the desk reaches the console, without any banner", async ({ browser }) => {
  test.setTimeout(90_000);
  // The passkey is added where the desk may sign in with a password (the fleet), then used on
  // the strict instance: same host name, so the same passkey.
  const context = await browser.newContext();
  const page: Page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  await signIn(page, "support.idf", DEMO_PASSWORD);
  await page.goto("/compte/moyens-de-connexion");
  await hydrated(page);
  const section = page.getByRole("region", { name: "Clés d'accès" });
  await section.getByLabel("Nom de la clé (facultatif)").fill("Poste de l'assistance");
  await section.getByRole("button", { name: "Ajouter une clé d'accès" }).click();
  await expect(page.getByRole("status")).toContainText("La clé d'accès a été ajoutée");
  await signOut(page);

  await page.goto(`${STRICT}/connexion`);
  await hydrated(page);
  await page.getByRole("button", { name: "Se connecter avec une clé d'accès" }).click();
  await expect(page).toHaveURL(/\/admin\/comptes$/);
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  await expect(page.locator("#transition")).toHaveCount(0);
  await context.close();
});
