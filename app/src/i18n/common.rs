//! The shell of every page: header, language, navigation, and the errors any page can show.
//!
//! One struct, one constant per language: a message missing in either language is a compile error.

pub struct Common {
    pub app_name: &'static str,
    pub tagline: &'static str,
    pub skip_to_content: &'static str,
    pub switch_language: &'static str,
    pub switch_language_label: &'static str,
    pub header_nav: &'static str,
    pub signed_in_as: &'static str,
    pub sign_out: &'static str,
    pub not_found_title: &'static str,
    pub not_found_text: &'static str,
    pub loading: &'static str,
    pub err_csrf: &'static str,
    pub err_cross_site: &'static str,
    pub err_forbidden: &'static str,
    pub err_not_found: &'static str,
    pub err_invalid_input: &'static str,
    pub err_internal: &'static str,
    /// The database is restarting or failing over: nothing is wrong with the request.
    pub err_unavailable: &'static str,
    pub err_reference: &'static str,
    pub back_home: &'static str,
    // --- end of hardening ---
    // Flood limits and request timeout (issue 14, M-2).
    pub err_too_many_requests: &'static str,
    pub err_request_timeout: &'static str,
}

pub(super) const FR: Common = Common {
    app_name: "Passerelle",
    tagline: "Portail des professionnels de santé",
    skip_to_content: "Aller au contenu",
    switch_language: "English",
    switch_language_label: "Switch to English",
    header_nav: "Compte et langue",
    signed_in_as: "Connecté(e) :",
    sign_out: "Se déconnecter",

    not_found_title: "Page introuvable",
    not_found_text: "La page demandée n'existe pas ou n'est plus disponible.",
    loading: "Chargement…",

    err_csrf: "Le formulaire a expiré ou ne provient pas de Passerelle. Rechargez la page et réessayez.",
    err_cross_site: "Requête refusée : elle ne provient pas d'une page de Passerelle.",
    err_forbidden: "Vous n'avez pas accès à cette page.",
    err_not_found: "Élément introuvable.",
    err_invalid_input: "La saisie est invalide. Vérifiez les champs et réessayez.",
    err_unavailable: "Le service est momentanément indisponible. Réessayez dans quelques instants ; si cela dure, contactez l'assistance en indiquant la référence ci-dessous.",
    err_internal: "Une erreur technique est survenue. Réessayez ; si elle persiste, contactez l'assistance en indiquant la référence ci-dessous.",
    err_reference: "Référence",
    back_home: "Retour à l'accueil",
    err_too_many_requests: "Trop de demandes depuis votre adresse. Patientez quelques secondes, puis réessayez.",
    err_request_timeout: "Le serveur a mis trop de temps à répondre. Réessayez dans un instant.",
};

pub(super) const EN: Common = Common {
    app_name: "Passerelle",
    tagline: "Portal for health professionals",
    skip_to_content: "Skip to content",
    switch_language: "Français",
    switch_language_label: "Passer en français",
    header_nav: "Account and language",
    signed_in_as: "Signed in:",
    sign_out: "Sign out",

    not_found_title: "Page not found",
    not_found_text: "The page you asked for does not exist or is no longer available.",
    loading: "Loading…",

    err_csrf: "The form has expired or did not come from Passerelle. Reload the page and try again.",
    err_cross_site: "Request refused: it did not come from a Passerelle page.",
    err_forbidden: "You do not have access to this page.",
    err_not_found: "Not found.",
    err_invalid_input: "Invalid input. Check the fields and try again.",
    err_unavailable: "The service is temporarily unavailable. Try again in a few moments; if it lasts, contact the support desk with the reference below.",
    err_internal: "A technical error occurred. Try again; if it persists, contact the support desk with the reference below.",
    err_reference: "Reference",
    back_home: "Back to home",
    err_too_many_requests: "Too many requests from your address. Wait a few seconds, then try again.",
    err_request_timeout: "The server took too long to answer. Try again in a moment.",
};
