import { expect, test } from "./fixtures";
import { signIn, signOut } from "./helpers";

test("a professional of two establishments chooses one, sees its dashboard and signs out", async ({ page }) => {
  await signIn(page, "dr.martin");
  await expect(page).toHaveURL(/\/etablissements$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Choix de l'établissement");
  await expect(page.getByText("Sélectionnez l'établissement dans lequel vous souhaitez travailler.")).toBeVisible();
  const choices = page.getByRole("listitem");
  await expect(choices).toHaveCount(2);

  await page.getByRole("button", { name: /Centre de santé des Batignolles/ }).click();
  await expect(page).toHaveURL(/\/etablissements\/750001232$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Centre de santé des Batignolles");
  await expect(page.getByText("Bienvenue, Claire Martin.")).toBeVisible();
  await expect(page.locator("dd.finess")).toHaveText("750001232");
  await expect(page.locator(".whoami")).toContainText("Claire Martin");

  // Switching establishment later.
  await page.getByRole("link", { name: "Changer d'établissement" }).click();
  await page.getByRole("button", { name: /Assistance Publique – Hôpitaux de Paris/ }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Assistance Publique – Hôpitaux de Paris");

  await signOut(page);
  // The session is gone: private pages send back to sign-in.
  await page.goto("/etablissements");
  await expect(page).toHaveURL(/\/connexion\?erreur=non-connecte$/);
  await expect(page.getByRole("alert")).toContainText("Veuillez vous connecter");
});

test("a professional of one establishment lands directly on its dashboard", async ({ page }) => {
  await signIn(page, "inf.durand");
  await expect(page).toHaveURL(/\/etablissements\/93000456\d$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Maison de santé de Saint-Denis");
  await expect(page.getByRole("link", { name: "Changer d'établissement" })).toHaveCount(0);
});

test("an account with no establishment is told whom to contact", async ({ page }) => {
  await signIn(page, "sec.petit");
  await expect(page).toHaveURL(/\/aucun-etablissement$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Aucun établissement");
  await expect(page.getByRole("link", { name: "support-idf@passerelle.example" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Assistance aux utilisateurs — Île-de-France" })).toBeVisible();
});

test("another establishment's dashboard is not shown", async ({ page }) => {
  await signIn(page, "inf.durand");
  await page.goto("/etablissements/690781810");
  await expect(page.getByRole("alert")).toContainText("Élément introuvable.");
  await expect(page.getByText("Hospices Civils de Lyon")).toHaveCount(0);
});

test("choosing an establishment one does not belong to is refused", async ({ page }) => {
  await signIn(page, "dr.martin");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Choix de l'établissement");
  const csrf = await page.locator("input[name=csrf]").first().inputValue();
  // A hand-made post for Hospices Civils de Lyon, with a valid token: only membership decides.
  const response = await page.request.post("/etablissements/choisir", {
    form: { csrf, finess: "690781810" },
    maxRedirects: 0,
  });
  expect(response.status()).toBe(303);
  expect(response.headers()["location"]).toBe("/etablissements?erreur=acces-refuse");
  await page.goto(response.headers()["location"]);
  await expect(page.getByRole("alert")).toHaveText("Vous n'avez pas accès à cette page.");
  await expect(page.getByRole("listitem")).toHaveCount(2);
});
