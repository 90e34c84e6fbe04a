//! Inactive accounts: the sign-in's refusal, the wake link's page, the console's list.
//!
//! One struct, one constant per language: a message missing in either language is a compile error.

pub struct Dormancy {
    pub status: &'static str,
    pub err_sign_in: &'static str,
    pub wake_title: &'static str,
    pub wake_text: &'static str,
    pub wake_button: &'static str,
    pub wake_not_me: &'static str,
    pub woken: &'static str,
    pub console_title: &'static str,
    pub console_intro: fn(u32) -> String,
    pub console_empty: &'static str,
    pub last_sign_in: &'static str,
    pub never: &'static str,
    pub inactive_since: &'static str,
    pub warned: &'static str,
    pub dormant_on: &'static str,
    pub keep_active: &'static str,
    /// The button's accessible name: « Prolonger le compte de Marie Dupont ».
    pub keep_active_named: fn(&str) -> String,
    pub kept_active: &'static str,
}

pub(super) const FR: Dormancy = Dormancy {
    status: "En sommeil",
    err_sign_in: "Votre compte est en sommeil : il n'a servi à aucune connexion depuis longtemps. Nous venons de vous envoyer un lien par courriel ; ouvrez-le pour réactiver le compte, puis connectez-vous à nouveau.",
    wake_title: "Réactiver mon compte",
    wake_text: "Votre compte est en sommeil faute de connexion depuis longtemps. Confirmez pour le réactiver ; vous vous connecterez ensuite comme d'habitude.",
    wake_button: "Réactiver mon compte",
    wake_not_me: "Si vous n'avez pas essayé de vous connecter, ne réactivez pas le compte : changez votre mot de passe et contactez l'assistance de votre région.",
    woken: "Votre compte est de nouveau actif. Vous pouvez vous connecter.",
    console_title: "Comptes inactifs",
    console_intro: |days| {
        format!(
            "Un compte sans connexion depuis {days} jours est mis en sommeil ; son titulaire est prévenu par courriel 30 jours avant. « Prolonger » le garde actif comme s'il venait de servir."
        )
    },
    console_empty: "Aucun compte en sommeil ni sur le point de l'être.",
    last_sign_in: "Dernière connexion",
    never: "Jamais",
    inactive_since: "Inactif depuis",
    warned: "Prévenu le",
    dormant_on: "En sommeil le",
    keep_active: "Prolonger",
    keep_active_named: |name| format!("Prolonger le compte de {name}"),
    kept_active: "Le compte est prolongé : il reste actif.",
};

pub(super) const EN: Dormancy = Dormancy {
    status: "Dormant",
    err_sign_in: "Your account is dormant: it has not been used for a long time. We have just e-mailed you a link; open it to reactivate the account, then sign in again.",
    wake_title: "Reactivate my account",
    wake_text: "Your account is dormant because it has not been used for a long time. Confirm to reactivate it; then sign in as usual.",
    wake_button: "Reactivate my account",
    wake_not_me: "If you did not try to sign in, do not reactivate the account: change your password and contact your region's support desk.",
    woken: "Your account is active again. You can sign in.",
    console_title: "Inactive accounts",
    console_intro: |days| {
        format!(
            "An account not used for {days} days becomes dormant; its holder is e-mailed 30 days before. « Keep active » keeps it active as if it had just been used."
        )
    },
    console_empty: "No account is dormant or about to be.",
    last_sign_in: "Last sign-in",
    never: "Never",
    inactive_since: "Inactive since",
    warned: "Warned on",
    dormant_on: "Dormant on",
    keep_active: "Keep active",
    keep_active_named: |name| format!("Keep the account of {name} active"),
    kept_active: "The account is kept active.",
};
