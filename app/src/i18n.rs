//! The message catalog: every text a user reads, French first, English second.
//!
//! One struct, one constant per language: a message missing in either language is a compile error,
//! which a key–value file cannot promise.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    Fr,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn other(self) -> Self {
        match self {
            Lang::Fr => Lang::En,
            Lang::En => Lang::Fr,
        }
    }

    pub fn messages(self) -> &'static Messages {
        match self {
            Lang::Fr => &FR,
            Lang::En => &EN,
        }
    }
}

/// Name of the cookie that keeps the chosen language.
pub const LANG_COOKIE: &str = "passerelle_lang";

pub struct Messages {
    pub app_name: &'static str,
    pub tagline: &'static str,
    pub skip_to_content: &'static str,
    pub switch_language: &'static str,
    pub switch_language_label: &'static str,
    pub header_nav: &'static str,
    pub signed_in_as: &'static str,
    pub sign_out: &'static str,

    pub sign_in_title: &'static str,
    pub sign_in_modes: &'static str,
    pub mode_password: &'static str,
    pub username: &'static str,
    pub username_hint: &'static str,
    pub password: &'static str,
    pub show_password: &'static str,
    pub hide_password: &'static str,
    pub show: &'static str,
    pub hide: &'static str,
    pub sign_in_button: &'static str,
    pub signing_in: &'static str,
    pub how_to_get_account: &'static str,
    pub how_to_get_account_text: &'static str,
    pub your_region: &'static str,
    pub choose_region: &'static str,
    pub show_region: &'static str,
    pub agency_site: &'static str,
    pub support_title: &'static str,
    pub support_email: &'static str,
    pub support_phone: &'static str,
    pub support_hours: &'static str,
    pub signed_out: &'static str,
    pub session_expired: &'static str,

    pub chooser_title: &'static str,
    pub chooser_intro: &'static str,
    pub choose: &'static str,
    pub finess: &'static str,

    pub dashboard_title: &'static str,
    pub dashboard_welcome: &'static str,
    pub establishment: &'static str,
    pub city: &'static str,
    pub region: &'static str,
    pub signed_in_with: &'static str,
    pub method_password: &'static str,
    pub change_establishment: &'static str,
    pub not_current_establishment: &'static str,
    pub work_here: &'static str,

    pub no_establishment_title: &'static str,
    pub no_establishment_text: &'static str,

    pub not_found_title: &'static str,
    pub not_found_text: &'static str,
    pub back_to_sign_in: &'static str,
    pub loading: &'static str,

    pub err_invalid_credentials: &'static str,
    pub err_locked: &'static str,
    pub err_address_throttled: &'static str,
    pub err_account_disabled: &'static str,
    pub err_account_locked: &'static str,
    pub err_account_pending: &'static str,
    pub minute: &'static str,
    pub minutes: &'static str,
    pub err_csrf: &'static str,
    pub err_cross_site: &'static str,
    pub err_not_signed_in: &'static str,
    pub err_forbidden: &'static str,
    pub err_not_found: &'static str,
    pub err_invalid_input: &'static str,
    pub err_internal: &'static str,
    pub err_reference: &'static str,
}

