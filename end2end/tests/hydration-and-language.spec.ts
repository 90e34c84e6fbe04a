import { expect, test } from "./fixtures";

test("the hydrated page responds: password visibility and region help without reload", async ({ page }) => {
  await page.goto("/connexion");
  await expect(page.locator("html[data-hydrated='true']")).toHaveCount(1);
  const password = page.getByLabel("Mot de passe", { exact: true });
  await password.fill("secret");
  await expect(password).toHaveAttribute("type", "password");
  await page.getByRole("button", { name: "Afficher le mot de passe" }).click();
  await expect(password).toHaveAttribute("type", "text");
  await page.getByRole("button", { name: "Masquer le mot de passe" }).click();
  await expect(password).toHaveAttribute("type", "password");

  const url = page.url();
  await page.getByLabel("Région de votre établissement").selectOption("FR-RE");
  await expect(page.getByRole("link", { name: "support-re@passerelle.example" })).toBeVisible();
  expect(page.url()).toBe(url);
});

test("the interface switches to English and back", async ({ page }) => {
  await page.goto("/connexion");
  await expect(page.locator("html")).toHaveAttribute("lang", "fr");
  await page.getByRole("link", { name: "Switch to English" }).click();
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Sign in");
  await expect(page.getByRole("heading", { name: "Username and password" })).toBeVisible();
  await page.getByRole("link", { name: "Passer en français" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Connexion");
});

test("the bundle's files are named after their content and kept a year; the pages are asked again", async ({ page }) => {
  const responses: import("@playwright/test").Response[] = [];
  page.on("response", (r) => responses.push(r));
  await page.goto("/connexion");
  await expect(page.locator("html[data-hydrated='true']")).toHaveCount(1);
  const path = (r: import("@playwright/test").Response) => new URL(r.url()).pathname;
  const bundle = responses.filter((r) => path(r).startsWith("/pkg/"));
  expect(bundle.map((r) => path(r).split(".").pop()).sort()).toEqual(["css", "js", "wasm"]);
  for (const r of bundle) {
    expect(path(r)).toMatch(/^\/pkg\/passerelle\.[A-Za-z0-9_-]{22}\.(css|js|wasm)$/);
    expect(r.headers()["cache-control"]).toBe("public, max-age=31536000, immutable");
  }
  const document = responses.find((r) => path(r) === "/connexion");
  expect(document?.headers()["cache-control"] ?? "").not.toContain("max-age=31536000");
});
