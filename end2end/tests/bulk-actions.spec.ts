import * as fs from "node:fs";
import { expect, test } from "./fixtures";
import { signIn, waitForMailSaying } from "./helpers";

// Bulk actions of the console (issue 19). scripts/test.sh creates three professionals of
// Île-de-France no other spec touches: groupe.arnaud, groupe.blanc, groupe.colin.

test.describe.configure({ mode: "serial" });

test("ticked accounts are disabled after a confirmation page with their count", async ({ page }) => {
  test.setTimeout(60_000);
  await signIn(page, "admin.idf");
  await page.goto("/admin/comptes?q=groupe");
  await expect(page.locator("#comptes tbody tr")).toHaveCount(3);
  await page.getByRole("checkbox", { name: "Sélectionner ARNAUD Paul" }).check();
  await page.getByRole("checkbox", { name: "Sélectionner BLANC Inès" }).check();
  await page.getByLabel("Action", { exact: true }).selectOption({ label: "Désactiver les comptes" });
  await page.getByRole("button", { name: "Continuer" }).click();

  await expect(page).toHaveURL(/\/admin\/selection\/[0-9a-f-]{36}$/);
  await expect(page.locator("#resume")).toHaveText("Désactiver les comptes : 2 comptes.");
  await expect(page.locator("#selectionnes li")).toHaveText(["Paul Arnaud (groupe.arnaud)", "Inès Blanc (groupe.blanc)"]);
  // Nothing changed before the confirmation.
  const list = await page.context().newPage();
  await list.goto("/admin/comptes?q=groupe&statut=disabled");
  await expect(list.locator("#aucun-resultat")).toBeVisible();

  await page.getByRole("button", { name: "Confirmer pour 2 comptes" }).click();
  await expect(page.locator("#progression")).toHaveText("Terminé : les 2 comptes ont été traités.", { timeout: 20_000 });
  await list.goto("/admin/comptes?q=groupe&statut=disabled");
  await expect(list.locator("#comptes tbody tr")).toHaveCount(2);
  // Each account has its own audit row, as if disabled from its page.
  await list.goto("/admin/journal?action=user.disable");
  await expect(list.locator("#journal tbody tr", { hasText: "groupe.arnaud" })).toHaveCount(1);
  await expect(list.locator("#journal tbody tr", { hasText: "groupe.blanc" })).toHaveCount(1);
});

test("the whole search result: failures are listed per account, the others done", async ({ page }) => {
  test.setTimeout(60_000);
  await signIn(page, "admin.idf");
  await page.goto("/admin/comptes?q=groupe");
  await page.getByLabel(/Tout le résultat de la recherche/).check();
  await page.getByLabel("Action", { exact: true }).selectOption({ label: "Envoyer le lien d'activation ou de réinitialisation" });
  await page.getByRole("button", { name: "Continuer" }).click();
  await expect(page.locator("#resume")).toHaveText("Envoyer le lien d'activation ou de réinitialisation : 3 comptes.");
  await page.getByRole("button", { name: "Confirmer pour 3 comptes" }).click();
  await expect(page.locator("#progression")).toHaveText("Terminé : 3 comptes traités, dont 2 en échec (ci-dessous).", { timeout: 20_000 });
  // The two disabled accounts get no link; the third does.
  const failed = page.locator("#echecs tbody tr");
  await expect(failed).toHaveCount(2);
  await expect(failed.first()).toContainText("groupe.arnaud");
  await expect(failed.first()).toContainText("désactivé");
  await waitForMailSaying("claire.colin@chu.example", "choisir un nouveau mot de passe");
});

test("the selection exported as CSV for a spreadsheet", async ({ page }) => {
  await signIn(page, "support.idf");
  await page.goto("/admin/comptes?q=groupe");
  // The desk may export and end sessions, not disable.
  const options = page.getByLabel("Action", { exact: true }).locator("option");
  await expect(options).toHaveText(["Envoyer le lien d'activation ou de réinitialisation", "Fermer les sessions", "Exporter en CSV"]);
  await page.getByLabel(/Tout le résultat de la recherche/).check();
  await page.getByLabel("Action", { exact: true }).selectOption({ label: "Exporter en CSV" });
  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Continuer" }).click();
  const bytes = fs.readFileSync(await (await download).path());
  expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  const lines = bytes.toString("utf8").slice(1).trimEnd().split("\r\n");
  expect(lines[0]).toBe("identifiant;nom;prénom;courriel;RPPS;région;statut;établissements (FINESS);dernière connexion (UTC)");
  expect(lines.slice(1).map((l) => l.split(";")[0])).toEqual(["groupe.arnaud", "groupe.blanc", "groupe.colin"]);
});
