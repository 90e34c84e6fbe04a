import { Browser, BrowserContext, expect, Page, test } from "./fixtures";
import { hydrated, receivedMails, signIn } from "./helpers";
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
const SIGN_IN_QR_NAMED = /^tiqrauth:\/\/[a-z2-7]{20}@[^/@]+\/[0-9a-f]{32}\/[0-9a-f]{10}\/[^/]+\/2$/;

let android: Phone;
let ios: Phone;

const DURAND_MAIL = "inf.durand@demo.passerelle.example";

/** Waits for a new e-mail to `to` (after the first `since` ones) whose body says `says`. */
async function waitForNotice(to: string, says: string | RegExp, since: number) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const found = receivedMails()
      .slice(since)
      .find((m) => m.to.includes(to) && (typeof says === "string" ? m.body.includes(says) : says.test(m.body)));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no e-mail to ${to} saying ${says}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The page that showed the enrolment QR, once the phone has posted its secret, reloads by itself
 * to show the confirmation QR (a sign-in QR naming the new identity): returns its URL.
 */
async function confirmationQr(page: Page, phone: Phone): Promise<string> {
  const qr = page.locator("#tiqr-confirmation");
  await expect(qr.locator("svg")).toHaveCount(1, { timeout: 15_000 });
  await expect(page.getByRole("heading", { name: "Confirmez ce téléphone" })).toBeVisible();
  await hydrated(page);
  const url = (await qr.getAttribute("data-tiqr-url")) ?? "";
  expect(url).toMatch(SIGN_IN_QR_NAMED);
  expect(url.startsWith(`tiqrauth://${phone.identity}@`)).toBe(true);
  return url;
}

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
 * From the security page: "Ajouter un téléphone" (with the password when the page asks for it),
 * the phone scans the QR, the page moves by itself to the confirmation QR, the same phone answers
 * it, and the page shows by itself (no reload) that the phone is registered. The holder is
 * e-mailed. Returns the enrollment QR.
 */
