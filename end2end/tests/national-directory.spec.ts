import { expect, test } from "./fixtures";
import { signIn } from "./helpers";

// The national directory (issue 18) through the fleet: the public « Annuaire » without
// JavaScript, the national administrator loading the generated extractions (scripts/test.sh put
// them in the directory's folder) through the console with its progress, then the verification
// of accounts against it in the console and in the CSV import's check. Runs after every other
// spec (its own project): once loaded, the directory checks every account created with an RPPS.

test.describe.configure({ mode: "serial" });

const PROFESSIONALS = "PS_LibreAcces_Personne_activite_202612030415.txt";
const ESTABLISHMENTS = "etalab-cs1100507-stock-20261203-0415.csv";

test("the public directory answers without JavaScript, linked from the sign-in page", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/connexion");
  await page.getByRole("link", { name: "Annuaire des établissements" }).click();
  await expect(page).toHaveURL(/\/annuaire$/);
  await expect(page.getByRole("heading", { level: 1, name: "Annuaire des établissements" })).toBeVisible();
  // Before any FINESS file: Passerelle's own establishments.
  await page.getByLabel("Nom, ville, code postal ou numéro FINESS").fill("BATIGNOLLES");
  await page.getByRole("button", { name: "Rechercher" }).click();
  await expect(page).toHaveURL(/\/annuaire\?q=BATIGNOLLES$/);
  await expect(page.getByRole("heading", { name: "1 établissement trouvé" })).toBeVisible();
  const entry = page.locator(".directory-entry");
  await expect(entry).toContainText("Centre de santé des Batignolles");
  await expect(entry).toContainText("Accès Passerelle");
  await expect(entry).toContainText("support-idf@passerelle.example");
  await context.close();
});

test("only national administrators reach the directory's loads", async ({ page }) => {
  await signIn(page, "admin.idf");
  await expect(page.getByRole("link", { name: "Annuaire national" })).toHaveCount(0);
  const refused = await page.goto("/admin/annuaire");
  expect(refused?.status()).toBe(403);
});

