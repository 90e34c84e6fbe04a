import { expect, test } from "./fixtures";
import { insertCard, removeCard, signInWithCard } from "./helpers";

test.afterEach(() => removeCard());

test("a wrong PIN says how many tries are left; the right one then goes on", async ({ page }) => {
  insertCard("cps-petit");
  await signInWithCard(page, "JULIE PETIT", "0000");
  await expect(page.locator("#erreur-carte")).toHaveText(
    "Code porteur incorrect : il reste 2 essai(s) avant le blocage de la carte.",
  );
  await expect(page.locator("#etat-lecteur")).toContainText("2 essais restants");
  // The PIN field was emptied; the right PIN works and resets the counter.
  await expect(page.getByLabel("Code porteur")).toHaveValue("");
  await page.getByLabel("Code porteur").fill("1234");
  await page.getByRole("button", { name: "Connexion", exact: true }).click();
  await expect(page).toHaveURL(/\/connexion\/carte\/lier$/);
});

test("a blocked PIN is reported and the card cannot be used", async ({ page }) => {
  insertCard("cps-petit");
  for (const tries of [2, 1]) {
    await signInWithCard(page, "JULIE PETIT", "9999");
    await expect(page.locator("#erreur-carte")).toContainText(`il reste ${tries} essai(s)`);
  }
  await page.getByLabel("Code porteur").fill("9999");
  await page.getByRole("button", { name: "Connexion", exact: true }).click();
  await expect(page.locator("#erreur-carte")).toContainText("Code porteur bloqué");
  await expect(page.locator("#etat-lecteur")).toContainText("Code porteur bloqué");
  await expect(page.getByRole("button", { name: "Connexion", exact: true })).toBeDisabled();
});
