import * as fs from "node:fs";
import { expect, Page, test } from "./fixtures";
import { receivedMails, signIn, waitForMail } from "./helpers";

// The console's CSV import (issue 7) as a regional administrator does it: a file exported by a
// French spreadsheet (Windows-1252, `;`, CRLF), its check with the problems listed, the fix, the
// import, the new accounts and their activation e-mails; the same file again changes nothing.

test.describe.configure({ mode: "serial" });

const HEADER = "Prénom;NOM;Identifiant;Courriel;RPPS;FINESS;Service";
// Line 2 is good. Line 3: not an e-mail address. Line 4: an establishment of another region
// (Lyon); its "Service" cell holds a line break, as spreadsheets quote it.
const WITH_ERRORS = [
  HEADER,
  "Élodie;Fabre;e.fabre;elodie.fabre@hopital.example;;750712184;Cardiologie",
  "Gaël;Bonnet;g.bonnet;gael.bonnet@hopital;;750712184;Urgences",
  'Inès;Mercier;i.mercier;ines.mercier@hopital.example;;690781810;"Bâtiment B\r\n2e étage"',
];
const FIXED = [
  HEADER,
  "Élodie;Fabre;e.fabre;elodie.fabre@hopital.example;;750712184;Cardiologie",
  "Gaël;Bonnet;g.bonnet;gael.bonnet@hopital.example;;750712184;Urgences",
  'Inès;Mercier;i.mercier;ines.mercier@hopital.example;;750712184;"Bâtiment B\r\n2e étage"',
];

/** The lines as "CSV (séparateur : point-virgule)" from a French Excel writes them. */
function windows1252(lines: string[]): Buffer {
  return Buffer.from(lines.join("\r\n") + "\r\n", "latin1");
}

async function upload(page: Page, name: string, lines: string[]) {
  await page.goto("/admin/import");
  await page.getByLabel("Fichier CSV").setInputFiles({ name, mimeType: "text/csv", buffer: windows1252(lines) });
  await page.getByRole("button", { name: "Vérifier le fichier" }).click();
  await expect(page).toHaveURL(/\/admin\/import\/[0-9a-f-]{36}$/);
  // The check runs in the background; the page reloads itself until it is done.
  await expect(page.getByRole("heading", { name: "Résultat de la vérification" })).toBeVisible({ timeout: 20_000 });
}

function count(page: Page, label: string) {
  return page.locator("#compteurs div").filter({ has: page.getByText(label, { exact: true }) }).locator("dd");
}

test("a support desk cannot import", async ({ page }) => {
  await signIn(page, "support.idf");
  await expect(page).toHaveURL(/\/admin\/comptes$/);
  await expect(page.getByRole("link", { name: "Import CSV" })).toHaveCount(0);
  const refused = await page.goto("/admin/import");
  expect(refused?.status()).toBe(403);
  await expect(page.getByRole("alert")).toContainText("Vous n'avez pas accès à cette page.");
});

test("the template and the format are offered", async ({ page }) => {
  await signIn(page, "admin.idf");
  await page.getByRole("link", { name: "Import CSV" }).click();
  await expect(page.getByRole("heading", { name: "Importer des comptes" })).toBeVisible();
  await expect(page.locator("#format-aide")).toContainText("identifiant, courriel, nom, prenom");
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Télécharger le modèle (CSV)" }).click(),
  ]);
  const template = fs.readFileSync(await download.path());
  expect(template.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
  expect(template.toString("utf8")).toContain("identifiant;courriel;nom;prenom;rpps;finess;role\r\n");
});

