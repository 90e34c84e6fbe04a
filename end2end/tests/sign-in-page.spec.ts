import { expect, test } from "./fixtures";
import { hydrated } from "./helpers";

// The regional portals Passerelle follows (ViaTrajectoire, ESEA/Nexus) offer the card first,
// then Pro Santé Connect, then the phone app, then username and password. Passkeys, which they
// lack, come beside the other phishing-resistant means, before the phone app.
test("every sign-in mode is offered, in the regional portals' order, beside how to get an account", async ({ page }) => {
  await page.goto("/connexion");
  await hydrated(page);
  const modes = page.locator(".sign-in-modes h2");
  await expect(modes).toHaveText(["Carte CPS", "Pro Santé Connect", "Clé d'accès", "Application TIQR", "Identifiant et mot de passe"]);
  await expect(page.getByRole("link", { name: "Se connecter avec Pro Santé Connect" })).toBeVisible();
  await expect(page.getByText("Carte CPS ou application e-CPS")).toBeVisible();
  await expect(page.getByRole("link", { name: "Se connecter avec l'application TIQR" })).toBeVisible();
  await expect(page.getByRole("complementary").getByRole("heading", { name: "Comment obtenir un compte ?" })).toBeVisible();

  // The keyboard meets the modes in the same order: the card's PIN, the PSC button, the passkey
  // button, the TIQR link, then the username.
  const order: string[] = [];
  await page.keyboard.press("Tab");
  for (let i = 0; i < 40 && order.length < 5; i++) {
    const id = await page.evaluate(() => document.activeElement?.id ?? "");
    const wanted = { code_porteur: "card", "psc-sign-in": "psc", "connexion-cle": "passkey", "mode-tiqr": "tiqr", identifiant: "password" } as Record<string, string>;
    if (wanted[id] && !order.includes(wanted[id])) order.push(wanted[id]);
    await page.keyboard.press("Tab");
  }
  expect(order).toEqual(["card", "psc", "passkey", "tiqr", "password"]);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the page says which mode needs JavaScript; the others work without it", async ({ page }) => {
    await page.goto("/connexion");
    await expect(page.locator("#mode-carte")).toBeVisible();
    await expect(page.getByRole("region", { name: "Carte CPS" }).getByText("nécessite JavaScript")).toBeVisible();
    await expect(page.getByRole("region", { name: "Clé d'accès" }).getByText("nécessite JavaScript")).toBeVisible();
    await expect(page.getByRole("link", { name: "Se connecter avec Pro Santé Connect" })).toBeVisible();
    await expect(page.getByRole("link", { name: "Se connecter avec l'application TIQR" })).toBeVisible();
    await expect(page.getByRole("button", { name: "Se connecter", exact: true })).toBeVisible();
  });
});
