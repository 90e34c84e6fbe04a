import { expect, test } from "./fixtures";
import { signIn } from "./helpers";

test("a wrong password gives a French error that names neither field", async ({ page }) => {
  await signIn(page, "dr.martin", "pas le bon mot de passe");
  await expect(page).toHaveURL(/\/connexion\?erreur=identifiants$/);
  await expect(page.getByRole("alert")).toHaveText("Identifiant ou mot de passe incorrect.");
});

test("an unknown username gets exactly the same answer", async ({ page }) => {
  await signIn(page, "personne.inconnue", "pas le bon mot de passe");
  await expect(page.getByRole("alert")).toHaveText("Identifiant ou mot de passe incorrect.");
});

test("repeated failures suspend sign-in without saying whether the account exists", async ({ page }) => {
  for (let i = 1; i <= 4; i++) {
    await signIn(page, "compte.fantome", `essai-${i}`);
    await expect(page.getByRole("alert")).toHaveText("Identifiant ou mot de passe incorrect.");
  }
  await signIn(page, "compte.fantome", "essai-5");
  await expect(page.getByRole("alert")).toContainText("la connexion est suspendue pendant 15 minutes");
});

test("a forged form (no token) is refused and signs nobody in", async ({ page, request }) => {
  const response = await request.post("/connexion", {
    form: { identifiant: "dr.martin", mot_de_passe: "Passerelle-Demo-2026" },
    maxRedirects: 0,
  });
  expect(response.status()).toBe(303);
  expect(response.headers()["location"]).toBe("/connexion?erreur=formulaire-expire");
  expect(response.headers()["set-cookie"] ?? "").not.toContain("passerelle_session");

  const crossSite = await request.post("/connexion", {
    form: { identifiant: "dr.martin", mot_de_passe: "x", csrf: "x" },
    headers: { Origin: "https://evil.example" },
    maxRedirects: 0,
  });
  expect(crossSite.status()).toBe(403);
});