test("a spreadsheet export is checked, fixed, imported; the new accounts get their activation e-mails", async ({ page }) => {
  const mailsBefore = receivedMails().length;
  await signIn(page, "admin.idf");

  // A file refused as a whole says why and stores nothing.
  await page.goto("/admin/import");
  await page.getByLabel("Fichier CSV").setInputFiles({
    name: "noms.csv",
    mimeType: "text/csv",
    buffer: windows1252(["NOM;Prénom", "Fabre;Élodie"]),
  });
  await page.getByRole("button", { name: "Vérifier le fichier" }).click();
  await expect(page.getByRole("alert")).toContainText("Colonnes obligatoires absentes de l'en-tête : identifiant, courriel");

  await upload(page, "équipe cardiologie.csv", WITH_ERRORS);
  const checked = page.url();
  await expect(page.getByRole("heading", { name: "Import du fichier équipe cardiologie.csv" })).toBeVisible();
  await expect(page.getByText("Encodage windows-1252, séparateur « ; ».")).toBeVisible();
  await expect(page.getByText("Colonnes inconnues, ignorées : Service")).toBeVisible();
  await expect(count(page, "À créer")).toHaveText("1");
  await expect(count(page, "En erreur")).toHaveText("2");
  const problems = page.locator("#problemes tbody tr");
  await expect(problems).toHaveCount(2);
  await expect(problems.nth(0)).toContainText("3");
  await expect(problems.nth(0)).toContainText("courriel");
  await expect(problems.nth(0)).toContainText("gael.bonnet@hopital");
  await expect(problems.nth(1)).toContainText("4");
  await expect(problems.nth(1)).toContainText("690781810");
  // Accents read right from Windows-1252.
  await expect(page.locator("#lignes")).toContainText("e.fabre");

  // Confirming with rows in error needs the explicit choice; nothing is written meanwhile.
  await page.getByRole("button", { name: "Confirmer l'import" }).click();
  await expect(page.getByRole("alert")).toContainText("2 lignes en erreur");
  await page.goto("/admin/comptes?q=fabre");
  await expect(page.locator("h1")).toBeVisible();
  await expect(page.locator("main")).not.toContainText("e.fabre");
  await page.goto(checked);
  await page.getByRole("button", { name: "Abandonner" }).click();
  await expect(page.locator(".alert-info")).toContainText("Import abandonné");

  // The fixed file: three accounts to create.
  await upload(page, "équipe cardiologie corrigée.csv", FIXED);
  await expect(count(page, "À créer")).toHaveText("3");
  await expect(count(page, "En erreur")).toHaveText("0");
  await expect(page.locator("#problemes")).toHaveCount(0);
  await page.getByRole("button", { name: "Confirmer l'import" }).click();
  await expect(page.getByText("L'import est terminé.")).toBeVisible({ timeout: 20_000 });
  await expect(count(page, "Comptes créés")).toHaveText("3");
  const [report] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Télécharger le rapport (CSV)" }).click(),
  ]);
  const text = fs.readFileSync(await report.path(), "utf8");
  expect(text).toContain("2;e.fabre;créé;;;");
  expect(text).toContain("4;i.mercier;créé;;;");

  // The new accounts, pending activation, in the region's list.
  await page.goto("/admin/comptes?q=mercier");
  await expect(page.locator("main")).toContainText("i.mercier");
  await expect(page.locator("main")).toContainText("En attente d'activation");

  // One activation e-mail each, in the SMTP sink.
  for (const address of ["elodie.fabre@hopital.example", "gael.bonnet@hopital.example", "ines.mercier@hopital.example"]) {
    await waitForMail(address, /activez votre compte/, mailsBefore);
  }
  const received = receivedMails().slice(mailsBefore).filter((m) => /activez votre compte/.test(m.subject));
  expect(received).toHaveLength(3);

  // The same file again: nothing to do, and the import says so.
  await upload(page, "équipe cardiologie corrigée.csv", FIXED);
  await expect(page.getByText("Aucune ligne à créer ni à modifier : ce fichier a déjà été importé.")).toBeVisible();
  await expect(count(page, "Inchangées")).toHaveText("3");
  await page.getByRole("button", { name: "Confirmer l'import" }).click();
  await expect(page.getByText("Rien n'a changé : ce fichier avait déjà été importé.")).toBeVisible({ timeout: 20_000 });

  // The imports are listed with their state.
  await page.goto("/admin/import");
  await expect(page.locator("#imports tbody tr")).toHaveCount(3);
  await expect(page.locator("#imports tbody tr").first()).toContainText("Importé");
  await expect(page.locator("#imports")).toContainText("Abandonné");
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the check's page follows the work by reloading itself", async ({ page }) => {
    await signIn(page, "admin.idf");
    await upload(page, "sans-js.csv", [HEADER, "Jules;Roy;j.roy;jules.roy@hopital.example;;750712184;"]);
    await expect(count(page, "À créer")).toHaveText("1");
    await page.getByRole("button", { name: "Abandonner" }).click();
    await expect(page.locator(".alert-info")).toContainText("Import abandonné");
  });
});
