import { expect, test } from "./fixtures";
import { DEMO_PASSWORD, receivedMails, signIn, smtpPort, smtpServer, waitForMail } from "./helpers";

// helene.leclerc's account requires the e-mail code (see domain::demo); the server runs with
// codes valid 20 seconds (PASSERELLE_OTP_CODE_SECONDS in scripts/test.sh).
const HELENE = "helene.leclerc@demo.passerelle.example";
// The code is in the body only (subjects show on lock screens).
const CODE_SUBJECT = /votre code de connexion/;

function codeOf(body: string): string {
  return body.match(/Passerelle : (\d{6})/)?.[1] ?? "";
}

async function askForCode(page: import("@playwright/test").Page) {
  const before = receivedMails().length;
  await signIn(page, "helene.leclerc");
  await expect(page).toHaveURL(/\/connexion\/code$/);
  await expect(page.locator("#adresse-masquee")).toHaveText("h************c@demo.passerelle.example");
  await page.getByRole("button", { name: "Envoyer le code par courriel" }).click();
  await expect(page.locator(".alert-info")).toContainText("Un code vous a été envoyé par courriel.");
  const mail = await waitForMail(HELENE, CODE_SUBJECT, before);
  expect(mail.body).toContain("Assistance aux utilisateurs");
  expect(mail.subject).not.toMatch(/\d{6}/);
  return codeOf(mail.body);
}

test.describe.configure({ mode: "serial" });

test("password then the code received by e-mail; a wrong code says how many tries are left", async ({ page }) => {
  const code = await askForCode(page);
  const wrong = code === "000000" ? "111111" : "000000";
  await page.getByLabel("Code reçu par courriel").fill(wrong);
  await page.getByRole("button", { name: "Valider le code" }).click();
  await expect(page.getByRole("alert")).toContainText("Code incorrect : il reste 4 essais.");
  await page.getByLabel("Code reçu par courriel").fill(code);
  await page.getByRole("button", { name: "Valider le code" }).click();
  await expect(page).toHaveURL(/\/etablissements\/690781810$/);
  await expect(page.locator("dl.facts")).toContainText("identifiant, mot de passe et code par courriel");
});

test("an expired code is refused", async ({ page }) => {
  const code = await askForCode(page);
  await page.waitForTimeout(21_000);
  await page.getByLabel("Code reçu par courriel").fill(code);
  await page.getByRole("button", { name: "Valider le code" }).click();
  await expect(page.getByRole("alert")).toContainText("Ce code a expiré. Demandez-en un nouveau.");
});

test("mail server down: the page says the e-mail is delayed, the code leaves once it is back, once", async ({ page }) => {
  const port = smtpPort();
  smtpServer("stop");
  try {
    const before = receivedMails().length;
    await signIn(page, "helene.leclerc");
    await page.getByRole("button", { name: "Envoyer le code par courriel" }).click();
    // The worker tries within a second, fails, and retries later: reload to see it.
    await expect(async () => {
      await page.reload();
      await expect(page.locator(".alert-info")).toContainText("L'envoi du courriel est retardé", { timeout: 1000 });
    }).toPass({ timeout: 15_000 });
    smtpServer("start", port);
    const mail = await waitForMail(HELENE, CODE_SUBJECT, before, 40_000);
    const code = codeOf(mail.body);
    await page.getByLabel("Code reçu par courriel").fill(code);
    await page.getByRole("button", { name: "Valider le code" }).click();
    await expect(page).toHaveURL(/\/etablissements\/690781810$/);
    // Sent once, not twice.
    expect(receivedMails().slice(before).filter((m) => m.body.includes(code))).toHaveLength(1);
  } finally {
    smtpServer("start", port);
  }
});

test("the password alone is not enough for an account that requires the code", async ({ page }) => {
  await signIn(page, "helene.leclerc", DEMO_PASSWORD);
  await page.goto("/etablissements/690781810");
  await expect(page).toHaveURL(/\/connexion\?erreur=non-connecte$/);
});

// Last: five wrong codes also lock the account's sign-in for a while (like wrong passwords).
test("five wrong codes send the user back to the password", async ({ page }) => {
  const code = await askForCode(page);
  const wrong = code === "000000" ? "111111" : "000000";
  for (let i = 0; i < 5; i++) {
    await page.getByLabel("Code reçu par courriel").fill(wrong);
    await page.getByRole("button", { name: "Valider le code" }).click();
  }
  await expect(page).toHaveURL(/\/connexion\?erreur=(code-trop-d-essais|verrouille-\d+)$/);
  await expect(page.getByRole("alert")).toContainText(/Trop de codes incorrects|Trop de tentatives/);
});
