import { Browser, BrowserContext, expect, Page, test } from "@playwright/test";
import { hydrated, signIn } from "./helpers";
import { ocraSelfTest, Phone } from "./tiqr-phone";

// "Application TIQR" (shared/tiqr-protocol.md): inf.durand (one establishment, Île-de-France)
// enrolls phones from her security page and signs in by QR code or by the offline code; the
// Île-de-France support desk (support.idf) unblocks and revokes them, the Auvergne-Rhône-Alpes one
// (support.ara) does not even see her. The phones are test clients that behave like the real
// apps (tiqr-phone.ts). The tests share the phones: they run in order.

test.describe.configure({ mode: "serial" });

const ESTABLISHMENT = /\/etablissements\/\d{9}$/;
/** The state "Active" (not "Activée le …"). */
const ACTIVE = /Active(?!\p{L})/u;
const SIGN_IN_QR = /^tiqrauth:\/\/[^/@]+\/[0-9a-f]{32}\/[0-9a-f]{10}\/[^/]+\/2$/;

let android: Phone;
let ios: Phone;

test.beforeAll(() => {
  ocraSelfTest();
});

const extraContexts: BrowserContext[] = [];

/** A page in a browser of its own (another person, or the same person on another computer). */
async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext();
  extraContexts.push(context);
  return context.newPage();
}

test.afterEach(async () => {
  for (const context of extraContexts.splice(0)) await context.close();
});

/** A support desk, signed in on its own browser. */
async function desk(browser: Browser, username: string): Promise<Page> {
  const page = await newPage(browser);
  await signIn(page, username);
  await expect(page).toHaveURL(/\/admin\/comptes$/);
  return page;
}

/** The desk opens inf.durand's account and finds her TIQR section. */
async function openDurand(page: Page) {
  await page.goto("/admin/comptes?q=inf.durand");
  const row = page.locator("#comptes tbody tr");
  await expect(row).toHaveCount(1);
  await row.getByRole("link").click();
  await expect(page.locator("#tiqr").getByRole("heading", { name: "Application TIQR" })).toBeVisible();
  return page.locator("#tiqr-liste li");
}

/** The sign-in QR shown by /connexion/tiqr, once the page can poll. */
async function signInQr(page: Page): Promise<string> {
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Connexion avec l'application TIQR");
  await expect(page.locator("#tiqr-qr svg")).toHaveCount(1);
  await hydrated(page);
  const url = (await page.locator("#tiqr-qr").getAttribute("data-tiqr-url")) ?? "";
  expect(url).toMatch(SIGN_IN_QR);
  return url;
}

async function openSignInQr(page: Page): Promise<string> {
  await page.goto("/connexion/tiqr");
  return signInQr(page);
}

/** A PIN other than the right one whose response differs from the right one's on this QR. */
function wrongPin(phone: Phone, url: string): string {
  const right = phone.offlineResponse(url);
  const pin = ["0000", "1111", "2222", "3333"].find((p) => phone.offlineResponse(url, p) !== right);
  if (!pin) throw new Error("no wrong PIN found");
  return pin;
}

/**
 * From the security page: "Ajouter un téléphone", the phone scans the QR, and the page shows by
 * itself (no reload) that the phone is registered. Returns the enrollment QR.
 */
async function enrollFromSecurityPage(page: Page, phone: Phone, phonesAfter: number): Promise<string> {
  await page.goto("/compte/tiqr");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Application TIQR");
  await hydrated(page);
  await page.getByRole("button", { name: "Ajouter un téléphone" }).click();
  const qr = page.locator("#tiqr-qr");
  await expect(qr.locator("svg")).toHaveCount(1);
  await expect(page.locator("#tiqr-etat")).not.toBeEmpty();
  await hydrated(page);
  const url = (await qr.getAttribute("data-tiqr-url")) ?? "";
  expect(url).toMatch(/^tiqrenroll:\/\/https?:\/\/\S+$/);

  const { identity, body } = await phone.enroll(url);
  expect(body).toBe("OK");
  expect(identity).toBe(phone.identity);

  await expect(page.locator(".alert-info")).toContainText("Téléphone enregistré.", { timeout: 15_000 });
  const phones = page.locator("#tiqr-inscriptions li");
  await expect(phones).toHaveCount(phonesAfter, { timeout: 15_000 });
  for (let i = 0; i < phonesAfter; i++) await expect(phones.nth(i)).toContainText(ACTIVE);
  return url;
}

test("inf.durand enrolls an Android phone; her page shows it registered by itself", async ({ page }) => {
  android = new Phone("android", "1234");
  await signIn(page, "inf.durand");
  await expect(page).toHaveURL(ESTABLISHMENT);
  const qr = await enrollFromSecurityPage(page, android, 1);

  // The metadata is served once.
  const again = await fetch(qr.slice("tiqrenroll://".length));
  await again.arrayBuffer();
  expect(again.status).not.toBe(200);
});