pub const FR: Messages = Messages {
    app_name: "Passerelle",
    tagline: "Portail des professionnels de santé",
    skip_to_content: "Aller au contenu",
    switch_language: "English",
    switch_language_label: "Switch to English",
    header_nav: "Compte et langue",
    signed_in_as: "Connecté(e) :",
    sign_out: "Se déconnecter",

    sign_in_title: "Connexion",
    sign_in_modes: "Modes de connexion",
    mode_password: "Identifiant et mot de passe",
    username: "Identifiant",
    username_hint: "L'identifiant qui vous a été communiqué à la création de votre compte.",
    password: "Mot de passe",
    show_password: "Afficher le mot de passe",
    hide_password: "Masquer le mot de passe",
    show: "Afficher",
    hide: "Masquer",
    sign_in_button: "Se connecter",
    signing_in: "Connexion en cours…",
    how_to_get_account: "Comment obtenir un compte ?",
    how_to_get_account_text: "Renseignez-vous sur le site de l'Agence de votre établissement.",
    your_region: "Région de votre établissement",
    choose_region: "Choisissez votre région",
    show_region: "Afficher",
    agency_site: "Site de l'agence",
    support_title: "Assistance aux utilisateurs",
    support_email: "Courriel",
    support_phone: "Téléphone",
    support_hours: "Horaires",
    signed_out: "Vous êtes déconnecté(e).",
    session_expired: "Votre session a expiré. Veuillez vous reconnecter.",

    chooser_title: "Choix de l'établissement",
    chooser_intro: "Sélectionnez l'établissement dans lequel vous souhaitez travailler.",
    choose: "Choisir",
    finess: "FINESS",

    dashboard_title: "Tableau de bord",
    dashboard_welcome: "Bienvenue",
    establishment: "Établissement",
    city: "Commune",
    region: "Région",
    signed_in_with: "Connecté(e) par",
    method_password: "identifiant et mot de passe",
    change_establishment: "Changer d'établissement",
    not_current_establishment: "Vous ne travaillez pas actuellement dans cet établissement.",
    work_here: "Travailler dans cet établissement",

    no_establishment_title: "Aucun établissement",
    no_establishment_text: "Votre compte n'est rattaché à aucun établissement. Pour être rattaché(e) à votre établissement, contactez l'assistance de votre région :",

    not_found_title: "Page introuvable",
    not_found_text: "La page demandée n'existe pas ou n'est plus disponible.",
    back_to_sign_in: "Retour à la connexion",
    loading: "Chargement…",

    err_invalid_credentials: "Identifiant ou mot de passe incorrect.",
    err_locked: "Trop de tentatives infructueuses avec cet identifiant : par sécurité, la connexion est suspendue pendant {duration}. En cas d'oubli de votre mot de passe, contactez l'assistance de votre région.",
    err_address_throttled: "Trop de tentatives de connexion depuis votre poste : réessayez dans quelques minutes.",
    err_account_disabled: "Votre compte est désactivé. Contactez l'assistance de votre région.",
    err_account_locked: "Votre compte a été verrouillé par l'assistance. Contactez l'assistance de votre région.",
    err_account_pending: "Votre compte n'est pas encore activé. Utilisez le lien d'activation reçu par courriel.",
    minute: "minute",
    minutes: "minutes",
    err_csrf: "Le formulaire a expiré ou ne provient pas de Passerelle. Rechargez la page et réessayez.",
    err_cross_site: "Requête refusée : elle ne provient pas d'une page de Passerelle.",
    err_not_signed_in: "Veuillez vous connecter pour accéder à cette page.",
    err_forbidden: "Vous n'avez pas accès à cette page.",
    err_not_found: "Élément introuvable.",
    err_invalid_input: "La saisie est invalide. Vérifiez les champs et réessayez.",
    err_internal: "Une erreur technique est survenue. Réessayez ; si elle persiste, contactez l'assistance en indiquant la référence ci-dessous.",
    err_reference: "Référence",
};

pub const EN: Messages = Messages {
    app_name: "Passerelle",
    tagline: "Portal for health professionals",
    skip_to_content: "Skip to content",
    switch_language: "Français",
    switch_language_label: "Passer en français",
    header_nav: "Account and language",
    signed_in_as: "Signed in:",
    sign_out: "Sign out",

    sign_in_title: "Sign in",
    sign_in_modes: "Sign-in methods",
    mode_password: "Username and password",
    username: "Username",
    username_hint: "The username you were given when your account was created.",
    password: "Password",
    show_password: "Show password",
    hide_password: "Hide password",
    show: "Show",
    hide: "Hide",
    sign_in_button: "Sign in",
    signing_in: "Signing in…",
    how_to_get_account: "How do I get an account?",
    how_to_get_account_text: "Ask the regional health agency of your establishment.",
    your_region: "Region of your establishment",
    choose_region: "Choose your region",
    show_region: "Show",
    agency_site: "Agency website",
    support_title: "User support",
    support_email: "E-mail",
    support_phone: "Phone",
    support_hours: "Opening hours",
    signed_out: "You are signed out.",
    session_expired: "Your session has expired. Please sign in again.",

    chooser_title: "Choose an establishment",
    chooser_intro: "Select the establishment you want to work in.",
    choose: "Choose",
    finess: "FINESS",

    dashboard_title: "Dashboard",
    dashboard_welcome: "Welcome",
    establishment: "Establishment",
    city: "City",
    region: "Region",
    signed_in_with: "Signed in with",
    method_password: "username and password",
    change_establishment: "Change establishment",
    not_current_establishment: "You are not currently working in this establishment.",
    work_here: "Work in this establishment",

    no_establishment_title: "No establishment",
    no_establishment_text: "Your account is not attached to any establishment. To be attached to yours, contact your region's support desk:",

    not_found_title: "Page not found",
    not_found_text: "The page you asked for does not exist or is no longer available.",
    back_to_sign_in: "Back to sign-in",
    loading: "Loading…",

    err_invalid_credentials: "Wrong username or password.",
    err_locked: "Too many failed attempts with this username: for your security, sign-in is suspended for {duration}. If you forgot your password, contact your region's support desk.",
    err_address_throttled: "Too many sign-in attempts from your computer: try again in a few minutes.",
    err_account_disabled: "Your account is disabled. Contact your region's support desk.",
    err_account_locked: "Your account was locked by the support desk. Contact your region's support desk.",
    err_account_pending: "Your account is not activated yet. Use the activation link you received by e-mail.",
    minute: "minute",
    minutes: "minutes",
    err_csrf: "The form has expired or did not come from Passerelle. Reload the page and try again.",
    err_cross_site: "Request refused: it did not come from a Passerelle page.",
    err_not_signed_in: "Please sign in to see this page.",
    err_forbidden: "You do not have access to this page.",
    err_not_found: "Not found.",
    err_invalid_input: "Invalid input. Check the fields and try again.",
    err_internal: "A technical error occurred. Try again; if it persists, contact the support desk with the reference below.",
    err_reference: "Reference",
};
