import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { expect, Page } from "@playwright/test";

export const DEMO_PASSWORD = "Passerelle-Demo-2026";

/** Signs in through the password form, as a person would. */
export async function signIn(page: Page, username: string, password = DEMO_PASSWORD) {
  await page.goto("/connexion");
  await page.getByLabel("Identifiant", { exact: true }).fill(username);
  await page.getByLabel("Mot de passe", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Se connecter" }).click();
}

export async function signOut(page: Page) {
  await page.getByRole("button", { name: "Se déconnecter" }).click();
  await expect(page.locator(".alert-info")).toContainText("Vous êtes déconnecté(e).");
}

/** Waits until the WebAssembly has taken over the page (clicks before that would be lost). */
export async function hydrated(page: Page) {
  await expect(page.locator("html[data-hydrated=true]")).toHaveCount(1);
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