test("sign-in by QR code: the page moves on by itself, and the QR serves once", async ({ page }) => {
  await page.goto("/connexion");
  await page.getByRole("link", { name: "Application TIQR" }).click();
  await expect(page).toHaveURL(/\/connexion\/tiqr$/);
  const url = await signInQr(page);
  // On a phone, the same URL opens the app.
  const link = page.locator("#tiqr-lien");
  await expect(link).toHaveAttribute("href", url);
  await expect(link).toContainText("Ouvrir l'application TIQR sur ce téléphone");
  await expect(page.locator("#tiqr-etat")).not.toBeEmpty();

  expect(await android.login(url)).toBe("OK");
  await expect(page).toHaveURL(ESTABLISHMENT, { timeout: 15_000 });
  expect(await android.login(url)).toBe("INVALID_CHALLENGE");
});

test("five wrong PINs block the phone; only the desk of her region sees it and unblocks it", async ({ page, browser }) => {
  const url = await openSignInQr(page);
  const pin = wrongPin(android, url);
  for (const left of [4, 3, 2, 1]) {
    expect(await android.login(url, { pin })).toBe(`INVALID_RESPONSE:${left}`);
  }
  expect(await android.login(url, { pin })).toBe("ACCOUNT_BLOCKED");
  // Blocked: the right PIN does not help any more.
  expect(await android.login(url)).toBe("ACCOUNT_BLOCKED");
  await expect(page).not.toHaveURL(ESTABLISHMENT);

  // Another region's desk does not find her.
  const ara = await desk(browser, "support.ara");
  await ara.goto("/admin/comptes?q=durand");
  await expect(ara.locator("#aucun-resultat")).toBeVisible();

  // Her region's desk sees the blocked phone and its five failures, and unblocks it.
  const idf = await desk(browser, "support.idf");
  const enrollments = await openDurand(idf);
  await expect(enrollments).toHaveCount(1);
  await expect(enrollments.first()).toContainText("Bloquée");
  await expect(enrollments.first()).toContainText(/\b5\b/);
  await enrollments.first().getByRole("button", { name: "Débloquer" }).click();
  await expect(idf.locator(".alert-info")).toContainText("L'inscription TIQR a été débloquée.");
  await expect(idf.locator("#tiqr-liste li").first()).toContainText(ACTIVE);

  // A new QR on the sign-in page, and the right PIN signs her in.
  const fresh = await openSignInQr(page);
  expect(fresh).not.toBe(url);
  expect(await android.login(fresh)).toBe("OK");
  await expect(page).toHaveURL(ESTABLISHMENT, { timeout: 15_000 });
});

test("a second phone (iOS); the desk revokes it: INVALID_USERID, while the Android phone still signs in", async ({ page, browser }) => {
  ios = new Phone("ios", "9876");
  await signIn(page, "inf.durand");
  await expect(page).toHaveURL(ESTABLISHMENT);
  await enrollFromSecurityPage(page, ios, 2);
  // A fresh opaque identity per enrollment.
  expect(ios.identity).not.toBe(android.identity);

  // The iOS phone signs in.
  const other = await newPage(browser);
  const first = await openSignInQr(other);
  expect(await ios.login(first)).toBe("OK");
  await expect(other).toHaveURL(ESTABLISHMENT, { timeout: 15_000 });

  // The desk lists the newest first, and revokes it: the iOS one.
  const idf = await desk(browser, "support.idf");
  const enrollments = await openDurand(idf);
  await expect(enrollments).toHaveCount(2);
  await expect(enrollments.filter({ hasText: ACTIVE })).toHaveCount(2);
  idf.on("dialog", (dialog) => void dialog.accept());
  await enrollments.first().getByRole("button", { name: "Révoquer" }).click();
  await expect(idf.locator(".alert-info")).toContainText("L'inscription TIQR a été révoquée.");
  await expect(idf.locator("#tiqr-liste li").filter({ hasText: ACTIVE })).toHaveCount(1);
  await expect(idf.locator("#tiqr-liste li").filter({ hasText: "Révoquée" })).toHaveCount(1);

  // On a new QR: the revoked phone is unknown, the Android phone still signs in.
  const signInPage = await newPage(browser);
  const url = await openSignInQr(signInPage);
  expect(await ios.login(url)).toBe("INVALID_USERID");
  expect(await android.login(url)).toBe("OK");
  await expect(signInPage).toHaveURL(ESTABLISHMENT, { timeout: 15_000 });
});

test("the offline code: a wrong one says how many tries are left, the right one signs in", async ({ page }) => {
  const url = await openSignInQr(page);
  const wrong = android.offlineResponse(url, wrongPin(android, url));
  await page.getByLabel("Identifiant TIQR").fill(android.identity);
  await page.getByLabel("Code de réponse").fill(wrong);
  await page.getByRole("button", { name: "Valider le code" }).click();
  const alert = page.getByRole("alert").filter({ hasText: "Code incorrect" });
  await expect(alert).toContainText("4 essai");

  // The code answers the QR on the page now (the same one, or a new one if the page made one).
  const qr = page.locator("#tiqr-qr");
  const current = (await qr.count()) > 0 ? ((await qr.getAttribute("data-tiqr-url")) ?? url) : url;
  await page.getByLabel("Identifiant TIQR").fill(android.identity);
  await page.getByLabel("Code de réponse").fill(android.offlineResponse(current));
  await page.getByRole("button", { name: "Valider le code" }).click();
  await expect(page).toHaveURL(ESTABLISHMENT, { timeout: 15_000 });
});