test("the national administrator loads both extractions through the console, with progress", async ({ page }) => {
  await signIn(page, "admin.national");
  await page.getByRole("link", { name: "Annuaire national" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Annuaire national" })).toBeVisible();
  await expect(page.locator(".directory-inbox")).toContainText(PROFESSIONALS);
  await expect(page.locator(".directory-inbox")).toContainText(ESTABLISHMENTS);

  await page.getByRole("button", { name: `Charger ${PROFESSIONALS}` }).click();
  // The load is recorded before the answer: the page shows it running, with its progress bar,
  // and reloads itself until it ends (another instance may be the one running it).
  const row = page.locator("#chargements-table tbody tr").first();
  await expect(row).toContainText(PROFESSIONALS);
  await expect(row).toHaveAttribute("data-etat", "running");
  await expect(row.getByRole("progressbar")).toBeVisible();
  await expect(row).toHaveAttribute("data-etat", "done", { timeout: 50_000 });
  await expect(row).toContainText("300001 lignes lues");
  await expect(row).toContainText("300000 chargées");

  await page.getByRole("button", { name: `Charger ${ESTABLISHMENTS}` }).click();
  const second = page.locator("#chargements-table tbody tr").first();
  await expect(second).toContainText(ESTABLISHMENTS);
  await expect(second).toHaveAttribute("data-etat", "done", { timeout: 30_000 });
  await expect(second).toContainText("3000 chargées");

  // The same file again changes nothing, and says so.
  await page.getByRole("button", { name: `Charger ${ESTABLISHMENTS}` }).click();
  const third = page.locator("#chargements-table tbody tr").first();
  await expect(third).toHaveAttribute("data-etat", "unchanged", { timeout: 30_000 });
  await expect(third).toContainText("rien n'a changé");

  // inf.durand's RPPS is not in the generated directory; dr.martin's is.
  const absent = page.locator("#comptes-absents");
  await expect(absent).toContainText("Durand Paul");
  await expect(absent).not.toContainText("Martin Claire");
});

test("a console creation the directory contradicts is refused, then accepted under the directory's name", async ({ page }) => {
  await signIn(page, "admin.idf");
  await page.goto("/admin/comptes/nouveau");
  await expect(page.locator("#annuaire-etat")).toContainText("vérifiés dans l'annuaire national (extraction du 03/12/2026)");
  const fill = async (family: string) => {
    await page.getByLabel("Identifiant", { exact: true }).fill("anne.legoff");
    await page.getByLabel("Prénom").fill("Anne-Sophie");
    await page.getByLabel("Nom", { exact: true }).fill(family);
    await page.getByLabel("Adresse électronique").fill("anne.legoff@chu.example");
    await page.getByLabel("RPPS").fill("10000777713");
    await page.getByRole("button", { name: "Créer", exact: true }).click();
  };
  await fill("Le Gof");
  await expect(page.getByRole("alert")).toContainText(
    "Le nom ne correspond pas à celui que l'annuaire national donne pour ce RPPS",
  );
  // Accents, case and hyphens do not matter.
  await fill("le goff helias");
  await expect(page).toHaveURL(/\/admin\/comptes\/[0-9a-f-]{36}/);
  await expect(page.getByRole("status")).toContainText("Le compte a été créé");
});

test("a new establishment is filled in from FINESS; a number FINESS does not have needs a reason", async ({ page }) => {
  await signIn(page, "admin.idf");
  await page.goto("/admin/etablissements");
  await page.getByLabel("Numéro FINESS à chercher").fill("750009995");
  await page.getByRole("button", { name: "Pré-remplir depuis FINESS" }).click();
  await expect(page).toHaveURL(/\/admin\/etablissements\?finess=750009995$/);
  await expect(page.locator("#finess-trouve")).toContainText("Trouvé dans le fichier FINESS");
  const create = page.locator("section[aria-labelledby=creer] form[method=post]");
  await expect(create.getByLabel("FINESS", { exact: true })).toHaveValue("750009995");
  await expect(create.getByLabel("Nom", { exact: true })).toHaveValue("Clinique des Lilas");
  await expect(create.getByLabel("Ville")).toHaveValue("PARIS");
  await create.getByRole("button", { name: "Créer", exact: true }).click();
  await expect(page).toHaveURL(/\/admin\/etablissements\/750009995/);

  // A valid number FINESS does not have: refused, then created with a reason.
  await page.goto("/admin/etablissements");
  const again = page.locator("section[aria-labelledby=creer] form[method=post]");
  await again.getByLabel("FINESS", { exact: true }).fill("750009979");
  await again.getByLabel("Nom", { exact: true }).fill("Centre très récent");
  await again.getByRole("button", { name: "Créer", exact: true }).click();
  await expect(page.getByRole("alert")).toContainText("Ce numéro FINESS est absent du fichier FINESS chargé");
  const retry = page.locator("section[aria-labelledby=creer] form[method=post]");
  await retry.getByLabel("FINESS", { exact: true }).fill("750009979");
  await retry.getByLabel("Nom", { exact: true }).fill("Centre très récent");
  await retry.getByLabel("Motif, si le numéro est absent du fichier FINESS (facultatif)").fill("Autorisé le mois dernier");
  await retry.getByRole("button", { name: "Créer", exact: true }).click();
  await expect(page).toHaveURL(/\/admin\/etablissements\/750009979/);
});

test("the CSV import's check lists the rows the directory contradicts", async ({ page }) => {
  await signIn(page, "admin.idf");
  await page.goto("/admin/import");
  const lines = [
    "identifiant;courriel;nom;prenom;rpps",
    "lucie.bernard;lucie.bernard@chu.example;Bernardi;Lucie;10000777820",
    "inconnu.annuaire;inconnu@chu.example;Inconnu;Jean;19999999998",
  ];
  await page.getByLabel("Fichier CSV").setInputFiles({
    name: "annuaire.csv",
    mimeType: "text/csv",
    buffer: Buffer.from(lines.join("\r\n") + "\r\n", "utf8"),
  });
  await page.getByRole("button", { name: "Vérifier le fichier" }).click();
  await expect(page.getByRole("heading", { name: "Résultat de la vérification" })).toBeVisible({ timeout: 20_000 });
  const problems = page.locator("#problemes tbody tr");
  await expect(problems).toHaveCount(2);
  await expect(problems.nth(0)).toContainText("Nom différent de celui de l'annuaire national");
  await expect(problems.nth(0)).toContainText("BERNARD Lucie");
  await expect(problems.nth(1)).toContainText("RPPS absent de l'annuaire national");
});

test("the public directory finds FINESS establishments without JavaScript", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/annuaire?q=pitie%20salp");
  const entry = page.locator(".directory-entry");
  await expect(entry).toHaveCount(1);
  await expect(entry).toContainText("Hôpital de la Pitié-Salpêtrière");
  await expect(entry).toContainText("FINESS 750712184");
  await expect(entry).toContainText("Accès Passerelle");
  await expect(entry).toContainText("support-idf@passerelle.example");
  // An establishment not on Passerelle, in Lyon: its region's desk, and how to get an account.
  await page.goto("/annuaire?q=lyon%2069003");
  const lyon = page.locator(".directory-entry").filter({ hasNotText: "Accès Passerelle" }).first();
  await expect(lyon).toContainText("support-ara@passerelle.example");
  await lyon.getByRole("link", { name: "Comment obtenir un compte" }).click();
  await expect(page).toHaveURL(/\/connexion\?region=FR-ARA#obtenir-compte$/);
  await expect(page.locator(".sign-in-aside")).toContainText("support-ara@passerelle.example");
  await context.close();
});
