import { expect, test } from "./fixtures";
import { signIn, waitForMailSaying } from "./helpers";

// « Mes connexions » (issue 19): the holder sees their open sessions and last sign-ins, and ends a
// session left open elsewhere; a sign-in from a new browser is e-mailed, and « ce n'était pas moi »
// blocks the account. sessions.lemaire is created by scripts/test.sh for this spec.

const HOLDER = "sessions.lemaire";
const HOME = /\/etablissements\/930004569$/;

test.describe.configure({ mode: "serial" });

test("the holder ends a session left open on another computer; that browser is signed out", async ({ page, browser }) => {
  test.setTimeout(60_000);
  // A wrong password first (someone trying), then the holder's sign-ins: another computer, here.
  const elsewhere = await browser.newContext({ userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0" });
  const other = await elsewhere.newPage();
  await signIn(other, HOLDER, "pas le bon mot de passe");
  await expect(other.getByRole("alert")).toContainText("Identifiant ou mot de passe incorrect.");
  await signIn(other, HOLDER);
  await expect(other).toHaveURL(HOME);
  await signIn(page, HOLDER);
  await expect(page).toHaveURL(HOME);

  await page.getByRole("link", { name: "Mes connexions" }).click();
  await expect(page).toHaveURL(/\/compte\/connexions$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Mes connexions");
  const sessions = page.locator("#sessions tbody tr");
  await expect(sessions).toHaveCount(2);
  await expect(sessions.first()).toContainText("Cette session");
  await expect(sessions.nth(1)).toContainText("Edge 131 · Windows");
  await expect(sessions.nth(1)).toContainText("Ce serveur");
  await expect(sessions.nth(1)).toContainText("mot de passe");
  const history = page.locator("#historique tbody tr");
  await expect(history).toHaveCount(3);
  await expect(history.nth(0)).toContainText("Réussie");
  await expect(history.nth(2)).toContainText("Refusée");

  await sessions.nth(1).getByRole("button", { name: /Fermer cette session/ }).click();
  await expect(page.getByRole("status")).toContainText("La session a été fermée.");
  await expect(page.locator("#sessions tbody tr")).toHaveCount(1);
  // The other browser's next page: signed out.
  await other.goto("/compte/connexions");
  await expect(other).toHaveURL(/\/connexion\?erreur=non-connecte$/);
  await expect(other.getByRole("alert")).toContainText("Veuillez vous connecter");
  await elsewhere.close();
});

test("the sign-in from a new browser was e-mailed; « ce n'était pas moi » blocks the account", async ({ browser }) => {
  test.setTimeout(60_000);
  // The first test signed in from a second browser: the holder was told, with the link.
  const mail = await waitForMailSaying("paul.lemaire@chu.example", "depuis un navigateur jamais utilisé pour ce compte");
  expect(mail.body).toContain("identifiant et mot de passe");
  const link = mail.body.match(/http:\/\/[a-z0-9.]+:\d+\/connexion\/pas-moi\?jeton=[A-Za-z0-9_-]+/)?.[0];
  expect(link).toBeTruthy();

  const context = await browser.newContext();
  const page = await context.newPage();
  // Opening the link changes nothing by itself (mail scanners open links): the button does.
  await page.goto(link!);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Ce n'était pas moi");
  await page.getByRole("button", { name: "Ce n'était pas moi : bloquer mon compte" }).click();
  await expect(page.getByRole("status")).toContainText("Votre compte est bloqué : ses sessions sont fermées");
  // The link is spent; the password the intruder used no longer works.
  await page.goto(link!);
  await page.getByRole("button", { name: "Ce n'était pas moi : bloquer mon compte" }).click();
  await expect(page.getByRole("alert")).toBeVisible();
  await signIn(page, HOLDER);
  await expect(page.getByRole("alert")).toContainText("Identifiant ou mot de passe incorrect.");
  await context.close();
});
