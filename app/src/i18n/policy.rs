//! The minimum sign-in strength of the roles: the page that explains how to get a stronger means,
//! the transition banner, the console's confirmation.
//!
//! One struct, one constant per language: a message missing in either language is a compile error.

pub struct Policy {
    pub title: &'static str,
    pub intro: &'static str,
    pub accepted: &'static str,
    pub how_card: &'static str,
    pub how_psc: &'static str,
    pub how_tiqr: &'static str,
    pub how_passkey: &'static str,
    pub sign_in_again: &'static str,
    /// « Jusqu'au 30/06/2027, … ».
    pub transition_banner: fn(&str) -> String,
    pub err_stronger: &'static str,
    pub reauth_stronger: &'static str,
}

pub(super) const FR: Policy = Policy {
    title: "Une connexion plus forte est nécessaire",
    intro: "Votre rôle (assistance ou administration) donne accès aux comptes d'autres personnes : les règles d'identification du secteur de la santé y demandent plus qu'un mot de passe. Cette session ne donne donc accès à rien d'autre que cette page.",
    accepted: "Moyens de connexion acceptés pour votre rôle :",
    how_card: "Carte CPS (ou CPE) : connectez-vous avec elle depuis la page de connexion ; la première fois, elle se lie à votre compte.",
    how_psc: "Pro Santé Connect (carte ou application e-CPS) : depuis la page de connexion ; la première fois, l'identité se lie à votre compte.",
    how_tiqr: "Application TIQR : l'assistance de votre région peut inscrire votre téléphone (vous lui lisez le code reçu par courriel).",
    how_passkey: "Clé d'accès : elle s'ajoute depuis « Mes moyens de connexion », une fois connecté(e) avec l'un des moyens ci-dessus.",
    sign_in_again: "Se déconnecter et se connecter autrement",
    transition_banner: |until| {
        format!(
            "Période de transition : jusqu'au {until}, votre rôle accepte encore le mot de passe avec le code reçu par courriel. Liez dès maintenant une carte CPS, Pro Santé Connect, une clé d'accès ou l'application TIQR (« Mes moyens de connexion »)."
        )
    },
    err_stronger: "Votre rôle demande une connexion plus forte (carte CPS, Pro Santé Connect, clé d'accès ou application TIQR).",
    reauth_stronger: "Pour votre rôle, le mot de passe ne suffit pas à confirmer : déconnectez-vous, puis reconnectez-vous avec votre carte CPS, Pro Santé Connect, une clé d'accès ou l'application TIQR.",
};

pub(super) const EN: Policy = Policy {
    title: "A stronger sign-in is needed",
    intro: "Your role (support desk or administration) reaches other people's accounts: the health sector's identification rules ask for more than a password there. This session therefore reaches nothing but this page.",
    accepted: "Sign-in methods accepted for your role:",
    how_card: "CPS (or CPE) card: sign in with it from the sign-in page; the first time, it is linked to your account.",
    how_psc: "Pro Santé Connect (card or e-CPS app): from the sign-in page; the first time, the identity is linked to your account.",
    how_tiqr: "TIQR app: your region's support desk can enrol your phone (you read out the code you receive by e-mail).",
    how_passkey: "Passkey: added from “My sign-in methods”, once signed in with one of the means above.",
    sign_in_again: "Sign out and sign in another way",
    transition_banner: |until| {
        format!(
            "Transition period: until {until}, your role still accepts the password with the code received by e-mail. Link a CPS card, Pro Santé Connect, a passkey or the TIQR app now (“My sign-in methods”)."
        )
    },
    err_stronger: "Your role needs a stronger sign-in (CPS card, Pro Santé Connect, passkey or TIQR app).",
    reauth_stronger: "For your role, the password is not enough to confirm: sign out, then sign in again with your CPS card, Pro Santé Connect, a passkey or the TIQR app.",
};
