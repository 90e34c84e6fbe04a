import { expect, test } from "./fixtures";
import { DEMO_PASSWORD, hydrated, insertCard, removeCard, signInWithCard, signOut } from "./helpers";

test.afterEach(() => removeCard());

test("a new card asks once for the account, then the card alone signs in", async ({ page }) => {
  insertCard("cps-martin");
  await page.goto("/connexion");
  await hydrated(page);
  const status = page.locator("#etat-lecteur");
  await expect(status).toContainText("Carte détectée : CLAIRE MARTIN (CPS)");
  await expect(status).toContainText("3 essais restants");

  await signInWithCard(page, "CLAIRE MARTIN");
  await expect(page).toHaveURL(/\/connexion\/carte\/lier$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(
    "Connectez votre compte professionnel à votre carte",
  );
  await expect(page.locator("#porteur")).toHaveText("CLAIRE MARTIN");
  await page.getByLabel("Identifiant", { exact: true }).fill("dr.martin");
  await page.getByLabel("Mot de passe", { exact: true }).fill(DEMO_PASSWORD);
  await page.getByRole("button", { name: "Lier la carte et se connecter" }).click();
  // Two establishments: the chooser.
  await expect(page).toHaveURL(/\/etablissements$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Choix de l'établissement");
  await signOut(page);

  // Second time: PIN only, no password, straight to the routing.
  await signInWithCard(page, "CLAIRE MARTIN");
  await expect(page).toHaveURL(/\/etablissements$/);

  // The linked card is listed with its last use ("Mes cartes" became "Mes moyens de connexion";
  // its former address still leads there).
  await page.goto("/compte/cartes");
  await expect(page).toHaveURL(/\/compte\/moyens-de-connexion$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Mes moyens de connexion");
  await expect(page.getByRole("heading", { level: 3, name: "CPS — CLAIRE MARTIN" })).toBeVisible();
  await expect(page.locator(".serial")).toHaveText("0a01");
});

test("the holder removes the card after typing the password; the card then asks to link again", async ({ page }) => {
  insertCard("cps-martin");
  await signInWithCard(page, "CLAIRE MARTIN");
  await expect(page).toHaveURL(/\/etablissements$/);
  await page.goto("/compte/moyens-de-connexion");
  await page.getByLabel("Pour retirer cette carte, confirmez votre mot de passe.").fill("pas le bon");
  await page.getByRole("button", { name: "Retirer cette carte" }).click();
  await expect(page.getByRole("alert")).toContainText("Identifiant ou mot de passe incorrect.");
  await page.getByLabel("Pour retirer cette carte, confirmez votre mot de passe.").fill(DEMO_PASSWORD);
  await page.getByRole("button", { name: "Retirer cette carte" }).click();
  await expect(page.getByRole("status")).toContainText("La carte a été retirée de votre compte");
  await expect(page.locator("#aucune-carte")).toBeVisible();
  await signOut(page);
  await signInWithCard(page, "CLAIRE MARTIN");
  await expect(page).toHaveURL(/\/connexion\/carte\/lier$/);
});
