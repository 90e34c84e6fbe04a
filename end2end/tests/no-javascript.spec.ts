import { expect, test } from "./fixtures";
import { signIn, signOut } from "./helpers";

test.use({ javaScriptEnabled: false });

test("the whole sign-in works with JavaScript disabled", async ({ page }) => {
  await signIn(page, "dr.martin", "faux");
  await expect(page.getByRole("alert")).toHaveText("Identifiant ou mot de passe incorrect.");

  await signIn(page, "dr.martin");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Choix de l'établissement");
  await page.getByRole("button", { name: /Assistance Publique – Hôpitaux de Paris/ }).click();
  await expect(page).toHaveURL(/\/etablissements\/750712184$/);
  await expect(page.getByText("Bienvenue, Claire Martin.")).toBeVisible();
  await signOut(page);
});

test("the region help works with JavaScript disabled", async ({ page }) => {
  await page.goto("/connexion");
  await page.getByLabel("Région de votre établissement").selectOption("FR-BRE");
  await page.getByRole("button", { name: "Afficher" }).click();
  await expect(page).toHaveURL(/region=FR-BRE/);
  await expect(page.getByRole("link", { name: /ARS Bretagne/ }).first()).toHaveAttribute("href", "https://www.bretagne.ars.sante.fr");
  await expect(page.getByRole("link", { name: "support-bre@passerelle.example" })).toBeVisible();
});
