import { expect, test } from "./fixtures";
import { insertCard, removeCard, signInWithCard } from "./helpers";

test.afterEach(() => removeCard());

for (const [holder, name, slug, message] of [
  ["cps-expired", "LOUIS BLANC", "carte-expiree", "Votre carte a expiré"],
  ["cps-revoked", "EMMA NOIR", "carte-revoquee", "Le certificat de cette carte a été révoqué"],
  ["cps-untrusted", "ALAIN FAUX", "carte-non-reconnue", "autorité reconnue (IGC-Santé)"],
]) {
  test(`a card that is not acceptable is refused with its reason: ${holder}`, async ({ page }) => {
    insertCard(holder);
    await signInWithCard(page, name);
    await expect(page).toHaveURL(new RegExp(`/connexion\\?erreur=${slug}$`));
    await expect(page.getByRole("alert")).toContainText(message);
  });
}
