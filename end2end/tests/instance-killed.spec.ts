import { expect, Page, test } from "./fixtures";
import * as fs from "node:fs";
import {
  addTiqrPhone,
  DEMO_PASSWORD,
  FLEET_DIR,
  fleet,
  hydrated,
  receivedMails,
  servedBy,
  servingAgain,
  signIn,
  waitForMail,
} from "./helpers";
import { Phone } from "./tiqr-phone";

// The fleet of scripts/test.sh loses an instance in the middle of a flow: the instance that has
// just served the user is killed (SIGKILL: no graceful shutdown, its connections and its
// in-flight work cut), and the user finishes on the other one without starting again. Every
// flow keeps its state in PostgreSQL; nginx sends the requests that cannot reach the dead
// instance to the living one. The instance is started again after each test.
//
// The accounts are created by scripts/test.sh for this spec only: panne.code (e-mail code
// required), panne.tiqr and panne.psc (RPPS 10000555556), each with one establishment
// (Saint-Denis).

test.describe.configure({ mode: "serial" });
test.skip(!FLEET_DIR, "needs the fleet of scripts/test.sh (PASSERELLE_E2E_FLEET)");

const HOME = /\/etablissements\/930004569$/;

/** Kills the instance that served the latest request matching `request`; returns it. */
function killWhoServed(request: RegExp): number {
  const instance = servedBy(request);
  fleet("kill", instance);
  return instance;
}

let killed = 0;
// The fleet whole again before the next test: started again, and back in nginx's rotation.
test.afterEach(async ({ request }) => {
  if (killed) {
    fleet("revive", killed);
    await servingAgain(request, killed);
  }
  killed = 0;
});

test("e-mail code: the instance that sent the code page dies; the code typed is checked by the other", async ({ page }) => {
  const before = receivedMails().length;
  await signIn(page, "panne.code");
  await expect(page).toHaveURL(/\/connexion\/code$/);
  await page.getByRole("button", { name: "Envoyer le code par courriel" }).click();
  await expect(page.locator(".alert-info")).toContainText("Un code vous a été envoyé par courriel.");
  killed = killWhoServed(/"POST \/connexion\/code/);
  // Whichever outbox worker is alive sends it (a claim held by the dead instance's connection is
  // released with it), once.
  const mail = await waitForMail("panne.code@chu.example", /votre code de connexion/, before);
  const code = mail.body.match(/Passerelle : (\d{6})/)?.[1] ?? "";
  await page.getByLabel("Code reçu par courriel").fill(code);
  await page.getByRole("button", { name: "Valider le code" }).click();
  await expect(page).toHaveURL(HOME);
  await expect(page.locator("dl.facts")).toContainText("identifiant, mot de passe et code par courriel");
  expect(servedBy(/"POST \/connexion\/code/)).not.toBe(killed);
  expect(receivedMails().slice(before).filter((m) => m.body.includes(code))).toHaveLength(1);
});

test("TIQR: the instance that drew the QR code dies; the phone's answer and the page's wait go to the other", async ({ page, browser }) => {
  const phone = new Phone("android", "7315");
  await signIn(page, "panne.tiqr");
  await addTiqrPhone(page, phone);

  // Another computer: the sign-in QR code, then its instance dies while the page waits.
  const context = await browser.newContext();
  const other = await context.newPage();
  await other.goto("/connexion");
  await other.getByRole("link", { name: "Se connecter avec l'application TIQR" }).click();
  await expect(other.locator("#tiqr-qr svg")).toHaveCount(1);
  await hydrated(other);
  killed = killWhoServed(/"GET \/connexion\/tiqr/);
  expect(await phone.login((await other.locator("#tiqr-qr").getAttribute("data-tiqr-url")) ?? "")).toBe("OK");
  await expect(other).toHaveURL(HOME, { timeout: 20_000 });
  expect(servedBy(/"GET \/etablissements\//)).not.toBe(killed);
  await context.close();
});

test("Pro Santé Connect: the instance that sent the user to PSC dies; the return and the linking are done by the other", async ({ page }) => {
  // The test provider's professionals (psc.spec.ts writes its own afterwards).
  const identifier = "810000555556";
  fs.writeFileSync(
    process.env.PASSERELLE_E2E_PSC_USERS ?? "",
    JSON.stringify({
      [identifier]: {
        given_name: "Marc",
        family_name: "Garnier",
        finess: [{ site: "930004569", raison_sociale: "Maison de santé de Saint-Denis" }],
      },
    }),
  );
  await page.goto("/connexion");
  await page.getByRole("link", { name: "Se connecter avec Pro Santé Connect" }).click();
  await expect(page).toHaveURL(/^http:\/\/localhost:\d+\/interaction\//);
  killed = killWhoServed(/"GET \/connexion\/psc /);
  await page.getByLabel("Identifiant national").fill(identifier);
  await page.getByLabel("Carte CPS").check();
  await page.getByRole("button", { name: "Se connecter", exact: true }).click();
  // The flow's state (its nonce, its verifier) was in PostgreSQL: the return is accepted.
  await expect(page).toHaveURL(/\/connexion\/lier$/);
  await expect(page.locator("#identifiant-national")).toHaveText(identifier);
  await page.getByLabel("Identifiant", { exact: true }).fill("panne.psc");
  await page.getByLabel("Mot de passe", { exact: true }).fill(DEMO_PASSWORD);
  await page.getByRole("button", { name: "Lier mon identité et se connecter" }).click();
  await expect(page).toHaveURL(HOME);
  expect(servedBy(/"GET \/connexion\/psc\/retour/)).not.toBe(killed);
});

/** The console's import, as csv-import.spec.ts does it, in UTF-8. */
async function upload(page: Page, lines: string[]) {
  await page.goto("/admin/import");
  await page.getByLabel("Fichier CSV").setInputFiles({
    name: "reprise après panne.csv",
    mimeType: "text/csv",
    buffer: Buffer.from(lines.join("\n") + "\n", "utf8"),
  });
  await page.getByRole("button", { name: "Vérifier le fichier" }).click();
  await expect(page).toHaveURL(/\/admin\/import\/[0-9a-f-]{36}$/);
  await expect(page.getByRole("heading", { name: "Résultat de la vérification" })).toBeVisible({ timeout: 20_000 });
}

test("CSV import: the instance that checked the file dies; the import is confirmed and run on the other", async ({ page }) => {
  const before = receivedMails().length;
  await signIn(page, "admin.idf");
  await upload(page, [
    "Prénom;NOM;Identifiant;Courriel;RPPS;FINESS",
    "Karine;Lefort;k.lefort;karine.lefort@hopital.example;;750712184",
    "Kévin;Roche;k.roche;kevin.roche@hopital.example;;750712184",
  ]);
  const checked = page.url();
  killed = killWhoServed(new RegExp(`"GET ${new URL(checked).pathname} `));
  await page.goto(checked);
  await page.getByRole("button", { name: "Confirmer l'import" }).click();
  await expect(page.getByText("L'import est terminé.")).toBeVisible({ timeout: 20_000 });
  await expect(
    page.locator("#compteurs div").filter({ has: page.getByText("Comptes créés", { exact: true }) }).locator("dd"),
  ).toHaveText("2");
  expect(servedBy(/"GET \/admin\/import\//)).not.toBe(killed);
  for (const address of ["karine.lefort@hopital.example", "kevin.roche@hopital.example"]) {
    await waitForMail(address, /activez votre compte/, before);
  }
});
