import * as fs from "node:fs";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { APIRequestContext, expect, Page } from "@playwright/test";
import type { Phone } from "./tiqr-phone";

export const DEMO_PASSWORD = "Passerelle-Demo-2026";

/** Signs in through the password form, as a person would. */
export async function signIn(page: Page, username: string, password = DEMO_PASSWORD) {
  await page.goto("/connexion");
  await page.getByLabel("Identifiant", { exact: true }).fill(username);
  await page.getByLabel("Mot de passe", { exact: true }).fill(password);
  // Waits for the portal's answer and the page it leads to, so that the session cookie is in the
  // browser and nothing is still loading when the test goes elsewhere: a `goto` right after the
  // click would cancel the sign-in (or the landing page's loads) in flight.
  const answered = page.waitForResponse(
    (r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/connexion",
  );
  const loaded = page.waitForEvent("load");
  await page.getByRole("button", { name: "Se connecter", exact: true }).click();
  await answered;
  await loaded;
}

export async function signOut(page: Page) {
  await page.getByRole("button", { name: "Se déconnecter" }).click();
  await expect(page.locator(".alert-info")).toContainText("Vous êtes déconnecté(e).");
}

/** Waits until the WebAssembly has taken over the page (clicks before that would be lost). On a
 * loaded 2-core machine fetching and compiling the module can take longer than one assertion's
 * 10 s, hence the generous wait (a fresh-clone run once timed out here). */
export async function hydrated(page: Page) {
  await expect(page.locator("html[data-hydrated=true]")).toHaveCount(1, { timeout: 25_000 });
}

/** Adds a TIQR phone from the signed-in holder's page, as a person does: « Ajouter un
 * téléphone », the phone scans the QR code and enrols, then scans the confirmation QR code the
 * page shows by itself and answers with its PIN. */
export async function addTiqrPhone(page: Page, phone: Phone) {
  await page.goto("/compte/tiqr");
  await hydrated(page);
  await page.getByRole("button", { name: "Ajouter un téléphone" }).click();
  const qr = page.locator("#tiqr-qr");
  await expect(qr.locator("svg")).toHaveCount(1);
  await hydrated(page);
  expect((await phone.enroll((await qr.getAttribute("data-tiqr-url")) ?? "")).body).toBe("OK");
  const confirmation = page.locator("#tiqr-confirmation");
  await expect(confirmation.locator("svg")).toHaveCount(1, { timeout: 15_000 });
  await hydrated(page);
  expect(await phone.login((await confirmation.getAttribute("data-tiqr-url")) ?? "")).toBe("OK");
  await expect(page.locator(".alert-info")).toContainText("Téléphone enregistré.", { timeout: 15_000 });
}

// The card lab of scripts/test.sh: a private pcscd with a virtual reader, and the test PKI.
export const PKI = process.env.PASSERELLE_E2E_PKI ?? "";
export const CARD_LAB = process.env.PASSERELLE_E2E_CARD_LAB ?? "";
export const CARD_URL = process.env.PASSERELLE_E2E_CARD_URL ?? "https://127.0.0.1:3943";
const LAB_SCRIPT = path.resolve(__dirname, "../../scripts/card-lab.sh");

/** Puts the named test holder's card (see testkit/src/pki.rs) in the virtual reader. */
export function insertCard(holder: string, pin = "1234") {
  execFileSync("bash", [
    LAB_SCRIPT,
    "insert",
    CARD_LAB,
    `${PKI}/${holder}.cert.der`,
    `${PKI}/${holder}.key.der`,
    pin,
  ]);
}

export function removeCard() {
  execFileSync("bash", [LAB_SCRIPT, "remove", CARD_LAB]);
}

/** Types the PIN in the "Carte CPS" box and clicks "Connexion", as a card holder would. */
export async function signInWithCard(page: Page, holderName: string, pin = "1234") {
  await page.goto("/connexion");
  await hydrated(page);
  await expect(page.locator("#etat-lecteur")).toContainText(holderName);
  await page.getByLabel("Code porteur").fill(pin);
  await page.getByRole("button", { name: "Connexion", exact: true }).click();
}

// The SMTP sink of scripts/test.sh (aiosmtpd writing a maildir).
export const SMTP_DIR = process.env.PASSERELLE_E2E_SMTP ?? "";
const SMTP_SCRIPT = path.resolve(__dirname, "../../scripts/smtp-sink.sh");

/** Decodes a quoted-printable body (soft line breaks, =XX bytes) as UTF-8. */
function decodeQuotedPrintable(s: string): string {
  const joined = s.replace(/=\r?\n/g, "");
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    if (joined[i] === "=" && /^[0-9A-F]{2}$/i.test(joined.slice(i + 1, i + 3))) {
      bytes.push(parseInt(joined.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(joined[i], "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

export type ReceivedMail = { file: string; to: string; subject: string; body: string };

/** Every message the SMTP server received, oldest first. */
export function receivedMails(): ReceivedMail[] {
  const dir = path.join(SMTP_DIR, "maildir", "new");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((file) => ({ file, stat: fs.statSync(path.join(dir, file)) }))
    .sort((a, b) => a.stat.mtimeMs - b.stat.mtimeMs || a.file.localeCompare(b.file))
    .map(({ file }) => {
      const raw = fs.readFileSync(path.join(dir, file), "utf8");
      const header = (name: string) =>
        raw.match(new RegExp(`^${name}: (.*)$`, "mi"))?.[1]?.trim() ?? "";
      return { file, to: header("To"), subject: header("Subject"), body: decodeQuotedPrintable(raw) };
    });
}

/** Waits for a new message to `to` whose subject matches, received after `since` messages. */
export async function waitForMail(to: string, subject: RegExp, since = 0, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = receivedMails().slice(since).find((m) => m.to.includes(to) && subject.test(m.subject));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no e-mail to ${to} matching ${subject}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Waits for a message to `to` whose body says `says` (subjects are encoded; bodies are read). */
export async function waitForMailSaying(to: string, says: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = receivedMails().find((m) => m.to.includes(to) && m.body.includes(says));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no e-mail to ${to} saying ${says}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function smtpServer(action: "start" | "stop", port?: string) {
  execFileSync("bash", [SMTP_SCRIPT, action, SMTP_DIR, ...(port ? [port] : [])]);
}

export function smtpPort(): string {
  return fs.readFileSync(path.join(SMTP_DIR, "env"), "utf8").trim().replace("SMTP_PORT=", "");
}

// The fleet of scripts/test.sh (scripts/fleet.sh): its data folder, where nginx logs which
// instance served each request and each instance's port is written.
export const FLEET_DIR = process.env.PASSERELLE_E2E_FLEET ?? "";
const FLEET_SCRIPT = path.resolve(__dirname, "../../scripts/fleet.sh");

/** The instance (1…N) that served the latest request whose log line matches, e.g.
 * `/"POST \/connexion\/code /`. */
export function servedBy(request: RegExp): number {
  const dir = path.join(FLEET_DIR, "fleet");
  const ports = new Map<string, number>();
  for (const file of fs.readdirSync(dir)) {
    const m = file.match(/^instance-(\d+)\.port$/);
    if (m) ports.set(fs.readFileSync(path.join(dir, file), "utf8").trim(), Number(m[1]));
  }
  const lines = fs.readFileSync(path.join(dir, "nginx-access.log"), "utf8").trimEnd().split("\n");
  for (const line of lines.reverse()) {
    if (!request.test(line)) continue;
    // The last upstream tried is the one that answered ("127.0.0.1:3901, 127.0.0.1:3902").
    const port = line.match(/:(\d+)$/)?.[1] ?? "";
    const instance = ports.get(port);
    if (instance) return instance;
  }
  throw new Error(`no request matching ${request} in the fleet's log`);
}

/** Kills an instance of the fleet (SIGKILL, as a crash would) or starts it again. */
export function fleet(action: "kill" | "revive", instance: number) {
  execFileSync("bash", [FLEET_SCRIPT, action, FLEET_DIR, String(instance)], { stdio: "pipe" });
}

/** Waits until nginx sends requests to `instance` again: after a failure it leaves an instance
 * out for a while (fleet.sh: 2 s), even once it is started again. */
export async function servingAgain(request: APIRequestContext, instance: number) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    await request.get("/readyz");
    if (servedBy(/"GET \/readyz /) === instance) return;
    if (Date.now() > deadline) throw new Error(`instance ${instance} of the fleet is not served again`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
