import { expect, Page } from "@playwright/test";

export const DEMO_PASSWORD = "Passerelle-Demo-2026";

/** Signs in through the password form, as a person would. */
export async function signIn(page: Page, username: string, password = DEMO_PASSWORD) {
  await page.goto("/connexion");
  await page.getByLabel("Identifiant", { exact: true }).fill(username);
  await page.getByLabel("Mot de passe", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Se connecter" }).click();
}

export async function signOut(page: Page) {
  await page.getByRole("button", { name: "Se déconnecter" }).click();
  await expect(page.getByRole("status")).toContainText("Vous êtes déconnecté(e).");
}