async function enrollFromSecurityPage(
  page: Page,
  phone: Phone,
  phonesAfter: number,
  password?: string,
): Promise<string> {
  const mailsBefore = receivedMails().length;
  await page.goto("/compte/tiqr");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Application TIQR");
  await hydrated(page);
  const passwordField = page.getByLabel("Votre mot de passe");
  if (password === undefined) {
    // Signed in by password a moment ago: not asked again.
    await expect(passwordField).toHaveCount(0);
  } else {
    await passwordField.fill(password);
  }
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

  const confirmation = await confirmationQr(page, phone);
  await expect(page.locator(".alert-info").filter({ hasText: "Téléphone enregistré." })).toHaveCount(0);
  expect(await phone.login(confirmation)).toBe("OK");

  await expect(page.locator(".alert-info")).toContainText("Téléphone enregistré.", { timeout: 15_000 });
  const phones = page.locator("#tiqr-inscriptions li");
  await expect(phones).toHaveCount(phonesAfter, { timeout: 15_000 });
  for (let i = 0; i < phonesAfter; i++) await expect(phones.nth(i)).toContainText(ACTIVE);
  // The confirmation QR served once.
  expect(await phone.login(confirmation)).toBe("INVALID_CHALLENGE");

  // The holder is told: the phone, that they added it themself, and what to do if not.
  const mail = await waitForNotice(DURAND_MAIL, "Un nouveau téléphone", mailsBefore);
  expect(mail.body).toContain("depuis votre page « Application TIQR »");
  expect(mail.body).toContain("Si vous n'êtes pas à l'origine de cet ajout");
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

test("signed in with her new phone, adding a second one (iOS) asks for her password", async ({ page }) => {
  ios = new Phone("ios", "9876");
  // A sign-in with a phone enrolled today is not a strong authentication.
  const url = await openSignInQr(page);
  expect(await android.login(url)).toBe("OK");
  await expect(page).toHaveURL(ESTABLISHMENT, { timeout: 15_000 });
  await page.goto("/compte/tiqr");
  await expect(page.getByText("Pour ajouter un téléphone, confirmez votre mot de passe")).toBeVisible();
  await page.getByLabel("Votre mot de passe").fill("pas-le-bon");
  await page.getByRole("button", { name: "Ajouter un téléphone" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Identifiant ou mot de passe incorrect." })).toBeVisible();
  await expect(page.locator("#tiqr-qr")).toHaveCount(0);

  await enrollFromSecurityPage(page, ios, 2, "Passerelle-Demo-2026");
});

test("the desk revokes the iOS phone: INVALID_USERID, while the Android phone still signs in", async ({ browser }) => {
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
  // Both added by the holder herself, from her security page.
  await expect(enrollments.filter({ hasText: "inscrit par le titulaire" })).toHaveCount(2);
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

test("someone who scans inf.durand's enrolment QR first: her page never says registered, and that phone cannot sign in", async ({ page, browser }) => {
  const intruder = new Phone("android", "4321");
  const hers = new Phone("ios", "2468");
  const mailsBefore = receivedMails().length;
  await signIn(page, "inf.durand");
  await expect(page).toHaveURL(ESTABLISHMENT);
  await page.goto("/compte/tiqr");
  await hydrated(page);
  await page.getByRole("button", { name: "Ajouter un téléphone" }).click();
  const qr = page.locator("#tiqr-qr");
  await expect(qr.locator("svg")).toHaveCount(1);
  await hydrated(page);
  const url = (await qr.getAttribute("data-tiqr-url")) ?? "";

  // The person behind her scans the QR on her screen before she does.
  expect((await intruder.enroll(url)).body).toBe("OK");
  // Her own phone then finds the QR used.
  await expect(hers.enroll(url)).rejects.toThrow(/metadata: HTTP 404/);

  // Her page does not say "registered": it asks to confirm with the phone that enrolled, and
  // says what an error on her phone means.
  await confirmationQr(page, intruder);
  await expect(page.getByText("quelqu'un d'autre l'a scanné avant lui")).toBeVisible();
  await expect(page.getByText("Téléphone enregistré.")).toHaveCount(0);
  await expect(page.locator("#tiqr-inscriptions li")).toHaveCount(1);

  // The intruder's phone cannot sign in from the intruder's own browser, by QR or offline code.
  const theirs = await newPage(browser);
  const signInUrl = await openSignInQr(theirs);
  expect(await intruder.login(signInUrl)).toBe("INVALID_USERID");
  await theirs.getByLabel("Identifiant TIQR").fill(intruder.identity);
  await theirs.getByLabel("Code de réponse").fill(intruder.offlineResponse(signInUrl));
  await theirs.getByRole("button", { name: "Valider le code" }).click();
  await expect(theirs.getByRole("alert").filter({ hasText: "Identifiant TIQR ou code incorrect." })).toBeVisible();
  await expect(theirs).not.toHaveURL(ESTABLISHMENT);

  // No "new phone" e-mail for it (the notice goes out when a phone is confirmed).
  await new Promise((r) => setTimeout(r, 2_000));
  expect(
    receivedMails()
      .slice(mailsBefore)
      .filter((m) => m.to.includes(DURAND_MAIL) && m.body.includes("Un nouveau téléphone")),
  ).toHaveLength(0);
});

test("the desk enrolls a phone only with the code inf.durand reads out; she is e-mailed with the agent's name", async ({ browser }) => {
  const deskPhone = new Phone("android", "1357");
  const idf = await desk(browser, "support.idf");
  await openDurand(idf);
  const section = idf.locator("#tiqr");

  // Without her code, nothing: the agent's own phone cannot be slipped in.
  await section.getByLabel("Code lu par le titulaire").fill("123456");
  await section.getByRole("button", { name: "Inscrire un téléphone (titulaire au guichet)" }).click();
  await expect(idf.getByRole("alert").filter({ hasText: "Demandez d'abord l'envoi du code." })).toBeVisible();
  await expect(idf.locator("#tiqr-qr")).toHaveCount(0);

  // The code goes to her mailbox, naming the agent; she reads it out.
  const mailsBefore = receivedMails().length;
  await idf.locator("#tiqr").getByRole("button", { name: "Envoyer un code au titulaire" }).click();
  await expect(idf.locator(".alert-info")).toContainText("Un code a été envoyé par courriel au titulaire.");
  const codeMail = await waitForNotice(DURAND_MAIL, "communiquez-lui ce code", mailsBefore);
  expect(codeMail.body).toContain("support.idf");
  const code = codeMail.body.match(/communiquez-lui ce code : (\d{6})/)?.[1] ?? "";
  expect(code).toMatch(/^\d{6}$/);

  // A wrong code says how many tries are left.
  const wrong = code === "000000" ? "111111" : "000000";
  await idf.locator("#tiqr").getByLabel("Code lu par le titulaire").fill(wrong);
  await idf.locator("#tiqr").getByRole("button", { name: "Inscrire un téléphone (titulaire au guichet)" }).click();
  await expect(idf.getByRole("alert").filter({ hasText: "Code incorrect" })).toContainText("4 essai");

  await idf.locator("#tiqr").getByLabel("Code lu par le titulaire").fill(code);
  await idf.locator("#tiqr").getByRole("button", { name: "Inscrire un téléphone (titulaire au guichet)" }).click();
  const qr = idf.locator("#tiqr-qr");
  await expect(qr.locator("svg")).toHaveCount(1);
  await hydrated(idf);
  const url = (await qr.getAttribute("data-tiqr-url")) ?? "";
  expect((await deskPhone.enroll(url)).body).toBe("OK");
  const confirmation = await confirmationQr(idf, deskPhone);
  const confirmedBefore = receivedMails().length;
  expect(await deskPhone.login(confirmation)).toBe("OK");
  await expect(idf.locator(".alert-info")).toContainText("Téléphone enregistré.", { timeout: 15_000 });
  // The console says who enrolled it.
  await expect(idf.locator("#tiqr-liste li").first()).toContainText("inscrit par support.idf");
  await expect(idf.locator("#tiqr-liste li").first()).toContainText(ACTIVE);

  // She is told, with the agent's name.
  const notice = await waitForNotice(DURAND_MAIL, "Un nouveau téléphone", confirmedBefore);
  expect(notice.body).toContain("agent : support.idf");
});

test("admin.idf signs in with a phone added today: the console asks for her password first", async ({ page, browser }) => {
  const adminPhone = new Phone("ios", "8642");
  // Signed in by password a moment ago: she adds a phone without typing it again.
  await signIn(page, "admin.idf");
  await page.goto("/compte/tiqr");
  await hydrated(page);
  await expect(page.getByLabel("Votre mot de passe")).toHaveCount(0);
  await page.getByRole("button", { name: "Ajouter un téléphone" }).click();
  const qr = page.locator("#tiqr-qr");
  await expect(qr.locator("svg")).toHaveCount(1);
  await hydrated(page);
  expect((await adminPhone.enroll((await qr.getAttribute("data-tiqr-url")) ?? "")).body).toBe("OK");
  expect(await adminPhone.login(await confirmationQr(page, adminPhone))).toBe("OK");
  await expect(page.locator(".alert-info")).toContainText("Téléphone enregistré.", { timeout: 15_000 });

  // From another browser (whoever added the phone), the phone signs in, but the console wants
  // the password before anything.
  const other = await newPage(browser);
  const url = await openSignInQr(other);
  expect(await adminPhone.login(url)).toBe("OK");
  await expect(other).toHaveURL(/\/admin\/comptes$/, { timeout: 15_000 });
  await expect(
    other.getByRole("alert").filter({ hasText: "Pour utiliser la console d'administration, confirmez d'abord votre mot de passe." }),
  ).toBeVisible();
  await expect(other.locator("#comptes")).toHaveCount(0);
  await other.getByRole("link", { name: "Confirmer mon mot de passe" }).click();
  await expect(other.getByRole("heading", { level: 1 })).toHaveText("Confirmez votre identité");
  await expect(other.locator("#nouveau-telephone")).toContainText("téléphone ajouté récemment");
  await other.getByLabel("Mot de passe").fill("Passerelle-Demo-2026");
  await other.getByRole("button", { name: "Confirmer" }).click();
  await expect(other).toHaveURL(/\/admin\/comptes/);
  await expect(other.locator("#comptes")).toBeVisible();
});
